"""Corrections: a record is never changed; a new record replaces it and points at it.

The corrected record stays in the database (and in the audit trail); every reading of the record
uses ``current()``, which hides a record once a later one corrects it. The reason is kept in the
audit link of the correction, in the same transaction, and (administrations and results, since
revision 0011) on the correcting record with who wrote it and when.

A correction is checked as the use case that first wrote the record checks it: an
administration's dose, product, route and patient through the dose check (a stop, such as a
probable mg/mcg slip, needs an override reason), its volume against the dose, its site read as
``give`` reads one, its time not in the future; a result's value, unit, normalised value and LOINC
code only together, as one reading reads them; an event's severity one of the known ones.

Entered in error (``void``): an administration or a result that should never have been written is
replaced by a copy marked ``entered_in_error``; ``current()`` hides both, so it no longer counts.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from b12.domain.dates import in_range
from b12.domain.findings import Finding, Level
from b12.domain.jsonable import to_json
from b12.domain.lab_values import Measurement
from b12.domain.reasons import meaningful_reason
from b12.domain.records import Administration, current, voids
from b12.domain.routes import parse_route
from b12.errors import InputError, UnknownNameError, about
from b12.knowledge.base import Knowledge
from b12.services.ports import UnitOfWork, UnitOfWorkFactory, opens_unit_of_work
from b12.services.record import check_event, find_patient, new_id

#: What may be corrected, the repository that holds it, and the fields a correction may set.
CORRECTABLE: dict[str, tuple[str, frozenset[str]]] = {
    "administration": (
        "administrations",
        frozenset({"given_at", "dose_mcg", "volume_ml", "lot", "expiry", "route", "site"}),
    ),
    # A lab value is corrected by a new reading (re-read and re-normalised, see lab_changes).
    "lab": (
        "labs",
        frozenset(
            {
                "taken_on",
                "analyte",
                "loinc",
                "value",
                "unit",
                "normalised_value",
                "normalised_unit",
                "text",
            }
        ),
    ),
    "event": ("events", frozenset({"on", "description", "severity", "neurological"})),
}


#: What may be marked entered in error: the records that keep a correction's reason (0011).
VOIDABLE = ("administration", "lab")


class UnknownRecordError(UnknownNameError):
    """No current record of that kind and id for the patient (absent, or another patient's: the
    same answer). ``replaced_by``: the patient's own record that replaced it, when one did: the
    message then says it was marked entered in error (by whom, why), or which record counts now.
    """

    def __init__(
        self, kind: str, record_id: str, code: str, replaced_by: Any = None, now: Any = None
    ) -> None:
        super().__init__(kind, record_id, (), field="record_id")
        self.replaced_by = replaced_by
        said = f"no current {kind} {record_id!r} for patient {code!r}"
        if replaced_by is not None and voids(replaced_by):
            why = getattr(replaced_by, "correction_reason", None)
            by = getattr(replaced_by, "corrected_by", None)
            told = f" by {by}" if by else ""
            told += f" ({why!r})" if why else ""
            message = (
                f"{said}: it is already marked entered in error{told} and no longer counts; "
                "nothing more to do"
            )
        elif replaced_by is not None:
            message = f"{said}: it is already corrected" + (
                f"; the record that counts now is {now.id!r}: correct that one, or mark it "
                "entered in error"
                if now is not None
                else "; the patient's status lists the ids"
            )
        else:
            message = f"{said}; the patient's status lists the ids"
        self.args = (message,)


@dataclass(frozen=True)
class Corrected:
    kind: str
    old: Any
    new: Any
    reason: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "corrects": self.old.id,
            "record": to_json({k: getattr(self.new, k) for k in self.new.__dataclass_fields__}),
            "reason": self.reason,
        }


@opens_unit_of_work
def correct(
    uow: UnitOfWork,
    code: str,
    kind: str,
    record_id: str,
    changes: dict[str, Any],
    reason: str,
    who: str,
    now: datetime,
    *,
    kb: Knowledge | None = None,
    override: str | None = None,
) -> Corrected:
    """Replace the current record ``record_id`` of patient ``code`` with a corrected copy, checked
    as a new record of its kind is (``kb``: the knowledge the checks read; default the shipped
    one). ``override``: the reason to record an administration past a stop of the dose check."""
    if kind not in CORRECTABLE:
        raise InputError(
            f"cannot correct {kind!r}; write one of {', '.join(CORRECTABLE)}", field="kind"
        )
    reason = meaningful_reason(reason, "reason", "the correction", "dose written in the wrong row")
    allowed = CORRECTABLE[kind][1]
    unknown = sorted(set(changes) - allowed)
    if unknown or not changes:
        raise InputError(
            f"a {kind} correction may set {', '.join(sorted(allowed))}; "
            + (f"not {', '.join(unknown)}" if unknown else "nothing was given to correct")
        )
    old = _live(uow, code, kind, record_id)
    new = replace(old, id=new_id(), corrects_id=old.id, **changes, **_why(old, reason, who, now))
    if kb is None:
        from b12.knowledge.loader import load_knowledge

        kb = load_knowledge()
    if kind == "administration":
        new = _checked_administration(uow, kb, code, new, set(changes), now, override)
    elif kind == "lab":
        _check_lab(set(changes))
    else:
        check_event(new.severity, str(new.description))
    return _keep(uow, code, kind, old, new, reason, who, f"correct-{kind}")


class CorrectionStoppedError(InputError):
    """The corrected administration stops the dose check (a dose written in mg as mcg, say) and
    no override reason was given: nothing is written."""

    def __init__(self, stops: list[Finding]) -> None:
        self.stops = stops
        said = "; ".join(f"{f.code}: {f.message}" for f in stops)
        super().__init__(
            f"not corrected: {said} If this is what was given, give an override reason with the "
            "correction",
            field="dose_mcg",
        )


def _checked_administration(
    uow: UnitOfWork,
    kb: Knowledge,
    code: str,
    new: Administration,
    changed: set[str],
    now: datetime,
    override: str | None,
) -> Administration:
    """``new`` as the dose check reads it: refused where ``give`` would refuse what was typed,
    its volume drawn again from a corrected dose, its site as ``give`` names it."""
    from b12.domain.display import format_mass, format_volume
    from b12.domain.dose_input import ParsedDose
    from b12.domain.quantity import Mass
    from b12.services.administering import CLOCK_SKEW
    from b12.services.dosing import DoseRequest, calculate_dose
    from b12.services.record import patient_on
    from b12.services.site_rotation import read_site

    if new.dose_mcg <= 0:
        raise InputError(
            f"dose_mcg={new.dose_mcg}: write the dose given, more than 0", field="dose_mcg"
        )
    if new.volume_ml is not None and new.volume_ml <= 0:
        raise InputError(
            f"volume_ml={new.volume_ml}: write the volume drawn, more than 0", field="volume_ml"
        )
    if new.given_at > now + CLOCK_SKEW:
        raise InputError(
            f"given_at={new.given_at.isoformat()} is in the future: write the time it was given",
            field="given_at",
        )
    if "route" in changed:
        with about("route"):
            new = replace(new, route=parse_route(new.route))
    if "site" in changed and new.site is not None:
        new = replace(new, site=read_site(kb, new.site))
    day = new.given_at.date()
    patient = patient_on(find_patient(uow, code), day)
    with about("dose_mcg"):
        dose = calculate_dose(
            kb,
            DoseRequest(
                dose=ParsedDose.of(Mass(new.dose_mcg)), product=new.product, route=new.route,
                patient=patient, expiry=new.expiry, today=day,
                needs_strength=new.product is not None,
            ),
        )  # fmt: skip
    stops = [f for f in dose.findings if f.level is Level.STOP]
    if stops and override is None:
        raise CorrectionStoppedError(stops)
    if stops and override is not None:
        from b12.services.administering import OVERRIDE_EXAMPLE

        reason = meaningful_reason(override, "override_reason", "the override", OVERRIDE_EXAMPLE)
        new = replace(new, override_reason=reason)
    drawn = dose.measured.rounded_ml if dose.measured is not None else None
    if drawn is None:
        if "dose_mcg" in changed and "volume_ml" not in changed and new.volume_ml is not None:
            raise InputError(
                f"dose_mcg={new.dose_mcg}: give volume_ml too, the volume drawn for it (the dose "
                f"check draws none for this dose; the record says {format_volume(new.volume_ml)})",
                field="volume_ml",
            )
        return new
    if "volume_ml" in changed and new.volume_ml is not None and new.volume_ml != drawn:
        raise InputError(
            f"volume_ml={format_volume(new.volume_ml)} does not hold the dose: "
            f"{format_mass(new.dose_mcg)} of this product is drawn as {format_volume(drawn)}; "
            "correct dose_mcg and volume_ml together, so that they agree",
            field="volume_ml",
        )
    if changed & {"dose_mcg", "volume_ml"}:
        return replace(new, volume_ml=drawn)
    return new


#: A result's fields that one reading gives together (``lab_changes``).
READING_FIELDS = frozenset(
    {"analyte", "loinc", "value", "unit", "normalised_value", "normalised_unit", "text"}
)


def _check_lab(changed: set[str]) -> None:
    """A result's value is corrected as a new reading: every field one reading gives, at once
    (never a value without its unit, nor a normalised value alone). The doors make them with
    ``lab_changes``; that they agree with each other is that function's work, not checked here."""
    if not changed & READING_FIELDS:
        return
    missing = sorted(READING_FIELDS - changed)
    if missing:
        raise InputError(
            "a result's value is corrected as a whole reading (reading=b12=300pg/mL): its unit, "
            f"normalised value and LOINC code are read from it, not set one by one ({', '.join(missing)} "
            "would be left as they were)",
            field="reading",
        )


@opens_unit_of_work
def void(
    uow: UnitOfWork, code: str, kind: str, record_id: str, reason: str, who: str, now: datetime
) -> Corrected:
    """Mark the current record ``record_id`` of patient ``code`` entered in error: a copy marked
    void replaces it, and neither counts any more (the original stays, as every record does)."""
    if kind not in VOIDABLE:
        raise InputError(
            f"cannot mark {kind!r} entered in error; write one of {', '.join(VOIDABLE)}",
            field="kind",
        )
    reason = meaningful_reason(
        reason, "reason", "marking it entered in error", "recorded for the wrong patient"
    )
    old = _live(uow, code, kind, record_id)
    new = replace(
        old, id=new_id(), corrects_id=old.id, **_why(old, reason, who, now), entered_in_error=True
    )
    return _keep(uow, code, kind, old, new, reason, who, f"void-{kind}")


def _live(uow: UnitOfWork, code: str, kind: str, record_id: str) -> Any:
    """The current record, read under the patient's lock ("already corrected" is checked there)."""
    uow.patients.lock(code.strip())
    patient = find_patient(uow, code)
    every = getattr(uow, CORRECTABLE[kind][0]).for_patient(patient.id)
    live = {r.id: r for r in current(every)}
    if record_id not in live:
        raise _gone(kind, record_id, code, every)
    return live[record_id]


def _gone(kind: str, record_id: str, code: str, every: list[Any]) -> UnknownRecordError:
    """Why ``record_id`` is not current among the patient's records ``every``: absent (or
    another patient's), marked entered in error, or corrected (and which record counts now)."""
    replacing = {r.corrects_id: r for r in every if r.corrects_id is not None}
    first = replacing.get(record_id)
    later, seen = first, {record_id}
    while later is not None and not voids(later) and later.id in replacing:
        if later.id in seen:  # a loop no writer makes; stop rather than spin
            break
        seen.add(later.id)
        later = replacing[later.id]
    if later is not None and voids(later):
        return UnknownRecordError(kind, record_id, code, later)
    now = later if later is not None and later.id not in replacing else None
    return UnknownRecordError(kind, record_id, code, first, now)


def find_current(uow: UnitOfWork, code: str, record_id: str) -> tuple[str, Any]:
    """The kind and the record of a current administration or result of patient ``code``
    (UnknownRecordError for one that is absent, corrected, voided, or another patient's)."""
    patient = find_patient(uow, code)
    for kind in VOIDABLE:
        every = getattr(uow, CORRECTABLE[kind][0]).for_patient(patient.id)
        found = next((r for r in current(every) if r.id == record_id), None)
        if found is not None:
            return kind, found
        if any(r.id == record_id for r in every):
            raise _gone(kind, record_id, code, every)
    raise UnknownRecordError("record", record_id, code)


def _why(old: Any, reason: str, who: str, now: datetime) -> dict[str, Any]:
    """The correction's reason, author and time, on the records that keep them (0011)."""
    if "correction_reason" not in old.__dataclass_fields__:
        return {}
    return {"correction_reason": reason.strip(), "corrected_by": who, "corrected_at": now}


def _keep(
    uow: UnitOfWork, code: str, kind: str, old: Any, new: Any, reason: str, who: str, action: str
) -> Corrected:
    getattr(uow, CORRECTABLE[kind][0]).add(new)
    payload = to_json({k: getattr(new, k) for k in new.__dataclass_fields__})
    payload["reason"] = reason.strip()
    uow.audit.append(who, action, type(new).__name__, new.id, new.patient_id, payload)
    uow.commit()
    return Corrected(kind, old, new, reason.strip())


@dataclass(frozen=True)
class Amendment:
    """A record no longer current (``original``, kept) and the record that replaced it (``by``:
    the correction, or the void that marks it entered in error)."""

    kind: str
    original: Any
    by: Any

    @property
    def entered_in_error(self) -> bool:
        return voids(self.by)

    def to_dict(self) -> dict[str, Any]:
        def fields(r: Any) -> dict[str, Any]:
            shown: dict[str, Any] = to_json({k: getattr(r, k) for k in r.__dataclass_fields__})
            return shown

        return {
            "kind": self.kind,
            "entered_in_error": self.entered_in_error,
            "original": fields(self.original),
            "by": fields(self.by),
        }


def amendments(uow: UnitOfWork, patient_id: str) -> list[Amendment]:
    """The patient's administrations and results that a later record corrected or voided, each
    with that record, in the order the replacements were written (a dose given after a void
    replaces the void, which is shown as the entry in error it is)."""
    out: list[Amendment] = []
    for kind in VOIDABLE:
        every = getattr(uow, CORRECTABLE[kind][0]).for_patient(patient_id)
        by_id = {r.id: r for r in every}
        for r in every:
            old = by_id.get(r.corrects_id) if r.corrects_id is not None else None
            if old is not None and not voids(old):
                out.append(Amendment(kind, old, r))
    return out


def lab_changes(
    kb: Any, unit_of_work: UnitOfWorkFactory, code: str, reading: Measurement, taken_on: date
) -> dict[str, Any]:
    """The fields of a lab result from a corrected reading, normalised as `add_labs` does."""
    from b12.domain.lab_values import show_unit
    from b12.domain.labs import loinc_for
    from b12.services.labs import interpret_labs
    from b12.services.record import patient_on

    with unit_of_work() as uow:
        patient = patient_on(find_patient(uow, code), taken_on)
    (result,) = interpret_labs(kb, [reading], patient).results
    v, analyte = result.value, result.analyte
    loinc = loinc_for(analyte, v.unit)
    return {
        "analyte": analyte.id,
        "loinc": None if loinc is None else loinc.code,
        "value": v.value,
        "unit": show_unit(v.unit.unit),
        "normalised_value": v.canonical_value,
        "normalised_unit": show_unit(analyte.canonical_unit),
        "text": reading.shown,
    }


def parse_change(field: str, text: str) -> Any:
    """A correction's value from the command line, typed as the record holds it."""
    try:
        if field in ("dose_mcg", "volume_ml", "value", "normalised_value"):
            value = Decimal(text)
            if not value.is_finite() or value < 0 or value.adjusted() > 9:
                raise ValueError(text)
            return value
        if field in ("expiry", "taken_on", "on"):
            return in_range(date.fromisoformat(text), field)
        if field == "given_at":
            return in_range(datetime.fromisoformat(text), field)
        if field == "neurological":
            if text.lower() not in ("true", "false", "yes", "no"):
                raise ValueError(text)
            return text.lower() in ("true", "yes")
    except InputError:
        raise
    except (ValueError, InvalidOperation):
        raise InputError(
            f"{field}={text!r} cannot be read: write numbers as 100 or 0.5, dates as 2027-01-31, "
            "times as 2027-01-31T09:00, true/false for neurological"
        ) from None
    return text
