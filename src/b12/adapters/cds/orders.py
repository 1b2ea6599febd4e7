"""A hook's FHIR input, read into what the order review takes: the patient (from the prefetch) and
each B12 draft order (MedicationRequest, read by b12.adapters.fhir.medication_request).

Conditions, medicines and allergies are passed to screening by the names the EHR gives them (an
ICD-10 code b12 knows as an indication by its name); a name b12 does not know is screened as any
unknown name is: a NOT_SCREENED warning, never dropped. The latest B12 Observation (LOINC 2132-9 in
pg/mL or ng/L, 14685-2 in pmol/L) is the baseline the order is judged against.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from b12.domain.lab_values import Measurement
from b12.domain.patient import Patient
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
B12_UNITS = {"pg/mL": "pg/mL", "ng/L": "ng/L", "pmol/L": "pmol/L"}


class PrefetchError(InputError):
    """Prefetch data that is not what its template asked for."""

    def __init__(self, key: str, why: str) -> None:
        super().__init__(f"prefetch {key}: {why}", field=f"prefetch.{key}")


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


def _resources(prefetch: Mapping[str, Any], key: str, kind: str) -> Iterator[dict[str, Any]]:
    value = prefetch.get(key)
    if value is None:
        return
    if not isinstance(value, dict):
        raise PrefetchError(key, "must be a FHIR resource or a Bundle (a JSON object)")
    if value.get("resourceType") == "Bundle":
        for entry in value.get("entry") or []:
            resource = entry.get("resource") if isinstance(entry, dict) else None
            if isinstance(resource, dict) and resource.get("resourceType") == kind:
                yield resource
    elif value.get("resourceType") == kind:
        yield value
    else:
        raise PrefetchError(key, f"expected a Bundle of {kind} resources")


def concept_names(concept: Any) -> list[str]:
    """The words a CodeableConcept says: its text, then each coding's display (then code)."""
    if not isinstance(concept, dict):
        return []
    out = [concept["text"]] if isinstance(concept.get("text"), str) else []
    for coding in concept.get("coding") or []:
        if isinstance(coding, dict):
            for key in ("display", "code"):
                if isinstance(coding.get(key), str):
                    out.append(coding[key])
                    break
    return [n.strip() for n in out if n.strip()]


def _icd10(concept: Any) -> list[str]:
    codings = concept.get("coding") if isinstance(concept, dict) else None
    return [
        c["code"]
        for c in codings or []
        if isinstance(c, dict) and "icd-10" in str(c.get("system", "")).lower() and c.get("code")
    ]


def indication_of(kb: Knowledge, concept: Any) -> str | None:
    """A reason or condition as a b12 indication id (by ICD-10 code, then by name), else None."""
    for code in _icd10(concept):
        for entry in kb.indications.values():
            if code in getattr(entry, "icd10", ()):
                return str(entry.id)
    for name in concept_names(concept):
        found = kb.match("indications", name)
        if found is not None:
            return str(found.id)
    return None


def _one_name(kb: Knowledge, concept: Any) -> str | None:
    """The name screening is given: the indication b12 knows it as, else the EHR's first word."""
    known = indication_of(kb, concept)
    if known is not None:
        return str(kb.indications[known].name)
    names = concept_names(concept)
    return names[0] if names else None


@dataclass(frozen=True)
class Chart:
    """What the prefetch says about the patient, read."""

    patient: Patient
    b12: Measurement | None


def read_chart(kb: Knowledge, prefetch: Mapping[str, Any], today: date) -> Chart:
    person = next(_resources(prefetch, "patient", "Patient"), None)
    if person is None:
        raise PrefetchError("patient", "no Patient resource")
    age = None
    born = person.get("birthDate")
    if isinstance(born, str) and len(born) == 10:
        try:
            birth = date.fromisoformat(born)
        except ValueError:
            raise PrefetchError("patient", f"birthDate {born[:20]!r} is not YYYY-MM-DD") from None
        months = (today.year - birth.year) * 12 + today.month - birth.month
        age = Decimal(months - (today.day < birth.day))
    sex = person.get("gender") if person.get("gender") in ("female", "male") else None
    conditions = [
        n for c in _resources(prefetch, "conditions", "Condition")
        if (n := _one_name(kb, c.get("code"))) is not None
    ]  # fmt: skip
    medications = [
        n
        for kind in ("MedicationRequest", "MedicationStatement")
        for m in _resources(prefetch, "medications", kind)
        if (n := next(iter(concept_names(m.get("medicationCodeableConcept"))), None)) is not None
    ]
    allergies = [
        n for a in _resources(prefetch, "allergies", "AllergyIntolerance")
        if (n := next(iter(concept_names(a.get("code"))), None)) is not None
    ]  # fmt: skip
    patient = Patient(
        age_months=age if age is not None and age >= 0 else None,
        sex=sex,
        conditions=tuple(dict.fromkeys(conditions)),
        medications=tuple(dict.fromkeys(medications)),
        allergies=tuple(dict.fromkeys(allergies)),
    )
    return Chart(patient, _latest_b12(prefetch))


def _latest_b12(prefetch: Mapping[str, Any]) -> Measurement | None:
    found: list[tuple[str, Measurement]] = []
    for o in _resources(prefetch, "observations", "Observation"):
        codes = {c.get("code") for c in (o.get("code") or {}).get("coding") or []
                 if isinstance(c, dict) and c.get("system") == LOINC}  # fmt: skip
        quantity = o.get("valueQuantity")
        if not codes & {B12_MASS, B12_MOLAR} or not isinstance(quantity, dict):
            continue
        unit = B12_UNITS.get(str(quantity.get("code") or quantity.get("unit")))
        value = quantity.get("value")
        if unit is None or not isinstance(value, Decimal | int):
            continue
        when = str(o.get("effectiveDateTime") or o.get("issued") or "")
        found.append((when, Measurement("b12", Decimal(value), unit, name="B12")))
    return max(found, key=lambda x: x[0])[1] if found else None
