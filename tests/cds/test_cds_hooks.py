"""b12's CDS Hooks service called as an outside EHR calls it: signed requests over HTTP."""

from __future__ import annotations

import json
import uuid
from decimal import Decimal
from typing import Any

import pytest

from tests.cds.conftest import (
    BASE,
    ISSUER,
    OTHER_ISSUER,
    Ehr,
    hook,
    jwt,
    medication_request,
    prefetch,
    token,
)
from tests.web.conftest import NOW

INDICATORS = {"info", "warning", "critical"}


def _cards(r: Any) -> list[dict[str, Any]]:
    assert r.status_code == 200, r.text
    body = r.json()
    assert set(body) == {"cards"}
    for card in body["cards"]:
        _spec_rules(card)
    cards: list[dict[str, Any]] = body["cards"]
    return cards


def _spec_rules(card: dict[str, Any]) -> None:
    """The spec's response rules, and b12's own: every card is one a prescriber can act on."""
    assert len(card["summary"]) < 140 and card["summary"]
    assert card["indicator"] in INDICATORS
    assert card["source"]["label"] and "knowledge 2" in card["source"]["label"]
    uuid.UUID(card["uuid"])
    if card.get("suggestions"):
        assert card["selectionBehavior"] == "at-most-one"
        for s in card["suggestions"]:
            uuid.UUID(s["uuid"])
            assert s["label"] and s["actions"]
            for a in s["actions"]:
                assert a["type"] in ("create", "update", "delete") and a["description"]
    else:
        assert "selectionBehavior" not in card
    assert card["overrideReasons"] and all(r["display"] for r in card["overrideReasons"])
    assert "**Basis**" in card["detail"]


def _codes(cards: list[dict[str, Any]]) -> list[str]:
    return [c["source"]["topic"]["code"] for c in cards]


def _error(r: Any, status: int) -> dict[str, Any]:
    assert r.status_code == status, r.text
    body = r.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "field"}, body
    error: dict[str, Any] = body["error"]
    return error


# --- discovery -------------------------------------------------------------------------------------


def test_discovery_lists_order_select_and_order_sign_with_their_prefetch(ehr: Ehr) -> None:
    r = ehr.discover()
    assert r.status_code == 200, r.text
    services = {s["id"]: s for s in r.json()["services"]}
    assert set(services) == {"order-select", "order-sign"}
    for sid, s in services.items():
        assert s["hook"] == sid and s["description"] and s["title"]
        pre = s["prefetch"]
        assert pre["patient"] == "Patient/{{context.patientId}}"
        assert set(pre) == {"patient", "conditions", "medications", "allergies", "observations"}
        for loinc in ("2132-9", "14685-2", "2823-3", "718-7"):  # B12, K, Hb
            assert f"http://loinc.org|{loinc}" in pre["observations"]


def test_discovery_needs_a_token_too(ehr: Ehr) -> None:
    error = _error(ehr.client.get("/cds-services"), 401)
    assert error["field"] == "authorization" and "Bearer" in error["message"]


# --- cards -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("kid", ["es384-1", "es256-1", "rs384-1"])
def test_a_b12_deficiency_order_of_1000_mg_im_is_critical_and_suggests_1000_mcg(
    ehr: Ehr, kid: str
) -> None:
    order = medication_request(1000, "mg", reason="D51.9")
    cards = _cards(ehr.call("order-sign", hook("order-sign", order), kid=kid))
    slip = cards[0]
    assert slip["indicator"] == "critical"
    assert slip["source"]["topic"]["code"] == "DOSE_UNIT_SLIP"
    assert "1,000 mcg" in slip["summary"] or "1,000 mcg" in slip["detail"]
    (suggestion,) = slip["suggestions"]
    assert suggestion["label"] == "Order 1,000 mcg (draw 1 mL)"
    (action,) = suggestion["actions"]
    assert action["type"] == "update"
    dose = action["resource"]["dosageInstruction"][0]["doseAndRate"][0]["doseQuantity"]
    assert dose == {
        "value": 1000,
        "unit": "mcg",
        "system": "http://unitsofmeasure.org",
        "code": "ug",
    }
    assert action["resource"]["id"] == "103"  # the draft order, updated
    assert [c["indicator"] for c in cards] == sorted(
        (c["indicator"] for c in cards), key=["critical", "warning", "info"].index
    )


def test_the_same_order_in_mcg_is_quiet(ehr: Ehr) -> None:
    assert _cards(ehr.call("order-sign", hook("order-sign", medication_request(1000, "ug")))) == []


def test_an_order_that_is_not_b12_is_not_checked(ehr: Ehr) -> None:
    other = medication_request(
        5000, "mg", medicine={"text": "amoxicillin 500 mg capsules"}, reason=None, rid="104"
    )
    assert _cards(ehr.call("order-sign", hook("order-sign", other))) == []
    both = hook("order-sign", other, medication_request(1000, "mg"))
    assert _codes(_cards(ehr.call("order-sign", both)))[0] == "DOSE_UNIT_SLIP"


def test_order_select_checks_only_the_orders_selected(ehr: Ehr) -> None:
    slip = medication_request(1000, "mg", rid="201")
    fine = medication_request(1000, "ug", rid="202")
    chosen = hook("order-select", slip, fine, selections=["MedicationRequest/202"])
    assert _cards(ehr.call("order-select", chosen)) == []
    chosen = hook("order-select", slip, fine, selections=["MedicationRequest/201"])
    assert _codes(_cards(ehr.call("order-select", chosen)))[0] == "DOSE_UNIT_SLIP"


def test_cyanocobalamin_in_lebers_disease_warns_and_suggests_the_hydroxocobalamin_regimen(
    ehr: Ehr,
) -> None:
    order = medication_request(1000, "ug", reason="H47.2", medicine={"text": "cyanocobalamin"})
    pre = prefetch(conditions=("Leber's optic atrophy",))
    cards = _cards(ehr.call("order-select", hook("order-select", order, pre=pre)))
    (lebers,) = [c for c in cards if c["source"]["topic"]["code"] == "LEBERS_DISEASE"]
    assert lebers["indicator"] == "warning"
    assert "conflict-lebers-disease" in lebers["detail"]  # the sources disagree: shown
    (suggestion,) = lebers["suggestions"]
    resource = suggestion["actions"][0]["resource"]
    assert resource["medicationCodeableConcept"]["text"] == "hydroxocobalamin"
    assert "hydroxocobalamin" in suggestion["label"]


def test_iv_cyanocobalamin_is_a_warning_with_no_fix_offered(ehr: Ehr) -> None:
    cards = _cards(
        ehr.call("order-sign", hook("order-sign", medication_request(1000, "ug", route="IV")))
    )
    assert [(c["indicator"], "suggestions" in c) for c in cards] == [("warning", False)]


def test_a_baseline_b12_in_the_sufficient_band_warns(ehr: Ehr) -> None:
    pre = prefetch(b12_pg_ml=600)
    cards = _cards(ehr.call("order-sign", hook("order-sign", medication_request(), pre=pre)))
    assert _codes(cards) == ["PLAN_B12_BASELINE"]
    assert cards[0]["indicator"] == "warning"
    low = prefetch(b12_pg_ml=120)
    assert _cards(ehr.call("order-sign", hook("order-sign", medication_request(), pre=low))) == []


def test_a_cobalamin_allergy_is_critical(ehr: Ehr) -> None:
    pre = prefetch(allergies=("cyanocobalamin",))
    cards = _cards(ehr.call("order-sign", hook("order-sign", medication_request(), pre=pre)))
    assert cards[0]["indicator"] == "critical"
    assert cards[0]["source"]["topic"]["code"] == "COBALAMIN_HYPERSENSITIVITY"


def test_ehr_text_in_a_card_is_shown_not_applied_as_markdown(ehr: Ehr) -> None:
    pre = prefetch(medications=("[click](http://evil.example) *now*",))
    cards = _cards(ehr.call("order-sign", hook("order-sign", medication_request(), pre=pre)))
    (unknown,) = [c for c in cards if c["source"]["topic"]["code"] == "NOT_SCREENED"]
    assert "](http" not in unknown["detail"] and r"\[click\]" in unknown["detail"]


def test_decimal_doses_are_read_exactly(ehr: Ehr) -> None:
    order = medication_request(0, "mg")
    order["dosageInstruction"][0]["doseAndRate"][0]["doseQuantity"]["value"] = Decimal("0.5")
    body = json.dumps(hook("order-sign", order), default=str).replace('"0.5"', "0.5")
    path = "/cds-services/order-sign"
    r = ehr.client.post(path, content=body, headers=ehr.auth(path))
    assert _cards(r) == []  # 0.5 mg = 500 mcg, in range


# --- prefetch ----------------------------------------------------------------------------------------


def test_without_prefetch_and_without_a_fhir_server_the_answer_is_412(ehr: Ehr) -> None:
    r = ehr.call("order-sign", hook("order-sign", medication_request(), with_prefetch=False))
    error = _error(r, 412)
    assert "patient" in error["message"] and "no fhirServer" in error["message"]
    partial = prefetch()
    del partial["allergies"]
    error = _error(
        ehr.call("order-sign", hook("order-sign", medication_request(), pre=partial)), 412
    )
    assert error["message"].startswith("prefetch allergies missing")


def test_with_a_fhir_server_and_no_prefetch_the_412_says_b12_does_not_query_it(ehr: Ehr) -> None:
    body = hook("order-sign", medication_request(), with_prefetch=False)
    body["fhirServer"] = "https://ehr.example.org/fhir"
    error = _error(ehr.call("order-sign", body), 412)
    assert "does not query the FHIR server" in error["message"]


def test_a_hook_for_another_service_or_an_unknown_service_is_refused(ehr: Ehr) -> None:
    error = _error(ehr.call("order-sign", hook("order-select", medication_request())), 422)
    assert error["field"] == "hook"
    _error(ehr.call("no-such-service", hook("order-sign", medication_request())), 422)


# --- security --------------------------------------------------------------------------------------


def _claims(aud: str, **extra: Any) -> dict[str, Any]:
    at = int(NOW.timestamp())
    return {
        "iss": ISSUER,
        "aud": aud,
        "exp": at + 240,
        "iat": at,
        "jti": str(uuid.uuid4()),
        **extra,
    }


def _with(ehr: Ehr, raw: str) -> Any:
    return ehr.client.get("/cds-services", headers={"Authorization": f"Bearer {raw}"})


URL = BASE + "/cds-services"


def test_alg_none_is_refused(ehr: Ehr) -> None:
    raw = jwt.encode(_claims(URL), None, algorithm="none", headers={"kid": "es384-1"})
    assert "alg 'none' is refused" in _error(_with(ehr, raw), 401)["message"]


def test_hs256_is_refused(ehr: Ehr) -> None:
    raw = jwt.encode(
        _claims(URL),
        "a shared secret of 32 bytes or more!",
        algorithm="HS256",
        headers={"kid": "es384-1"},
    )
    assert "alg 'HS256' is refused" in _error(_with(ehr, raw), 401)["message"]


def test_a_wrong_audience_is_refused(ehr: Ehr) -> None:
    r = ehr.client.get("/cds-services", headers=ehr.auth("/cds-services/order-sign"))
    assert "aud is not this service's URL" in _error(r, 401)["message"]
    path = "/cds-services/order-sign"  # a token for discovery does not open a hook
    r = ehr.client.post(
        path,
        content=json.dumps(hook("order-sign", medication_request())),
        headers=ehr.auth("/cds-services"),
    )
    _error(r, 401)


def test_an_audience_array_holding_the_url_is_accepted(ehr: Ehr) -> None:
    raw = token(ehr.keys, ["https://other.example", URL])
    assert _with(ehr, raw).status_code == 200


def test_an_expired_token_is_refused(ehr: Ehr) -> None:
    raw = token(ehr.keys, URL, now=NOW.timestamp() - 600)
    assert "expired" in _error(_with(ehr, raw), 401)["message"]


def test_a_token_issued_in_the_future_or_living_too_long_is_refused(ehr: Ehr) -> None:
    assert (
        "future"
        in _error(_with(ehr, token(ehr.keys, URL, now=NOW.timestamp() + 300)), 401)["message"]
    )
    assert "too long" in _error(_with(ehr, token(ehr.keys, URL, lifetime=3600)), 401)["message"]


def test_within_the_skew_a_token_is_accepted(ehr: Ehr) -> None:
    assert _with(ehr, token(ehr.keys, URL, now=NOW.timestamp() - 250)).status_code == 200
    assert _with(ehr, token(ehr.keys, URL, now=NOW.timestamp() + 20)).status_code == 200


def test_a_replayed_jti_is_refused(ehr: Ehr) -> None:
    raw = token(ehr.keys, URL)
    assert _with(ehr, raw).status_code == 200
    assert "used before" in _error(_with(ehr, raw), 401)["message"]
    same = token(ehr.keys, URL, jti=jwt.decode(raw, options={"verify_signature": False})["jti"])
    _error(_with(ehr, same), 401)  # a new signature on the same jti is a replay too


def test_an_unknown_kid_is_refused(ehr: Ehr) -> None:
    from cryptography.hazmat.primitives.asymmetric import ec

    stranger = ec.generate_private_key(ec.SECP384R1())
    raw = jwt.encode(_claims(URL), stranger, algorithm="ES384", headers={"kid": "not-known"})
    assert "no key 'not-known'" in _error(_with(ehr, raw), 401)["message"]


def test_a_key_that_is_not_the_issuers_is_refused(ehr: Ehr) -> None:
    from cryptography.hazmat.primitives.asymmetric import ec

    stranger = ec.generate_private_key(ec.SECP384R1())
    raw = token(ehr.keys, URL, key=stranger)  # the issuer's kid, another key
    assert "signature" in _error(_with(ehr, raw), 401)["message"]


def test_an_unknown_issuer_is_refused(ehr: Ehr) -> None:
    raw = token(ehr.keys, URL, iss=OTHER_ISSUER)
    assert "not trusted" in _error(_with(ehr, raw), 401)["message"]


def test_a_missing_kid_is_refused(ehr: Ehr) -> None:
    raw = jwt.encode(_claims(URL), ehr.keys.private["es384-1"][0], algorithm="ES384")
    assert "no kid" in _error(_with(ehr, raw), 401)["message"]


@pytest.mark.parametrize("claim", ["jti", "exp", "iat", "aud"])
def test_a_missing_claim_is_refused(ehr: Ehr, claim: str) -> None:
    _error(_with(ehr, token(ehr.keys, URL, drop=(claim,))), 401)


def test_garbage_and_other_schemes_are_refused(ehr: Ehr) -> None:
    for header in ("Basic dXNlcjpwYXNz", "Bearer not.a.jwt", "Bearer "):
        r = ehr.client.get("/cds-services", headers={"Authorization": header})
        _error(r, 401)


def test_a_key_set_is_fetched_from_an_allowed_jku(tmp_path: Any, keys: Any) -> None:
    import threading
    from http.server import BaseHTTPRequestHandler, HTTPServer

    from fastapi.testclient import TestClient

    import b12
    from b12.adapters.passwords import argon2id
    from b12.adapters.web.app import create_app
    from tests.fakes import FixedClock

    body = json.dumps(keys.jwks()).encode()

    class Jwks(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Jwks)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    jku = f"http://127.0.0.1:{server.server_port}/jwks.json"
    try:
        issuers = tmp_path / "issuers.json"
        issuers.write_text(json.dumps({"issuers": {ISSUER: {"jku": jku}}}))
        url = str(tmp_path / "jku.db")
        b12.upgrade(b12.Settings.read(database_url=url, environ={}))
        settings = b12.Settings.read(database_url=url, cds_issuers=str(issuers), environ={})
        app = b12.build(settings, clock=FixedClock(NOW), passwords=argon2id(light=True))  # type: ignore[arg-type]
        client = TestClient(create_app(app), raise_server_exceptions=False)
        ok = client.get("/cds-services", headers={"Authorization": f"Bearer {token(keys, URL)}"})
        assert ok.status_code == 200, ok.text
        elsewhere = jwt.encode(
            _claims(URL),
            keys.private["es384-1"][0],
            algorithm="ES384",
            headers={"kid": "es384-1", "jku": "https://evil.example/k"},
        )
        r = client.get("/cds-services", headers={"Authorization": f"Bearer {elsewhere}"})
        assert r.status_code == 401 and "jku" in r.json()["error"]["message"]
        app.close()
    finally:
        server.shutdown()


def test_an_issuers_file_fetching_keys_over_plain_http_elsewhere_is_refused(tmp_path: Any) -> None:
    from b12.adapters.cds.security import CdsConfigError, Trust

    path = tmp_path / "issuers.json"
    path.write_text(json.dumps({"issuers": {ISSUER: {"jku": "http://keys.example/jwks"}}}))
    with pytest.raises(CdsConfigError, match="https"):
        Trust.read(str(path))


def test_every_call_is_audited_with_the_issuer_and_the_user(ehr: Ehr) -> None:
    ehr.discover()
    ehr.call("order-sign", hook("order-sign", medication_request(1000, "mg")))
    ehr.call("order-sign", hook("order-sign", medication_request(), with_prefetch=False))
    with ehr.app.unit_of_work() as uow:
        entries = [e for e in uow.audit.entries() if e.entity == "CdsCall"]
    assert [e.action for e in entries] == ["cds-discovery", "cds-call", "cds-refused"]
    assert entries[0].who == ISSUER
    assert entries[1].who == f"{ISSUER} Practitioner/123"
    assert entries[1].payload["cards"][0]["code"] == "DOSE_UNIT_SLIP"
