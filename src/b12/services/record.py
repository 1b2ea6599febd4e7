"""The therapy record's use cases: patients, prescriptions, results, events, who is due, the audit.

Every use case takes a unit of work (so the command line and the web app share them), the
knowledge base where it needs one, who acts and when. Every change is written with its audit link
in the same transaction. Giving and missing doses are in administering.py, the status and the
response in follow_up.py.

Finding codes raised here (level):
  RECORD_PLAN_STOPPED (stop)    the plan has a stop finding: not prescribed without an override reason
  RECORD_REPLACES (info)        the new prescription replaces the active one (kept, not changed)
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from b12.domain.audit import ChainCheck, verify_chain
from b12.domain.course import CourseDose, carry_over, next_owed, planned_doses, reflow
from b12.domain.findings import Finding, Level, finding, suggest
from b12.domain.jsonable import to_json
from b12.domain.lab_values import Measurement, ReferenceRange
from b12.domain.patient import Patient
from b12.domain.reactions import open_reactions, reaction_stop
from b12.domain.reasons import meaningful_reason
from b12.domain.records import (
    Administration,
    AdverseEvent,
    LabResult,
    PatientRecord,
    Prescription,
    current,
)
from b12.errors import AlreadyRecordedError, InputError
from b12.knowledge.base import Knowledge
from b12.services.ports import UnitOfWork, opens_unit_of_work

SEVERITIES = ("mild", "moderate", "severe")


class UnknownPatientError(InputError, LookupError):
    """No patient has this identifier."""

    def __init__(self, code: str) -> None:
        self.code = code
        super().__init__(
            f"no patient {code!r} in the record; see `b12 patient list`, or add one with "
            f"`b12 patient add {code}`"
        )

    def __str__(self) -> str:
        return str(self.args[0])


def new_id() -> str:
    return str(uuid.uuid4())


def audit(uow: UnitOfWork, who: str, action: str, record: Any, patient: str | None) -> None:
    """The audit link of a change, with the record itself as the payload."""
    payload = to_json({k: getattr(record, k) for k in record.__dataclass_fields__})
    uow.audit.append(who, action, type(record).__name__, record.id, patient, payload)


# --- patients -----------------------------------------------------------------------------------


def profile_of(patient: Patient, on: date) -> dict[str, Any]:
    data = to_json({k: getattr(patient, k) for k in patient.__dataclass_fields__})
    data["as_of"] = on.isoformat()
    return dict(data)


def patient_on(record: PatientRecord, on: date) -> Patient:
    """The screening profile on ``on``: the age moves on from the day it was recorded."""
    p = record.profile
    age = p.get("age_months")
    months: Decimal | None = None
    if age is not None:
        as_of = date.fromisoformat(str(p.get("as_of", record.recorded_at.date().isoformat())))
        elapsed = (on.year - as_of.year) * 12 + on.month - as_of.month - (on.day < as_of.day)
        months = Decimal(str(age)) + max(elapsed, 0)
    weight = p.get("weight_kg")
    return Patient(
        age_months=months,
        sex=p.get("sex"),
        weight_kg=None if weight is None else Decimal(str(weight)),
        pregnant=bool(p.get("pregnant")),
        breastfeeding=bool(p.get("breastfeeding")),
        conditions=tuple(p.get("conditions", ())),
        medications=tuple(p.get("medications", ())),
        allergies=tuple(p.get("allergies", ())),
    )


def find_patient(uow: UnitOfWork, code: str) -> PatientRecord:
    rows = current(uow.patients.with_code(code.strip()))
    if not rows:
        raise UnknownPatientError(code)
    return rows[-1]


@opens_unit_of_work
def add_patient(
    uow: UnitOfWork, code: str, patient: Patient, who: str, now: datetime, *, correct: bool = False
) -> PatientRecord:
    """A new patient; with ``correct`` a new profile that corrects the current one."""
    code = code.strip()
    if not code or len(code) > 64 or any(ch.isspace() for ch in code):
        raise InputError(
            f"patient identifier {code!r}: write a pseudonymous code of 1-64 characters "
            "without spaces, e.g. P-0042 (never a name)",
            field="patient",
        )
    uow.patients.lock(code)  # the check below and the insert happen under one lock
    existing = current(uow.patients.with_code(code))
    if existing and not correct:
        first = existing[0]
        raise AlreadyRecordedError(
            f"patient {code!r}",
            first.recorded_by,
            first.recorded_at.isoformat(timespec="seconds"),
            "to change the profile, correct it",
            field="correct",
        )
    if correct and not existing:
        raise UnknownPatientError(code)
    corrects = existing[-1].id if correct else None
    record = PatientRecord(new_id(), code, profile_of(patient, now.date()), now, who, corrects)
    uow.patients.add(record)
    audit(uow, who, "patient-correct" if correct else "patient-add", record, record.id)
    uow.commit()
    return record


@opens_unit_of_work
def list_patients(uow: UnitOfWork) -> list[PatientRecord]:
    return current(uow.patients.all())


@opens_unit_of_work
def patient_record(uow: UnitOfWork, code: str) -> tuple[PatientRecord, list[Prescription]]:
    """A patient's current profile and current prescriptions (stopped ones too), oldest first."""
    record = find_patient(uow, code)
    return record, current(uow.prescriptions.for_patient(record.id))


# --- prescriptions ------------------------------------------------------------------------------


def active_prescription(uow: UnitOfWork, patient_id: str) -> Prescription | None:
    """The prescription no later one replaces, when it is not a stop."""
    rows = current(uow.prescriptions.for_patient(patient_id))
    replaced = {r.replaces_id for r in rows if r.replaces_id}
    live = [r for r in rows if r.id not in replaced]
    if not live or live[-1].status != "active":
        return None
    return live[-1]


@dataclass(frozen=True)
class Prescribed:
    prescription: Prescription | None  # None when a stop kept it from being stored
    replaced: Prescription | None
    findings: tuple[Finding, ...]
    plan: Mapping[str, Any] | None

    def to_dict(self) -> dict[str, Any]:
        rx = self.prescription
        return {
            "prescribed": rx is not None,
            "prescription": None if rx is None else prescription_dict(rx),
            "replaces": None if self.replaced is None else self.replaced.id,
            "findings": [f.to_dict() for f in self.findings],
        }


def prescription_dict(rx: Prescription) -> dict[str, Any]:
    return {
        "id": rx.id,
        "status": rx.status,
        "start": rx.start.isoformat(),
        "indication": rx.indication,
        "product": rx.product,
        "regimen": rx.plan.get("regimen", {}).get("id") if rx.plan else None,
        "doses": len(rx.plan.get("administrations", ())) if rx.plan else 0,
        "prescribed_at": rx.prescribed_at.isoformat(),
        "prescribed_by": rx.prescribed_by,
        "replaces": rx.replaces_id,
        "reason": rx.reason,
        "fingerprint": rx.fingerprint,
    }


@opens_unit_of_work
def prescribe(
    uow: UnitOfWork,
    kb: Knowledge,
    code: str,
    request: Any,
    who: str,
    now: datetime,
    *,
    override: str | None = None,
) -> Prescribed:
    """Plan with the patient's profile and keep the plan; it replaces the active prescription."""
    from b12.services.planning import plan_therapy

    if override is not None:
        override = meaningful_reason(
            override,
            "override_reason",
            "the override",
            "benefit outweighs the risk, discussed with patient",
        )
    record = find_patient(uow, code)
    request = replace(request, patient=patient_on(record, request.start))
    plan = plan_therapy(kb, request)
    findings = list(plan.findings)
    kept_plan = to_json(plan.to_dict())
    if plan.stops and not override:
        findings.insert(0, _plan_stopped(len(plan.stops)))
        return Prescribed(None, None, tuple(findings), kept_plan)
    old = active_prescription(uow, record.id)
    rx = Prescription(
        new_id(),
        record.id,
        kept_plan,
        kept_plan.get("product"),
        kept_plan.get("indication", {}).get("id"),
        request.start,
        "active",
        now,
        who,
        kb.fingerprint,
        replaces_id=None if old is None else old.id,
        reason=override,
    )
    uow.prescriptions.add(rx)
    audit(uow, who, "prescribe", rx, record.id)
    uow.commit()
    if old is not None:
        findings.insert(0, _replaces(old))
    return Prescribed(rx, old, tuple(findings), kept_plan)


@opens_unit_of_work
def stop_prescription(
    uow: UnitOfWork, code: str, reason: str, who: str, now: datetime
) -> Prescription:
    """A stop is a new row that replaces the active prescription; the old one is kept."""
    record = find_patient(uow, code)
    old = active_prescription(uow, record.id)
    if old is None:
        raise InputError(f"patient {code!r} has no active prescription to stop")
    reason = meaningful_reason(
        reason, "reason", "stopping the prescription", "remission, switched to oral"
    )
    rx = replace(
        old, id=new_id(), status="stopped", prescribed_at=now, prescribed_by=who,
        replaces_id=old.id, reason=reason.strip(),
    )  # fmt: skip
    uow.prescriptions.add(rx)
    audit(uow, who, "prescription-stop", rx, record.id)
    uow.commit()
    return rx


def _plan_stopped(count: int) -> Finding:
    return finding(
        "RECORD_PLAN_STOPPED",
        Level.STOP,
        f"The plan raised {count} stop finding(s): it was not prescribed. Resolve them, or "
        "prescribe with an override reason (kept with the prescription).",
        (),
        suggestion=suggest("prescribe with an override reason", set="override_reason"),
    )


def _replaces(old: Prescription) -> Finding:
    return finding(
        "RECORD_REPLACES",
        Level.INFO,
        "This prescription replaces the active one, which is kept unchanged in the record.",
        (),
        {"replaced prescription": old.id, "replaced start": old.start.isoformat()},
    )


def replaced_by(uow: UnitOfWork, rx: Prescription) -> list[Prescription]:
    """The prescriptions ``rx`` replaced, one after the other (newest first)."""
    rows = {r.id: r for r in uow.prescriptions.for_patient(rx.patient_id)}
    out: list[Prescription] = []
    at = rows.get(rx.replaces_id or "")
    while at is not None and at not in out:
        out.append(at)
        at = rows.get(at.replaces_id or "")
    return out


def course_of(uow: UnitOfWork, rx: Prescription) -> tuple[CourseDose, ...]:
    """The course of ``rx``, with the doses given under the prescriptions it replaced counted
    toward it (domain/course.py: carry_over)."""
    given = [a for a in current(uow.administrations.for_patient(rx.patient_id))]
    missed = [m for m in current(uow.missed.for_patient(rx.patient_id))]
    earlier: list[tuple[str, Administration]] = []
    for old in replaced_by(uow, rx):
        kinds = {d.number: d.phase_kind for d in planned_doses(old.plan)}
        earlier += [
            (kinds[a.planned_number], a)
            for a in given
            if a.prescription_id == old.id and a.planned_number in kinds
        ]
    planned, carried = carry_over(planned_doses(rx.plan), rx.start, earlier)
    return reflow(
        planned,
        [a for a in given if a.prescription_id == rx.id],
        [m for m in missed if m.prescription_id == rx.id],
        carried,
    )


# --- results and events -------------------------------------------------------------------------


@dataclass(frozen=True)
class LabsAdded:
    results: tuple[LabResult, ...]
    findings: tuple[Finding, ...]
    judged: tuple[dict[str, Any], ...] = ()  # each result's band and the range used

    def to_dict(self) -> dict[str, Any]:
        return {
            "results": [
                to_json({**vars(r), **judged})
                for r, judged in zip(
                    self.results, self.judged or [{}] * len(self.results), strict=True
                )
            ],
            "findings": [f.to_dict() for f in self.findings],
        }


@opens_unit_of_work
def add_labs(
    uow: UnitOfWork,
    kb: Knowledge,
    code: str,
    readings: Sequence[Measurement],
    taken_on: date,
    who: str,
    now: datetime,
    ranges: Sequence[ReferenceRange] = (),
) -> LabsAdded:
    """Results normalised and interpreted by the labs service (with the lab's own ranges where
    given, and the day of treatment), then kept with each reading as written."""
    from b12.domain.lab_values import show_unit
    from b12.domain.labs import loinc_for
    from b12.services.labs import interpret_labs

    record = find_patient(uow, code)
    report = interpret_labs(
        kb,
        readings,
        patient_on(record, taken_on),
        ranges,
        treatment_day=treatment_day(uow, record.id, taken_on),
    )
    kept = []
    for reading, result in zip(readings, report.results, strict=True):
        v, analyte = result.value, result.analyte
        loinc = loinc_for(analyte, v.unit)
        lab = LabResult(
            new_id(), record.id, taken_on, analyte.id, None if loinc is None else loinc.code,
            v.value, show_unit(v.unit.unit), v.canonical_value, show_unit(analyte.canonical_unit),
            reading.shown, now, who,
        )  # fmt: skip
        uow.labs.add(lab)
        audit(uow, who, "lab-add", lab, record.id)
        kept.append(lab)
    uow.commit()
    judged = tuple({"band": r.band, "range_used": r.range_used} for r in report.results)
    return LabsAdded(tuple(kept), report.findings, judged)


def treatment_day(uow: UnitOfWork, patient_id: str, on: date) -> int | None:
    """Days from the first injection of the active prescription's course to ``on`` (day 0);
    None before it or when nothing has been given."""
    rx = active_prescription(uow, patient_id)
    if rx is None:
        return None
    given = [
        a.given_at.date()
        for a in current(uow.administrations.for_patient(patient_id))
        if a.prescription_id == rx.id
    ]
    if not given or on < min(given):
        return None
    return (on - min(given)).days


@opens_unit_of_work
def add_event(
    uow: UnitOfWork,
    code: str,
    on: date,
    description: str,
    severity: str,
    who: str,
    now: datetime,
    *,
    neurological: bool = False,
    administration_id: str | None = None,
) -> AdverseEvent:
    record = find_patient(uow, code)
    if severity not in SEVERITIES:
        raise InputError(
            f"severity {severity!r}: write one of {', '.join(SEVERITIES)}", field="severity"
        )
    if not description.strip():
        raise InputError("describe the event in words", field="description")
    given = current(uow.administrations.for_patient(record.id))
    if administration_id is None:  # link the injection given that day, if there was one
        same_day = [a for a in given if a.given_at.date() == on]
        administration_id = same_day[-1].id if same_day else None
    elif administration_id not in {a.id for a in given}:
        raise InputError(
            f"no current administration {administration_id!r} for patient {code!r}; the "
            "patient's status lists the ids",
            field="administration",
        )
    event = AdverseEvent(
        new_id(), record.id, on, description.strip(), severity, neurological,
        administration_id, now, who,
    )  # fmt: skip
    uow.events.add(event)
    audit(uow, who, "event-add", event, record.id)
    uow.commit()
    return event


# --- who is due, and the audit trail ------------------------------------------------------------


@dataclass(frozen=True)
class Due:
    patient: str
    dose: CourseDose
    overdue_days: int
    stops: tuple[Finding, ...] = ()  # a reaction after an injection: not to be given as it is

    def to_dict(self) -> dict[str, Any]:
        d = self.dose
        return {
            "patient": self.patient,
            "dose_number": d.planned.number,
            "due": d.due.isoformat(),
            "planned": d.planned.date.isoformat(),
            "dose_mcg": d.planned.dose_mcg,
            "volume_ml": d.planned.volume_ml,
            "route": d.planned.route,
            "phase": d.planned.phase,
            "overdue_days": self.overdue_days,
            "state": "stop" if self.stops else "overdue" if self.overdue_days > 0 else "due",
            "stops": [f.to_dict() for f in self.stops],
        }


@opens_unit_of_work
def due_on(uow: UnitOfWork, on: date) -> list[Due]:
    """Every patient whose next dose is due on ``on`` or overdue by then."""
    out = []
    for record in current(uow.patients.all()):
        rx = active_prescription(uow, record.id)
        if rx is None:
            continue
        owed = next_owed(course_of(uow, rx))
        if owed is not None and owed.due <= on:
            stops = tuple(
                reaction_stop(e, why)
                for e, why in open_reactions(
                    current(uow.events.for_patient(record.id)),
                    current(uow.administrations.for_patient(record.id)),
                )
            )
            out.append(Due(record.code, owed, (on - owed.due).days, stops))
    return sorted(out, key=lambda d: (d.dose.due, d.patient))


@opens_unit_of_work
def verify_audit(uow: UnitOfWork) -> ChainCheck:
    return verify_chain(uow.audit.entries())
