"""Override reasons are kept with the record, and the pharmacist's page counts them per finding."""

from __future__ import annotations

from typing import Any

import pytest

from b12.adapters.web import actions
from b12.errors import InputError
from tests.web.conftest import Web


@pytest.mark.parametrize(
    ("code", "text", "kept"),
    [(key, "", label) for key, label in actions.OVERRIDE_CODES.items() if key != "other"]
    + [
        ("other", "patient travelling tomorrow", "other (say why): patient travelling tomorrow"),
        ("", "free text only", "free text only"),
        ("", "", None),
        ("benefit-outweighs-risk", "discussed", "benefit outweighs the risk: discussed"),
    ],
)
def test_a_coded_reason_and_free_text_become_the_reason_kept(
    code: str, text: str, kept: str | None
) -> None:
    assert actions.override_reason(code, text) == kept


@pytest.mark.parametrize(("code", "text"), [("made-up", ""), ("other", ""), ("other", "   ")])
def test_an_unknown_code_or_an_unexplained_other_is_refused(code: str, text: str) -> None:
    with pytest.raises(InputError):
        actions.override_reason(code, text)


def _rates(web: Web) -> dict[str, Any]:
    client, _ = web.as_role("pharmacist")
    r = client.get("/api/v1/overrides")
    assert r.status_code == 200
    return {row["code"]: row for row in r.json()["rates"]}


def test_the_pharmacist_sees_each_findings_raised_and_overridden_counts(web: Web) -> None:
    before = _rates(web)
    doctor, csrf = web.as_role("prescriber")
    h = {"X-CSRF-Token": csrf}
    plan = {"indication": "lebers-optic-atrophy", "start": "2027-03-11",
            "product": "cyanocobalamin-us-1000mcg-ml-10ml-vial"}  # fmt: skip
    signed = {**plan, "override_code": "benefit-outweighs-risk", "override_reason": "reviewed"}
    assert (
        doctor.post("/api/v1/patients/P-0005/prescriptions", json=signed, headers=h).status_code
        == 200
    )
    assert (
        doctor.post("/api/v1/patients/P-0002/prescriptions", json=plan, headers=h).status_code
        == 200
    )
    # a dose other than the prescribed one: a stop, refused, then given past it with a reason
    wrong = {"dose": "1000 mcg"}
    assert (
        doctor.post("/api/v1/patients/P-0001/give", json=wrong, headers=h).json()["recorded"]
        is False
    )
    lifted = {**wrong, "override_code": "prescriber-confirmed", "override_reason": "loading dose"}
    assert (
        doctor.post("/api/v1/patients/P-0001/give", json=lifted, headers=h).json()["recorded"]
        is True
    )
    after = _rates(web)

    def grew(code: str) -> tuple[int, int]:
        old = before.get(code, {"raised": 0, "overridden": 0})
        return after[code]["raised"] - old["raised"], after[code]["overridden"] - old["overridden"]

    assert grew("LEBERS_DISEASE") == (2, 1)
    assert grew("RECORD_DOSE_DIFFERS") == (2, 1)
    reasons = {r["reason"] for r in after["RECORD_DOSE_DIFFERS"]["reasons"]}
    assert "prescriber confirmed the order: loading dose" in reasons
    page = web.as_role("pharmacist")[0].get("/overrides")
    assert page.status_code == 200 and "RECORD_DOSE_DIFFERS" in page.text
