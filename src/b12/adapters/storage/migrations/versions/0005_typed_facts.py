"""Typed facts: planned doses and checks as rows, amounts as NUMERIC, times as UTC instants, the
age with the day it was given (or a date of birth).

* ``planned_doses`` (prescription, number, due date, dose mcg, volume mL, route, phase, phase
  kind, regimen, knowledge fingerprint) and ``planned_labs`` (prescription, number, due date,
  tests, sources) are filled from each prescription's stored plan (the ``plan`` JSON, dropped);
  the prescription keeps its regimen id, strength and cobalamin as columns.
* ``administrations.dose_mcg/volume_ml`` and ``lab_results.value/normalised_value`` become
  NUMERIC(15, 6). A stored value that does not fit (more than 9 digits before the point or 6
  after it) stops the upgrade with the row named: nothing is rounded.
* Times: revisions 0001-0004 kept the clinic's wall-clock time without a zone (the clock's time
  in B12_TIMEZONE, else the machine's zone; a time typed with an offset was kept as its wall
  clock on SQLite). Each becomes the instant it meant, in UTC: the time the audit trail kept for
  the row when it has an offset, else the stored time read in the clinic's zone (the zone given
  to the upgrade; in a repeated hour, its first occurrence). Columns become ``timestamptz`` on
  PostgreSQL; SQLite keeps the UTC wall clock.
* ``patients``: the age leaves the profile JSON for ``age_months`` and ``age_given_on`` (the
  profile's ``as_of``, else the day the row was recorded); ``born`` is new (a date of birth).
* ``planned_doses`` and ``planned_labs`` are append-only like the other record tables (0003); the
  triggers and the partial unique indexes (0004) of the changed tables stay as they were.

The rows are rewritten in place: the refusing triggers are lifted for it and put back in the
same transaction (as in 0004). The audit trail is not touched, so its chain verifies as before.

Downgrade: times back to the clinic's wall clock, amounts back to text, the plan JSON rebuilt
from the rows with what b12 at 0004 reads of it (regimen id and cobalamin, indication, product,
strength, the dated doses and checks; not the rest of the plan's output, which was never a
fact), and an age given as a date of birth becomes the age in months on the day of the downgrade.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime, tzinfo
from decimal import Decimal, InvalidOperation
from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

PRECISION, SCALE = 15, 6
ENTITY = {
    "patients": "PatientRecord",
    "prescriptions": "Prescription",
    "administrations": "Administration",
    "missed_doses": "MissedDose",
    "lab_results": "LabResult",
    "adverse_events": "AdverseEvent",
}
TIMES = {
    "patients": "recorded_at",
    "prescriptions": "prescribed_at",
    "administrations": "given_at",
    "missed_doses": "recorded_at",
    "lab_results": "recorded_at",
    "adverse_events": "recorded_at",
}
AMOUNTS = {
    "administrations": ("dose_mcg", "volume_ml"),
    "lab_results": ("value", "normalised_value"),
}
NEW_TABLES = ("planned_doses", "planned_labs")


def _zone() -> tzinfo | None:
    config = op.get_context().config
    zone: tzinfo | None = None if config is None else config.attributes.get("time_zone")
    return zone


def _sqlite() -> bool:
    return bool(op.get_bind().dialect.name == "sqlite")


# --- the append-only triggers --------------------------------------------------------------------


def _lift(tables: Iterable[str]) -> None:
    for table in tables:
        if _sqlite():
            op.execute(f"DROP TRIGGER {table}_no_update")
        else:
            op.execute(f"ALTER TABLE {table} DISABLE TRIGGER {table}_append_only")


def _restore(tables: Iterable[str]) -> None:
    for table in tables:
        if _sqlite():  # as revision 0003 made it
            op.execute(
                f"CREATE TRIGGER {table}_no_update BEFORE UPDATE ON {table} "
                f"BEGIN SELECT RAISE(ABORT, '{table} is append-only'); END"
            )
        else:
            op.execute(f"ALTER TABLE {table} ENABLE TRIGGER {table}_append_only")


def _append_only(table: str) -> None:
    """Revision 0003's refusal of UPDATE and DELETE, on a new table."""
    if _sqlite():
        for verb in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER {table}_no_{verb.lower()} BEFORE {verb} ON {table} "
                f"BEGIN SELECT RAISE(ABORT, '{table} is append-only'); END"
            )
    else:
        op.execute(
            f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION b12_append_only()"
        )


# --- values ---------------------------------------------------------------------------------------


def _amount(table: str, row_id: str, column: str, text: Any) -> Decimal | None:
    if text is None:
        return None
    try:
        value = Decimal(str(text))
    except InvalidOperation:
        value = Decimal("NaN")
    exponent = value.as_tuple().exponent if value.is_finite() else 0
    if (
        not value.is_finite()
        or abs(value) >= Decimal(10) ** (PRECISION - SCALE)
        or (isinstance(exponent, int) and -exponent > SCALE and value != round(value, SCALE))
    ):
        raise RuntimeError(
            f"{table} {row_id}: {column} {text!r} does not fit NUMERIC({PRECISION}, {SCALE}); "
            "the upgrade changed nothing: ask for help before changing the value"
        )
    return value


def _naive(value: Any) -> datetime:
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    assert isinstance(value, datetime)
    return value


def _as_written(payloads: Mapping[str, Any], row_id: str, column: str) -> datetime | None:
    """The time the audit trail kept for the row, when it was written with an offset."""
    payload = payloads.get(row_id)
    if not isinstance(payload, Mapping) or not isinstance(payload.get(column), str):
        return None
    try:
        written = datetime.fromisoformat(payload[column])
    except ValueError:
        return None
    return written if written.utcoffset() is not None else None


def instant(stored: datetime, written: datetime | None, zone: tzinfo | None) -> datetime:
    """The UTC instant a 0004 time meant (see the module's docstring), as a naive UTC time."""
    if written is not None:
        same_clock = written.replace(tzinfo=None) == stored
        same_instant = written.astimezone(UTC).replace(tzinfo=None) == stored
        if same_clock or same_instant or written.astimezone(zone).replace(tzinfo=None) == stored:
            return written.astimezone(UTC).replace(tzinfo=None)
    local = stored.astimezone() if zone is None else stored.replace(tzinfo=zone, fold=0)
    return local.astimezone(UTC).replace(tzinfo=None)


def _payloads(bind: sa.Connection) -> dict[str, dict[str, Any]]:
    """Per entity name, per row id: the payload of the row's first audit link."""
    out: dict[str, dict[str, Any]] = {}
    rows = bind.execute(sa.text("SELECT entity, entity_id, payload FROM audit_log ORDER BY seq"))
    for entity, entity_id, payload in rows:
        if isinstance(payload, str):
            payload = json.loads(payload)
        out.setdefault(entity, {}).setdefault(entity_id, payload)
    return out


def _json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value


# --- upgrade --------------------------------------------------------------------------------------


def upgrade() -> None:
    bind = op.get_bind()
    sqlite = _sqlite()
    zone = _zone()
    payloads = _payloads(bind)
    tables = list(TIMES)

    # Read and convert everything first: a value that cannot be kept stops before any change.
    times: dict[str, list[tuple[str, datetime]]] = {}
    for table, column in TIMES.items():
        written = payloads.get(ENTITY[table], {})
        rows = bind.execute(sa.text(f"SELECT id, {column} FROM {table}")).all()
        times[table] = [
            (i, instant(_naive(v), _as_written(written, i, column), zone)) for i, v in rows
        ]
    amounts: dict[str, list[tuple[str, dict[str, Decimal | None]]]] = {}
    for table, columns in AMOUNTS.items():
        rows = bind.execute(sa.text(f"SELECT id, {', '.join(columns)} FROM {table}")).all()
        amounts[table] = [
            (
                row[0],
                {c: _amount(table, row[0], c, v) for c, v in zip(columns, row[1:], strict=True)},
            )
            for row in rows
        ]
    prescriptions = bind.execute(sa.text("SELECT id, plan, fingerprint FROM prescriptions")).all()
    patients = bind.execute(sa.text("SELECT id, profile, recorded_at FROM patients")).all()

    _lift(tables)
    _create_planned_tables()
    op.add_column("prescriptions", sa.Column("regimen_id", sa.String(120)))
    op.add_column("prescriptions", sa.Column("concentration", sa.String(64)))
    op.add_column("prescriptions", sa.Column("substance", sa.String(64)))
    op.add_column("patients", sa.Column("born", sa.Date))
    op.add_column("patients", sa.Column("age_months", sa.Numeric(PRECISION, SCALE)))
    op.add_column("patients", sa.Column("age_given_on", sa.Date))

    for rx_id, plan, fingerprint in prescriptions:
        _plan_to_rows(bind, rx_id, _json(plan), fingerprint)
    for patient_id, profile, recorded_at in patients:
        profile = dict(_json(profile))
        age = profile.pop("age_months", None)
        as_of = profile.pop("as_of", None)
        given_on = None
        if age is not None:
            given_on = date.fromisoformat(str(as_of)) if as_of else _naive(recorded_at).date()
        bind.execute(
            sa.text(
                "UPDATE patients SET profile = :profile, age_months = :age, "
                "age_given_on = :given_on WHERE id = :id"
            ),
            {"profile": json.dumps(profile), "id": patient_id, "given_on": given_on,
             "age": None if age is None else str(_amount("patients", patient_id, "age", age))},
        )  # fmt: skip
    for table, converted in times.items():
        column = TIMES[table]
        for row_id, utc in converted:
            bind.execute(
                sa.text(f"UPDATE {table} SET {column} = :at WHERE id = :id"),
                {"at": utc.isoformat(sep=" ", timespec="microseconds"), "id": row_id},
            )
        if not sqlite:
            op.execute(
                f"ALTER TABLE {table} ALTER COLUMN {column} TYPE timestamptz "
                f"USING {column} AT TIME ZONE 'UTC'"
            )
    for table, columns in AMOUNTS.items():
        _retype_amounts(bind, table, columns, amounts[table])
    op.drop_column("prescriptions", "plan")
    _restore(tables)
    for table in NEW_TABLES:
        _append_only(table)


def _create_planned_tables() -> None:
    op.create_table(
        "planned_doses",
        sa.Column(
            "prescription_id", sa.String(36), sa.ForeignKey("prescriptions.id"), nullable=False
        ),
        sa.Column("number", sa.Integer, nullable=False),
        sa.Column("due_on", sa.Date, nullable=False),
        sa.Column("dose_mcg", sa.Numeric(PRECISION, SCALE), nullable=False),
        sa.Column("volume_ml", sa.Numeric(PRECISION, SCALE)),
        sa.Column("route", sa.String(32), nullable=False),
        sa.Column("phase", sa.String(120), nullable=False),
        sa.Column("phase_kind", sa.String(32), nullable=False),
        sa.Column("regimen_id", sa.String(120)),
        sa.Column("fingerprint", sa.String(120), nullable=False),
        sa.PrimaryKeyConstraint("prescription_id", "number", name="pk_planned_doses"),
    )
    op.create_table(
        "planned_labs",
        sa.Column(
            "prescription_id", sa.String(36), sa.ForeignKey("prescriptions.id"), nullable=False
        ),
        sa.Column("number", sa.Integer, nullable=False),
        sa.Column("due_on", sa.Date, nullable=False),
        sa.Column("tests", sa.JSON, nullable=False),
        sa.Column("sources", sa.JSON, nullable=False),
        sa.PrimaryKeyConstraint("prescription_id", "number", name="pk_planned_labs"),
    )


def _plan_to_rows(bind: sa.Connection, rx_id: str, plan: Mapping[str, Any], fp: str) -> None:
    """A stored plan's dated doses and checks as rows, read as b12 at 0004 read them."""
    regimen = plan.get("regimen") or {}
    bind.execute(
        sa.text(
            "UPDATE prescriptions SET regimen_id = :regimen, concentration = :concentration, "
            "substance = :substance WHERE id = :id"
        ),
        {"regimen": regimen.get("id"), "concentration": plan.get("concentration"),
         "substance": regimen.get("substance"), "id": rx_id},
    )  # fmt: skip
    for number, item in enumerate(plan.get("administrations", ()), start=1):
        volume = item.get("volume_ml")
        bind.execute(
            sa.text(
                "INSERT INTO planned_doses (prescription_id, number, due_on, dose_mcg, "
                "volume_ml, route, phase, phase_kind, regimen_id, fingerprint) VALUES (:rx, "
                ":number, :due_on, :dose, :volume, :route, :phase, :kind, :regimen, :fp)"
            ),
            {
                "rx": rx_id, "number": number, "due_on": date.fromisoformat(str(item["date"])),
                "dose": str(_amount("planned_doses", rx_id, "dose_mcg", item["dose_mcg"])),
                "volume": None if volume is None
                else str(_amount("planned_doses", rx_id, "volume_ml", volume)),
                "route": str(item["route"]), "phase": str(item.get("phase", "")),
                "kind": str(item.get("phase_kind") or item.get("phase", "")),
                "regimen": regimen.get("id"), "fp": fp,
            },
        )  # fmt: skip
    for number, item in enumerate(plan.get("labs", ()), start=1):
        tests = [
            str(t.get("name", t.get("id", t))) if isinstance(t, Mapping) else str(t)
            for t in item.get("tests", ())
        ]
        sources = list(
            dict.fromkeys(
                str(s)
                for r in item.get("rules", ())
                if isinstance(r, Mapping)
                for s in r.get("sources", ())
            )
        )
        bind.execute(
            sa.text(
                "INSERT INTO planned_labs (prescription_id, number, due_on, tests, sources) "
                "VALUES (:rx, :number, :due_on, :tests, :sources)"
            ),
            {"rx": rx_id, "number": number, "due_on": date.fromisoformat(str(item["date"])),
             "tests": json.dumps(tests), "sources": json.dumps(sources)},
        )  # fmt: skip


def _retype_amounts(
    bind: sa.Connection,
    table: str,
    columns: tuple[str, ...],
    rows: list[tuple[str, dict[str, Decimal | None]]],
) -> None:
    """Text to NUMERIC(15, 6). PostgreSQL converts in place; SQLite cannot change a column's type,
    so each value goes into a new column that then takes the old one's name (no table rebuild:
    the foreign keys, triggers and indexes of the table stay as they are)."""
    numeric = sa.Numeric(PRECISION, SCALE)
    if not _sqlite():
        for column in columns:
            op.alter_column(table, column, type_=numeric, postgresql_using=f"{column}::numeric")
        return
    required = {"dose_mcg", "value"}  # NOT NULL: SQLite adds such a column with a default
    for column in columns:
        op.add_column(
            table,
            sa.Column(f"{column}_n", numeric, nullable=column not in required,
                      server_default="0" if column in required else None),
        )  # fmt: skip
    sets = ", ".join(f"{c}_n = :{c}" for c in columns)
    for row_id, values in rows:
        bind.execute(
            sa.text(f"UPDATE {table} SET {sets} WHERE id = :id"),
            {"id": row_id, **{c: None if v is None else str(v) for c, v in values.items()}},
        )
    for column in columns:
        op.drop_column(table, column)
        op.execute(f"ALTER TABLE {table} RENAME COLUMN {column}_n TO {column}")


# --- downgrade ------------------------------------------------------------------------------------


def _wall_clock(value: Any, zone: tzinfo | None) -> datetime:
    utc = _naive(value)
    aware = utc.replace(tzinfo=UTC) if utc.tzinfo is None else utc
    return aware.astimezone(zone).replace(tzinfo=None)


def downgrade() -> None:
    bind = op.get_bind()
    sqlite = _sqlite()
    zone = _zone()
    tables = list(TIMES)
    today = datetime.now(zone).date()
    doses: dict[str, list[Any]] = {}
    for row in bind.execute(
        sa.text("SELECT * FROM planned_doses ORDER BY prescription_id, number")
    ):
        doses.setdefault(row.prescription_id, []).append(row)
    labs: dict[str, list[Any]] = {}
    for row in bind.execute(sa.text("SELECT * FROM planned_labs ORDER BY prescription_id, number")):
        labs.setdefault(row.prescription_id, []).append(row)
    prescriptions = bind.execute(sa.text("SELECT * FROM prescriptions")).all()
    patients = bind.execute(sa.text("SELECT * FROM patients")).all()
    times = {
        table: bind.execute(sa.text(f"SELECT id, {column} FROM {table}")).all()
        for table, column in TIMES.items()
    }
    amounts = {
        table: bind.execute(sa.text(f"SELECT id, {', '.join(columns)} FROM {table}")).all()
        for table, columns in AMOUNTS.items()
    }

    _lift(tables)
    for table in NEW_TABLES:
        op.drop_table(table)  # its triggers go with it
    op.add_column("prescriptions", sa.Column("plan", sa.JSON))
    for rx in prescriptions:
        plan = {
            "regimen": {"id": rx.regimen_id, "substance": rx.substance},
            "indication": None if rx.indication is None else {"id": rx.indication},
            "product": rx.product,
            "concentration": rx.concentration,
            "start": rx.start.isoformat() if isinstance(rx.start, date) else rx.start,
            "administrations": [
                {
                    "date": str(d.due_on),
                    "dose_mcg": _text(d.dose_mcg),
                    "volume_ml": _text(d.volume_ml),
                    "route": d.route,
                    "phase": d.phase,
                    "phase_kind": d.phase_kind,
                }
                for d in doses.get(rx.id, ())
            ],
            "labs": [
                {
                    "date": str(lab.due_on),
                    "tests": [{"name": n} for n in _json(lab.tests)],
                    "rules": [{"sources": _json(lab.sources)}],
                }
                for lab in labs.get(rx.id, ())
            ],
        }
        bind.execute(
            sa.text("UPDATE prescriptions SET plan = :plan WHERE id = :id"),
            {"plan": json.dumps(plan), "id": rx.id},
        )
    for p in patients:
        profile = dict(_json(p.profile))
        age, as_of = p.age_months, p.age_given_on
        if p.born is not None:
            born = p.born if isinstance(p.born, date) else date.fromisoformat(p.born)
            age = max((today.year - born.year) * 12 + today.month - born.month
                      - (today.day < born.day), 0)  # fmt: skip
            as_of = today
        profile["age_months"] = _text(age)
        if as_of is not None:
            profile["as_of"] = str(as_of)
        bind.execute(
            sa.text("UPDATE patients SET profile = :profile WHERE id = :id"),
            {"profile": json.dumps(profile), "id": p.id},
        )
    for table, column in TIMES.items():
        if not sqlite:
            op.execute(
                f"ALTER TABLE {table} ALTER COLUMN {column} TYPE timestamp "
                f"USING {column} AT TIME ZONE 'UTC'"
            )
        for row_id, value in times[table]:
            bind.execute(
                sa.text(f"UPDATE {table} SET {column} = :at WHERE id = :id"),
                {"at": _wall_clock(value, zone).isoformat(sep=" ", timespec="microseconds"),
                 "id": row_id},
            )  # fmt: skip
    for table, columns in AMOUNTS.items():
        if not sqlite:
            for column in columns:
                op.alter_column(table, column, type_=sa.String(40),
                                postgresql_using=f"{column}::text")  # fmt: skip
        else:
            for column in columns:
                op.add_column(table, sa.Column(f"{column}_t", sa.String(40)))
            for row in amounts[table]:
                bind.execute(
                    sa.text(
                        f"UPDATE {table} SET "
                        + ", ".join(f"{c}_t = :{c}" for c in columns)
                        + " WHERE id = :id"
                    ),
                    {"id": row[0], **{c: _text(v) for c, v in zip(columns, row[1:], strict=True)}},
                )
            for column in columns:
                op.drop_column(table, column)
                op.execute(f"ALTER TABLE {table} RENAME COLUMN {column}_t TO {column}")
        if not sqlite:  # PostgreSQL's text of NUMERIC(15, 6) keeps 6 decimals: as 0004 wrote it
            for row in amounts[table]:
                bind.execute(
                    sa.text(
                        f"UPDATE {table} SET "
                        + ", ".join(f"{c} = :{c}" for c in columns)
                        + " WHERE id = :id"
                    ),
                    {"id": row[0], **{c: _text(v) for c, v in zip(columns, row[1:], strict=True)}},
                )
    for column in ("age_given_on", "age_months", "born"):
        op.drop_column("patients", column)
    for column in ("substance", "concentration", "regimen_id"):
        op.drop_column("prescriptions", column)
    if not sqlite:
        op.alter_column("prescriptions", "plan", nullable=False)
    _restore(tables)


def _text(value: Any) -> str | None:
    """An amount as 0004 wrote it: its exact text, without trailing zeros."""
    if value is None:
        return None
    number = Decimal(str(value))
    if number == number.to_integral_value():
        return format(number.quantize(Decimal(1)), "f")
    return format(number.normalize(), "f")
