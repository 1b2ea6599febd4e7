"""`prescribe` on the fake record: the plan kept, a replacement, a stop and its override."""

from __future__ import annotations

from b12.bootstrap import App
from tests.services import steps
from tests.services.steps import START


def test_the_plan_is_kept_with_its_knowledge_fingerprint(app: App) -> None:
    steps.add_patient(app)
    done = steps.prescribe(app)
    rx = done.prescription
    assert rx is not None and done.findings[0].code != "RECORD_REPLACES"
    assert (rx.status, rx.start, rx.product, rx.indication) == (
        "active", START, steps.PRODUCT, "pernicious-anaemia",
    )  # fmt: skip
    assert rx.fingerprint == app.knowledge.fingerprint
    assert len(rx.doses) == len(done.plan["administrations"]) > 0
    assert [(d.date.isoformat(), format(d.dose_mcg, "f")) for d in rx.doses] == [
        (a["date"], a["dose_mcg"]) for a in done.plan["administrations"]
    ]
    assert rx.regimen_id == done.plan["regimen"]["id"]
    assert steps.audit_actions(app) == ["patient-add", "prescribe"]


def test_a_new_prescription_replaces_the_active_one_and_keeps_it(app: App) -> None:
    steps.add_patient(app)
    old = steps.prescribe(app).prescription
    new = steps.prescribe(app, months=6)
    assert new.prescription.replaces_id == old.id and new.findings[0].code == "RECORD_REPLACES"
    with app.unit_of_work() as uow:
        kept = uow.prescriptions.for_patient(old.patient_id)
    assert {p.id for p in kept} == {old.id, new.prescription.id}  # the old one is not changed


def test_a_plan_with_a_stop_is_not_prescribed_without_an_override(app: App) -> None:
    steps.add_patient(app, allergies=("cobalt",))
    refused = steps.prescribe(app)
    assert refused.prescription is None
    assert [f.code for f in refused.findings[:2]] == [
        "RECORD_PLAN_STOPPED",
        "COBALAMIN_HYPERSENSITIVITY",
    ]
    assert steps.audit_actions(app) == ["patient-add"]
    reason = "benefit outweighs the risk, discussed with the patient"
    done = steps.prescribe(app, override=reason)
    assert done.prescription is not None and done.prescription.reason == reason
    assert steps.audit_actions(app) == ["patient-add", "prescribe"]
