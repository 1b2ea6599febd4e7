"""Whatever an EHR sends with a valid token, b12 answers a CDS Hooks error or cards, never a 500."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.cds.conftest import Ehr, hook, medication_request, prefetch

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4)
    ),
    max_leaves=12,
)
ANSWERS = {200, 412, 422}


def _answer(ehr: Ehr, body: Any) -> None:
    path = "/cds-services/order-sign"
    r = ehr.client.post(path, content=json.dumps(body), headers=ehr.auth(path))
    assert r.status_code in ANSWERS, r.text
    if r.status_code != 200:
        assert set(r.json()["error"]) == {"code", "message", "field"}


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(body=JSON)
def test_any_json_body_is_answered_cleanly(ehr: Ehr, body: Any) -> None:
    _answer(ehr, body)


PLACES = st.sampled_from(
    [
        ("context",),
        ("context", "draftOrders"),
        ("context", "userId"),
        ("prefetch", "patient"),
        ("prefetch", "conditions"),
        ("prefetch", "patient", "birthDate"),
        ("order", "dosageInstruction"),
        ("order", "medicationCodeableConcept"),
        ("order", "reasonCode"),
        ("dose", "value"),
        ("dose", "unit"),
        ("dose", "code"),
    ]
)


@settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(place=PLACES, value=JSON)
def test_any_value_anywhere_in_a_hook_request_is_answered_cleanly(
    ehr: Ehr, place: tuple[str, ...], value: Any
) -> None:
    order = medication_request()
    body = hook("order-sign", order, pre=prefetch())
    roots: dict[str, Any] = {
        "context": body,
        "prefetch": body["prefetch"],
        "order": order,
        "dose": order["dosageInstruction"][0]["doseAndRate"][0]["doseQuantity"],
    }
    target = roots[place[0]] if place[0] != "context" else body
    path = place if place[0] == "context" else place[1:]
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    _answer(ehr, body)
