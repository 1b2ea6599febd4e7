"""A patient's record as a FHIR Bundle, and a Bundle (or one resource) recorded through b12's
use cases.

Export: the Patient and its screening profile (``profile.py``), every current MedicationRequest,
MedicationAdministration (with the findings of each dose as DetectedIssues) and Observation. Import reads everything first (an
element b12 cannot read stops the whole import, nothing written), then records each resource
through the use case its own door uses: a MedicationRequest is checked as an order (the dose
checks of every phase, then the plan and its screening, as ``b12 prescribe`` does: a stop keeps
it from being prescribed), a MedicationAdministration is given (the five rights), an Observation
is added as a result, a Patient is added, with the profile read beside it, when the record has
no patient of that code (before the orders and doses, which are screened with that profile).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import TYPE_CHECKING, Any

from b12.adapters.fhir.medication_request import (
    MedicationOrder,
    medication_request,
    planned_doses,
    read_medication_request,
    require_prescribable,
)
from b12.adapters.fhir.profile import (
    READ_ELEMENTS,
    ProfileRead,
    is_body_weight,
    profile_resources,
    profile_with,
    read_profile,
)
from b12.adapters.fhir.reading import FhirReadError, items, mapping, refuse_modifiers
from b12.adapters.fhir.resources import (
    AdministrationRead,
    ObservationRead,
    PatientRead,
    detected_issue,
    medication_administration,
    observation,
    patient,
    read_administration,
    read_observation,
    read_patient,
)
from b12.domain.findings import Finding
from b12.domain.records import Administration, LabResult, Prescription
from b12.errors import InputError

if TYPE_CHECKING:
    from b12.bootstrap import App
    from b12.knowledge.base import Knowledge
    from b12.services.exchange import PatientRecords
    from b12.services.planning import Plan

#: The resources b12 reads, in the order an import records them: the patient's profile
#: (AllergyIntolerance, Condition, MedicationStatement, a body-weight Observation) is read into
#: the Patient, so every order and dose after it is screened with the whole profile.
READ_ORDER = ("Patient", "MedicationRequest", "MedicationAdministration", "Observation")
#: The profile's resources (read with the Patient; a body weight is an Observation).
PROFILE_KINDS = tuple(k for k in READ_ELEMENTS if k != "Observation")
#: What b12 writes itself and so does not read back (its findings are recomputed).
NOT_READ = ("DetectedIssue",)


# --- export --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PatientResources:
    """One patient's resources, by type (ids as b12 keeps them)."""

    patient: dict[str, Any]
    medication_requests: list[dict[str, Any]]
    administrations: list[dict[str, Any]]
    observations: list[dict[str, Any]]
    issues: list[dict[str, Any]]
    profile: list[dict[str, Any]] = field(default_factory=list)

    def all(self) -> list[dict[str, Any]]:
        return [
            self.patient,
            *self.profile,
            *self.medication_requests,
            *self.administrations,
            *self.issues,
            *self.observations,
        ]


def patient_resources(kb: Knowledge, found: PatientRecords) -> PatientResources:
    """Everything b12 keeps of one patient (current records only) as FHIR resources."""
    code = found.patient.code
    return resources_of(
        kb, code, patient(found.patient), found.prescriptions, found.administrations, found.labs,
        profile=profile_resources(found.patient, kb),
    )  # fmt: skip


def resources_of(
    kb: Knowledge,
    code: str,
    patient_resource: dict[str, Any],
    prescriptions: Sequence[Prescription],
    given: Sequence[Administration],
    labs: Sequence[LabResult],
    *,
    profile: Sequence[dict[str, Any]] = (),
) -> PatientResources:
    substance = {rx.id: rx.substance for rx in prescriptions}
    issues = []
    for a in given:
        for n, f in enumerate(a.findings, start=1):
            issue = detected_issue(f, code, f"MedicationAdministration/{a.id}", a.given_at)
            issue["id"] = f"{a.id}-{n}"
            issues.append(issue)
    return PatientResources(
        patient_resource,
        [medication_request(rx, code, kb) for rx in prescriptions],
        [
            medication_administration(a, code, kb, substance.get(a.prescription_id or ""))
            for a in given
        ],
        [observation(lab, code, kb) for lab in labs],
        issues,
        list(profile),
    )


def bundle(
    resources: Sequence[Mapping[str, Any]],
    kind: str = "collection",
    *,
    base: str | None = None,
    total: int | None = None,
    links: Sequence[tuple[str, str]] = (),
    timestamp: datetime | None = None,
) -> dict[str, Any]:
    """A Bundle of ``resources`` (``kind`` collection or searchset)."""
    out: dict[str, Any] = {"resourceType": "Bundle", "type": kind}
    if timestamp is not None:
        out["timestamp"] = timestamp.isoformat()
    if total is not None:
        out["total"] = total
    if links:
        out["link"] = [{"relation": r, "url": u} for r, u in links]
    entries = []
    for resource in resources:
        entry: dict[str, Any] = {}
        rid = resource.get("id")
        if base is not None and isinstance(rid, str):
            entry["fullUrl"] = f"{base}/{resource['resourceType']}/{rid}"
        entry["resource"] = resource
        if kind == "searchset":
            entry["search"] = {"mode": "match"}
        entries.append(entry)
    if entries:
        out["entry"] = entries
    return out


# --- import --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Read:
    """One resource, read: its type, where it was in the input, and what b12 made of it."""

    kind: str
    path: str
    value: Any


@dataclass(frozen=True)
class Imported:
    """What became of one resource: recorded, stopped (a stop finding), or already there."""

    kind: str
    path: str
    outcome: str  # recorded | stopped | present | not-read
    id: str | None = None
    findings: tuple[Finding, ...] = ()
    notes: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "resource": self.kind,
            "at": self.path,
            "outcome": self.outcome,
            "id": self.id,
            "findings": [f.to_dict() for f in self.findings],
            "notes": list(self.notes),
        }


def resources_in(data: Any) -> list[tuple[str, Mapping[str, Any]]]:
    """A Bundle's entries' resources (with their paths), or the one resource."""
    data = mapping(data, "the input")
    if data.get("resourceType") == "Bundle":
        refuse_modifiers({k: v for k, v in data.items() if k != "entry"}, "Bundle")
        out = []
        for i, entry in enumerate(items(data.get("entry"), "Bundle.entry")):
            entry = mapping(entry, f"Bundle.entry[{i}]")
            refuse_modifiers(
                {k: v for k, v in entry.items() if k != "resource"}, f"Bundle.entry[{i}]"
            )
            out.append(
                (
                    f"Bundle.entry[{i}]",
                    mapping(entry.get("resource"), f"Bundle.entry[{i}].resource"),
                )
            )
        if not out:
            raise FhirReadError("Bundle.entry", "empty: send at least one resource")
        return out
    return [("", data)]


def read_all(data: Any, kb: Knowledge) -> list[Read]:
    """Every resource read before anything is recorded; the first one b12 cannot read raises
    FhirReadError, its path prefixed by the entry's."""
    out = []
    for path, resource in resources_in(data):
        kind = resource.get("resourceType")
        try:
            if kind == "Patient":
                value: Any = read_patient(resource)
            elif kind in PROFILE_KINDS or (kind == "Observation" and is_body_weight(resource)):
                value = read_profile(resource, kb)
            elif kind == "MedicationRequest":
                value = read_medication_request(resource, kb)
                require_prescribable(value)
            elif kind == "MedicationAdministration":
                value = read_administration(resource, kb)
            elif kind == "Observation":
                value = read_observation(resource, kb)
            elif kind in NOT_READ:
                value = None
            else:
                raise FhirReadError(
                    f"{kind or 'resource'}.resourceType",
                    f"{kind!r}: b12 reads {', '.join(READ_ORDER)}, the profile's "
                    f"{', '.join(PROFILE_KINDS)} (and skips its own DetectedIssues, which it "
                    "computes)",
                    field="resource",
                )
        except FhirReadError as exc:
            where = f"{path}.resource." if path else ""
            raise FhirReadError(where + exc.path, exc.problem, field=exc.field) from None
        except InputError as exc:
            raise FhirReadError(path or str(kind), str(exc), field=exc.field) from None
        out.append(Read(str(kind), path or str(kind), value))
    return with_profile(out)


def with_profile(reads: list[Read]) -> list[Read]:
    """The reads in READ_ORDER, each profile fact folded into the Patient it names (one Patient
    per input; a fact of another patient, or with no Patient, is refused)."""
    facts = [r for r in reads if isinstance(r.value, ProfileRead)]
    rest = [r for r in reads if not isinstance(r.value, ProfileRead)]
    patients = [r for r in rest if isinstance(r.value, PatientRead)]
    if facts:
        if len(patients) != 1:
            raise FhirReadError(
                facts[0].path,
                "a patient's profile is read with its Patient: send one Patient in the same Bundle"
                if not patients
                else "send one patient's profile per Bundle",
                field="patient",
            )
        kept: PatientRead = patients[0].value
        weights = 0
        for fact in facts:
            value: ProfileRead = fact.value
            ref = "patient" if fact.kind == "AllergyIntolerance" else "subject"
            if value.patient != kept.code:
                raise FhirReadError(
                    f"{fact.path}.resource.{ref}" if fact.path.startswith("Bundle") else fact.path,
                    f"Patient/{value.patient} is not the Bundle's Patient {kept.code!r}: send "
                    "each patient's profile with that patient",
                    field="patient",
                )
            weights += value.field == "weight_kg"
            if weights > 1:
                raise FhirReadError(
                    fact.path, "a second body weight: send the patient's one weight",
                    field="weight_kg",
                )  # fmt: skip
        at = rest.index(patients[0])
        rest[at] = Read(
            patients[0].kind,
            patients[0].path,
            replace(kept, facts=tuple(f.value for f in facts)),
        )
    rest.sort(key=lambda r: READ_ORDER.index(r.kind) if r.kind in READ_ORDER else len(READ_ORDER))
    return rest


def import_resources(
    app: App, data: Any, who: str, now: datetime, *, override: str | None = None
) -> list[Imported]:
    """Record every resource of ``data`` (read first, all of it), each through its use case."""
    kb = app.knowledge
    done: list[Imported] = []
    aliases: dict[str, str] = {}  # a MedicationRequest's id in the input -> the prescription's
    for item in read_all(data, kb):
        try:
            if item.value is None:
                done.append(Imported(item.kind, item.path, "not-read", notes=("computed by b12",)))
            elif isinstance(item.value, PatientRead):
                done.append(import_patient(app, item, who, now))
            elif isinstance(item.value, MedicationOrder):
                done.append(import_order(app, item, who, now, override=override))
                if item.value.id and done[-1].id:
                    aliases[item.value.id] = done[-1].id
            elif isinstance(item.value, AdministrationRead):
                done.append(import_administration(app, item, who, aliases=aliases))
            elif isinstance(item.value, ObservationRead):
                done.append(import_observation(app, item, who, now))
        except InputError as exc:
            if not done:
                raise
            kept = "; ".join(f"{d.kind} {d.id or ''} {d.outcome}".replace("  ", " ") for d in done)
            raise ImportStoppedError(
                f"{exc} (recorded before it, and kept: {kept})", field=exc.field
            ) from None
    return done


class ImportStoppedError(InputError):
    """A resource could not be recorded after others were: the message lists what was kept."""


def import_patient(app: App, item: Read, who: str, now: datetime) -> Imported:
    from b12.domain.patient import Patient
    from b12.services.exchange import profile_differs, receive_patient

    read: PatientRead = item.value
    try:
        profile = profile_with(Patient(age_months=read.age_months, sex=read.sex), read.facts)
    except InputError as exc:
        raise FhirReadError(item.path, str(exc), field=exc.field) from None
    received = receive_patient(
        app.unit_of_work, read.code, profile, who, now, born=read.born,
        age_given_on=read.age_given_on,
    )  # fmt: skip
    record = received.record
    read_with = tuple(
        f"profile: {name} {n}"
        for name, n in (
            ("allergies", len(profile.allergies)),
            ("conditions", len(profile.conditions)),
            ("medications", len(profile.medications)),
            ("pregnant", int(profile.pregnant)),
            ("breastfeeding", int(profile.breastfeeding)),
            ("weight", int(profile.weight_kg is not None)),
        )
        if n
    )
    if received.added:
        return Imported(item.kind, item.path, "recorded", record.code, notes=read_with)
    if read.born is not None and record.born is not None and read.born != record.born:
        raise FhirReadError(
            f"{item.path}.birthDate",
            f"{read.born.isoformat()}, but the record's patient {read.code!r} was born "
            f"{record.born.isoformat()}: correct the record with `b12 patient add --correct`",
            field="born",
        )
    if read.facts or read.age_months is not None:
        differs = profile_differs(record, profile, record.born, read.age_given_on)
        if differs is not None:
            raise FhirReadError(
                item.path,
                f"the record's patient {read.code!r} has another profile ({differs}): correct "
                "the record with `b12 patient add --correct`, or send the profile it keeps",
                field="patient",
            )
    return Imported(item.kind, item.path, "present", read.code)


def _same_doses(order: MedicationOrder, plan: Any) -> str | None:
    """None when the order asks for the plan's doses, else what differs (in words)."""
    listed = planned_doses(order)
    planned = [(a.date, a.dose_mcg, a.route) for a in plan.administrations]
    if listed:
        sent = [(d.date, d.dose_mcg, d.route) for d in listed]
        if sent == planned:
            return None
        for n, (a, b) in enumerate(zip(sent, planned, strict=False), start=1):
            if a != b:
                return f"dose {n}: the order says {a[0]} {a[1]} mcg {a[2]}, the plan {b[0]} {b[1]} mcg {b[2]}"
        return f"the order lists {len(sent)} doses, the plan {len(planned)}"
    sent_set = {(p.dose.mass.mcg, p.route) for p in order.phases}
    plan_set = {(a.dose_mcg, a.route) for a in plan.administrations}
    if {d for d, r in sent_set} <= {d for d, _ in plan_set} and all(
        r is None or (d, r) in plan_set for d, r in sent_set
    ):
        return None
    return (
        "the order's doses "
        + ", ".join(sorted(f"{d} mcg {r or ''}".strip() for d, r in sent_set))
        + " are not the plan's "
        + ", ".join(sorted(f"{d} mcg {r}" for d, r in plan_set))
    )


def import_order(
    app: App, item: Read, who: str, now: datetime, *, override: str | None = None
) -> Imported:
    """An order: its own doses checked first (a 1000 mg order is the mg/mcg slip stop), then
    the plan it asks for, with the patient's profile, prescribed as `b12 prescribe` does."""
    from b12.services.exchange import prescribe_checked

    order: MedicationOrder = item.value
    if order.patient is None:
        raise FhirReadError(
            f"{item.path}.subject", "missing: b12 needs the patient", field="patient"
        )
    kb = app.knowledge

    def agrees(plan: Plan) -> None:
        differs = _same_doses(order, plan)
        if differs is not None:
            raise FhirReadError(
                item.path + ".dosageInstruction",
                f"{differs}: b12 prescribes the plan of a regimen ({plan.regimen.id}); send the "
                "regimen's doses, or prescribe in b12 and export the order",
                field="dose",
            )

    done = prescribe_checked(
        app.unit_of_work, kb, order.patient, order.plan_request(), who, now,
        checks=lambda profile: order.check(kb, profile), agrees=agrees, override=override,
    )  # fmt: skip
    rx = done.prescription
    return Imported(
        item.kind, item.path, "stopped" if rx is None else "recorded",
        None if rx is None else rx.id, done.findings, order.unread,
    )  # fmt: skip


@contextmanager
def as_sent(read: AdministrationRead, path: str) -> Iterator[None]:
    """The give use case's refusal of the prescription or planned dose a
    MedicationAdministration names, said of the element that named it."""
    from b12.services.administering import (
        NotActivePrescriptionError,
        NotOwedNextError,
        VolumeGivenError,
    )

    try:
        yield
    except VolumeGivenError as exc:
        at = read.volume_path or "MedicationAdministration.extension"
        where = at if path == "MedicationAdministration" else f"{path}.resource.{at}"
        raise FhirReadError(where, str(exc), field="volume") from None
    except NotActivePrescriptionError as exc:
        raise FhirReadError(
            f"{path}.request",
            f"MedicationRequest/{read.prescription} is not patient {read.request.patient!r}'s "
            "active prescription"
            + ("" if exc.active is None else f" (MedicationRequest/{exc.active})"),
            field="prescription",
        ) from None
    except NotOwedNextError as exc:
        raise FhirReadError(
            f"{path}.extension",
            f"planned dose {exc.named} is not the dose owed next"
            + ("" if exc.owed is None else f" ({exc.owed})"),
            field="planned_number",
        ) from None


def named_prescription(
    read: AdministrationRead, aliases: Mapping[str, str] | None = None
) -> str | None:
    """The id of the prescription the dose names, in the record (an id of the same input's
    MedicationRequest resolved to the prescription it became)."""
    if read.prescription is None:
        return None
    return (aliases or {}).get(read.prescription, read.prescription)


def import_administration(
    app: App,
    item: Read,
    who: str,
    *,
    performer_must_be: str | None = None,
    aliases: Mapping[str, str] | None = None,
) -> Imported:
    """A dose given, through the five rights (``give``): a stop records nothing."""
    from b12.services.administering import give

    read: AdministrationRead = item.value
    if performer_must_be is not None and read.performer not in (None, performer_must_be):
        raise FhirReadError(
            f"{item.path}.performer",
            f"{read.performer!r}: the dose is recorded as given by the account that sends it "
            f"({performer_must_be}); leave the performer out or name that account",
            field="who",
        )
    with as_sent(read, item.path):
        given = give(
            app.unit_of_work, app.knowledge, read.request, read.performer or who, app.clock,
            prescription=named_prescription(read, aliases), planned_number=read.planned_number,
        )  # fmt: skip
    rec = given.recorded
    return Imported(
        item.kind, item.path, "stopped" if rec is None else "recorded",
        None if rec is None else rec.id, given.findings,
    )  # fmt: skip


def import_observation(app: App, item: Read, who: str, now: datetime) -> Imported:
    from b12.services.record import add_labs

    read: ObservationRead = item.value
    added = add_labs(
        app.unit_of_work, app.knowledge, read.patient, [read.measurement], read.taken_on, who, now
    )
    return Imported(item.kind, item.path, "recorded", added.results[0].id, added.findings)
