"""The record exchanged with other systems: a patient's records for export (audited in the
transaction that reads them), the owner of one record, a patient received (added unless the
record has one of that code) and an order prescribed after the checks of the door that read it.

Every use case here returns b12's own records; the door that speaks another format (FHIR) maps
them. A door never opens a unit of work: it hands each use case its factory.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import Any, Literal

from b12.domain.findings import Finding, Level, distinct
from b12.domain.jsonable import to_json
from b12.domain.patient import Patient
from b12.domain.records import Administration, LabResult, PatientRecord, Prescription, current
from b12.knowledge.base import Knowledge
from b12.services.planning import Plan, PlanRequest, plan_therapy
from b12.services.ports import UnitOfWork, opens_unit_of_work
from b12.services.record import (
    Prescribed,
    UnknownPatientError,
    add_patient,
    find_patient,
    patient_on,
    prescribe,
    profile_of,
)

#: The kinds of record another system may ask for by id.
RecordKind = Literal["prescription", "administration", "lab"]


@dataclass(frozen=True)
class PatientRecords:
    """One patient's current records (corrected and voiding rows left out)."""

    patient: PatientRecord
    prescriptions: tuple[Prescription, ...]
    administrations: tuple[Administration, ...]
    labs: tuple[LabResult, ...]


def records_of(uow: UnitOfWork, code: str) -> PatientRecords:
    """Patient ``code``'s current records, read on the unit of work the caller holds."""
    record = find_patient(uow, code)
    return PatientRecords(
        record,
        tuple(current(uow.prescriptions.for_patient(record.id))),
        tuple(current(uow.administrations.for_patient(record.id))),
        tuple(current(uow.labs.for_patient(record.id))),
    )


@opens_unit_of_work
def export_records(uow: UnitOfWork, code: str, who: str, action: str) -> PatientRecords:
    """The patient's records for export, with the audit entry ``action`` of ``who`` written in
    the transaction that read them (no export leaves without its entry)."""
    found = records_of(uow, code)
    uow.audit.append(who, action, "PatientRecord", found.patient.id, found.patient.id, {})
    uow.commit()
    return found


@opens_unit_of_work
def owner_of(uow: UnitOfWork, kind: RecordKind, record_id: str) -> str | None:
    """The code of the patient whose current record ``record_id`` of ``kind`` is; None when no
    such record exists or another record has corrected it (that one is the one to read)."""
    if len(record_id) > 64:
        return None
    records: Any = {
        "prescription": uow.prescriptions,
        "administration": uow.administrations,
        "lab": uow.labs,
    }[kind]
    row = records.get(record_id)
    if row is None or all(r.id != record_id for r in current(records.for_patient(row.patient_id))):
        return None
    owner: PatientRecord | None = uow.patients.get(row.patient_id)
    return None if owner is None else owner.code


@opens_unit_of_work
def substance_of(uow: UnitOfWork, prescription_id: str | None) -> str | None:
    """The cobalamin prescription ``prescription_id`` names (None without one)."""
    if prescription_id is None:
        return None
    rx = uow.prescriptions.get(prescription_id)
    return None if rx is None else rx.substance


@dataclass(frozen=True)
class Received:
    """A patient another system sent: the record's patient of that code, and whether it was
    added now (False: the record already had one, left as it is)."""

    record: PatientRecord
    added: bool


@opens_unit_of_work
def receive_patient(
    uow: UnitOfWork,
    code: str,
    patient: Patient,
    who: str,
    now: datetime,
    *,
    born: date | None,
    age_given_on: date | None = None,
) -> Received:
    """The patient ``code`` of the record, else added (as ``b12 patient add`` adds one, the age
    as given on ``age_given_on``) in the same transaction: the look and the add are one step
    (add_patient holds the patient's lock while it checks again)."""
    try:
        return Received(find_patient(uow, code), False)
    except UnknownPatientError:
        pass
    add: Callable[..., PatientRecord] = inspect.unwrap(add_patient)
    return Received(add(uow, code, patient, who, now, born=born, age_given_on=age_given_on), True)


def profile_differs(
    record: PatientRecord, patient: Patient, born: date | None, age_given_on: date | None
) -> str | None:
    """None when the record's patient has this profile and age, else the first difference (in
    words): a patient sent again must be the one the record keeps."""
    kept = dict(record.profile)
    sent = profile_of(patient)
    for key in sorted(set(kept) | set(sent)):
        if to_json(kept.get(key)) != to_json(sent.get(key)):
            return f"{key}: the record has {kept.get(key)!r}, the input {sent.get(key)!r}"
    if born != record.born:
        return f"birth date: the record has {record.born}, the input {born}"
    if patient.age_months != record.age_months or (
        patient.age_months is not None
        and age_given_on != (record.age_given_on or record.recorded_at.date())
    ):
        return (
            f"age: the record has {record.age_months} months given on {record.age_given_on}, "
            f"the input {patient.age_months} months given on {age_given_on}"
        )
    return None


@opens_unit_of_work
def prescribe_checked(
    uow: UnitOfWork,
    kb: Knowledge,
    code: str,
    request: PlanRequest,
    who: str,
    now: datetime,
    *,
    checks: Callable[[Patient], Sequence[Finding]],
    agrees: Callable[[Plan], None],
    override: str | None = None,
) -> Prescribed:
    """An order sent from elsewhere, prescribed as ``b12 prescribe`` does once the sender's own
    checks pass, all on the patient's profile of this one transaction: ``checks`` (the order's
    doses, on the profile; a stop keeps it from being prescribed unless ``override``), then
    ``agrees`` (raises when the plan is not what the order asks for)."""
    record = find_patient(uow, code)
    profile = patient_on(record, request.start)
    checked = tuple(checks(profile))
    if any(f.level is Level.STOP for f in checked) and not override:
        return Prescribed(None, None, checked, None)
    agrees(plan_therapy(kb, replace(request, patient=profile)))
    body: Callable[..., Prescribed] = inspect.unwrap(prescribe)
    done = body(uow, kb, code, request, who, now, override=override)
    return replace(done, findings=distinct([*checked, *done.findings]))
