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
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from b12.domain.audit import ChainCheck, anchor_of, verify_record
from b12.domain.course import CourseDose, carry_over, next_owed, reflow
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
    MissedDose,
    PatientRecord,
    PlannedDose,
    PlannedLab,
    Prescription,
    current,
    voids,
    ward_name,
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
            f"no patient {code!r} in the record: check the code, or add the patient first",
            listed="patients",
        )

    def __str__(self) -> str:
        return str(self.args[0])


class UnknownWardError(InputError, LookupError):
    """No current patient is on this ward; ``wards`` are the wards patients are on."""

    def __init__(self, ward: str, wards: Sequence[str]) -> None:
        self.ward = ward
        self.wards = tuple(wards)
        listed = (
            f"the wards are: {', '.join(self.wards)}"
            if self.wards
            else "no patient has a ward yet: give the ward when adding the patient or when "
            "correcting the profile (the whole profile again)"
        )
        super().__init__(f"no patient on ward {ward!r}; {listed}", field="ward")

    def __str__(self) -> str:
        return str(self.args[0])


def new_id() -> str:
    return str(uuid.uuid4())


def audit(
    uow: UnitOfWork, who: str, action: str, record: Any, patient: str | None, **extra: Any
) -> None:
    """The audit link of a change, with the record itself as the payload (and ``extra``: what
    the record's row does not keep, such as the findings a plan was signed past)."""
    payload = {k: getattr(record, k) for k in record.__dataclass_fields__}
    # as JSON once, by the trail (append turns every payload to plain JSON)
    uow.audit.append(who, action, type(record).__name__, record.id, patient, payload | extra)


def acted(who: str, role: str | None, code: str) -> dict[str, Any]:
    """Who acted for whom, for an audit payload: the account, its role, the patient's code (a
    carer records for a patient); nothing when the door knows no role (the command line)."""
    return {} if role is None else {"acted": {"by": who, "role": role, "for": code}}


# --- patients -----------------------------------------------------------------------------------


def profile_of(patient: Patient) -> dict[str, Any]:
    """The profile's JSON: every Patient field but the age (columns of its own)."""
    data = to_json({k: getattr(patient, k) for k in patient.__dataclass_fields__})
    data.pop("age_months", None)
    return dict(data)


def whole_months(since: date, on: date) -> int:
    """Whole months from ``since`` to ``on`` (0 when ``on`` is earlier)."""
    months = (on.year - since.year) * 12 + on.month - since.month - (on.day < since.day)
    return max(months, 0)


def patient_on(record: PatientRecord, on: date) -> Patient:
    """The screening profile on ``on``: the age is derived on that day, from the date of birth
    or from the age given and the day it was given."""
    p = record.profile
    months: Decimal | None = None
    if record.born is not None:
        months = Decimal(whole_months(record.born, on))
    elif record.age_months is not None:
        given_on = record.age_given_on or record.recorded_at.date()
        months = record.age_months + whole_months(given_on, on)
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


#: Characters a path segment cannot hold as written (RFC 3986: "/" "?" "#" "[" "]", "%" that
#: starts an escape, "\\" that browsers read as "/"): a code is one segment of every address
#: of the patient, on the web as in FHIR references.
NOT_IN_A_CODE = frozenset("/?#[]%\\")


def check_new_code(code: str) -> None:
    """Refuse a new patient's code that an address could not carry as written."""
    bad = sorted({ch for ch in code if ch in NOT_IN_A_CODE or not ch.isprintable()})
    if bad or code.strip(".") == "":
        shown = " ".join(repr(ch) for ch in bad) or "only dots"
        raise InputError(
            f"patient identifier {code!r}: {shown} cannot be part of a code (it would not be "
            "one segment of the patient's address); write letters, digits and - . _ ~, "
            "e.g. P-0042",
            field="patient",
        )


@opens_unit_of_work
def add_patient(
    uow: UnitOfWork,
    code: str,
    patient: Patient,
    who: str,
    now: datetime,
    *,
    correct: bool = False,
    born: date | None = None,
    ward: str | None = None,
    age_given_on: date | None = None,
) -> PatientRecord:
    """A new patient; with ``correct`` a new profile that corrects the current one. The age is
    ``born`` (a date of birth) or the patient's age, given on ``age_given_on`` (default
    ``now``'s day: another system's record says when it was given); not both. ``ward``:
    the ward or list the patient is on; a correction that names none keeps the current one."""
    code = code.strip()
    if age_given_on is not None and patient.age_months is None:
        raise InputError("a day the age was given, but no age: give the age", field="age")
    if age_given_on is not None and age_given_on > now.date():
        raise InputError(
            f"the age was given on {age_given_on.isoformat()}, after today "
            f"({now.date().isoformat()}): write the day it was given",
            field="age",
        )
    if ward is not None:
        ward = ward_name(ward)
    if born is not None and patient.age_months is not None:
        raise InputError(
            "give the date of birth or the age, not both", field="born", alternatives=("age",)
        )
    if born is not None and born > now.date():
        raise InputError(
            f"date of birth {born.isoformat()} is after today ({now.date().isoformat()}): "
            "write the date the patient was born",
            field="born",
        )
    if born is not None:
        Patient(age_months=Decimal(whole_months(born, now.date())))  # a plausible age, or refused
    if not code or len(code) > 64 or any(ch.isspace() for ch in code):
        raise InputError(
            f"patient identifier {code!r}: write a pseudonymous code of 1-64 characters "
            "without spaces, e.g. P-0042 (never a name)",
            field="patient",
        )
    uow.patients.lock(code)  # the check below and the insert happen under one lock
    existing = current(uow.patients.with_code(code))
    if not existing:  # a new code (an older one, kept with such a character, stays readable)
        check_new_code(code)
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
    if correct and ward is None:
        ward = existing[-1].ward
    record = PatientRecord(
        new_id(), code, profile_of(patient), now, who, corrects, born=born,
        age_months=patient.age_months,
        age_given_on=None if patient.age_months is None else age_given_on or now.date(),
        ward=ward,
    )  # fmt: skip
    uow.patients.add(record)
    audit(uow, who, "patient-correct" if correct else "patient-add", record, record.id)
    uow.commit()
    return record


#: The most patients a page holds when no limit is given.
PAGE = 100


@dataclass(frozen=True)
class PatientPage:
    """One page of patients by code; ``after`` is the code to ask the next page after (None:
    this is the last page)."""

    patients: tuple[PatientRecord, ...]
    after: str | None


@opens_unit_of_work
def list_patients(uow: UnitOfWork, after: str | None = None, limit: int = PAGE) -> PatientPage:
    """The current patients by code, at most ``limit`` after the code ``after``."""
    if not 1 <= limit <= 10_000:
        raise InputError(f"limit {limit}: write a number from 1 to 10000", field="limit")
    rows = uow.patients.page(after, limit + 1)
    more = len(rows) > limit
    shown = tuple(rows[:limit])
    return PatientPage(shown, shown[-1].code if more and shown else None)


@opens_unit_of_work
def patient_record(uow: UnitOfWork, code: str) -> tuple[PatientRecord, list[Prescription]]:
    """A patient's current profile and current prescriptions (stopped ones too), oldest first."""
    record = find_patient(uow, code)
    return record, current(uow.prescriptions.for_patient(record.id))


# --- prescriptions ------------------------------------------------------------------------------


def active_prescription(uow: UnitOfWork, patient_id: str) -> Prescription | None:
    """The prescription no later one replaces, when it is not a stop."""
    return active_among(uow.prescriptions.for_patient(patient_id))


def active_among(prescriptions: Iterable[Prescription]) -> Prescription | None:
    """``active_prescription`` among one patient's prescriptions (oldest first)."""
    rows = current(prescriptions)
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
        "regimen": rx.regimen_id,
        "doses": len(rx.doses),
        "prescribed_at": rx.prescribed_at.isoformat(),
        "prescribed_by": rx.prescribed_by,
        "replaces": rx.replaces_id,
        "reason": rx.reason,
        "fingerprint": rx.fingerprint,
        "self_injection": rx.self_injection,
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
    self_injection: bool = False,
) -> Prescribed:
    """Plan with the patient's profile and keep the plan; it replaces the active prescription.
    ``self_injection``: the doses are given at home, by the patient or a carer linked to inject."""
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
    regimen = kept_plan.get("regimen") or {}
    rx = Prescription(
        new_id(),
        record.id,
        regimen.get("id"),
        kept_plan.get("product"),
        (kept_plan.get("indication") or {}).get("id"),
        request.start,
        "active",
        now,
        who,
        kb.fingerprint,
        doses=planned_doses(kept_plan),
        labs=planned_labs(kept_plan),
        concentration=kept_plan.get("concentration"),
        substance=regimen.get("substance"),
        replaces_id=None if old is None else old.id,
        reason=override,
        self_injection=self_injection,
    )
    uow.prescriptions.add(rx)
    audit(uow, who, "prescribe", rx, record.id, findings=[f.to_dict() for f in plan.findings])
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


def planned_doses(plan: Mapping[str, Any]) -> tuple[PlannedDose, ...]:
    """The dated doses of a plan (``Plan.to_dict()`` as JSON), as the prescription keeps them."""
    out = []
    for number, item in enumerate(plan.get("administrations", ()), start=1):
        volume = item.get("volume_ml")
        out.append(
            PlannedDose(
                number,
                date.fromisoformat(str(item["date"])),
                Decimal(str(item["dose_mcg"])),
                None if volume is None else Decimal(str(volume)),
                str(item["route"]),
                str(item.get("phase", "")),
                str(item.get("phase_kind") or item.get("phase", "")),
            )
        )
    return tuple(out)


def planned_labs(plan: Mapping[str, Any]) -> tuple[PlannedLab, ...]:
    """The dated laboratory checks of a plan: the tests' names and their rules' sources."""
    out = []
    for number, item in enumerate(plan.get("labs", ()), start=1):
        tests = tuple(
            str(t.get("name", t.get("id", t))) if isinstance(t, Mapping) else str(t)
            for t in item.get("tests", ())
        )
        sources = tuple(
            dict.fromkeys(
                str(s)
                for r in item.get("rules", ())
                if isinstance(r, Mapping)
                for s in r.get("sources", ())
            )
        )
        out.append(PlannedLab(number, date.fromisoformat(str(item["date"])), tests, sources))
    return tuple(out)


def replaced_by(uow: UnitOfWork, rx: Prescription) -> list[Prescription]:
    """The prescriptions ``rx`` replaced, one after the other (newest first)."""
    return replaced_among(uow.prescriptions.for_patient(rx.patient_id), rx)


def replaced_among(prescriptions: Iterable[Prescription], rx: Prescription) -> list[Prescription]:
    rows = {r.id: r for r in prescriptions}
    out: list[Prescription] = []
    at = rows.get(rx.replaces_id or "")
    while at is not None and at not in out:
        out.append(at)
        at = rows.get(at.replaces_id or "")
    return out


def course_of(uow: UnitOfWork, rx: Prescription) -> tuple[CourseDose, ...]:
    """The course of ``rx``, with the doses given under the prescriptions it replaced counted
    toward it (domain/course.py: carry_over)."""
    return course_among(
        rx,
        replaced_by(uow, rx),
        current(uow.administrations.for_patient(rx.patient_id)),
        current(uow.missed.for_patient(rx.patient_id)),
    )


def course_among(
    rx: Prescription,
    replaced: Sequence[Prescription],
    given: Sequence[Administration],
    missed: Sequence[MissedDose],
) -> tuple[CourseDose, ...]:
    """The course of ``rx`` from the patient's current records (no query)."""
    earlier: list[tuple[str, Administration]] = []
    for old in replaced:
        kinds = {d.number: d.phase_kind for d in old.doses}
        earlier += [
            (kinds[a.planned_number], a)
            for a in given
            if a.prescription_id == old.id and a.planned_number in kinds
        ]
    planned, carried = carry_over(rx.doses, rx.start, earlier)
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


def check_event(severity: str, description: str) -> None:
    """An event's severity is one of SEVERITIES and it is told in words (when added or corrected)."""
    if severity not in SEVERITIES:
        raise InputError(
            f"severity {severity!r}: write one of {', '.join(SEVERITIES)}", field="severity"
        )
    if not description.strip():
        raise InputError("describe the event in words", field="description")


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
    role: str | None = None,
) -> AdverseEvent:
    """Something that happened to the patient; ``role``: the recorder's, kept in the audit."""
    record = find_patient(uow, code)
    check_event(severity, description)
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
    audit(uow, who, "event-add", event, record.id, **acted(who, role, record.code))
    uow.commit()
    return event


# --- who is due, and the audit trail ------------------------------------------------------------


@dataclass(frozen=True)
class Due:
    patient: str
    dose: CourseDose
    overdue_days: int
    stops: tuple[Finding, ...] = ()  # a reaction after an injection: not to be given as it is
    # this dose's earlier entries marked entered in error (each void copies what it voids)
    voided: tuple[Administration, ...] = ()
    ward: str | None = None  # the ward the patient is on (None: none recorded)

    def to_dict(self) -> dict[str, Any]:
        d = self.dose
        return {
            "patient": self.patient,
            # only when recorded: the answer is otherwise the one earlier releases gave
            **({"ward": self.ward} if self.ward is not None else {}),
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
            # only when there are: the answer is otherwise the one earlier releases gave
            **(
                {"entered_in_error": [to_json(vars(v)) for v in self.voided]} if self.voided else {}
            ),
        }


def by_patient(records: Iterator[Any], code_of: Mapping[str, str]) -> dict[str, list[Any]]:
    """The records by the code of the patient they were recorded for (``code_of``: every patient
    row's id -> its code; a profile correction makes a new row, the records stay under the old)."""
    out: dict[str, list[Any]] = {}
    for r in records:
        out.setdefault(code_of.get(r.patient_id, r.patient_id), []).append(r)
    return out


def wards_among(patients: Iterable[PatientRecord]) -> list[str]:
    """The wards the patients are on, each once, in alphabetical order."""
    return sorted({p.ward for p in patients if p.ward}, key=lambda w: (w.casefold(), w))


def on_ward(patients: Sequence[PatientRecord], ward: str) -> list[PatientRecord]:
    """The patients on ``ward`` (its exact name, else the one name that differs only in case);
    a ward no patient is on is refused with the wards they are on."""
    wanted = ward_name(ward)
    present = wards_among(patients)
    if wanted not in present:
        folded = [w for w in present if w.casefold() == wanted.casefold()]
        if len(folded) != 1:
            raise UnknownWardError(wanted, present)
        wanted = folded[0]
    return [p for p in patients if p.ward == wanted]


@opens_unit_of_work
def wards(uow: UnitOfWork) -> list[str]:
    """The wards the current patients are on, in alphabetical order."""
    return wards_among(current(uow.patients.all()))


@opens_unit_of_work
def due_on(uow: UnitOfWork, on: date, ward: str | None = None) -> list[Due]:
    """Every patient whose next dose is due on ``on`` or overdue by then; with ``ward``, only the
    patients on that ward (a ward no patient is on is refused: UnknownWardError).

    One read of each table, whatever the number of patients and doses (no query per patient)."""
    every_row = uow.patients.all()
    code_of = {p.id: p.code for p in every_row}
    patients = current(every_row)
    if ward is not None:
        patients = on_ward(patients, ward)
    prescriptions = by_patient(uow.prescriptions.every(), code_of)
    given = by_patient(uow.administrations.every(), code_of)
    missed = by_patient(uow.missed.every(), code_of)
    events = by_patient(uow.events.every(), code_of)
    out = []
    for record in patients:
        mine = prescriptions.get(record.code, [])
        rx = active_among(mine)
        if rx is None:
            continue
        doses = current(given.get(record.code, []))
        course = course_among(
            rx, replaced_among(mine, rx), doses, current(missed.get(record.code, []))
        )
        owed = next_owed(course)
        if owed is not None and owed.due <= on:
            stops = tuple(
                reaction_stop(e, why)
                for e, why in open_reactions(current(events.get(record.code, [])), doses)
            )
            voided = tuple(
                a for a in given.get(record.code, [])
                if voids(a) and a.prescription_id == rx.id
                and a.planned_number == owed.planned.number
            )  # fmt: skip
            out.append(Due(record.code, owed, (on - owed.due).days, stops, voided, record.ward))
    return sorted(out, key=lambda d: (d.dose.due, d.patient))


@opens_unit_of_work
def verify_audit(uow: UnitOfWork, anchor: Mapping[str, Any] | None = None) -> ChainCheck:
    """Every audit stream's keyed chain, every record row against the link that binds it, and the
    heads against ``anchor`` (what `audit_anchor` gave earlier) when one is given."""
    return verify_record(uow.audit.entries(), uow.audit.record_rows(), uow.audit.sign, anchor)


@opens_unit_of_work
def audit_anchor(uow: UnitOfWork) -> tuple[ChainCheck, dict[str, Any]]:
    """The heads to keep outside the database (each stream's count and head, and their root),
    with the check they come from: an anchor of a trail that does not verify is no anchor."""
    check = verify_record(uow.audit.entries(), uow.audit.record_rows(), uow.audit.sign)
    return check, anchor_of(check)
