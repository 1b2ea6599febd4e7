"""Patient, MedicationAdministration, Observation and DetectedIssue: b12's records as FHIR R4
resources, and the resources b12 records read back as its commands.

Written: every value exact (Decimals as they are), every code with its text, b12's own ids as
identifiers. Read: ``read_administration`` -> a ``GiveRequest`` (the five rights run on it when it
is given), ``read_observation`` -> a ``Measurement`` and its day, ``read_patient`` -> the patient's
code, birth date and sex. What cannot be read raises ``FhirReadError`` naming the element.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Literal

from b12.adapters.fhir import codes
from b12.adapters.fhir.medication_request import (
    concept,
    dose_quantity,
    medication_concept,
    read_dose,
    read_medication,
    read_route,
    read_volume,
    route_concept,
    volume_quantity,
)
from b12.adapters.fhir.reading import (
    FhirReadError,
    contained_medication,
    decimal,
    fhir_date,
    instant,
    items,
    mapping,
    need,
    optional_text,
    positive_int,
    read_status,
    reference_id,
    resource_of,
    subject_code,
    text,
    unread_extension,
)
from b12.domain.findings import Finding, Level
from b12.domain.lab_values import Measurement
from b12.domain.quantity import Concentration
from b12.domain.records import Administration, LabResult, PatientRecord
from b12.errors import InputError

if TYPE_CHECKING:
    from b12.adapters.fhir.profile import ProfileRead
    from b12.knowledge.base import Knowledge
    from b12.services.administering import GiveRequest

Sex = Literal["female", "male"]
#: What a FHIR id may be.
FHIR_ID = re.compile(r"[A-Za-z0-9\-.]{1,64}")
SEXES: dict[str, Sex] = {"female": "female", "male": "male"}


# --- Patient -------------------------------------------------------------------------------------


def patient(record: PatientRecord) -> dict[str, Any]:
    """The patient under its pseudonymous code (the resource's id and identifier): no name."""
    out: dict[str, Any] = {"resourceType": "Patient"}
    if FHIR_ID.fullmatch(record.code):  # a code such as P_0042 is no FHIR id: the identifier only
        out["id"] = record.code
    out["identifier"] = [{"system": codes.B12_PATIENT, "value": record.code}]
    sex = record.profile.get("sex")
    if sex in SEXES:
        out["gender"] = SEXES[sex]
    if record.born is not None:
        out["birthDate"] = record.born.isoformat()
    elif record.age_months is not None:  # an age given on a day: never a birth date made up
        given_on = record.age_given_on or record.recorded_at.date()
        out["extension"] = [
            {
                "url": codes.EXT_AGE,
                "extension": [
                    {"url": "months", "valueDecimal": record.age_months},
                    {"url": "givenOn", "valueDate": given_on.isoformat()},
                ],
            }
        ]
    return out


@dataclass(frozen=True)
class PatientRead:
    code: str
    born: date | None
    sex: Sex | None
    age_months: Decimal | None = None
    age_given_on: date | None = None
    facts: tuple[ProfileRead, ...] = ()  # the profile read beside it (allergies, weight ...)


def _read_age(ext: Mapping[str, Any], path: str) -> tuple[Decimal, date]:
    """The age-given extension: the age in months and the day it was given (both required)."""
    months: Decimal | None = None
    given_on: date | None = None
    if ext.get("value") is not None or any(k.startswith("value") for k in ext):
        raise FhirReadError(path, "the age is sent in the sub-extensions months and givenOn")
    for i, sub in enumerate(items(ext.get("extension"), f"{path}.extension")):
        at = f"{path}.extension[{i}]"
        sub = mapping(sub, at)
        if sub.get("url") == "months" and months is None:
            months = decimal(sub.get("valueDecimal"), f"{at}.valueDecimal", field="age")
        elif sub.get("url") == "givenOn" and given_on is None:
            given_on = fhir_date(sub.get("valueDate"), f"{at}.valueDate", field="age")
        else:
            raise FhirReadError(
                f"{at}.url",
                f"{sub.get('url')!r} is not read here: send months (valueDecimal) and givenOn "
                "(valueDate), once each",
                field="age",
            )
    if months is None or given_on is None:
        raise FhirReadError(
            f"{path}.extension",
            "send the age in months (months, valueDecimal) and the day it was given "
            "(givenOn, valueDate)",
            field="age",
        )
    try:
        from b12.domain.patient import Patient

        Patient(age_months=months)
    except InputError as exc:
        raise FhirReadError(f"{path}.extension", str(exc), field="age") from None
    return months, given_on


#: The elements of a Patient b12 reads (``active`` only as true: ``refuse_modifiers``); anything
#: else (an address, a telecom, ``deceased[x]`` ...) is refused, never dropped.
PATIENT_READ = frozenset(
    ("resourceType", "id", "meta", "text", "identifier", "active", "gender", "birthDate",
     "extension", "name")
)  # fmt: skip


def read_patient(resource: Any) -> PatientRead:
    resource = resource_of(resource, "Patient")
    code = None
    for i, ident in enumerate(items(resource.get("identifier"), "Patient.identifier")):
        ident = mapping(ident, f"Patient.identifier[{i}]")
        if ident.get("system") == codes.B12_PATIENT:
            code = text(ident.get("value"), f"Patient.identifier[{i}].value", field="patient")
    if code is None:
        code = text(need(resource, "id", "Patient", field="patient"), "Patient.id", field="patient")
    if resource.get("name") is not None:
        raise FhirReadError(
            "Patient.name", "b12 keeps a pseudonymous code, never a name: leave the name out"
        )
    for key in resource:
        if key not in PATIENT_READ:
            raise FhirReadError(
                f"Patient.{key}",
                "is not read by b12 (the record would drop it): a Patient is read as its "
                "identifier (or id), gender, birthDate and the age-given extension; leave "
                f"{key} out",
                field="patient",
            )
    born = None
    if resource.get("birthDate") is not None:
        born = fhir_date(resource["birthDate"], "Patient.birthDate", field="born")
    gender = optional_text(resource.get("gender"), "Patient.gender", field="sex")
    if gender is not None and gender not in ("female", "male", "other", "unknown"):
        raise FhirReadError("Patient.gender", f"unknown gender {gender!r}", field="sex")
    age: tuple[Decimal, date] | None = None
    for i, ext in enumerate(items(resource.get("extension"), "Patient.extension")):
        ext = mapping(ext, f"Patient.extension[{i}]")
        if ext.get("url") == codes.EXT_AGE and age is None:
            age = _read_age(ext, f"Patient.extension[{i}]")
        else:
            raise unread_extension(ext.get("url"), f"Patient.extension[{i}]")
    if age is not None and born is not None:
        raise FhirReadError(
            "Patient.extension",
            "an age given and a birth date: send the birth date, or the age without one",
            field="born",
        )
    return PatientRead(
        code, born, SEXES.get(gender or ""),
        None if age is None else age[0], None if age is None else age[1],
    )  # fmt: skip


# --- MedicationAdministration ---------------------------------------------------------------------


def medication_administration(
    given: Administration, patient_code: str, kb: Knowledge, substance: str | None = None
) -> dict[str, Any]:
    """One dose given: the medicine (a contained Medication with the lot and expiry), the dose
    in UCUM ug, route and site coded, who gave it, and the prescription and planned dose it
    fulfils."""
    med: dict[str, Any] = {
        "resourceType": "Medication",
        "id": "med",
        "code": medication_concept(kb, given.product, substance, None),
    }
    batch: dict[str, Any] = {}
    if given.lot:
        batch["lotNumber"] = given.lot
    if given.expiry:
        batch["expirationDate"] = given.expiry.isoformat()
    if batch:
        med["batch"] = batch
    dosage: dict[str, Any] = {
        "route": route_concept(given.route),
        "dose": dose_quantity(given.dose_mcg),
    }
    if given.site:
        dosage["site"] = concept(given.site, [{"system": codes.B12_SITE, "code": given.site}])
    out: dict[str, Any] = {
        "resourceType": "MedicationAdministration",
        "id": given.id,
        "identifier": [{"system": codes.B12_RECORD, "value": given.id}],
        "contained": [med],
        "status": "completed",
        "medicationReference": {"reference": "#med"},
        "subject": {"reference": f"Patient/{patient_code}"},
        "effectiveDateTime": given.given_at.isoformat(),
        "performer": [{"actor": {"display": given.given_by}}],
        "dosage": dosage,
    }
    extensions: list[dict[str, Any]] = []
    if given.planned_number is not None:
        extensions.append({"url": codes.EXT_PLANNED_DOSE, "valuePositiveInt": given.planned_number})
    if given.volume_ml is not None:
        extensions.append(
            {
                "url": codes.EXT_VOLUME,
                "valueQuantity": volume_quantity(given.volume_ml),
            }
        )
    if given.override_reason:
        extensions.append({"url": codes.EXT_OVERRIDE, "valueString": given.override_reason})
    if given.fingerprint:
        extensions.append({"url": codes.EXT_FINGERPRINT, "valueString": given.fingerprint})
    if extensions:
        out["extension"] = extensions
    if given.prescription_id:
        out["request"] = {"reference": f"MedicationRequest/{given.prescription_id}"}
    return out


@dataclass(frozen=True)
class AdministrationRead:
    """A MedicationAdministration as b12 gives it: the request for the five rights, and what
    the resource says b12 checks against the record (the prescription, the planned dose)."""

    request: GiveRequest
    prescription: str | None
    planned_number: int | None
    performer: str | None
    volume_ml: Decimal | None
    volume_path: str | None = None  # the volume extension's element, for messages


def read_administration(resource: Any, kb: Knowledge) -> AdministrationRead:
    from b12.services.administering import GiveRequest
    from b12.services.site_rotation import read_site

    root = "MedicationAdministration"
    resource = resource_of(resource, root)
    read_status(
        resource, root, ("completed",),
        "b12 records doses given (completed); a dose not given is recorded as missed",
    )  # fmt: skip
    code = subject_code(resource, root)
    at = instant(
        need(resource, "effectiveDateTime", root, field="at"),
        f"{root}.effectiveDateTime",
        field="at",
    )
    dosage = mapping(need(resource, "dosage", root, field="dose"), f"{root}.dosage")
    for key, value in dosage.items():
        if key == "extension" and value:
            first = mapping(
                items(value, f"{root}.dosage.extension")[0], f"{root}.dosage.extension[0]"
            )
            raise unread_extension(first.get("url"), f"{root}.dosage.extension[0]", field="dose")
        if key not in DOSAGE_READ and key != "extension":
            raise FhirReadError(
                f"{root}.dosage.{key}",
                f"is not read by b12 (it would be dropped): a dose given is recorded with "
                f"{', '.join(DOSAGE_READ[1:])} and the volume extension; leave {key} out",
                field="dose",
            )
    dose = read_dose(
        mapping(need(dosage, "dose", f"{root}.dosage", field="dose"), f"{root}.dosage.dose"),
        f"{root}.dosage.dose",
    )
    route = (
        read_route(dosage["route"], f"{root}.dosage.route")
        if dosage.get("route") is not None
        else None
    )
    site = None
    if dosage.get("site") is not None:
        site_concept = mapping(dosage["site"], f"{root}.dosage.site")
        coded = [
            c
            for c in items(site_concept.get("coding"), f"{root}.dosage.site.coding")
            if isinstance(c, Mapping)
        ]
        for i, c in enumerate(coded):
            if c.get("system") != codes.B12_SITE:
                raise FhirReadError(
                    f"{root}.dosage.site.coding[{i}]",
                    f"site code {c.get('code')!r} of {c.get('system')!r} is not read: send the site as text, e.g. left deltoid",
                    field="site",
                )
        words = coded[0].get("code") if coded else site_concept.get("text")
        try:
            site = read_site(kb, text(words, f"{root}.dosage.site.text", field="site"))
        except FhirReadError:
            raise
        except InputError as exc:
            raise FhirReadError(f"{root}.dosage.site", str(exc), field="site") from None
    given = _administered_medication(resource, kb)
    prescription = None
    if resource.get("request") is not None:
        prescription = reference_id(
            resource["request"], "MedicationRequest", f"{root}.request", field="prescription"
        )
    planned = override = None
    volume = volume_path = None
    for i, ext in enumerate(items(resource.get("extension"), f"{root}.extension")):
        ext = mapping(ext, f"{root}.extension[{i}]")
        url = ext.get("url")
        if url == codes.EXT_PLANNED_DOSE:
            planned = positive_int(
                ext.get("valuePositiveInt"),
                f"{root}.extension[{i}].valuePositiveInt",
                field="planned_number",
            )
        elif url == codes.EXT_OVERRIDE:
            override = text(
                ext.get("valueString"),
                f"{root}.extension[{i}].valueString",
                field="override_reason",
            )
        elif url == codes.EXT_VOLUME:
            volume_path = f"{root}.extension[{i}].valueQuantity"
            volume = read_volume(mapping(ext.get("valueQuantity"), volume_path), volume_path)
            if volume <= 0:
                raise FhirReadError(
                    f"{volume_path}.value",
                    f"{volume}: a volume given is above zero",
                    field="volume",
                )
        elif url != codes.EXT_FINGERPRINT:
            raise unread_extension(url, f"{root}.extension[{i}]")
    performer = None
    for i, p in enumerate(items(resource.get("performer"), f"{root}.performer")):
        actor = mapping(
            mapping(p, f"{root}.performer[{i}]").get("actor"), f"{root}.performer[{i}].actor"
        )
        performer = optional_text(
            actor.get("display"), f"{root}.performer[{i}].actor.display"
        ) or optional_text(actor.get("reference"), f"{root}.performer[{i}].actor.reference")
    request = GiveRequest(
        code, at, dose, given.product, route, site, given.lot, given.expiry, override,
        substance=given.substance, concentration=given.concentration, volume_ml=volume,
    )  # fmt: skip
    return AdministrationRead(request, prescription, planned, performer, volume, volume_path)


#: The Dosage elements of a dose given that b12 reads (anything else is refused, never dropped).
DOSAGE_READ = ("id", "dose", "route", "site")


@dataclass(frozen=True)
class _Medicine:
    substance: str
    product: str | None
    concentration: Concentration | None
    lot: str | None
    expiry: date | None


def _administered_medication(resource: Mapping[str, Any], kb: Knowledge) -> _Medicine:
    """The medicine given, read as an order's medicine is read (``read_medication``): FHIR
    requires medication[x], and a dose given must name what was given, so a coding b12 cannot
    read is refused rather than noted (it could name another medicine than the text)."""
    root = "MedicationAdministration"
    if (
        resource.get("medicationCodeableConcept") is None
        and resource.get("medicationReference") is None
    ):
        raise FhirReadError(
            f"{root}.medication[x]",
            "missing: name the medicine given (medicationCodeableConcept, or medicationReference "
            "to a contained Medication): b12's product code, an NDC or UNII, or its name",
            field="product",
        )
    unread: list[str] = []
    substance, product, concentration = read_medication(resource, root, kb, unread)
    if unread:
        raise FhirReadError(
            unread[0].partition(":")[0],
            unread[0].partition(":")[2].strip().partition(";")[0]
            + ": b12 cannot tell that it names the medicine it records; send b12's product "
            "code, an NDC or UNII b12 reads, or the medicine's name as text, and leave this "
            "coding out",
            field="product",
        )
    med: Mapping[str, Any] = {}
    path = root
    if resource.get("medicationReference") is not None:
        med, path = contained_medication(resource, root)
    lot = expiry = None
    if med.get("batch") is not None:
        batch = mapping(med["batch"], f"{path}.batch")
        lot = optional_text(batch.get("lotNumber"), f"{path}.batch.lotNumber", field="lot")
        if batch.get("expirationDate") is not None:
            expiry = fhir_date(
                batch["expirationDate"], f"{path}.batch.expirationDate", field="expiry"
            )
    return _Medicine(substance, product, concentration, lot, expiry)


# --- Observation ----------------------------------------------------------------------------------


def ucum_of(unit: str) -> str:
    """A unit as b12 shows it ('mcg/L', 'x10^6/uL') -> UCUM ('ug/L', '10*6/uL')."""
    import re

    out = unit.replace("mcg", "ug").replace("µ", "u")
    out = re.sub(r"^x10\^(\d+)", r"10*\1", out)
    return {"million/uL": "10*6/uL", "mEq/L": "meq/L", "": "1"}.get(out, out)


def observation(lab: LabResult, patient_code: str, kb: Knowledge) -> dict[str, Any]:
    analyte = kb.get("analytes", lab.analyte)
    codings = []
    if lab.loinc:
        codings.append({"system": codes.LOINC, "code": lab.loinc})
    codings.append({"system": codes.B12_ANALYTE, "code": analyte.id, "display": analyte.name})
    out: dict[str, Any] = {
        "resourceType": "Observation",
        "id": lab.id,
        "identifier": [{"system": codes.B12_RECORD, "value": lab.id}],
        "status": "final",
        "category": [
            concept(
                "Laboratory",
                [
                    {
                        "system": codes.OBSERVATION_CATEGORY,
                        "code": "laboratory",
                        "display": "Laboratory",
                    }
                ],
            )
        ],
        "code": concept(analyte.name, codings),
        "subject": {"reference": f"Patient/{patient_code}"},
        "effectiveDateTime": lab.taken_on.isoformat(),
        "issued": lab.recorded_at.isoformat(),
        "performer": [{"display": lab.recorded_by}],
        "valueQuantity": {
            "value": lab.value,
            "unit": lab.unit or "1",
            "system": codes.UCUM,
            "code": ucum_of(lab.unit),
        },
    }
    if lab.text:
        out["extension"] = [{"url": codes.EXT_AS_WRITTEN, "valueString": lab.text}]
    return out


@dataclass(frozen=True)
class ObservationRead:
    patient: str
    taken_on: date
    measurement: Measurement


def read_observation(resource: Any, kb: Knowledge) -> ObservationRead:
    from b12.adapters.fhir.profile import is_body_weight
    from b12.domain.labs import find_unit, loinc_unit_mismatch

    root = "Observation"
    resource = resource_of(resource, root)
    if is_body_weight(resource):
        raise FhirReadError(
            f"{root}.code",
            "a body weight is part of the patient's profile, not a result: send it with its "
            "Patient in a Bundle to `b12 fhir import`, or record it with `b12 patient add "
            "--correct --weight-kg`",
            field="readings",
        )
    results = ("final", "amended", "corrected", "preliminary")
    read_status(resource, root, results, f"b12 records results ({', '.join(results)})")
    code = subject_code(resource, root)
    taken = fhir_date(
        need(resource, "effectiveDateTime", root, field="taken_on"),
        f"{root}.effectiveDateTime",
        field="taken_on",
    )
    concept_ = mapping(need(resource, "code", root, field="readings"), f"{root}.code")
    analytes: set[str] = set()
    sent_loinc = None
    for i, c in enumerate(items(concept_.get("coding"), f"{root}.code.coding")):
        c = mapping(c, f"{root}.code.coding[{i}]")
        at = f"{root}.code.coding[{i}]"
        sent = text(c.get("code"), f"{at}.code", field="readings")
        if c.get("system") == codes.LOINC:
            found = [
                a
                for a in kb.all("analytes").values()
                if any(
                    lc.code == sent and "do not map" not in (lc.note or "").lower()
                    for lc in a.loinc
                )
            ]
            if not found:
                raise FhirReadError(
                    at,
                    f"LOINC {sent!r} is no test b12 reads (B12 2132-9 or 14685-2, Hb 718-7, potassium 2823-3 ...)",
                    field="readings",
                )
            analytes |= {a.id for a in found}
            sent_loinc = sent
        elif c.get("system") == codes.B12_ANALYTE:
            analytes.add(kb.get("analytes", sent).id)
        else:
            raise FhirReadError(
                at,
                f"code {sent!r} of {c.get('system')!r} is not read: send the LOINC code",
                field="readings",
            )
    if not analytes and concept_.get("text"):
        analytes.add(
            kb.lookup("analytes", text(concept_["text"], f"{root}.code.text"), "laboratory test").id
        )
    if len(analytes) != 1:
        raise FhirReadError(
            f"{root}.code",
            "no test b12 reads: send its LOINC code"
            if not analytes
            else f"names {len(analytes)} tests: send one",
            field="readings",
        )
    analyte = kb.get("analytes", analytes.pop())
    quantity = mapping(
        need(resource, "valueQuantity", root, field="readings"), f"{root}.valueQuantity"
    )
    if quantity.get("comparator") is not None:
        raise FhirReadError(
            f"{root}.valueQuantity.comparator",
            "a value outside what the lab measures cannot be banded: send the number",
            field="readings",
        )
    value = decimal(
        need(quantity, "value", f"{root}.valueQuantity", field="readings"),
        f"{root}.valueQuantity.value",
        field="readings",
    )
    if value < 0:
        raise FhirReadError(
            f"{root}.valueQuantity.value", f"{value}: a result is not negative", field="readings"
        )
    system = quantity.get("system")
    if system is not None and system != codes.UCUM:
        raise FhirReadError(
            f"{root}.valueQuantity.system",
            f"{system!r}: send UCUM units ({codes.UCUM})",
            field="readings",
        )
    ucum = optional_text(quantity.get("code"), f"{root}.valueQuantity.code")
    shown = optional_text(quantity.get("unit"), f"{root}.valueQuantity.unit")
    unit_text = ucum or shown or ""
    try:
        unit = find_unit(
            analyte, "" if unit_text == "1" else unit_text, f"{analyte.id}={value} {unit_text}"
        )
    except InputError as exc:
        raise FhirReadError(f"{root}.valueQuantity.code", str(exc), field="readings") from None
    if ucum and shown and shown != ucum:  # the unit as shown, when it is the code's own unit
        alike = [u for u in analyte.units if u.unit == shown and ucum_of(u.unit) == ucum]
        unit = alike[0] if alike else unit
    if sent_loinc is not None:
        mismatch = loinc_unit_mismatch(analyte, sent_loinc, unit, unit_text)
        if mismatch is not None:
            raise FhirReadError(f"{root}.valueQuantity", mismatch, field="readings")
    written = ""
    for i, ext in enumerate(items(resource.get("extension"), f"{root}.extension")):
        ext = mapping(ext, f"{root}.extension[{i}]")
        if ext.get("url") == codes.EXT_AS_WRITTEN:
            written = text(ext.get("valueString"), f"{root}.extension[{i}].valueString")
        else:
            raise unread_extension(ext.get("url"), f"{root}.extension[{i}]")
    return ObservationRead(
        code, taken, Measurement(analyte.id, value, unit.unit, False, "", written)
    )


# --- DetectedIssue --------------------------------------------------------------------------------

SEVERITY = {Level.STOP: "high", Level.WARNING: "moderate", Level.INFO: "low"}


def detected_issue(
    found: Finding | Mapping[str, Any],
    patient_code: str,
    implicated: str | None,
    identified: datetime | None = None,
) -> dict[str, Any]:
    """A finding with its basis: the knowledge's sources and the values it used as evidence,
    its suggestion as a mitigation."""
    data = found.to_dict() if isinstance(found, Finding) else dict(found)
    basis = data.get("basis") or {}
    evidence = [{"code": [concept(f"source: {s}", [])]} for s in basis.get("sources", ())] + [
        {"code": [concept(f"{k}: {v}", [])]} for k, v in (basis.get("values") or {}).items()
    ]
    out: dict[str, Any] = {
        "resourceType": "DetectedIssue",
        "status": "final",
        "code": concept(data["code"], [{"system": codes.B12_FINDING, "code": data["code"]}]),
        "severity": SEVERITY[Level(data["level"])],
        "patient": {"reference": f"Patient/{patient_code}"},
        "detail": data["message"],
    }
    if identified is not None:
        out["identifiedDateTime"] = identified.isoformat()
    if implicated:
        out["implicated"] = [{"reference": implicated}]
    if evidence:
        out["evidence"] = evidence
    suggestion = data.get("suggestion")
    if suggestion:
        out["mitigation"] = [{"action": concept(str(suggestion.get("says")), [])}]
    if data.get("conflict"):
        out["reference"] = f"{codes.B12}/conflict/{data['conflict']}"
    return out
