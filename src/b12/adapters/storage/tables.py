"""The tables of the therapy record, as SQLAlchemy Core objects (the schema at the head revision).

Amounts (doses, volumes, laboratory values, an age in months) are NUMERIC(15, 6) and times are
instants in UTC (``types.py``); a prescription's dated doses and laboratory checks are rows
(``planned_doses``, ``planned_labs``). JSON columns hold findings and the rest of a profile.
The migrations in ``migrations/versions`` build this schema; a test compares the two.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Date,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    text,
)

from b12.adapters.storage.types import ExactDecimal, UtcDateTime

metadata = MetaData()

ID = 36  # a UUID as text


def _id() -> Column[str]:
    return Column("id", String(ID), primary_key=True)


def _patient() -> Column[str]:
    return Column("patient_id", String(ID), ForeignKey("patients.id"), nullable=False)


def _corrects(table: str) -> Column[str]:
    return Column("corrects_id", String(ID), ForeignKey(f"{table}.id", name=f"fk_{table}_corrects"))


def _correction() -> list[Column[object]]:
    """Revision 0011: on a correcting row, why, by whom, when, and whether it voids the row it
    corrects (entered in error). NULL on every other row."""
    return [
        Column("correction_reason", Text),
        Column("corrected_by", String(120)),
        Column("corrected_at", UtcDateTime),
        Column("entered_in_error", Boolean),
    ]


patients = Table(
    "patients",
    metadata,
    _id(),
    Column("code", String(64), nullable=False, index=True),
    Column("profile", JSON, nullable=False),  # sex, weight, pregnancy, conditions...: not the age
    Column("recorded_at", UtcDateTime, nullable=False),
    Column("recorded_by", String(120), nullable=False),
    _corrects("patients"),
    Column("duplicate_of", String(ID)),  # revision 0004: see ONE_ONLY
    # revision 0005: a date of birth, or an age with the day it was given (either, or neither)
    Column("born", Date),
    Column("age_months", ExactDecimal),
    Column("age_given_on", Date),
    Column("ward", String(120)),  # revision 0012: the ward or list (NULL: none recorded)
)

prescriptions = Table(
    "prescriptions",
    metadata,
    _id(),
    _patient(),
    Column("regimen_id", String(120)),
    Column("product", String(120)),
    Column("indication", String(120)),
    Column("concentration", String(64)),  # a strength prescribed without a product, as shown
    Column("substance", String(64)),  # the regimen's cobalamin
    Column("start", Date, nullable=False),
    Column("status", String(16), nullable=False),
    Column("prescribed_at", UtcDateTime, nullable=False),
    Column("prescribed_by", String(120), nullable=False),
    Column("fingerprint", String(120), nullable=False),
    Column("replaces_id", String(ID), ForeignKey("prescriptions.id")),
    Column("reason", Text),
    _corrects("prescriptions"),
    # revision 0009: given at home by the patient or a linked carer (NULL before it: false)
    Column("self_injection", Boolean),
)

# Revision 0005: a prescription's dated doses and laboratory checks, as prescribed.
planned_doses = Table(
    "planned_doses",
    metadata,
    Column("prescription_id", String(ID), ForeignKey("prescriptions.id"), nullable=False),
    Column("number", Integer, nullable=False),  # 1-based over the whole prescription
    Column("due_on", Date, nullable=False),
    Column("dose_mcg", ExactDecimal, nullable=False),
    Column("volume_ml", ExactDecimal),
    Column("route", String(32), nullable=False),
    Column("phase", String(120), nullable=False),
    Column("phase_kind", String(32), nullable=False),
    Column("regimen_id", String(120)),
    Column("fingerprint", String(120), nullable=False),
    PrimaryKeyConstraint("prescription_id", "number", name="pk_planned_doses"),
)

planned_labs = Table(
    "planned_labs",
    metadata,
    Column("prescription_id", String(ID), ForeignKey("prescriptions.id"), nullable=False),
    Column("number", Integer, nullable=False),
    Column("due_on", Date, nullable=False),
    Column("tests", JSON, nullable=False),  # the tests' names
    Column("sources", JSON, nullable=False),  # the source ids of the rules that plan them
    PrimaryKeyConstraint("prescription_id", "number", name="pk_planned_labs"),
)

administrations = Table(
    "administrations",
    metadata,
    _id(),
    _patient(),
    Column("prescription_id", String(ID), ForeignKey("prescriptions.id")),
    Column("given_at", UtcDateTime, nullable=False),
    Column("dose_mcg", ExactDecimal, nullable=False),
    Column("volume_ml", ExactDecimal),
    Column("product", String(120)),
    Column("lot", String(64)),
    Column("expiry", Date),
    Column("route", String(32), nullable=False),
    Column("site", String(64)),
    Column("given_by", String(120), nullable=False),
    Column("planned_number", Integer),
    Column("findings", JSON, nullable=False),
    Column("fingerprint", String(120), nullable=False),
    Column("override_reason", Text),
    _corrects("administrations"),
    Column("duplicate_of", String(ID)),  # revision 0004: see ONE_ONLY
    Column("scanned", Boolean),  # revision 0011: the pack's barcode was read (NULL: not kept)
    *_correction(),
)

missed_doses = Table(
    "missed_doses",
    metadata,
    _id(),
    _patient(),
    Column("prescription_id", String(ID), ForeignKey("prescriptions.id"), nullable=False),
    Column("planned_number", Integer, nullable=False),
    Column("on", Date, nullable=False),
    Column("kind", String(16), nullable=False),
    Column("reason", Text, nullable=False),
    Column("recorded_at", UtcDateTime, nullable=False),
    Column("recorded_by", String(120), nullable=False),
    _corrects("missed_doses"),
)

lab_results = Table(
    "lab_results",
    metadata,
    _id(),
    _patient(),
    Column("taken_on", Date, nullable=False),
    Column("analyte", String(64), nullable=False),
    Column("loinc", String(16)),
    Column("value", ExactDecimal, nullable=False),
    Column("unit", String(32), nullable=False),
    Column("normalised_value", ExactDecimal),
    Column("normalised_unit", String(32)),
    Column("text", Text, nullable=False),
    Column("recorded_at", UtcDateTime, nullable=False),
    Column("recorded_by", String(120), nullable=False),
    _corrects("lab_results"),
    *_correction(),
)

adverse_events = Table(
    "adverse_events",
    metadata,
    _id(),
    _patient(),
    Column("on", Date, nullable=False),
    Column("description", Text, nullable=False),
    Column("severity", String(16), nullable=False),
    Column("neurological", Boolean, nullable=False),
    Column("administration_id", String(ID), ForeignKey("administrations.id")),
    Column("recorded_at", UtcDateTime, nullable=False),
    Column("recorded_by", String(120), nullable=False),
    _corrects("adverse_events"),
)

audit_log = Table(
    "audit_log",
    metadata,
    # seq orders every link of every stream (before revision 0006 it was the one chain's order;
    # since, PostgreSQL takes it from the sequence b12_audit_seq, SQLite as the last + 1 under
    # its write lock); the hash of a keyed link does not cover it.
    Column("seq", BigInteger, primary_key=True, autoincrement=False),
    Column("at", String(40), nullable=False),
    Column("who", String(120), nullable=False),
    Column("action", String(64), nullable=False),
    Column("entity", String(64), nullable=False),
    # A row's key (b12.domain.audit.row_key): an id, or "<prescription id>/<number>" (0006).
    Column("entity_id", String(80), nullable=False),
    Column("patient", String(ID)),
    Column("payload", JSON, nullable=False),
    Column("prev_hash", String(64), nullable=False),
    Column("hash", String(64), nullable=False),
    # Revision 0006: one chain per stream (a patient's id, or "record"), numbered from 1; the
    # unique key (stream, stream_seq) means a stream cannot fork. NULL: a link before 0006.
    Column("stream", String(ID)),
    Column("stream_seq", BigInteger),
    # The table and canonical digest (b12.domain.audit.row_digest) of the row the link records.
    Column("record_table", String(64)),
    Column("row_hash", String(64)),
)
Index("uq_audit_log_stream_seq", audit_log.c.stream, audit_log.c.stream_seq, unique=True)

# Revision 0008: supply at home (containers dispensed, what was discarded) and the private
# calendar feeds of a patient's course (the sha256 of each feed's token; a revocation is a row).
dispensings = Table(
    "dispensings",
    metadata,
    _id(),
    _patient(),
    Column("product", String(120), nullable=False),
    Column("containers", Integer, nullable=False),
    Column("lot", String(64), nullable=False),
    Column("expiry", Date, nullable=False),
    Column("dispensed_at", UtcDateTime, nullable=False),
    Column("dispensed_by", String(120), nullable=False),
    _corrects("dispensings"),
)

wastes = Table(
    "wastes",
    metadata,
    _id(),
    _patient(),
    Column("dispensing_id", String(ID), ForeignKey("dispensings.id"), nullable=False),
    Column("containers", Integer, nullable=False),
    Column("volume_ml", ExactDecimal),
    Column("reason", Text, nullable=False),
    Column("on", Date, nullable=False),
    Column("recorded_at", UtcDateTime, nullable=False),
    Column("recorded_by", String(120), nullable=False),
    _corrects("wastes"),
)

calendar_feeds = Table(
    "calendar_feeds",
    metadata,
    _id(),
    _patient(),
    Column("token_hash", String(64), unique=True),  # NULL on a revocation row
    Column("created_at", UtcDateTime, nullable=False),
    Column("created_by", String(120), nullable=False),
    Column("revokes_id", String(ID), ForeignKey("calendar_feeds.id")),
)

RECORD_TABLES = (
    patients,
    prescriptions,
    planned_doses,
    planned_labs,
    administrations,
    missed_doses,
    lab_results,
    adverse_events,
    dispensings,
    wastes,
    calendar_feeds,
)

# Revision 0002: what a clinician's record views read by patient and by time.
Index("ix_administrations_patient_given", administrations.c.patient_id, administrations.c.given_at)
Index("ix_lab_results_patient_taken", lab_results.c.patient_id, lab_results.c.taken_on)
Index("ix_prescriptions_patient", prescriptions.c.patient_id)
Index("ix_missed_doses_patient", missed_doses.c.patient_id)
Index("ix_adverse_events_patient", adverse_events.c.patient_id)
# Revision 0008
Index("ix_dispensings_patient", dispensings.c.patient_id)
Index("ix_wastes_patient", wastes.c.patient_id)
Index("ix_calendar_feeds_patient", calendar_feeds.c.patient_id)

# Revision 0004, one dose once: one patient per code and one administration per planned dose of a
# prescription. A correction (corrects_id) repeats the key of the row it corrects, and a dose
# outside the plan (an extra dose with an override reason, a dose after the course) has no planned
# number: neither is in the index. ``duplicate_of`` is set only by the migration, on the doubles an
# older b12 recorded before the key existed (kept, never deleted; each points at the first).
ONE_ONLY = {
    "patients": ("uq_patients_code", ("code",), "corrects_id IS NULL AND duplicate_of IS NULL"),
    "administrations": (
        "uq_administrations_planned_dose",
        ("prescription_id", "planned_number"),
        "planned_number IS NOT NULL AND corrects_id IS NULL AND duplicate_of IS NULL",
    ),
}
for _name, (_index, _columns, _where) in ONE_ONLY.items():
    _table = metadata.tables[_name]
    Index(
        _index,
        *(_table.c[c] for c in _columns),
        unique=True,
        sqlite_where=text(_where),
        postgresql_where=text(_where),
    )

# Revision 0007: the web door's accounts, the patients each may see, and server-side sessions.
# Not part of the append-only record: a password, a lock-out and a session's last use change.
accounts = Table(
    "accounts",
    metadata,
    _id(),
    Column("username", String(64), nullable=False, unique=True),
    Column("password_hash", String(255), nullable=False),
    Column("role", String(16), nullable=False),
    Column("disabled", Boolean, nullable=False),
    Column("failed_logins", Integer, nullable=False),
    Column("locked_until", UtcDateTime),
    Column("created_at", UtcDateTime, nullable=False),
    Column("created_by", String(120), nullable=False),
)

account_patients = Table(
    "account_patients",
    metadata,
    Column("account_id", String(ID), ForeignKey("accounts.id"), primary_key=True),
    Column("patient_code", String(64), primary_key=True),
    # a caregiver's link: this carer injects (a patient's own link: not read since revision 0009)
    Column("self_injects", Boolean, nullable=False),
    Column("ended_at", UtcDateTime),  # revision 0009: the link ended (NULL: live)
)

web_sessions = Table(
    "web_sessions",
    metadata,
    Column("id", String(64), primary_key=True),  # sha256 of the cookie's token, never the token
    Column("account_id", String(ID), ForeignKey("accounts.id"), nullable=False, index=True),
    Column("csrf", String(64), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("last_seen", UtcDateTime, nullable=False),
    Column("ended", Boolean, nullable=False),
)

#: The web door's tables (revision 0007): not patient data, not append-only, bound by no audit link.
WEB_TABLES = (accounts, account_patients, web_sessions)
#: The tables whose rows change in place (a password, a lock-out, a session's last use, a link
#: ended): the application's PostgreSQL role may UPDATE these and no other (`b12 db grant`).
CHANGING_TABLES = (accounts, account_patients, web_sessions)

# Revision 0010: the CDS Hooks service. Each token's (issuer, jti) once, so that a replayed token is
# refused by every worker; each card issued (its uuid names the finding it came from); each
# feedback on a card, once per card and outcome (an EHR may send the same feedback twice).
# Append-only, as the record: nothing here is changed or deleted.
cds_tokens = Table(
    "cds_tokens",
    metadata,
    Column("issuer", String(255), primary_key=True),
    Column("jti", String(255), primary_key=True),
    Column("expires_at", UtcDateTime, nullable=False),
    Column("used_at", UtcDateTime, nullable=False),
)

cds_cards = Table(
    "cds_cards",
    metadata,
    Column("uuid", String(ID), primary_key=True),
    Column("service", String(64), nullable=False),
    Column("hook_instance", String(64), nullable=False),
    Column("finding_code", String(64), nullable=False, index=True),
    Column("level", String(16), nullable=False),
    Column("patient", String(255), nullable=False),  # the EHR's patient id, as sent
    Column("user_id", String(255), nullable=False),  # the EHR's user (Practitioner/...), as sent
    Column("issuer", String(255), nullable=False),
    Column("fingerprint", String(64), nullable=False),
    Column("issued_at", UtcDateTime, nullable=False),
)

cds_feedback = Table(
    "cds_feedback",
    metadata,
    Column("card_uuid", String(ID), ForeignKey("cds_cards.uuid"), primary_key=True),
    Column("outcome", String(16), primary_key=True),  # accepted | overridden
    Column("accepted", JSON, nullable=False),  # the ids of the suggestions accepted
    Column("reason_system", String(255)),
    Column("reason_code", String(64)),
    Column("reason_display", String(255)),
    Column("comment", Text),
    Column("outcome_at", UtcDateTime, nullable=False),
    Column("received_at", UtcDateTime, nullable=False),
    Column("issuer", String(255), nullable=False),
)

#: The CDS Hooks service's tables (revision 0010): append-only; not bound by audit links (each
#: call has its own audit entry naming the issuer and the user).
CDS_TABLES = (cds_tokens, cds_cards, cds_feedback)
