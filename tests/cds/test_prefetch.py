"""What b12 reads from a hook's prefetch: every element type-checked (a wrong shape is a 422
naming its path), every resource read or named on a NOT_SCREENED card, never dropped silently;
the latest B12 by instant; pregnancy and allergies in the wordings EHRs send them."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from b12 import load_knowledge
from b12.adapters.fhir.codes import B12_PRODUCT
from b12.adapters.fhir.reading import FhirReadError
from b12.adapters.fhir.resources import read_observation
from tests.cds.conftest import Ehr, bundle, hook, medication_request, prefetch

SNOMED = "http://snomed.info/sct"
LOINC = "http://loinc.org"
KB = load_knowledge()


def _call(ehr: Ehr, pre: dict[str, Any], order: dict[str, Any] | None = None) -> Any:
    return ehr.call("order-sign", hook("order-sign", order or medication_request(), pre=pre))


def _cards(r: Any) -> list[dict[str, Any]]:
    assert r.status_code == 200, r.text
    cards: list[dict[str, Any]] = r.json()["cards"]
    return cards


def _codes(cards: list[dict[str, Any]]) -> list[str]:
    return [c["source"]["topic"]["code"] for c in cards]


def _not_screened(cards: list[dict[str, Any]]) -> list[str]:
    return [c["detail"] for c in cards if c["source"]["topic"]["code"] == "NOT_SCREENED"]


def _b12(value: Any, when: str, unit: str = "pg/mL", loinc: str = "2132-9") -> dict[str, Any]:
    return {
        "resourceType": "Observation",
        "status": "final",
        "subject": {"reference": "Patient/example"},
        "code": {"coding": [{"system": LOINC, "code": loinc}]},
        "effectiveDateTime": when,
        "valueQuantity": {
            "value": value,
            "unit": unit,
            "system": "http://unitsofmeasure.org",
            "code": unit,
        },
    }


def _with(pre: dict[str, Any], key: str, *resources: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(pre)
    out[key] = bundle(*resources)
    return out


# --- 1. shapes --------------------------------------------------------------------------------------


def test_an_observation_code_that_is_a_string_is_a_422_naming_its_path(ehr: Ehr) -> None:
    obs = _b12(100, "2027-03-01")
    obs["code"] = "x"
    r = _call(ehr, _with(prefetch(), "observations", obs))
    assert r.status_code == 422, r.text
    assert r.json()["error"]["message"].startswith(
        "prefetch.observations.entry[0].resource.code: expected a JSON object"
    )


def _rich_prefetch() -> dict[str, Any]:
    """A prefetch with every element b12 reads: each kind of resource, each way of naming."""
    pre = prefetch(conditions=("hypertension",), medications=("metformin",), allergies=("latex",))
    pre["patient"]["gender"] = "female"
    pre["conditions"]["entry"].append(
        {
            "resource": {
                "resourceType": "Condition",
                "verificationStatus": {"coding": [{"code": "confirmed"}]},
                "code": {
                    "coding": [{"system": SNOMED, "code": "38341003", "display": "Hypertension"}]
                },
            }
        }
    )
    pre["medications"]["entry"] += [
        {
            "fullUrl": "urn:uuid:0f0e",
            "resource": {"resourceType": "Medication", "id": "m1", "code": {"text": "omeprazole"}},
        },
        {
            "resource": {
                "resourceType": "MedicationRequest",
                "status": "active",
                "contained": [
                    {
                        "resourceType": "Medication",
                        "id": "c1",
                        "code": {"text": "chloramphenicol"},
                        "ingredient": [{"itemCodeableConcept": {"text": "chloramphenicol"}}],
                    }
                ],
                "medicationReference": {"reference": "#c1", "display": "chloramphenicol"},
            }
        },
        {
            "resource": {
                "resourceType": "MedicationStatement",
                "status": "active",
                "medicationReference": {"reference": "Medication/m1"},
            }
        },
    ]
    pre["allergies"]["entry"].append(
        {
            "resource": {
                "resourceType": "AllergyIntolerance",
                "reaction": [{"substance": {"coding": [{"system": SNOMED, "display": "Nickel"}]}}],
            }
        }
    )
    pre["observations"] = bundle(_b12(300, "2027-03-01T10:00:00Z"))
    pre["observations"]["entry"][0]["resource"]["issued"] = "2027-03-02T08:00:00Z"
    return pre


def _paths(value: Any, at: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every path in a JSON value (object keys and list indexes), the value's own first."""
    out = [at]
    if isinstance(value, dict):
        for k, v in value.items():
            out += _paths(v, (*at, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            out += _paths(v, (*at, i))
    return out


RICH = _rich_prefetch()
PATHS = [p for p in _paths(RICH) if p]
OTHER = st.one_of(
    st.text(max_size=8),
    st.integers(-5, 5),
    st.lists(st.text(max_size=3) | st.integers(), max_size=2),
    st.none(),
    st.just({}),
    st.just({"resourceType": "Bundle", "entry": "x"}),
    st.booleans(),
)


def test_the_rich_prefetch_is_read_whole(ehr: Ehr) -> None:
    cards = _cards(_call(ehr, RICH))
    assert "CHLORAMPHENICOL_BLUNTS_RESPONSE" in _codes(cards)
    assert not any("resource" in d for d in _not_screened(cards))  # every resource was read


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(path=st.sampled_from(PATHS), value=OTHER)
def test_any_element_of_the_prefetch_of_any_shape_is_answered_never_500(
    ehr: Ehr, path: tuple[Any, ...], value: Any
) -> None:
    pre = copy.deepcopy(RICH)
    target: Any = pre
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    r = _call(ehr, pre)
    assert r.status_code in (200, 412, 422), r.text
    if r.status_code == 422:
        error = r.json()["error"]
        assert error["message"].startswith(("prefetch.", "prefetch ")), error


# --- 2. the latest B12 ------------------------------------------------------------------------------


@pytest.mark.parametrize("reverse", [False, True])
def test_the_latest_b12_is_the_one_taken_last_whatever_the_zone_written(
    ehr: Ehr, reverse: bool
) -> None:
    # 03:00 at +05:00 on the 1st is 22:00Z on the 30th: an hour before the low result.
    results = [_b12(900, "2026-12-01T03:00:00+05:00"), _b12(100, "2026-11-30T23:00:00Z")]
    pre = _with(prefetch(), "observations", *(results[::-1] if reverse else results))
    assert "PLAN_B12_BASELINE" not in _codes(_cards(_call(ehr, pre)))  # 100: no "sufficient"
    later = [_b12(900, "2026-12-01T05:00:00+05:00"), _b12(100, "2026-11-30T23:00:00Z")]
    assert "PLAN_B12_BASELINE" in _codes(
        _cards(_call(ehr, _with(prefetch(), "observations", *later)))
    )


def test_a_date_alone_counts_as_earlier_than_a_time_that_day_and_later_than_the_day_before(
    ehr: Ehr,
) -> None:
    same_day = _with(
        prefetch(), "observations", _b12(900, "2026-11-30"), _b12(100, "2026-11-30T23:00:00Z")
    )
    assert "PLAN_B12_BASELINE" not in _codes(_cards(_call(ehr, same_day)))
    next_day = _with(
        prefetch(), "observations", _b12(900, "2026-12-01"), _b12(100, "2026-11-30T08:00:00Z")
    )
    assert "PLAN_B12_BASELINE" in _codes(_cards(_call(ehr, next_day)))


@pytest.mark.parametrize(("loinc", "unit"), [("2132-9", "pmol/L"), ("14685-2", "pg/mL")])
def test_a_b12_in_a_unit_its_loinc_does_not_measure_is_not_judged_as_the_import_refuses_it(
    ehr: Ehr, loinc: str, unit: str
) -> None:
    obs = _b12(900, "2027-03-01", unit=unit, loinc=loinc)
    with pytest.raises(FhirReadError) as refused:
        read_observation(obs, KB)
    cards = _cards(_call(ehr, _with(prefetch(), "observations", obs)))
    assert "PLAN_B12_BASELINE" not in _codes(cards)
    (detail,) = _not_screened(cards)
    assert refused.value.problem.split(":")[0] in detail.replace("\\", "")
    assert "prefetch.observations.entry[0].resource.valueQuantity" in detail.replace("\\", "")


def test_an_unreadable_b12_that_may_be_the_latest_stops_the_older_one_being_judged(
    ehr: Ehr,
) -> None:
    old = _b12(900, "2027-01-01")
    new = _b12(100, "2027-03-01", unit="mmol/L")
    cards = _cards(_call(ehr, _with(prefetch(), "observations", old, new)))
    assert "PLAN_B12_BASELINE" not in _codes(cards)
    (detail,) = _not_screened(cards)
    assert "no baseline B12 is judged" in detail


# --- 3. nothing dropped -----------------------------------------------------------------------------


def _medication(**given: Any) -> dict[str, Any]:
    return {"resourceType": "MedicationRequest", "status": "active", **given}


CHLORAMPHENICOL = {"resourceType": "Medication", "id": "m1", "code": {"text": "chloramphenicol"}}


@pytest.mark.parametrize(
    "resources",
    [
        [_medication(medicationCodeableConcept={"text": "chloramphenicol"})],
        [_medication(contained=[CHLORAMPHENICOL], medicationReference={"reference": "#m1"})],
        [CHLORAMPHENICOL, _medication(medicationReference={"reference": "Medication/m1"})],
        [
            _medication(
                contained=[
                    {
                        "resourceType": "Medication",
                        "id": "m1",
                        "ingredient": [{"itemCodeableConcept": {"text": "chloramphenicol"}}],
                    }
                ],
                medicationReference={"reference": "#m1"},
            )
        ],
    ],
    ids=["concept", "contained", "in-the-prefetch", "ingredient"],
)
def test_a_medicine_given_any_way_b12_can_resolve_is_screened(
    ehr: Ehr, resources: list[dict[str, Any]]
) -> None:
    cards = _cards(_call(ehr, _with(prefetch(), "medications", *resources)))
    assert "CHLORAMPHENICOL_BLUNTS_RESPONSE" in _codes(cards)
    assert _not_screened(cards) == []


def test_a_medication_reference_b12_cannot_resolve_is_not_screened_by_name(ehr: Ehr) -> None:
    pre = _with(
        prefetch(), "medications", _medication(medicationReference={"reference": "Medication/9"})
    )
    (detail,) = _not_screened(_cards(_call(ehr, pre)))
    assert "Medication/9" in detail and "medicationReference" in detail


@pytest.mark.parametrize(
    "allergy",
    [
        {"reaction": [{"substance": {"text": "Cobalt"}}]},
        {
            "code": {
                "coding": [
                    {"system": SNOMED, "display": "Latex"},
                    {"system": SNOMED, "display": "Cyanocobalamin"},
                ]
            }
        },
        {"code": {"text": "Allergy to cobalt"}},
        {
            "code": {
                "coding": [{"system": SNOMED, "display": "Hypersensitivity to cyanocobalamin"}],
                "text": "see notes",
            }
        },
    ],
    ids=["reaction-substance", "second-coding", "snomed-wording", "coding-beside-text"],
)
def test_a_cobalamin_allergy_written_anywhere_in_the_resource_is_the_stop(
    ehr: Ehr, allergy: dict[str, Any]
) -> None:
    pre = _with(prefetch(), "allergies", {"resourceType": "AllergyIntolerance", **allergy})
    cards = _cards(_call(ehr, pre))
    assert cards[0]["indicator"] == "critical"
    assert _codes(cards)[0] == "COBALAMIN_HYPERSENSITIVITY"


def _infant(born: str) -> dict[str, Any]:
    pre = prefetch()
    pre["patient"]["birthDate"] = born
    return pre


@pytest.mark.parametrize("born", ["2026-07", "2026"])
def test_a_partial_birth_date_screens_the_infant_as_a_full_one_does(ehr: Ehr, born: str) -> None:
    order = medication_request(1000, "ug", reason="D51.0")
    full = _codes(_cards(_call(ehr, _infant("2026-07-15"), order)))
    assert "DOSE_OUTSIDE_INDICATION" in full
    assert "DOSE_OUTSIDE_INDICATION" in _codes(_cards(_call(ehr, _infant(born), order)))


@pytest.mark.parametrize("born", ["2027-04", "2026-13", "2026-07-1", "1890"])
def test_a_birth_date_after_today_or_not_a_date_is_a_422(ehr: Ehr, born: str) -> None:
    r = _call(ehr, _infant(born))
    assert r.status_code == 422 and "prefetch.patient.birthDate" in r.json()["error"]["message"]


UNREADABLE = [
    ("conditions", {"resourceType": "Condition"}, "names no condition"),
    ("medications", _medication(), "no medication"),
    ("allergies", {"resourceType": "AllergyIntolerance"}, "names no substance"),
    ("observations", {**_b12(1, "2027-03-01"), "valueQuantity": None}, "no valueQuantity"),
    ("conditions", {"resourceType": "Procedure"}, "a Procedure"),
    ("medications", {"resourceType": "Immunization"}, "an Immunization"),
    ("allergies", {"resourceType": "Flag"}, "a Flag"),
    ("observations", {"resourceType": "DiagnosticReport"}, "a DiagnosticReport"),
]


@pytest.mark.parametrize(("key", "resource", "said"), UNREADABLE)
def test_each_resource_b12_cannot_read_is_a_not_screened_card_naming_it(
    ehr: Ehr, key: str, resource: dict[str, Any], said: str
) -> None:
    cards = _cards(_call(ehr, _with(prefetch(), key, resource)))
    (detail,) = _not_screened(cards)
    assert f"prefetch.{key}.entry[0].resource" in detail.replace("\\", "")
    assert said.split()[-1] in detail


def test_resources_recorded_in_error_are_not_read(ehr: Ehr) -> None:
    pre = _with(
        prefetch(),
        "allergies",
        {
            "resourceType": "AllergyIntolerance",
            "verificationStatus": {"coding": [{"code": "entered-in-error"}]},
            "code": {"text": "cobalt"},
        },
    )
    pre["observations"] = bundle({**_b12(900, "2027-03-01"), "status": "entered-in-error"})
    assert _cards(_call(ehr, pre)) == []


# --- 4. pregnancy -----------------------------------------------------------------------------------

MILGAMMA = {
    "coding": [{"system": B12_PRODUCT, "code": "milgamma-2ml-ampoule"}],
    "text": "Milgamma N 2 mL ampoule",
}


@pytest.mark.parametrize(
    "code",
    [{"text": "Pregnancy"}, {"coding": [{"system": SNOMED, "code": "77386006"}]}],
    ids=["text", "snomed"],
)
def test_a_pregnancy_condition_stops_a_milgamma_order(ehr: Ehr, code: dict[str, Any]) -> None:
    order = medication_request(1000, "ug", medicine=MILGAMMA)
    pre = _with(prefetch(), "conditions", {"resourceType": "Condition", "code": code})
    cards = _cards(_call(ehr, pre, order))
    assert "PRODUCT_CONTRAINDICATED" in _codes(cards)
    assert cards[0]["indicator"] == "critical"
    assert _not_screened(cards) == []


def test_a_wrong_shape_in_a_draft_order_is_a_422_naming_it(ehr: Ehr) -> None:
    order = medication_request()
    order["contained"] = 5
    r = ehr.call("order-sign", hook("order-sign", order))
    assert r.status_code == 422
    assert "context.draftOrders.entry[0].resource.contained" in r.json()["error"]["message"]
