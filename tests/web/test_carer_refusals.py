"""A patient linking or unlinking carers cannot learn from the refusal which accounts exist,
their roles or whom they are linked to: every refusal of the username is one message. Staff keep
the precise reason."""

from __future__ import annotations

import html
import re
from typing import Any

import pytest

from b12.adapters.web import demo
from b12.services import accounts as acc
from tests.web.conftest import Web

OWN = "P-0003"  # pat.p3's own patient
#: Usernames each refused for a different reason: a patient's account linked elsewhere, a
#: prescriber's, a nurse's, none at all.
REFUSED = ["pat.p4", "dr.ames", "nurse.bo", "nobody.here"]
#: ... and, to unlink, also a carer not linked to this patient.
NOT_LINKED = [*REFUSED, "carer.dee"]


def _accounts(web: Web) -> None:
    acc.add_account(
        web.app.accounts, web.app.passwords, "pat.p4", demo.PASSWORD, "patient", "test",
        web.app.clock, patients=("P-0004",),
    )  # fmt: skip


def _ask(
    web: Web, role: str, door: str, act: str, username: str, code: str = OWN
) -> tuple[int, str]:
    client, csrf = web.as_role(role)
    path = f"/patients/{code}/carers" + ("/unlink" if act == "unlink" else "")
    if door == "api":
        r = client.post(f"/api/v1{path}", json={"username": username},
                        headers={"X-CSRF-Token": csrf})  # fmt: skip
        return r.status_code, r.json()["error"]["message"]
    r = client.post(path, data={"csrf": csrf, "username": username})
    shown = re.search(r'<p class="message"[^>]*>(.*?)</p>', r.text, re.S)
    return r.status_code, html.unescape(shown[1]) if shown else r.text


def _messages(web: Web, role: str, door: str, act: str, names: list[str]) -> dict[str, Any]:
    return {n: _ask(web, role, door, act, n) for n in names}


@pytest.mark.parametrize("door", ["api", "page"])
@pytest.mark.parametrize("act", ["link", "unlink"])
def test_a_patient_gets_one_refusal_for_every_username(web: Web, door: str, act: str) -> None:
    _accounts(web)
    names = REFUSED if act == "link" else NOT_LINKED
    said = _messages(web, "patient", door, act, names)
    assert {status for status, _ in said.values()} == {422}
    alike = {text.replace(name, "NAME") for name, (_, text) in said.items()}
    assert len(alike) == 1, alike
    (text,) = alike
    for leak in ("patient's account", "is a ", "nurse", "P-0004", "no account", "staff"):
        assert leak not in text


@pytest.mark.parametrize("act", ["link", "unlink"])
def test_staff_keep_the_precise_reason(web: Web, act: str) -> None:
    _accounts(web)
    names = REFUSED if act == "link" else NOT_LINKED
    said = _messages(web, "prescriber", "api", act, names)
    assert {status for status, _ in said.values()} == {422}
    assert len({text for _, text in said.values()}) == len(names)
    assert "no account 'nobody.here'" in said["nobody.here"][1]
    assert "dr.ames is a prescriber" in said["dr.ames"][1]
    if act == "link":
        assert "linked to P-0004" in said["pat.p4"][1]


@pytest.mark.parametrize("act", ["link", "unlink"])
def test_a_carer_may_not_link_at_all(web: Web, act: str) -> None:
    _accounts(web)
    said = {n: _ask(web, "caregiver", "api", act, n, "P-0004") for n in NOT_LINKED}
    assert {s for s, _ in said.values()} == {403} and len({t for _, t in said.values()}) == 1
