"""A hook's FHIR input, read into what the order review takes: the patient (from the prefetch) and
each B12 draft order (MedicationRequest, read by b12.adapters.fhir.medication_request).

Every element read is type-checked: one of the wrong JSON type is refused (422) naming its path
("prefetch.observations.entry[0].resource.code: expected a JSON object ..."). Conditions, medicines
and allergies are passed to screening by every name the EHR gives them (the text and each coding;
an ICD-10 code b12 knows as an indication by its name; pregnancy, also as SNOMED CT 77386006, as
the pregnant flag); a name b12 does not know is screened as any unknown name is: a NOT_SCREENED
warning, never dropped. What is present and cannot be read (a medicationReference b12 cannot
resolve, an allergy naming no substance, a B12 result in a unit its LOINC code does not measure)
is a NOT_SCREENED finding naming the element. The latest B12 Observation (LOINC 2132-9 in pg/mL
or ng/L, 14685-2 in pmol/L), by the instant it was taken, is the baseline the order is judged
against. A partial birth date gives the youngest and the oldest age it allows; the order is
screened at both.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from b12.adapters.fhir.reading import (
    FhirReadError,
    decimal,
    items,
    mapping,
    optional_text,
    text,
)
from b12.domain.findings import Finding
from b12.domain.lab_values import Measurement
from b12.domain.patient import MONTHS_PER_YEAR, STATE_SNOMED, Patient, Sex
from b12.errors import InputError
from b12.knowledge.base import Knowledge

#: Prefetch keys the services need, with their FHIR query templates (CDS Hooks prefetch tokens).
LOINC = "http://loinc.org"
B12_MASS, B12_MOLAR, POTASSIUM, HAEMOGLOBIN = "2132-9", "14685-2", "2823-3", "718-7"
PREFETCH: dict[str, str] = {
    "patient": "Patient/{{context.patientId}}",
    "conditions": "Condition?patient={{context.patientId}}&clinical-status=active",
    "medications": "MedicationRequest?patient={{context.patientId}}&status=active",
    "allergies": "AllergyIntolerance?patient={{context.patientId}}&clinical-status=active",
    "observations": "Observation?patient={{context.patientId}}&code="
    + ",".join(f"{LOINC}|{c}" for c in (B12_MASS, B12_MOLAR, POTASSIUM, HAEMOGLOBIN))
    + "&_sort=-date&_count=20",
}
#: Without these the order cannot be screened: 412 when they are missing (observations may be).
REQUIRED = ("patient", "conditions", "medications", "allergies")
SNOMED = "http://snomed.info/sct"
UCUM = "http://unitsofmeasure.org"
#: Resources a prefetch key may hold beside those it asked for, that b12 reads otherwise or not at
#: all: a search's OperationOutcome; Medications a MedicationRequest refers to.
BESIDE = {"OperationOutcome"}
#: Statuses saying a resource was recorded in error: never read (their content is wrong).
IN_ERROR = {"entered-in-error", "refuted", "cancelled"}


class PrefetchMissingError(InputError):
    """The prefetch the service needs is missing and b12 does not query the EHR's FHIR server."""

    def __init__(self, keys: list[str], fhir_server: bool) -> None:
        where = (
            "b12 does not query the FHIR server"
            if fhir_server
            else "no fhirServer was given to fetch them from"
        )
        super().__init__(
            f"prefetch {', '.join(keys)} missing ({where}): send them as the service's "
            "prefetch templates ask (GET /cds-services lists them)",
            field="prefetch",
        )


def missing_prefetch(prefetch: Mapping[str, Any] | None) -> list[str]:
    given = prefetch or {}
    return [k for k in REQUIRED if given.get(k) is None]


Resource = Mapping[str, Any]


def _resources(
    prefetch: Mapping[str, Any], key: str, kinds: Sequence[str], unread: list[Finding]
) -> list[tuple[str, Resource, str | None]]:
    """The resources of ``kinds`` under ``prefetch.key`` (one resource or a Bundle of them), each
    with its path and its entry's fullUrl; another kind of resource there is a NOT_SCREENED
    finding naming it."""
    from b12.services.screening import not_read

    value = prefetch.get(key)
    path = f"prefetch.{key}"
    if value is None:
        return []
    value = mapping(value, path)
    kind = text(value.get("resourceType"), f"{path}.resourceType")
    if kind in kinds:
        return [(path, value, None)]
    if kind != "Bundle":
        raise FhirReadError(path, f"expected a Bundle of {' or '.join(kinds)} resources")
    out = []
    for i, entry in enumerate(items(value.get("entry"), f"{path}.entry")):
        at = f"{path}.entry[{i}]"
        entry = mapping(entry, at)
        url = optional_text(entry.get("fullUrl"), f"{at}.fullUrl")
        at += ".resource"
        resource = mapping(entry.get("resource"), at)
        kind = text(resource.get("resourceType"), f"{at}.resourceType")
        if kind in kinds:
            out.append((at, resource, url))
        elif kind not in BESIDE:
            unread.append(not_read(at, f"a {kind} where b12 reads {' or '.join(kinds)}"))
    return out


def concept_names(concept: Any, path: str) -> list[str]:
    """The words a CodeableConcept says: its text, then each coding's display (else its code)."""
    if concept is None:
        return []
    concept = mapping(concept, path)
    out = [n] if (n := optional_text(concept.get("text"), f"{path}.text")) else []
    for j, coding in enumerate(_codings(concept, path)):
        at = f"{path}.coding[{j}]"
        name = optional_text(coding.get("display"), f"{at}.display") or optional_text(
            coding.get("code"), f"{at}.code"
        )
        if name:
            out.append(name)
    seen: dict[str, str] = {}
    for name in out:
        seen.setdefault(name.strip().casefold(), name.strip())
    return list(seen.values())


def _codings(concept: Mapping[str, Any], path: str) -> list[Mapping[str, Any]]:
    out = []
    for j, coding in enumerate(items(concept.get("coding"), f"{path}.coding")):
        coding = mapping(coding, f"{path}.coding[{j}]")
        optional_text(coding.get("system"), f"{path}.coding[{j}].system")
        optional_text(coding.get("code"), f"{path}.coding[{j}].code")
        out.append(coding)
    return out


def _codes(concept: Any, path: str, system: str) -> list[str]:
    if concept is None:
        return []
    codings = _codings(mapping(concept, path), path)
    return [str(c["code"]) for c in codings if c.get("system") == system and c.get("code")]


def indication_of(kb: Knowledge, concept: Any, path: str) -> str | None:
    """A reason or condition as a b12 indication id (by ICD-10 code, then by name), else None."""
    codings = _codings(mapping(concept, path), path) if concept is not None else []
    for c in codings:
        if "icd-10" in str(c.get("system", "")).lower() and c.get("code"):
            for entry in kb.indications.values():
                if c["code"] in getattr(entry, "icd10", ()):
                    return str(entry.id)
    for name in concept_names(concept, path):
        found = kb.match("indications", name)
        if found is not None:
            return str(found.id)
    return None


def _condition_names(kb: Knowledge, concept: Any, path: str) -> list[str]:
    """The names screening is given for a condition: the indication b12 knows it as; the state
    a SNOMED CT code stands for (pregnancy); else every name the EHR gives it."""
    states = [STATE_SNOMED[c] for c in _codes(concept, path, SNOMED) if c in STATE_SNOMED]
    if states:
        return states
    known = indication_of(kb, concept, path)
    if known is not None:
        return [str(kb.indications[known].name)]
    return concept_names(concept, path)


def _in_error(resource: Resource, path: str) -> bool:
    """Whether the resource says it was recorded in error (status, or verificationStatus)."""
    status = optional_text(resource.get("status"), f"{path}.status")
    verification = resource.get("verificationStatus")
    codes: list[str] = []
    if verification is not None:
        at = f"{path}.verificationStatus"
        codes = [str(c.get("code")) for c in _codings(mapping(verification, at), at)]
    return status in IN_ERROR or bool(IN_ERROR & set(codes))


@dataclass(frozen=True)
class Chart:
    """What the prefetch says about the patient, read: the patient (at the youngest age a partial
    birth date allows; ``others``: the same patient at the oldest), the latest B12 level, and a
    NOT_SCREENED finding for each thing present that could not be read."""

    patient: Patient
    b12: Measurement | None
    others: tuple[Patient, ...] = ()
    unread: tuple[Finding, ...] = field(default=())

    @property
    def patients(self) -> tuple[Patient, ...]:
        return (self.patient, *self.others)


def read_chart(kb: Knowledge, prefetch: Mapping[str, Any], today: date) -> Chart:
    from b12.services.screening import not_read

    unread: list[Finding] = []
    people = _resources(prefetch, "patient", ("Patient",), unread)
    if not people:
        raise FhirReadError("prefetch.patient", "no Patient resource: send the patient")
    at, person, _ = people[0]
    ages = _ages(person.get("birthDate"), f"{at}.birthDate", today)
    gender = optional_text(person.get("gender"), f"{at}.gender")
    sex: Sex | None = "female" if gender == "female" else "male" if gender == "male" else None
    conditions: list[str] = []
    for path, c, _ in _resources(prefetch, "conditions", ("Condition",), unread):
        if _in_error(c, path):
            continue
        names = _condition_names(kb, c.get("code"), f"{path}.code")
        if not names:
            unread.append(not_read(path, "a Condition that names no condition"))
        conditions += names
    kinds = ("MedicationRequest", "MedicationStatement", "Medication")
    found = _resources(prefetch, "medications", kinds, unread)
    listed: dict[str, Resource] = {}
    for path, m, url in found:
        if m.get("resourceType") == "Medication":
            mid = optional_text(m.get("id"), f"{path}.id")
            listed.update({ref: m for ref in (url, mid and f"Medication/{mid}") if ref})
    medications: list[str] = []
    for path, m, _ in found:
        if m.get("resourceType") != "Medication" and not _in_error(m, path):
            medications += _medication_names(m, path, listed, unread)
    allergies: list[str] = []
    for path, a, _ in _resources(prefetch, "allergies", ("AllergyIntolerance",), unread):
        if _in_error(a, path):
            continue
        names = concept_names(a.get("code"), f"{path}.code")
        for i, reaction in enumerate(items(a.get("reaction"), f"{path}.reaction")):
            reaction = mapping(reaction, f"{path}.reaction[{i}]")
            names += concept_names(reaction.get("substance"), f"{path}.reaction[{i}].substance")
        if not names:
            unread.append(not_read(path, "an AllergyIntolerance that names no substance"))
        allergies += names
    patients = tuple(
        Patient(
            age_months=age,
            sex=sex,
            conditions=tuple(dict.fromkeys(conditions)),
            medications=tuple(dict.fromkeys(medications)),
            allergies=tuple(dict.fromkeys(allergies)),
        )
        for age in ages
    )
    b12 = _latest_b12(kb, prefetch, unread)
    return Chart(patients[0], b12, patients[1:], tuple(unread))


_BIRTH = re.compile(r"^(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?$")


def _months(birth: date, today: date) -> Decimal:
    months = (today.year - birth.year) * 12 + today.month - birth.month
    return Decimal(months - (today.day < birth.day))


def _ages(value: Any, path: str, today: date) -> tuple[Decimal | None, ...]:
    """The youngest and the oldest age in months a birth date allows (one age for a full date,
    (None,) for none): a year-month or a year stands for every day in it up to today."""
    born = optional_text(value, path)
    if born is None:
        return (None,)
    found = _BIRTH.match(born)
    try:
        if found is None:
            raise ValueError
        year, month, day = (int(g) if g else None for g in found.groups())
        assert year is not None
        first = date(year, month or 1, day or 1)
        if day is not None:
            last = first
        elif month is not None:
            last = date(year + (month == 12), month % 12 + 1, 1) - timedelta(days=1)
        else:
            last = date(year, 12, 31)
    except ValueError:
        raise FhirReadError(
            path, f"{born[:20]!r} is not a date: write YYYY-MM-DD (or YYYY-MM, YYYY)"
        ) from None
    if first > today:
        raise FhirReadError(path, f"{born!r} is after today: write the patient's birth date")
    youngest, oldest = _months(min(last, today), today), _months(first, today)
    if oldest > 130 * MONTHS_PER_YEAR:
        raise FhirReadError(path, f"{born!r}: an age over 130 years is not plausible")
    return (youngest,) if youngest == oldest else (youngest, oldest)


def _medication_names(
    request: Resource, path: str, listed: Mapping[str, Resource], unread: list[Finding]
) -> list[str]:
    """The names of what a MedicationRequest or MedicationStatement gives: its
    medicationCodeableConcept, or the Medication its medicationReference points to (contained,
    or in the prefetch): that Medication's code and the ingredients it names."""
    from b12.services.screening import not_read

    names = concept_names(
        request.get("medicationCodeableConcept"), f"{path}.medicationCodeableConcept"
    )
    reference = request.get("medicationReference")
    if reference is not None:
        at = f"{path}.medicationReference"
        reference = mapping(reference, at)
        ref = optional_text(reference.get("reference"), f"{at}.reference")
        shown = optional_text(reference.get("display"), f"{at}.display")
        contained = {}
        for i, c in enumerate(items(request.get("contained"), f"{path}.contained")):
            c = mapping(c, f"{path}.contained[{i}]")
            cid = optional_text(c.get("id"), f"{path}.contained[{i}].id")
            if cid is not None:
                contained[f"#{cid}"] = (f"{path}.contained[{i}]", c)
        target = contained.get(ref or "") or (
            (at, listed[ref]) if ref is not None and ref in listed else None
        )
        if target is not None and target[1].get("resourceType") == "Medication":
            names += _medication_resource_names(*target)
        else:
            what = f"the medicationReference {ref!r}" if ref else "a medicationReference"
            unread.append(not_read(at, f"{what} b12 cannot resolve (send it contained, or in "
                                       "the prefetch, or as a medicationCodeableConcept)"))  # fmt: skip
        names += [shown] if shown else []
    if not names and reference is None:
        unread.append(not_read(path, "a medicine given by no medication b12 reads"))
    return names


def _medication_resource_names(path: str, medication: Resource) -> list[str]:
    names = concept_names(medication.get("code"), f"{path}.code")
    for i, part in enumerate(items(medication.get("ingredient"), f"{path}.ingredient")):
        part = mapping(part, f"{path}.ingredient[{i}]")
        at = f"{path}.ingredient[{i}].itemCodeableConcept"
        names += concept_names(part.get("itemCodeableConcept"), at)
    return names


#: A FHIR dateTime: a year, a year-month, a date, or a date with a time and its zone.
_DATE_TIME = re.compile(r"^\d{4}(-\d{2}(-\d{2})?)?$")
#: The widest zones: a date (or month, year) without a zone may begin at UTC+14 and end at UTC-12.
_EARLIEST, _LATEST = timedelta(hours=14), timedelta(hours=12)


def when_taken(value: Any, path: str) -> tuple[datetime, datetime]:
    """The first and the last instant a FHIR dateTime may mean: one instant for a dateTime with
    its time and zone; for a date (month, year) without one, from its start at UTC+14 to its end
    at UTC-12. Ordered by the first, then the last: a result with a time on a day counts as later
    than one dated that day alone."""
    raw = text(value, path)
    try:
        if _DATE_TIME.match(raw):
            parts = [int(p) for p in raw.split("-")]
            start = date(parts[0], *(parts[1:] or [1]), *([1] if len(parts) < 3 else []))
            if len(parts) == 3:
                end = start + timedelta(days=1)
            elif len(parts) == 2:
                end = date(start.year + (start.month == 12), start.month % 12 + 1, 1)
            else:
                end = date(start.year + 1, 1, 1)
            first = datetime(start.year, start.month, start.day, tzinfo=UTC) - _EARLIEST
            last = datetime(end.year, end.month, end.day, tzinfo=UTC) + _LATEST
            return first, last
        at = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except (ValueError, TypeError):
        at = None
    if at is None or at.tzinfo is None:
        raise FhirReadError(
            path, f"{raw[:40]!r}: write a date or a dateTime with its zone, e.g. "
            "2026-11-30T23:00:00Z",
        )  # fmt: skip
    return at.astimezone(UTC), at.astimezone(UTC)


def _taken(observation: Resource, path: str) -> tuple[datetime, datetime] | None:
    """When a result was taken: effectiveDateTime, effectiveInstant, effectivePeriod.start, else
    the time it was issued."""
    period = observation.get("effectivePeriod")
    start = None
    if period is not None:
        start = mapping(period, f"{path}.effectivePeriod").get("start")
    for key, value in (
        ("effectiveDateTime", observation.get("effectiveDateTime")),
        ("effectiveInstant", observation.get("effectiveInstant")),
        ("effectivePeriod.start", start),
        ("issued", observation.get("issued")),
    ):
        if value is not None:
            return when_taken(value, f"{path}.{key}")
    return None


def _latest_b12(
    kb: Knowledge, prefetch: Mapping[str, Any], unread: list[Finding]
) -> Measurement | None:
    """The B12 result taken last (by instant, not by how its time is written), read with the
    units the knowledge declares and the LOINC/unit check the FHIR import makes."""
    from b12.domain.labs import find_unit, loinc_unit_mismatch
    from b12.services.screening import not_read

    analyte = kb.get("analytes", "b12")
    read: list[tuple[tuple[datetime, datetime], Measurement]] = []
    failed: list[tuple[tuple[datetime, datetime] | None, str, str]] = []
    for path, o, _ in _resources(prefetch, "observations", ("Observation",), unread):
        if _in_error(o, path):
            continue
        sent = [c for c in _codes(mapping(o.get("code"), f"{path}.code"), f"{path}.code", LOINC)
                if c in (B12_MASS, B12_MOLAR)]  # fmt: skip
        if not sent:
            continue  # potassium and haemoglobin are asked for, not yet judged
        when = _taken(o, path)
        quantity = o.get("valueQuantity")
        if quantity is None:
            failed.append((when, path, "a B12 result with no valueQuantity"))
            continue
        at = f"{path}.valueQuantity"
        quantity = mapping(quantity, at)
        value = decimal(quantity.get("value"), f"{at}.value")
        system = optional_text(quantity.get("system"), f"{at}.system")
        ucum = optional_text(quantity.get("code"), f"{at}.code")
        unit_text = ucum or optional_text(quantity.get("unit"), f"{at}.unit") or ""
        comparator = optional_text(quantity.get("comparator"), f"{at}.comparator")
        try:
            unit = find_unit(analyte, unit_text, f"B12 {value} {unit_text}")
        except InputError as error:
            failed.append((when, at, str(error)))
            continue
        why = (
            f"a B12 result {comparator}{value} cannot be banded" if comparator
            else f"a B12 result in {system!r}, not UCUM" if system not in (None, UCUM)
            else "a negative B12 result" if value < 0
            else next(filter(None, (loinc_unit_mismatch(analyte, c, unit, unit_text) for c in sent)), None)
        )  # fmt: skip
        if why is not None:
            failed.append((when, at, why))
        elif when is None:
            failed.append((None, path, "a B12 result with no time it was taken"))
        else:
            read.append((when, Measurement("b12", value, unit.unit, name="B12")))
    latest = max(read, key=lambda r: r[0]) if read else None
    judged = latest is not None
    for when, at, why in failed:
        if latest is not None and (when is None or when[1] >= latest[0][0]):
            why += ": it may be the latest B12 result, so no baseline B12 is judged"
            judged = False
        unread.append(not_read(at, why))
    return latest[1] if latest is not None and judged else None
