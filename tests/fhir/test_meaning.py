"""What a resource says about itself decides whether b12 records it: an order not in force, not
an order, or an order not to give is never a prescription; a modifier b12 does not read (a
modifierExtension anywhere, implicitRules, an inactive Patient or Medication) refuses the
resource; nothing is written when one of them is refused."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from b12 import load_knowledge
from b12.adapters.fhir.bundle import read_all
from b12.adapters.fhir.jsonio import dumps, loads
from b12.adapters.fhir.reading import FhirReadError
from tests.fhir.test_cli import _order, record  # noqa: F401 (the fixture)
from tests.fhir.test_refusals import ADMINISTRATION, order
from tests.record.helpers import run_main

KB = load_knowledge()
#: FHIR R4 MedicationRequest.status and .intent, every value; b12 prescribes an order in force.
STATUSES = {"active", "on-hold", "cancelled", "completed", "entered-in-error", "stopped", "draft",
            "unknown"}  # fmt: skip
INTENTS = {"proposal", "plan", "order", "original-order", "reflex-order", "filler-order",
           "instance-order", "option"}  # fmt: skip
ORDER_INTENTS = ("order", "original-order", "instance-order")
UCUM = "http://unitsofmeasure.org"
MODIFIER = {"url": "https://example.org/fhir/StructureDefinition/not-really", "valueBoolean": True}
DOSE = {"value": 1000, "unit": "mcg", "system": UCUM, "code": "ug"}


def _prescriptions() -> int:
    code, said, err = run_main(["patient", "show", "P-0042", "--json"])
    assert code == 0, err
    return len(json.loads(said)["prescriptions"])


def _import(tmp_path: Path, resource: Any, *extra: str) -> tuple[int, str, str]:
    path = tmp_path / "in.json"
    path.write_text(dumps(resource))
    return run_main(["fhir", "import", str(path), *extra])


# --- MedicationRequest.status, intent, doNotPerform ---------------------------------------------

REFUSED_ORDERS = (
    [("status", s) for s in sorted(STATUSES - {"active"})]
    + [("intent", i) for i in sorted(INTENTS - set(ORDER_INTENTS))]
    + [("doNotPerform", True)]
)


@pytest.mark.parametrize(
    "element, value", REFUSED_ORDERS, ids=[f"{e}={v}" for e, v in REFUSED_ORDERS]
)
@pytest.mark.usefixtures("record")
def test_an_order_not_in_force_or_not_to_give_is_never_prescribed(
    tmp_path: Path,
    element: str,
    value: Any,
) -> None:
    before = _prescriptions()
    sent = {**_order(DOSE), element: value}
    code, out, err = _import(tmp_path, sent)
    assert (code, out) == (2, ""), err
    assert f"MedicationRequest.{element}" in err and "Traceback" not in err
    assert "b12 records" in err  # says what b12 accepts
    assert _prescriptions() == before


@pytest.mark.parametrize(
    "element, value",
    [("intent", i) for i in ORDER_INTENTS] + [("doNotPerform", False), ("status", "active")],
)
def test_an_order_in_force_to_give_is_read_for_prescribing(element: str, value: Any) -> None:
    sent = {**order(), "status": "active", element: value}
    (read,) = read_all(loads(dumps(sent)), KB)
    assert read.kind == "MedicationRequest"


def test_a_doNotPerform_that_is_not_a_boolean_is_refused() -> None:
    with pytest.raises(FhirReadError, match="true or false") as caught:
        read_all(loads(dumps({**order(), "status": "active", "doNotPerform": "yes"})), KB)
    assert caught.value.path.endswith("doNotPerform")


def test_a_draft_order_is_still_read_for_review() -> None:
    """The reader takes drafts (CDS Hooks reviews them); only recording refuses them."""
    from b12.adapters.fhir.medication_request import read_medication_request

    assert read_medication_request(loads(dumps(order())), KB).status == "draft"


# --- modifiers, every resource type b12 reads ---------------------------------------------------


def _at(data: Any, path: str) -> Any:
    for part in path.split("."):
        data = data[int(part)] if part.isdigit() else data[part]
    return data


def _kind_entry(bundle: dict[str, Any], kind: str) -> int:
    return next(i for i, e in enumerate(bundle["entry"]) if e["resource"]["resourceType"] == kind)


#: (the resource, where in it, what to set, the element the refusal names)
MODIFIED = [
    ("Patient", "", "modifierExtension", [MODIFIER], "Patient.modifierExtension"),
    ("Patient", "", "implicitRules", "https://example.org/rules", "Patient.implicitRules"),
    ("Patient", "", "active", False, "Patient.active"),
    ("MedicationRequest", "", "modifierExtension", [MODIFIER], "MedicationRequest.modifierExtension"),
    ("MedicationRequest", "dosageInstruction.0", "modifierExtension", [MODIFIER],
     "dosageInstruction[0].modifierExtension"),
    ("MedicationRequest", "dosageInstruction.0.timing", "modifierExtension", [MODIFIER],
     "dosageInstruction[0].timing.modifierExtension"),
    ("MedicationAdministration", "", "modifierExtension", [MODIFIER],
     "MedicationAdministration.modifierExtension"),
    ("MedicationAdministration", "dosage", "modifierExtension", [MODIFIER], "dosage.modifierExtension"),
    ("MedicationAdministration", "contained.0", "modifierExtension", [MODIFIER],
     "contained[0].modifierExtension"),
    ("MedicationAdministration", "contained.0.batch", "modifierExtension", [MODIFIER],
     "contained[0].batch.modifierExtension"),
    ("MedicationAdministration", "contained.0", "status", "entered-in-error", "contained[0].status"),
    ("Observation", "", "modifierExtension", [MODIFIER], "Observation.modifierExtension"),
    ("Observation", "code", "modifierExtension", [MODIFIER], "Observation.code.modifierExtension"),
]  # fmt: skip


@pytest.mark.parametrize(
    "kind, where, key, value, element", MODIFIED, ids=[f"{m[0]}.{m[1]}.{m[2]}" for m in MODIFIED]
)
@pytest.mark.usefixtures("record")
def test_a_modifier_b12_does_not_read_refuses_the_import_nothing_written(
    tmp_path: Path,
    kind: str,
    where: str,
    key: str,
    value: Any,
    element: str,
) -> None:
    assert run_main(["fhir", "export", "P-0042", "--out", "first.json"])[0] == 0
    bundle = loads((tmp_path / "first.json").read_bytes())
    changed = copy.deepcopy(bundle)
    entry = changed["entry"][_kind_entry(changed, kind)]["resource"]
    (_at(entry, where) if where else entry)[key] = value
    copy_db = tmp_path / "copy.db"
    assert run_main(["db", "upgrade", "--db", str(copy_db)])[0] == 0
    code, out, err = _import(tmp_path, changed, "--db", str(copy_db), "--at", "2026-01-02")
    assert (code, out) == (2, ""), err
    assert element in err and "Traceback" not in err, err
    code, _, err = run_main(["patient", "show", "P-0042", "--db", str(copy_db)])
    assert code == 2 and "no patient" in err  # nothing of the bundle was written
    # the same bundle without the modifier imports
    code, _, err = _import(tmp_path, bundle, "--db", str(copy_db), "--at", "2026-01-02")
    assert code == 0, err


def test_a_modifier_on_the_bundle_entry_refuses_the_import() -> None:
    sent = {"resourceType": "Bundle", "type": "collection",
            "entry": [{"modifierExtension": [MODIFIER], "resource": ADMINISTRATION}]}  # fmt: skip
    with pytest.raises(FhirReadError) as caught:
        read_all(loads(dumps(sent)), KB)
    assert caught.value.path == "Bundle.entry[0].modifierExtension"


def test_an_ordinary_extension_inside_a_modifier_free_resource_is_no_modifier() -> None:
    """Only modifierExtension refuses; an empty one says nothing."""
    (read,) = read_all(loads(dumps({**ADMINISTRATION, "modifierExtension": []})), KB)
    assert read.kind == "MedicationAdministration"


# --- an order's Dosage elements b12 does not read ------------------------------------------------

ORDER_DOSAGE_NOT_READ = [
    ("asNeededBoolean", True),
    ("maxDosePerPeriod", {"numerator": {"value": 1000}, "denominator": {"value": 1}}),
    ("maxDosePerAdministration", {"value": 1000, "unit": "mcg", "system": UCUM, "code": "ug"}),
    ("method", {"text": "slow push"}),
    ("site", {"text": "left deltoid"}),
    ("patientInstruction", "inject weekly"),
    ("additionalInstruction", [{"text": "with food"}]),
]


@pytest.mark.parametrize(
    "key, value", ORDER_DOSAGE_NOT_READ, ids=[k for k, _ in ORDER_DOSAGE_NOT_READ]
)
def test_an_order_dosage_element_b12_does_not_read_keeps_it_from_being_prescribed(
    key: str, value: Any
) -> None:
    from b12.adapters.fhir.medication_request import read_medication_request

    sent = {**order(), "status": "active"}
    sent["dosageInstruction"][0][key] = value
    with pytest.raises(FhirReadError) as caught:
        read_all(loads(dumps(sent)), KB)
    assert caught.value.path == f"MedicationRequest.dosageInstruction[0].{key}"
    # a review (CDS Hooks) still reads the order
    assert read_medication_request(loads(dumps(sent)), KB).unread_dosage


@pytest.mark.usefixtures("record")
def test_an_order_with_a_rate_is_not_prescribed(tmp_path: Path) -> None:
    before = _prescriptions()
    sent = _order(DOSE)
    sent["dosageInstruction"][0]["doseAndRate"][0]["rateQuantity"] = {
        "value": 1, "unit": "mL/min", "system": UCUM, "code": "mL/min",
    }  # fmt: skip
    code, out, err = _import(tmp_path, sent)
    assert (code, out) == (2, ""), err
    assert "MedicationRequest.dosageInstruction[0].doseAndRate[0].rateQuantity" in err
    assert _prescriptions() == before
