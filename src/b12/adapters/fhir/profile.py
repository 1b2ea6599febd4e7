"""The patient's screening profile as FHIR R4 resources, and read back.

Written beside the Patient: each allergy an AllergyIntolerance, each condition a Condition,
pregnancy and breastfeeding a Condition with b12's profile code, each medicine taken a
MedicationStatement, the weight an Observation (LOINC 29463-7 body weight, UCUM kg). Every name
is written as it was recorded (``code.text``), with b12's code of the knowledge entry it names
when there is one. Read: every element b12 does not read is refused (a profile that lost part of
what it says would screen as if it were not there), each resource naming its patient.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from b12.adapters.fhir import codes
from b12.adapters.fhir.medication_request import concept
from b12.adapters.fhir.reading import (
    FhirReadError,
    decimal,
    fhir_date,
    items,
    mapping,
    need,
    optional_text,
    read_status,
    reference_id,
    resource_of,
    text,
    unread_extension,
)
from b12.domain.patient import Patient
from b12.domain.records import PatientRecord
from b12.errors import InputError

if TYPE_CHECKING:
    from b12.knowledge.base import Knowledge

#: Where each kind of name of the profile is looked up (as screening looks it up).
LOOKUPS = {
    "allergies": ("allergens", "substances", "medicines", "medicine-classes"),
    "conditions": ("conditions", "indications"),
    "medications": ("medicines", "medicine-classes"),
}
#: The profile's yes/no facts, as b12's profile codes, and their text.
FLAGS = {"pregnant": "Pregnancy", "breastfeeding": "Breastfeeding"}
#: The elements of each resource b12 reads (anything else is refused, never dropped).
COMMON = ("resourceType", "id", "meta", "text")
READ_ELEMENTS = {
    "AllergyIntolerance": (*COMMON, "clinicalStatus", "verificationStatus", "code", "patient"),
    "Condition": (*COMMON, "clinicalStatus", "verificationStatus", "code", "subject"),
    "MedicationStatement": (*COMMON, "status", "medicationCodeableConcept", "subject"),
    "Observation": (
        *COMMON, "status", "category", "code", "subject", "effectiveDateTime", "valueQuantity",
    ),
}  # fmt: skip
#: What each resource's reference to the patient is called.
PATIENT_ELEMENT = {
    "AllergyIntolerance": "patient",
    "Condition": "subject",
    "MedicationStatement": "subject",
    "Observation": "subject",
}
VITAL_SIGNS = {
    "system": codes.OBSERVATION_CATEGORY,
    "code": "vital-signs",
    "display": "Vital Signs",
}


# --- written ---------------------------------------------------------------------------------------


def known_coding(kb: Knowledge, kind: str, name: str) -> list[dict[str, str]]:
    """b12's code of the knowledge entry ``name`` names (none when it names none)."""
    for collection in LOOKUPS[kind]:
        entry = kb.match(collection, name)
        if entry is not None:
            return [
                {
                    "system": codes.knowledge_system(collection),
                    "code": entry.id,
                    "display": entry.name,
                }
            ]
    return []


def _active(system: str) -> dict[str, Any]:
    return concept("Active", [{"system": system, "code": "active", "display": "Active"}])


def profile_resources(record: PatientRecord, kb: Knowledge) -> list[dict[str, Any]]:
    """The record's profile (current record) as FHIR resources of patient ``record.code``."""
    p = record.profile
    subject = {"reference": f"Patient/{record.code}"}
    out: list[dict[str, Any]] = []

    def add(kind: str, n: int, body: dict[str, Any]) -> None:
        out.append({"resourceType": kind, "id": f"{record.id}-{kind.lower()}-{n}"[-64:], **body})

    for n, name in enumerate(p.get("allergies", ()), start=1):
        add("AllergyIntolerance", n, {
            "clinicalStatus": _active(codes.ALLERGY_CLINICAL),
            "code": concept(name, known_coding(kb, "allergies", name)),
            "patient": subject,
        })  # fmt: skip
    conditions = [
        concept(name, known_coding(kb, "conditions", name)) for name in p.get("conditions", ())
    ]
    conditions += [
        concept(shown, [{"system": codes.B12_PROFILE, "code": flag, "display": shown}])
        for flag, shown in FLAGS.items()
        if p.get(flag)
    ]
    for n, code in enumerate(conditions, start=1):
        add("Condition", n, {
            "clinicalStatus": _active(codes.CONDITION_CLINICAL), "code": code, "subject": subject,
        })  # fmt: skip
    for n, name in enumerate(p.get("medications", ()), start=1):
        add("MedicationStatement", n, {
            "status": "active",
            "medicationCodeableConcept": concept(name, known_coding(kb, "medications", name)),
            "subject": subject,
        })  # fmt: skip
    if p.get("weight_kg") is not None:
        add("Observation", 1, {
            "status": "final",
            "category": [concept("Vital Signs", [VITAL_SIGNS])],
            "code": concept("Body weight", [
                {"system": codes.LOINC, "code": codes.LOINC_BODY_WEIGHT, "display": "Body weight"}
            ]),
            "subject": subject,
            "effectiveDateTime": record.recorded_at.date().isoformat(),
            "valueQuantity": {
                "value": Decimal(str(p["weight_kg"])), "unit": "kg", "system": codes.UCUM,
                "code": "kg",
            },
        })  # fmt: skip
    return out


# --- read ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ProfileRead:
    """One fact of a patient's profile: ``field`` a Patient field, ``value`` a name (for the
    lists), True (pregnant, breastfeeding) or the weight in kg."""

    patient: str
    field: str
    value: Any


def is_body_weight(resource: Mapping[str, Any]) -> bool:
    """Whether an Observation is a body weight (LOINC 29463-7), which b12 keeps in the profile."""
    code = resource.get("code")
    if not isinstance(code, Mapping) or not isinstance(code.get("coding"), list):
        return False
    return any(
        isinstance(c, Mapping)
        and c.get("system") == codes.LOINC
        and c.get("code") == codes.LOINC_BODY_WEIGHT
        for c in code["coding"]
    )


def read_profile(resource: Any, kb: Knowledge) -> ProfileRead:
    """An AllergyIntolerance, Condition, MedicationStatement or body-weight Observation."""
    kind = mapping(resource, "resource", field="resource").get("resourceType")
    if kind not in READ_ELEMENTS:
        raise FhirReadError(
            "resource.resourceType",
            f"{kind!r}: b12's profile is read from {', '.join(READ_ELEMENTS)}",
            field="resource",
        )
    root = str(kind)
    found = resource_of(resource, root)
    for key in found:
        if key == "extension":
            first = items(found[key], f"{root}.extension")
            if first:
                url = mapping(first[0], f"{root}.extension[0]").get("url")
                raise unread_extension(url, f"{root}.extension[0]")
        elif key not in READ_ELEMENTS[root]:
            raise FhirReadError(
                f"{root}.{key}",
                f"is not read by b12 (the profile would drop it): a {root} is read as "
                f"{', '.join(k for k in READ_ELEMENTS[root] if k not in COMMON)}; leave {key} out",
                field=key,
            )
    ref = PATIENT_ELEMENT[root]
    code = reference_id(
        need(found, ref, root, field="patient"), "Patient", f"{root}.{ref}", field="patient"
    )
    if root == "AllergyIntolerance":
        _clinical(found, root, codes.ALLERGY_CLINICAL, codes.ALLERGY_VERIFICATION)
        name = _name(kb, "allergies", need(found, "code", root, field="allergies"), f"{root}.code")
        return ProfileRead(code, "allergies", name)
    if root == "Condition":
        _clinical(found, root, codes.CONDITION_CLINICAL, codes.CONDITION_VERIFICATION)
        sent = mapping(need(found, "code", root, field="conditions"), f"{root}.code")
        flag = _flag(sent, f"{root}.code")
        if flag is not None:
            return ProfileRead(code, flag, True)
        return ProfileRead(code, "conditions", _name(kb, "conditions", sent, f"{root}.code"))
    if root == "MedicationStatement":
        read_status(
            found, root, ("active",), "b12 keeps the medicines a patient takes now (active)"
        )
        path = f"{root}.medicationCodeableConcept"
        sent = need(found, "medicationCodeableConcept", root, field="medications")
        return ProfileRead(code, "medications", _name(kb, "medications", sent, path))
    return ProfileRead(code, "weight_kg", _weight(found, root))


def _clinical(found: Mapping[str, Any], root: str, clinical: str, verification: str) -> None:
    """clinicalStatus active (required); verificationStatus, when sent, confirmed."""
    for element, system, allowed, why in (
        ("clinicalStatus", clinical, "active", "b12 keeps what the patient has now (active)"),
        ("verificationStatus", verification, "confirmed", "b12 keeps confirmed facts"),
    ):
        if element not in found and element == "verificationStatus":
            continue
        sent = mapping(need(found, element, root), f"{root}.{element}")
        coded = [
            mapping(c, f"{root}.{element}.coding[{i}]")
            for i, c in enumerate(items(sent.get("coding"), f"{root}.{element}.coding"))
        ]
        if not coded:
            raise FhirReadError(f"{root}.{element}.coding", f"missing: send {system}#{allowed}")
        for i, c in enumerate(coded):
            if c.get("system") != system or c.get("code") != allowed:
                raise FhirReadError(
                    f"{root}.{element}.coding[{i}]",
                    f"{c.get('system')}#{c.get('code')}: {why}; send {system}#{allowed}",
                    field=element,
                )


def _flag(sent: Mapping[str, Any], path: str) -> str | None:
    """ "pregnant" or "breastfeeding" when the concept is b12's profile code (or a SNOMED code
    of codes.PROFILE_CODES); refused beside any other code."""
    flags: set[str] = set()
    others = False
    for i, c in enumerate(items(sent.get("coding"), f"{path}.coding")):
        c = mapping(c, f"{path}.coding[{i}]")
        if c.get("system") == codes.B12_PROFILE:
            value = text(c.get("code"), f"{path}.coding[{i}].code")
            if value not in FLAGS:
                raise FhirReadError(
                    f"{path}.coding[{i}].code",
                    f"{value!r} is no profile code of b12: send {' or '.join(FLAGS)}",
                    field="conditions",
                )
            flags.add(value)
        else:
            known = codes.by_system(codes.PROFILE_CODES, str(c.get("system")), str(c.get("code")))
            if known is not None:
                flags.add(known.means)
            else:
                others = True
    if not flags:
        return None
    if others or len(flags) > 1:
        raise FhirReadError(
            f"{path}.coding",
            f"names {' and '.join(sorted(flags))} beside other codes: send one Condition each",
            field="conditions",
        )
    return flags.pop()


def _name(kb: Knowledge, kind: str, sent: Any, path: str) -> str:
    """The name as written (``text``); a coding must be b12's code of the entry the text names
    (a code of another system is refused: b12 cannot tell that it names the same thing)."""
    sent = mapping(sent, path, field=kind)
    name = optional_text(sent.get("text"), f"{path}.text", field=kind)
    systems = {codes.knowledge_system(c): c for c in LOOKUPS[kind]}
    named = None
    for i, c in enumerate(items(sent.get("coding"), f"{path}.coding")):
        at = f"{path}.coding[{i}]"
        c = mapping(c, at)
        collection = systems.get(str(c.get("system")))
        if collection is None:
            raise FhirReadError(
                at,
                f"code {c.get('code')!r} of {c.get('system')!r} is not read: send the name as "
                f"{path}.text (with b12's code of {' or '.join(LOOKUPS[kind])}, if any)",
                field=kind,
            )
        value = text(c.get("code"), f"{at}.code", field=kind)
        entry = kb.all(collection).get(value)
        if entry is None:
            raise FhirReadError(at, f"{value!r} is no code of b12's {collection}", field=kind)
        if name is not None:
            matched = kb.match(collection, name)
            if matched is None or matched.id != entry.id:
                raise FhirReadError(
                    at,
                    f"{value!r} is not what the text {name!r} names: send a text and a code "
                    "that say the same, or the text alone",
                    field=kind,
                )
        named = named or entry
    if name is not None:
        return name
    if named is None:
        raise FhirReadError(f"{path}.text", "missing: write the name as recorded", field=kind)
    return str(named.name)


def _weight(found: Mapping[str, Any], root: str) -> Decimal:
    read_status(found, root, ("final", "amended", "corrected"), "b12 keeps a weight measured")
    for i, c in enumerate(items(found["code"].get("coding"), f"{root}.code.coding")):
        c = mapping(c, f"{root}.code.coding[{i}]")
        if (c.get("system"), c.get("code")) != (codes.LOINC, codes.LOINC_BODY_WEIGHT):
            raise FhirReadError(
                f"{root}.code.coding[{i}]",
                f"code {c.get('code')!r} of {c.get('system')!r} beside body weight: send "
                f"LOINC {codes.LOINC_BODY_WEIGHT} alone",
                field="weight_kg",
            )
    for i, cat in enumerate(items(found.get("category"), f"{root}.category")):
        for j, c in enumerate(
            items(
                mapping(cat, f"{root}.category[{i}]").get("coding"), f"{root}.category[{i}].coding"
            )
        ):
            c = mapping(c, f"{root}.category[{i}].coding[{j}]")
            if (c.get("system"), c.get("code")) != (codes.OBSERVATION_CATEGORY, "vital-signs"):
                raise FhirReadError(
                    f"{root}.category[{i}].coding[{j}]",
                    "a body weight is a vital sign: send the category vital-signs or none",
                    field="weight_kg",
                )
    if found.get("effectiveDateTime") is not None:
        fhir_date(found["effectiveDateTime"], f"{root}.effectiveDateTime", field="weight_kg")
    path = f"{root}.valueQuantity"
    quantity = mapping(need(found, "valueQuantity", root, field="weight_kg"), path)
    for key in quantity:
        if key not in ("value", "unit", "system", "code"):
            raise FhirReadError(
                f"{path}.{key}", "is not read: send value, unit, system and code", field="weight_kg"
            )
    if quantity.get("system") != codes.UCUM or quantity.get("code") != "kg":
        raise FhirReadError(
            f"{path}.code",
            f"{quantity.get('system')}#{quantity.get('code')}: send the weight in kilograms "
            f"(system {codes.UCUM}, code kg)",
            field="weight_kg",
        )
    if quantity.get("unit") not in (None, "kg"):
        raise FhirReadError(
            f"{path}.unit", f"{quantity.get('unit')!r} is not kg: send unit kg", field="weight_kg"
        )
    value = decimal(
        need(quantity, "value", path, field="weight_kg"), f"{path}.value", field="weight_kg"
    )
    try:
        Patient(weight_kg=value)
    except InputError as exc:
        raise FhirReadError(f"{path}.value", str(exc), field="weight_kg") from None
    return value


def profile_with(base: Patient, facts: Sequence[ProfileRead]) -> Patient:
    """``base`` (age and sex of the Patient) with the facts read beside it, in their order."""
    lists: dict[str, list[str]] = {"allergies": [], "conditions": [], "medications": []}
    flags = {"pregnant": False, "breastfeeding": False}
    weight: Decimal | None = None
    for fact in facts:
        if fact.field in lists:
            lists[fact.field].append(fact.value)
        elif fact.field in flags:
            flags[fact.field] = True
        else:
            weight = fact.value
    return Patient(
        age_months=base.age_months, sex=base.sex, weight_kg=weight,
        pregnant=flags["pregnant"], breastfeeding=flags["breastfeeding"],
        allergies=tuple(lists["allergies"]), conditions=tuple(lists["conditions"]),
        medications=tuple(lists["medications"]),
    )  # fmt: skip
