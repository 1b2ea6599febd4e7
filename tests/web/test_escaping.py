"""Text a user wrote is shown as text on every page that shows it: markup is escaped, never run."""

from __future__ import annotations

import pytest

from tests.web.conftest import Web

MARKUP = '<script>alert("x")</script><img src=x onerror=alert(1)>'


def _shown_as_text(html: str) -> None:
    assert "<script>alert" not in html and "<img src=x" not in html
    assert "&lt;script&gt;alert(" in html or "&lt;img" in html


@pytest.mark.parametrize(
    ("url", "fields"),
    [
        ("/patients/P-0001/give", {"lot": MARKUP, "expiry": "2027-12-31"}),  # the record keeps it
        ("/patients/P-0001/give/check", {"lot": MARKUP}),  # the confirm step shows it
        ("/patients/P-0001/not-given", {"kind": "held", "reason": "asleep " + MARKUP}),
        (
            "/patients/P-0001/labs",
            {"readings": MARKUP, "taken_on": "2027-03-09"},
        ),  # refused: echoed
        ("/patients/P-0001/give/scan", {"scan": MARKUP}),  # refused by the GS1 reader: echoed
        ("/patients/P-0001/give/check", {"expiry": MARKUP}),  # not a date: echoed
        ("/patients/P-0001/events", {"description": "rash " + MARKUP, "severity": "mild"}),
    ],
)
def test_markup_typed_into_a_form_is_shown_escaped(
    web: Web, url: str, fields: dict[str, str]
) -> None:
    client, csrf = web.as_role("nurse")
    r = client.post(url, data={**fields, "csrf": csrf})
    assert "text/html" in r.headers["content-type"]
    _shown_as_text(r.text)


def test_markup_kept_in_the_record_is_escaped_on_the_patient_page_and_the_mar(web: Web) -> None:
    client, csrf = web.as_role("nurse")
    client.post("/patients/P-0001/give", data={"lot": MARKUP, "csrf": csrf})
    _shown_as_text(client.get("/patients/P-0001").text)


def test_markup_in_an_address_is_escaped_on_the_not_found_page(web: Web) -> None:
    client, _ = web.as_role("nurse")
    r = client.get("/patients/%3Cimg%20src=x%20onerror=alert(1)%3E")
    assert r.status_code == 404
    assert "<img src=x" not in r.text and "&lt;img src=x onerror=alert(1)&gt;" in r.text


def test_markup_kept_in_the_record_is_escaped_on_the_summary(web: Web) -> None:
    client, csrf = web.as_role("nurse")
    client.post("/patients/P-0001/give", data={"lot": MARKUP, "csrf": csrf})
    client.post("/patients/P-0002/not-given", data={"kind": "held", "reason": MARKUP, "csrf": csrf})
    _shown_as_text(client.get("/patients/P-0001/summary").text)
    _shown_as_text(client.get("/patients/P-0002/summary").text)
