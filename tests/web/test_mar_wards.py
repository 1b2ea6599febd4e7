"""The MAR by ward: `/mar?ward=NAME` and `/api/v1/mar?ward=NAME` list one ward's patients, the
page links every ward patients are on ("all" by default), a ward no patient is on says so with
the wards; only staff read it, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from urllib.parse import quote

import pytest

from b12.domain.patient import Patient
from b12.services.record import add_patient
from tests.web.conftest import USER_OF, Web

COMMUNITY = ["P-0003", "P-0004", "P-0005"]  # the demo clinic's patients at home


def _listed(page: str) -> list[str]:
    return sorted(
        code for code in ("P-0001", "P-0002", *COMMUNITY) if f'href="/patients/{code}"' in page
    )


def test_the_page_lists_every_ward_by_default_and_one_ward_when_chosen(any_web: Web) -> None:
    nurse, _ = any_web.as_role("nurse")
    every = nurse.get("/mar")
    assert every.status_code == 200
    assert _listed(every.text) == ["P-0001", "P-0002", *COMMUNITY]
    assert '<strong aria-current="page">all</strong>' in every.text
    for ward in ("Community nursing", "Day unit", "Ward 4"):
        assert f'href="/mar?ward={quote(ward)}"' in every.text
    one = nurse.get("/mar", params={"ward": "Community nursing"})
    assert one.status_code == 200 and _listed(one.text) == COMMUNITY
    assert '<strong aria-current="page">Community nursing</strong>' in one.text
    assert 'href="/mar">all</a>' in one.text
    folded = nurse.get("/mar", params={"ward": "ward 4"})  # a ward's name in any case
    assert folded.status_code == 200 and _listed(folded.text) == ["P-0001"]
    assert '<strong aria-current="page">Ward 4</strong>' in folded.text
    assert nurse.get("/mar", params={"ward": ""}).text.count('href="/patients/') >= 5  # all


def test_a_ward_no_patient_is_on_says_so_with_the_wards(any_web: Web) -> None:
    nurse, _ = any_web.as_role("nurse")
    r = nurse.get("/mar", params={"ward": "Ward 9"})
    assert r.status_code == 404
    assert "No patient on ward Ward 9." in r.text and _listed(r.text) == []
    for ward in ("Community nursing", "Day unit", "Ward 4"):
        assert f'href="/mar?ward={quote(ward)}"' in r.text
    api = nurse.get("/api/v1/mar", params={"ward": "Ward 9"})
    assert api.status_code in (404, 422)
    error = api.json()["error"]
    assert error["field"] == "ward"
    assert (
        "no patient on ward 'Ward 9'; the wards are: Community nursing, Day unit, Ward 4"
        in (error["message"])
    )
    bad = nurse.get("/api/v1/mar", params={"ward": "Ward\t4"})
    assert bad.status_code == 422 and "control character" in bad.json()["error"]["message"]


def test_the_api_lists_one_ward_and_names_the_wards(any_web: Web) -> None:
    nurse, _ = any_web.as_role("nurse")
    body = nurse.get("/api/v1/mar", params={"ward": "Day unit"}).json()
    assert [(d["patient"], d["ward"]) for d in body["due"]] == [("P-0002", "Day unit")]
    assert body["ward"] == "Day unit"
    assert body["wards"] == ["Community nursing", "Day unit", "Ward 4"]
    every = nurse.get("/api/v1/mar").json()
    assert "ward" not in every and len(every["due"]) == 5


@pytest.mark.parametrize("role", sorted(USER_OF))
def test_only_staff_read_a_ward(web: Web, role: str) -> None:
    client, _ = web.as_role(role)
    staff = role in ("prescriber", "nurse", "pharmacist")
    for path in ("/mar", "/api/v1/mar"):
        r = client.get(path, params={"ward": "Community nursing"})
        assert r.status_code == (200 if staff else 403), (role, path)
        unknown = client.get(path, params={"ward": "Ward 9"})
        assert (unknown.status_code in (404, 422)) if staff else unknown.status_code == 403
        if not staff:  # a refusal names no ward and no patient
            assert "Community" not in unknown.text and "P-000" not in unknown.text


def test_a_ward_name_is_shown_as_text_never_as_markup(web: Web) -> None:
    add_patient(web.app.unit_of_work, "P-0099", Patient(age_months=Decimal(600)), "dr.ames",
                datetime(2027, 3, 1, 9, tzinfo=web.app.clock.now().tzinfo),
                ward="<script>alert(1)</script>")  # fmt: skip
    nurse, _ = web.as_role("nurse")
    page = nurse.get("/mar").text
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert 'href="/mar?ward=%3Cscript%3Ealert%281%29%3C/script%3E"' in page
