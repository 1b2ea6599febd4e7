"""What the therapy record keeps: plain frozen records, no database, no clock.

Records are never changed or deleted. A correction is a new record whose ``corrects_id`` names the
one it replaces; a prescription that is changed or stopped is a new prescription whose
``replaces_id`` names the old one. Times are instants (aware datetimes): the record keeps them
in UTC and reads them back in the clinic's time zone, so ``.date()`` is the clinic's day.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from types import MappingProxyType
from typing import Any, Literal, Protocol, TypeVar

from b12.errors import InputError

PrescriptionStatus = Literal["active", "stopped"]
MissKind = Literal["missed", "refused", "held"]
#: Before revision 0011 a held dose was kept as missed with a reason starting "held: ".
HELD_PREFIX = "held: "


def _frozen(value: Mapping[str, Any] | None = None) -> Mapping[str, Any]:
    return MappingProxyType(dict(value or {}))


@dataclass(frozen=True)
class PatientRecord:
    """A patient under a pseudonymous identifier, with the profile screening and dosing use.

    The age is a date of birth (``born``), or an age in months with the day it was given
    (``age_months``, ``age_given_on``), or not known; the age on any day is derived from them
    (``services.record.patient_on``), so it is never stale."""

    id: str
    code: str  # the pseudonymous identifier a clinic gives; never a name
    profile: Mapping[str, Any]  # the other Patient fields as JSON (sex, weight, conditions...)
    recorded_at: datetime
    recorded_by: str
    corrects_id: str | None = None
    born: date | None = None
    age_months: Decimal | None = None
    age_given_on: date | None = None
    ward: str | None = None  # the ward or list the patient is on (None: none recorded)


#: The most characters a ward's name keeps (the ``patients.ward`` column).
WARD_LIMIT = 120


def ward_name(text: str) -> str:
    """A ward's name as the record keeps it: trimmed, one printable line of at most WARD_LIMIT
    characters; anything else is refused with what to write instead."""
    name = text.strip()
    if not name:
        raise InputError("the ward is empty: write the ward's name, e.g. 'Ward 4'", field="ward")
    for ch in name:
        if unicodedata.category(ch) in ("Cc", "Cs", "Zl", "Zp"):
            raise InputError(
                f"the ward {name!r} holds a control character (U+{ord(ch):04X}): write the "
                "ward's name on one line, in printable characters",
                field="ward",
            )
    if len(name) > WARD_LIMIT:
        raise InputError(
            f"the ward is {len(name)} characters long; the record keeps at most {WARD_LIMIT}: "
            "shorten it",
            field="ward",
        )
    return name


@dataclass(frozen=True)
class PlannedDose:
    """One dose as prescribed."""

    number: int  # 1-based over the whole prescription
    date: date
    dose_mcg: Decimal
    volume_ml: Decimal | None
    route: str
    phase: str
    phase_kind: str = ""  # loading, consolidation, maintenance (the phase name when not known)

    def to_dict(self) -> dict[str, Any]:
        return {f: getattr(self, f) for f in self.__dataclass_fields__}


@dataclass(frozen=True)
class PlannedLab:
    """Laboratory checks a prescription plans on a day, and the sources of the rules that plan them."""

    number: int
    date: date
    tests: tuple[str, ...]
    sources: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {f: getattr(self, f) for f in self.__dataclass_fields__}


@dataclass(frozen=True)
class Prescription:
    """A plan as prescribed: regimen, dated doses and checks, product and knowledge fingerprint."""

    id: str
    patient_id: str
    regimen_id: str | None
    product: str | None
    indication: str | None
    start: date
    status: PrescriptionStatus
    prescribed_at: datetime
    prescribed_by: str
    fingerprint: str
    doses: tuple[PlannedDose, ...] = ()
    labs: tuple[PlannedLab, ...] = ()
    concentration: str | None = None  # a strength prescribed without a product, as b12 shows it
    substance: str | None = None  # the regimen's cobalamin
    replaces_id: str | None = None
    reason: str | None = None
    corrects_id: str | None = None
    # the prescriber's word that the doses are given at home, by the patient or a linked carer
    self_injection: bool = False


@dataclass(frozen=True)
class Administration:
    """One injection given: both mcg and mL (seed 004), what, where, by whom, and its findings."""

    id: str
    patient_id: str
    prescription_id: str | None
    given_at: datetime
    dose_mcg: Decimal
    volume_ml: Decimal | None
    product: str | None
    lot: str | None
    expiry: date | None
    route: str
    site: str | None
    given_by: str
    planned_number: int | None  # 1-based position in the prescription's dated doses
    findings: Sequence[Mapping[str, Any]] = ()
    fingerprint: str = ""
    override_reason: str | None = None
    corrects_id: str | None = None
    # revision 0011: the pack's barcode was read (None: recorded before b12 kept it)
    scanned: bool | None = None
    # revision 0011, on a correction: why, by whom, when, and whether it voids the one it corrects
    correction_reason: str | None = None
    corrected_by: str | None = None
    corrected_at: datetime | None = None
    entered_in_error: bool | None = None


@dataclass(frozen=True)
class MissedDose:
    """A planned dose not given (missed or refused) and why; it is never doubled later."""

    id: str
    patient_id: str
    prescription_id: str
    planned_number: int
    on: date
    kind: MissKind
    reason: str
    recorded_at: datetime
    recorded_by: str
    corrects_id: str | None = None


@dataclass(frozen=True)
class LabResult:
    """A laboratory result as written and in its analyte's canonical unit."""

    id: str
    patient_id: str
    taken_on: date
    analyte: str
    loinc: str | None
    value: Decimal
    unit: str
    normalised_value: Decimal | None
    normalised_unit: str | None
    text: str
    recorded_at: datetime
    recorded_by: str
    corrects_id: str | None = None
    correction_reason: str | None = None  # revision 0011, as on an administration
    corrected_by: str | None = None
    corrected_at: datetime | None = None
    entered_in_error: bool | None = None


@dataclass(frozen=True)
class AdverseEvent:
    """Something that happened to the patient, possibly after an injection."""

    id: str
    patient_id: str
    on: date
    description: str
    severity: str
    neurological: bool  # new neurological symptoms: a non-response trigger
    administration_id: str | None
    recorded_at: datetime
    recorded_by: str
    corrects_id: str | None = None


@dataclass(frozen=True)
class AuditEntry:
    """One link of the append-only, hash-chained audit trail."""

    seq: int
    at: str  # ISO 8601, UTC
    who: str
    action: str
    entity: str
    entity_id: str
    patient: str | None
    payload: Mapping[str, Any] = field(default_factory=_frozen)
    prev_hash: str = ""
    hash: str = ""
    # revision 0006: the link's stream (a patient's id, or "record"), its number in the stream,
    # and the table and canonical digest of the row it records (None before 0006 / no row).
    stream: str | None = None
    stream_seq: int | None = None
    record_table: str | None = None
    row_hash: str | None = None


class Correctable(Protocol):
    @property
    def id(self) -> str: ...
    @property
    def corrects_id(self) -> str | None: ...


R = TypeVar("R", bound=Correctable)


def current(records: Iterable[R]) -> list[R]:
    """The records that no later record corrects and that void nothing (their order kept)."""
    listed = list(records)
    corrected = {r.corrects_id for r in listed if r.corrects_id is not None}
    return [r for r in listed if r.id not in corrected and not voids(r)]


def voids(record: object) -> bool:
    """The record marks the one it corrects as entered in error: neither counts."""
    return bool(getattr(record, "entered_in_error", None))


def missed_kind(missed: MissedDose) -> tuple[MissKind, str]:
    """The kind of a not-given dose and its reason, a held one kept before revision 0011 (kind
    missed, reason "held: ...") read as held with the reason after the prefix."""
    if missed.kind == "missed" and missed.reason.startswith(HELD_PREFIX):
        return "held", missed.reason.removeprefix(HELD_PREFIX)
    return missed.kind, missed.reason
