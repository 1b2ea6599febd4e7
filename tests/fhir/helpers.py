"""What the FHIR tests share: a prescription from a plan, and the two validators."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from b12.adapters.cli import read
from b12.adapters.fhir.jsonio import dumps, loads
from b12.domain.jsonable import to_json
from b12.domain.records import Prescription
from b12.knowledge.base import Knowledge
from b12.services.planning import Plan, plan_therapy
from b12.services.record import planned_doses, planned_labs

START = date(2026, 1, 5)
PRESCRIBED = datetime(2026, 1, 2, 9, 0, tzinfo=UTC)

#: The planning goldens (tests/test_planning.py's published schedules), as its calls write them.
GOLDEN_PLANS: dict[str, dict[str, Any]] = {
    "us-label-pernicious-anaemia": {"indication": "pernicious anemia", "product": "cyanocobalamin-us-1000mcg-ml-10ml-vial"},
    "uk-without-neuro": {"indication": "megaloblastic-anaemia", "product": "hydroxocobalamin-uk-1mg-ml-ampoule"},
    "uk-with-neuro": {"indication": "megaloblastic-anaemia", "neuro": True},
    "seed-000-escalating": {"regimen": "seed-000-neurological-escalating", "concentration": "500mcg/mL"},
    "seed-000-tapering": {"regimen": "seed-000-account-very-low-b12"},
    "seed-001-nerve-injury": {"regimen": "seed-001-peripheral-nerve-injury"},
    "seed-002-iu": {"regimen": "seed-002-pernicious-anaemia-iu", "months": 1},
    "hydroxocobalamin-pernicious-anaemia": {"indication": "pernicious-anaemia", "product": "hydroxocobalamin-uk-1mg-ml-ampoule"},
    "list-a": {"regimen": "seed-000-list-a-pernicious-anaemia"},
    "label-500-ampoule": {"indication": "pernicious-anaemia", "product": "cyanocobalamin-500mcg-ml-ampoule"},
}  # fmt: skip


def plan_of(kb: Knowledge, **options: Any) -> Plan:
    return plan_therapy(kb, read.plan_request(kb, START, **options))


def prescription_of(plan: Plan, rx_id: str = "rx-1") -> Prescription:
    """The plan as `prescribe` keeps it."""
    kept = to_json(plan.to_dict())
    regimen = kept.get("regimen") or {}
    return Prescription(
        rx_id, "patient-1", regimen.get("id"), kept.get("product"),
        (kept.get("indication") or {}).get("id"), plan.schedule.start, "active", PRESCRIBED,
        "dr.ames", plan.fingerprint, doses=planned_doses(kept), labs=planned_labs(kept),
        concentration=kept.get("concentration"), substance=regimen.get("substance"),
    )  # fmt: skip


def through_text(resource: dict[str, Any]) -> Any:
    """As another system would receive it: JSON text, read back with exact decimals."""
    return loads(dumps(resource))


def r4b_loads(resource: dict[str, Any]) -> None:
    """The resource loads in fhir.resources' R4B models (R4's elements for these types)."""
    import importlib

    from tests.fhir.conftest import need

    need("fhir.resources")
    kind = resource["resourceType"]
    module = importlib.import_module(f"fhir.resources.R4B.{kind.lower()}")
    getattr(module, kind).model_validate_json(dumps(resource))


def schema_errors(validators: Any, resource: dict[str, Any]) -> list[str]:
    """The schema's errors for the resource's own definition (they name the element; the whole
    schema's root only says which of its ~150 resources none matched)."""
    import json

    plain = json.loads(dumps(resource))  # the schema sees JSON numbers
    own = validators(resource["resourceType"]).iter_errors(plain)
    return [
        f"{list(e.absolute_path)}: {e.message}"
        for e in own
        # the npm schema was built from FHIR 4.0.0; R4's technical correction 4.0.1 is the release
        if not (list(e.absolute_path) == ["fhirVersion"] and e.instance == "4.0.1")
    ]
