"""A patient's code is one segment of every address of the patient: a new code that could not be
(a "/", "?", "#", ...) is refused where codes are made, and a code an older record kept with a "/"
is still reached on the web, written with %2F as every link writes it."""

from __future__ import annotations

import html
import re
from decimal import Decimal

import pytest

from b12.domain.patient import Patient
from b12.errors import InputError
from b12.services import record
from tests.web.conftest import NOW, Web

OLD = "W/12"  # as an older b12 kept it


@pytest.mark.parametrize("code", ["A/B", "P?1", "P#1", "P[1]", "P%2F1", "P\\1", ".", "..", "P\x7f"])
def test_a_new_code_that_is_no_path_segment_is_refused(web: Web, code: str) -> None:
    with pytest.raises(InputError) as refused:
        record.add_patient(
            web.app.unit_of_work, code, Patient(age_months=Decimal(720)), "test", NOW
        )
    assert refused.value.field == "patient" and "e.g. P-0042" in str(refused.value)


@pytest.mark.parametrize("code", ["P-0042", "P.42", "P_42~a", "P:42@w", "P(42)"])
def test_a_code_of_one_segment_is_taken(web: Web, code: str) -> None:
    record.add_patient(web.app.unit_of_work, code, Patient(age_months=Decimal(720)), "test", NOW)


@pytest.fixture
def old_code(web: Web, monkeypatch: pytest.MonkeyPatch) -> str:
    with monkeypatch.context() as m:  # made as an older b12 made it, before codes were checked
        m.setattr(record, "check_new_code", lambda code: None)
        record.add_patient(web.app.unit_of_work, OLD, Patient(age_months=Decimal(720)), "test", NOW)
    # and it can still be corrected (the check is for new codes only)
    record.add_patient(
        web.app.unit_of_work, OLD, Patient(age_months=Decimal(732)), "test", NOW, correct=True
    )
    return OLD


def test_an_older_code_with_a_slash_is_reached_by_its_links(web: Web, old_code: str) -> None:
    client, _ = web.as_role("prescriber")
    listed = client.get("/patients")
    assert '/patients/W%2F12"' in listed.text  # the link encodes the slash
    r = client.get("/patients/W%2F12")
    assert r.status_code == 200 and "W/12" in html.unescape(r.text)
    links = set(re.findall(r'(?:href|action|src)="(/patients/[^"]+)"', r.text))
    assert links and all(link.startswith("/patients/W%2F12") for link in links), links
    for link in sorted(links):
        if "/records/" in link or link.endswith((".svg", ".pdf")):
            continue
        if link.endswith(("/give", "/labs", "/events", "/not-given", "/prescribe", "/supply",
                          "/carers", "/summary")) or link == "/patients/W%2F12":  # fmt: skip
            got = client.get(link)  # reached (a form may then say there is no prescription)
            assert got.status_code in (200, 422) and "no such page" not in got.text, link
    api = client.get("/api/v1/patients/W%2F12")
    assert api.status_code == 200 and api.json()["patient"] == OLD
    nurse, csrf = web.as_role("nurse")
    r = nurse.post(
        "/api/v1/patients/W%2F12/labs",
        json={"readings": ["hb=12g/dL"], "taken_on": "2027-03-09"},
        headers={"X-CSRF-Token": csrf},
    )
    assert r.status_code == 200, r.text


def test_a_slash_as_written_is_not_part_of_a_code(web: Web, old_code: str) -> None:
    client, _ = web.as_role("prescriber")
    assert client.get("/patients/W/12").status_code == 404
    assert client.get("/api/v1/patients/W/12").status_code == 404
    # and a code that is not there is told as such, not mistaken for another route
    assert client.get("/patients/P-0001%2Fgive").status_code == 404
    assert client.get("/patients/P-0001/give").status_code == 200
