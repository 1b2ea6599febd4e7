"""Feedback on b12's cards: kept once per card and outcome, and counted in the override rates
the pharmacist reads (the web page and `b12 overrides`)."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

from tests.cds.conftest import ISSUER, Ehr, hook, medication_request
from tests.web.conftest import NOW

OVERRIDE = "https://b12.invalid/fhir/CodeSystem/override-reason"


def _slip_card(ehr: Ehr) -> dict[str, Any]:
    r = ehr.call("order-sign", hook("order-sign", medication_request(1000, "mg")))
    card: dict[str, Any] = r.json()["cards"][0]
    assert card["source"]["topic"]["code"] == "DOSE_UNIT_SLIP"
    return card


def _overridden(card: dict[str, Any], comment: str = "checked with haematology") -> dict[str, Any]:
    return {
        "card": card["uuid"],
        "outcome": "overridden",
        "overrideReason": {
            "reason": {
                "system": OVERRIDE,
                "code": "prescriber-confirmed",
                "display": "prescriber confirmed the order",
            },
            "userComment": comment,
        },
        "outcomeTimestamp": NOW.isoformat(),
    }


def test_feedback_is_kept_once_and_a_duplicate_is_tolerated(ehr: Ehr) -> None:
    card = _slip_card(ehr)
    first = ehr.feedback("order-sign", [_overridden(card)])
    assert first.status_code == 200, first.text
    assert first.json() == {"received": 1, "kept": 1}
    again = ehr.feedback("order-sign", [_overridden(card)])
    assert again.json() == {"received": 1, "kept": 0}
    with ehr.app.unit_of_work() as uow:
        (kept,) = uow.cds.feedback()  # type: ignore[attr-defined]
        issued = uow.cds.card(card["uuid"])  # type: ignore[attr-defined]
    assert kept.reason_code == "prescriber-confirmed" and kept.comment == "checked with haematology"
    assert kept.outcome_at == NOW and kept.issuer == ISSUER
    assert issued.finding_code == "DOSE_UNIT_SLIP" and issued.patient == "example"
    assert issued.user_id == "Practitioner/123" and issued.service == "order-sign"


def test_accepted_suggestions_are_kept(ehr: Ehr) -> None:
    card = _slip_card(ehr)
    suggestion = card["suggestions"][0]["uuid"]
    item = {
        "card": card["uuid"],
        "outcome": "accepted",
        "acceptedSuggestions": [{"id": suggestion}],
        "outcomeTimestamp": NOW.isoformat(),
    }
    assert ehr.feedback("order-sign", [item]).json()["kept"] == 1
    with ehr.app.unit_of_work() as uow:
        (kept,) = uow.cds.feedback()  # type: ignore[attr-defined]
    assert kept.outcome == "accepted" and kept.accepted == (suggestion,)


def test_feedback_on_a_card_never_issued_or_malformed_is_refused(ehr: Ehr) -> None:
    card = _slip_card(ehr)
    stranger = {**_overridden(card), "card": "00000000-0000-4000-8000-000000000000"}
    r = ehr.feedback("order-sign", [stranger])
    assert r.status_code == 422 and r.json()["error"]["field"] == "card"
    other_service = ehr.feedback("order-select", [_overridden(card)])
    assert other_service.status_code == 422
    for bad in (
        {"outcome": "ignored"},
        {"outcomeTimestamp": "2027-03-10T10:00"},
        {"overrideReason": {"reason": {"system": OVERRIDE, "code": "because"}}},
    ):
        r = ehr.feedback("order-sign", [{**_overridden(card), **bad}])
        assert r.status_code == 422, (bad, r.text)
        assert set(r.json()["error"]) == {"code", "message", "field"}
    with ehr.app.unit_of_work() as uow:
        assert uow.cds.feedback() == []  # type: ignore[attr-defined]


def test_feedback_needs_its_own_token(ehr: Ehr) -> None:
    card = _slip_card(ehr)
    path = "/cds-services/order-sign/feedback"
    body = json.dumps({"feedback": [_overridden(card)]})
    assert ehr.client.post(path, content=body).status_code == 401
    wrong = ehr.auth("/cds-services/order-sign")  # the hook's URL is not the feedback's
    assert ehr.client.post(path, content=body, headers=wrong).status_code == 401


def _rates(ehr: Ehr) -> dict[str, dict[str, Any]]:
    from b12.adapters.web import demo
    from b12.services import accounts as acc
    from tests.web.conftest import USER_OF

    acc.add_account(
        ehr.app.accounts,
        ehr.app.passwords,
        USER_OF["pharmacist"],
        demo.PASSWORD,
        "pharmacist",
        "test",
        ehr.app.clock,
    )
    r = ehr.client.post(
        "/api/v1/session", json={"username": USER_OF["pharmacist"], "password": demo.PASSWORD}
    )
    assert r.status_code == 200, r.text
    page = ehr.client.get("/overrides")
    assert page.status_code == 200 and "CDS cards" in page.text
    rates = ehr.client.get("/api/v1/overrides")
    assert rates.status_code == 200, rates.text
    return {x["code"]: x for x in rates.json()["rates"]}


def test_override_rates_count_the_cards_and_the_overrides_per_finding(ehr: Ehr) -> None:
    first, second = _slip_card(ehr), _slip_card(ehr)
    ehr.feedback("order-sign", [_overridden(first)])
    ehr.feedback("order-sign", [_overridden(first)])  # a duplicate counts once
    accepted = {"card": second["uuid"], "outcome": "accepted", "outcomeTimestamp": NOW.isoformat()}
    ehr.feedback("order-sign", [accepted])
    slip = _rates(ehr)["DOSE_UNIT_SLIP"]
    assert (slip["cds_cards"], slip["cds_overridden"], slip["rate"]) == (2, 1, "0.500")
    assert slip["reasons"] == [
        {"reason": "prescriber confirmed the order: checked with haematology", "count": 1}
    ]


def test_b12_overrides_prints_the_rates_with_the_cds_cards(ehr: Ehr) -> None:
    ehr.feedback("order-sign", [_overridden(_slip_card(ehr))])
    url = ehr.app.settings.database_url
    assert url is not None
    run = [sys.executable, "-m", "b12", "overrides", "--db", url]
    done = subprocess.run([*run, "--json"], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    rates = {x["code"]: x for x in json.loads(done.stdout)["rates"]}
    assert rates["DOSE_UNIT_SLIP"]["cds_overridden"] == 1
    shown = subprocess.run(run, capture_output=True, text=True, check=False)
    assert shown.returncode == 0 and "DOSE_UNIT_SLIP" in shown.stdout and "100%" in shown.stdout
