"""An EHR calling b12's CDS Hooks service: keys made here (ES384, ES256, RS384), an issuers file
trusting them, signed tokens, and hook requests built as an EHR builds them."""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

if os.environ.get("CI") == "true":  # on CI the web extra (PyJWT included) is installed
    import fastapi  # noqa: F401
    import jwt
else:
    pytest.importorskip("fastapi")
    jwt = pytest.importorskip("jwt")

from cryptography.hazmat.primitives.asymmetric import ec, rsa
from fastapi.testclient import TestClient

import b12
from b12.adapters.passwords import argon2id
from b12.adapters.web.app import create_app
from tests.fakes import FixedClock
from tests.web.conftest import NOW

ISSUER = "https://ehr.example.org"
OTHER_ISSUER = "https://sandbox.example.org"
BASE = "http://testserver"


def _jwk(key: Any, kid: str, alg: str) -> dict[str, Any]:
    from jwt.algorithms import ECAlgorithm, RSAAlgorithm

    maker = RSAAlgorithm if alg.startswith("RS") else ECAlgorithm
    public = json.loads(maker.to_jwk(key.public_key()))
    return {**public, "kid": kid, "alg": alg, "use": "sig"}


@dataclass
class Keys:
    """The EHR's signing keys by kid, and the algorithm each signs with."""

    private: dict[str, tuple[Any, str]] = field(default_factory=dict)

    def jwks(self) -> dict[str, Any]:
        return {"keys": [_jwk(k, kid, alg) for kid, (k, alg) in self.private.items()]}


@pytest.fixture(scope="session")
def keys() -> Keys:
    return Keys(
        {
            "es384-1": (ec.generate_private_key(ec.SECP384R1()), "ES384"),
            "es256-1": (ec.generate_private_key(ec.SECP256R1()), "ES256"),
            "rs384-1": (rsa.generate_private_key(public_exponent=65537, key_size=2048), "RS384"),
        }
    )


def token(
    keys: Keys,
    aud: str | list[str],
    *,
    kid: str | None = "es384-1",
    iss: str = ISSUER,
    now: float | None = None,
    lifetime: int = 240,
    jti: str | None = None,
    alg: str | None = None,
    drop: tuple[str, ...] = (),
    key: Any = None,
) -> str:
    """A token as an EHR signs it (the clock: the tests' fixed NOW)."""
    at = NOW.timestamp() if now is None else now
    claims = {
        "iss": iss,
        "aud": aud,
        "exp": int(at) + lifetime,
        "iat": int(at),
        "jti": jti or str(uuid.uuid4()),
    }
    for name in drop:
        claims.pop(name)
    private, algorithm = keys.private[kid or "es384-1"]
    headers = {"typ": "JWT", **({"kid": kid} if kid is not None else {})}
    encoded: str = jwt.encode(claims, key or private, algorithm=alg or algorithm, headers=headers)
    return encoded


@dataclass
class Ehr:
    app: b12.App
    client: TestClient
    keys: Keys

    def auth(self, path: str, **kw: Any) -> dict[str, str]:
        return {"Authorization": f"Bearer {token(self.keys, BASE + path, **kw)}"}

    def call(self, service: str, body: dict[str, Any], **kw: Any) -> Any:
        path = f"/cds-services/{service}"
        return self.client.post(path, content=json.dumps(body), headers=self.auth(path, **kw))

    def discover(self, **kw: Any) -> Any:
        return self.client.get("/cds-services", headers=self.auth("/cds-services", **kw))

    def feedback(self, service: str, items: list[dict[str, Any]], **kw: Any) -> Any:
        path = f"/cds-services/{service}/feedback"
        return self.client.post(
            path, content=json.dumps({"feedback": items}), headers=self.auth(path, **kw)
        )


@pytest.fixture
def ehr(tmp_path: Path, keys: Keys) -> Iterator[Ehr]:
    issuers = tmp_path / "cds-issuers.json"
    issuers.write_text(json.dumps({"issuers": {ISSUER: {"jwks": keys.jwks()}}}))
    url = str(tmp_path / "cds.db")
    b12.upgrade(b12.Settings.read(database_url=url, environ={}))
    settings = b12.Settings.read(
        database_url=url, time_zone="UTC", cds_issuers=str(issuers), environ={}
    )
    app = b12.build(settings, clock=FixedClock(NOW), passwords=argon2id(light=True))  # type: ignore[arg-type]
    client = TestClient(create_app(app), raise_server_exceptions=False)
    yield Ehr(app, client, keys)
    app.close()


# --- hook requests --------------------------------------------------------------------------------


def medication_request(
    dose: str | int = 1000,
    unit: str = "ug",
    *,
    medicine: dict[str, Any] | None = None,
    route: str = "IM",
    reason: str | None = "D51.9",
    rid: str = "103",
) -> dict[str, Any]:
    """A draft order as an EHR sends it (cyanocobalamin 1000 mcg/mL by NDC unless told)."""
    routes = {"IM": ("78421000", "Intramuscular route"), "IV": ("47625008", "Intravenous route")}
    code, display = routes[route]
    out: dict[str, Any] = {
        "resourceType": "MedicationRequest",
        "id": rid,
        "status": "draft",
        "intent": "order",
        "subject": {"reference": "Patient/example"},
        "medicationCodeableConcept": medicine
        or {
            "coding": [
                {
                    "system": "http://hl7.org/fhir/sid/ndc",
                    "code": "0143-9621-25",
                    "display": "cyanocobalamin 1000 mcg/mL",
                }
            ],
            "text": "cyanocobalamin 1000 mcg/mL injection",
        },
        "dosageInstruction": [
            {
                "sequence": 1,
                "timing": {
                    "repeat": {
                        "frequency": 1,
                        "period": 1,
                        "periodUnit": "mo",
                        "boundsPeriod": {"start": "2027-03-11"},
                    }
                },
                "route": {
                    "coding": [
                        {"system": "http://snomed.info/sct", "code": code, "display": display}
                    ]
                },
                "doseAndRate": [
                    {
                        "doseQuantity": {
                            "value": dose,
                            "unit": unit,
                            "system": "http://unitsofmeasure.org",
                            "code": unit,
                        }
                    }
                ],
            }
        ],
    }
    if reason is not None:
        out["reasonCode"] = [
            {"coding": [{"system": "http://hl7.org/fhir/sid/icd-10", "code": reason}]}
        ]
    return out


def bundle(*resources: dict[str, Any]) -> dict[str, Any]:
    return {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [{"resource": r} for r in resources],
    }


def prefetch(
    *,
    conditions: tuple[str, ...] = (),
    medications: tuple[str, ...] = (),
    allergies: tuple[str, ...] = (),
    b12_pg_ml: int | None = None,
) -> dict[str, Any]:
    out: dict[str, Any] = {
        "patient": {
            "resourceType": "Patient",
            "id": "example",
            "birthDate": "1961-04-30",
            "gender": "female",
        },
        "conditions": bundle(
            *({"resourceType": "Condition", "code": {"text": c}} for c in conditions)
        ),
        "medications": bundle(
            *(
                {
                    "resourceType": "MedicationRequest",
                    "status": "active",
                    "medicationCodeableConcept": {"text": m},
                }
                for m in medications
            )
        ),
        "allergies": bundle(
            *({"resourceType": "AllergyIntolerance", "code": {"text": a}} for a in allergies)
        ),
    }
    if b12_pg_ml is not None:
        out["observations"] = bundle(
            {
                "resourceType": "Observation",
                "status": "final",
                "code": {"coding": [{"system": "http://loinc.org", "code": "2132-9"}]},
                "effectiveDateTime": "2027-03-01",
                "valueQuantity": {
                    "value": b12_pg_ml,
                    "unit": "pg/mL",
                    "system": "http://unitsofmeasure.org",
                    "code": "pg/mL",
                },
            }
        )
    return out


def hook(
    service: str,
    *orders: dict[str, Any],
    selections: list[str] | None = None,
    pre: dict[str, Any] | None = None,
    with_prefetch: bool = True,
) -> dict[str, Any]:
    context: dict[str, Any] = {
        "userId": "Practitioner/123",
        "patientId": "example",
        "draftOrders": bundle(*orders),
    }
    if service == "order-select":
        context["selections"] = selections or [f"MedicationRequest/{o['id']}" for o in orders]
    body: dict[str, Any] = {"hook": service, "hookInstance": str(uuid.uuid4()), "context": context}
    if with_prefetch:
        body["prefetch"] = pre if pre is not None else prefetch()
    return body
