"""The plan's preview lists every dose of the period its header names, each dose printed as the
command line prints it (thousands separated; the source's range beside a dose read from one)."""

from __future__ import annotations

import re
from typing import Any

from b12.domain.display import format_mass, format_planned_dose
from tests.web.conftest import Web


def _preview(web: Web, code: str, **form: str) -> tuple[str, dict[str, Any]]:
    client, csrf = web.as_role("prescriber")
    body = {"indication": "pernicious-anaemia", "start": "2027-03-10", "months": "60", **form}
    page = client.post(f"/patients/{code}/prescribe/preview", data={"csrf": csrf, **body})
    assert page.status_code == 200, page.text[-400:]
    api = client.post(
        f"/api/v1/patients/{code}/prescriptions/preview",
        json={**body, "months": int(body["months"])},
        headers={"X-CSRF-Token": csrf},
    )
    assert api.status_code == 200, api.text
    return page.text, api.json()["plan"]


def _rows(text: str) -> list[list[str]]:
    body = text.split('<table class="course">', 1)[1].split("</table>", 1)[0]
    return [
        re.findall(r"<td[^>]*>(.*?)</td>", row)
        for row in re.findall(r"<tr>(.*?)</tr>", body.split("<tbody>", 1)[1], re.S)
    ]


def test_every_dose_of_a_long_plan_is_listed_with_thousands_separated(web: Web) -> None:
    text, plan = _preview(web, "P-0002", neuro="on")
    planned = plan["administrations"]
    assert len(planned) > 40  # longer than the preview once cut to
    rows = _rows(text)
    assert [r[1] for r in rows] == [a["date"] for a in planned]
    assert rows[-1][1] == plan["administrations"][-1]["date"] <= plan["end"]
    assert {r[3] for r in rows} == {"1,000 mcg"} == {format_mass(1000)}
    assert f"{len(planned)} doses, every one listed" in text


def test_a_dose_read_from_a_range_shows_the_sources_range(web: Web) -> None:
    text, plan = _preview(web, "P-0002", product="hydroxocobalamin-uk-1mg-ml-ampoule", months="6")
    rows = _rows(text)
    first = plan["administrations"][0]
    assert first["dose_range_mcg"] == "250-1000"
    assert rows[0][3] == "250 mcg (source 250-1000 mcg)" == format_planned_dose(250, "250-1000")
    assert rows[0][4] == "0.25 mL"
    assert "PLAN_RANGE_READ" in text


def test_the_patients_page_says_when_it_lists_only_the_last_doses(web: Web) -> None:
    client, csrf = web.as_role("patient")
    r = client.post("/api/v1/patients/P-0003/give", json={}, headers={"X-CSRF-Token": csrf})
    assert r.status_code == 200, r.text  # the 13th dose: one more than the page lists
    text = client.get("/patients/P-0003").text
    listed = text.split("<h2>Doses recorded</h2>", 1)[1].split("</section>", 1)[0]
    shown = listed.count("<tr><td>")
    with web.app.unit_of_work() as uow:
        from b12.domain.records import current
        from b12.services.record import find_patient

        given = len(current(uow.administrations.for_patient(find_patient(uow, "P-0003").id)))
    assert shown == min(given, 12)
    assert given == 13 and "The last 12 of 13 doses recorded" in listed
