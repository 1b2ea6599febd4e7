"""The pages in a real browser: Playwright drives Debian's chromium (/usr/bin/chromium) against the
app served by uvicorn on 127.0.0.1. Off CI without chromium these tests skip; with CI=true they run
(`make test` installs chromium with apt-get when it is missing and the user is root)."""

from __future__ import annotations

import os
import re
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from b12.adapters.web import demo
from tests.web.conftest import USER_OF, make_app

CHROMIUM = "/usr/bin/chromium"
SHOTS = Path(os.environ.get("B12_SCREENSHOTS", "/tmp/b12-screenshots"))
SCAN = "(01)09501101530003(17)271231(10)LOT42"

pytestmark = pytest.mark.browser


def _need_browser() -> Any:
    on_ci = os.environ.get("CI") == "true"
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        if on_ci:
            pytest.fail("CI=true and the playwright package is missing")
        pytest.skip("playwright is not installed")
    if not Path(CHROMIUM).exists():
        if on_ci:
            pytest.fail(f"CI=true and {CHROMIUM} is missing: apt-get install chromium")
        pytest.skip(f"{CHROMIUM} is missing (apt-get install chromium)")
    return sync_playwright


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, seeded_file: Path) -> Iterator[str]:
    yield from _serve(tmp_path_factory.mktemp("browser") / "clinic.db", seeded_file)


@pytest.fixture
def own_server(tmp_path: Path, seeded_file: Path) -> Iterator[str]:
    """A server on a fresh copy of the clinic, for a test whose records others must not see."""
    yield from _serve(tmp_path / "clinic.db", seeded_file)


def _serve(path: Path, seeded_file: Path) -> Iterator[str]:
    import uvicorn

    from b12.adapters.web.app import create_app

    shutil.copy(seeded_file, path)
    app = make_app(path)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    config = uvicorn.Config(create_app(app), host="127.0.0.1", port=port, log_level="warning")
    srv = uvicorn.Server(config)
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not srv.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert srv.started
    yield f"http://127.0.0.1:{port}"
    srv.should_exit = True
    thread.join(10)
    app.close()


@pytest.fixture(scope="module")
def browser(server: str) -> Iterator[Any]:
    sync_playwright = _need_browser()
    with sync_playwright() as p:
        launched = p.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        yield launched
        launched.close()


def _log_in(browser: Any, server: str, username: str) -> Any:
    page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    page.goto(f"{server}/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", demo.PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_load_state()
    return page


@pytest.mark.parametrize("role", sorted(USER_OF))
def test_each_role_logs_in_and_lands_on_its_page(browser: Any, server: str, role: str) -> None:
    page = _log_in(browser, server, USER_OF[role])
    assert f"{USER_OF[role]} · {role}" in page.inner_text("header")
    expected = {"patient": "/patients/P-0003", "caregiver": "/patients"}.get(role, "/mar")
    assert page.url == server + expected
    page.context.close()


def test_a_nurse_gives_from_the_mar_with_a_scanned_pack_and_a_second_give_is_refused(
    browser: Any, server: str
) -> None:
    page = _log_in(browser, server, "nurse.bo")
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "mar.png"), full_page=True)
    row = page.locator("tr", has_text="P-0001")
    assert "100 mcg" in row.inner_text() and "0.1 mL" in row.inner_text()
    row.get_by_role("link", name="Give", exact=True).click()
    page.wait_for_load_state()
    assert "Volume to draw" in page.inner_text("table.rights")
    page.fill("#scan", SCAN)
    page.dispatch_event("#scan", "change")  # a scanner's Enter; htmx reads the pack
    page.wait_for_selector("#pack .scanned")
    assert "LOT42" in page.inner_text("#pack") and "2027-12-31" in page.inner_text("#pack")
    page.click("text=Check before giving")
    page.wait_for_load_state()
    assert "scanned, GTIN 09501101530003" in page.inner_text("main")
    page.click("#record")
    page.wait_for_load_state()
    assert "Recorded · patient P-0001" in page.inner_text("h1")
    assert "lot LOT42, expiry 2027-12-31" in page.inner_text("p.recorded")
    # the same dose again, from the MAR's link: checked, refused, nothing to press
    page.goto(f"{server}/patients/P-0001/give")
    page.fill("#scan", SCAN)
    page.click("text=Check before giving")
    page.wait_for_load_state()
    assert page.locator("#record").count() == 0
    text = page.inner_text("main")
    assert "STOP: do not give this dose." in text
    assert "A dose was already given on 2027-03-10, recorded by nurse.bo" in text
    page.goto(f"{server}/patients/P-0001")
    page.screenshot(path=str(SHOTS / "patient.png"), full_page=True)
    assert "LOT42" in page.inner_text("table.course")
    page.context.close()


def test_a_prescriber_signs_a_plan_past_a_warning_with_a_reason(browser: Any, server: str) -> None:
    page = _log_in(browser, server, "dr.ames")
    page.goto(f"{server}/patients/P-0005/prescribe")
    # Leber's optic atrophy with cyanocobalamin: the label warns against it
    page.select_option("select[name=indication]", "lebers-optic-atrophy")
    page.select_option("select[name=product]", demo.PRODUCT)
    page.fill("input[name=start]", "2027-03-11")
    page.click("text=Preview the plan")
    page.wait_for_load_state()
    assert "LEBERS_DISEASE" in page.inner_text(".findings")
    page.select_option("select[name=override_code]", "benefit-outweighs-risk")
    page.fill("input[name=override_text]", "reviewed with the patient")
    page.click("#sign")
    page.wait_for_load_state()
    assert "Prescribed · patient P-0005" in page.inner_text("h1")
    assert "benefit outweighs the risk: reviewed with the patient" in page.inner_text("main")
    page.context.close()


def test_a_patient_gets_404_for_another_patients_page(browser: Any, server: str) -> None:
    page = _log_in(browser, server, "pat.p3")
    own = page.goto(f"{server}/patients/P-0003")
    assert own is not None and own.status == 200
    for url in ("/patients/P-0001", "/patients/P-9999", "/patients/P-0001/give"):
        response = page.goto(server + url)
        assert response is not None and response.status == 404
        assert "Not found" in page.inner_text("h1")
    page.context.close()


def test_the_summary_opens_from_the_patient_page_and_prints_without_its_links(
    browser: Any, server: str
) -> None:
    page = _log_in(browser, server, "dr.ames")
    page.goto(f"{server}/patients/P-0001")
    assert "Estimate, not a measurement" in page.inner_text("#body-store")
    page.click("text=Course summary (print, PDF)")
    page.wait_for_load_state()
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "summary-screen.png"), full_page=True)
    assert page.locator("nav.screen-only").is_visible()
    assert "Body store: an estimate" in page.inner_text("#store")
    images = page.locator("img.chart")
    assert images.count() == 2
    assert all(images.nth(i).evaluate("i => i.naturalWidth > 0") for i in range(2))
    page.emulate_media(media="print")
    assert not page.locator("nav.screen-only").is_visible()
    page.screenshot(path=str(SHOTS / "summary-print.png"), full_page=True)
    page.context.close()


def test_a_prescriber_corrects_a_dose_and_sees_the_original_struck_through(
    browser: Any, server: str
) -> None:
    page = _log_in(browser, server, "dr.ames")
    page.goto(f"{server}/patients/P-0004")
    before = page.inner_text("main")
    row = page.locator("table.course tr.given").last
    row.get_by_role("link", name="Correct").click()
    page.wait_for_load_state()
    assert "Correct a dose · patient P-0004" in page.inner_text("h1")
    old_dose = page.input_value("input[name=dose_mcg]")
    page.fill("input[name=dose_mcg]", "500")
    page.fill("input[name=volume_ml]", "0.5")
    page.locator("form", has_text="Record the correction").locator("input[name=reason]").fill(
        "half the dose was drawn; written as the full dose"
    )
    page.click("text=Record the correction")
    page.wait_for_load_state()
    assert "Corrected · patient P-0004" in page.inner_text("h1")
    page.goto(f"{server}/patients/P-0004")
    struck = page.locator("section.corrections del").first
    assert struck.is_visible()
    assert (
        page.evaluate("e => getComputedStyle(e).textDecorationLine", struck.element_handle())
        == "line-through"
    )
    said = page.inner_text("section.corrections")
    assert f"{int(old_dose):,} mcg" in struck.inner_text()
    assert "500 mcg" in said and "half the dose was drawn" in said and "dr.ames" in said
    assert "of" in before  # the count of doses given is unchanged by a correction
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "patient-corrected.png"), full_page=True)
    page.context.close()


def test_a_dose_entered_in_error_no_longer_counts_as_given(browser: Any, server: str) -> None:
    page = _log_in(browser, server, "dr.ames")
    page.goto(f"{server}/patients/P-0002")

    def given() -> int:
        text = page.locator("section", has_text="Course").first.inner_text()
        return int(text.split(" of ")[0].split()[-1])

    before = given()
    page.locator("table.course tr.given").last.get_by_role("link", name="Correct").click()
    page.wait_for_load_state()
    page.locator("form", has_text="Mark entered in error").locator("input[name=reason]").fill(
        "recorded for the wrong patient"
    )
    page.click("text=Mark entered in error")
    page.wait_for_load_state()
    assert "Entered in error · patient P-0002" in page.inner_text("h1")
    page.goto(f"{server}/patients/P-0002")
    assert given() == before - 1
    assert "entered in error" in page.inner_text("section.corrections")
    page.goto(f"{server}/mar")
    note = page.locator("table.mar tr.amended", has_text="entered in error")
    assert (
        "recorded for the wrong patient" in note.inner_text() and note.locator("del").is_visible()
    )
    page.screenshot(path=str(SHOTS / "mar-entered-in-error.png"), full_page=True)
    page.context.close()


# --- the patient's side -----------------------------------------------------------------------------


def _shot(page: Any, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def _record_at_home(page: Any, server: str, code: str, shots: str | None = None) -> str:
    """From the patient's page through the check to the record; the site used."""
    page.goto(f"{server}/patients/{code}")
    page.click("#record-dose")
    page.wait_for_load_state()
    if shots:
        _shot(page, f"{shots}-give")
    site = page.eval_on_selector("select[name=site]", "s => s.value")
    page.click("#check")
    page.wait_for_load_state()
    if shots:
        _shot(page, f"{shots}-check")
    page.click("#record")
    page.wait_for_load_state()
    assert f"Recorded · {code}" in page.inner_text("h1")
    return str(site)


def test_a_patient_records_a_self_injection_and_sees_the_next_site(
    browser: Any, own_server: str
) -> None:
    page = _log_in(browser, own_server, "pat.p3")
    assert page.url == f"{own_server}/patients/P-0003"
    _shot(page, "home-patient")
    suggested = page.inner_text("#next-site")
    assert page.locator("figure.body svg .spot.next").count() == 1
    used = _record_at_home(page, own_server, "P-0003", shots="home-patient")
    assert suggested in page.inner_text("p.recorded")  # the suggested site was used
    _shot(page, "home-patient-recorded")
    after = page.inner_text("#next-site")
    assert after and after != suggested  # the next site rotates away from the one just used
    assert page.get_attribute("figure.body svg .spot.next", "data-site") != used
    page.goto(f"{own_server}/patients/P-0003")
    assert "pat.p3" in page.inner_text("section:has(h2:text('Doses recorded'))")
    page.context.close()


def test_a_caregiver_with_two_patients_records_for_each_and_sees_only_them(
    browser: Any, own_server: str
) -> None:
    page = _log_in(browser, own_server, "carer.dee")
    listed = page.inner_text("main")
    assert "P-0004" in listed and "P-0005" in listed
    assert all(code not in listed for code in ("P-0001", "P-0002", "P-0003"))
    for code in ("P-0004", "P-0005"):
        page.goto(f"{own_server}/patients/{code}")
        switcher = page.inner_text("nav.switcher")
        assert "P-0004" in switcher and "P-0005" in switcher and "P-0003" not in switcher
        _shot(page, f"home-carer-{code}")
        _record_at_home(page, own_server, code)
        assert "recorded by carer.dee" in page.inner_text("p.recorded")
    for code in ("P-0001", "P-0003"):
        response = page.goto(f"{own_server}/patients/{code}")
        assert response is not None and response.status == 404
    page.context.close()


def test_a_stop_shown_to_a_patient_offers_no_bypass(browser: Any, own_server: str) -> None:
    page = _log_in(browser, own_server, "pat.p3")
    _record_at_home(page, own_server, "P-0003")
    page.goto(f"{own_server}/patients/P-0003/give")  # a second dose the same day
    _shot(page, "home-patient-stop")
    text = page.inner_text("main")
    assert "Do not inject" in text and "Call your prescriber" in text
    for selector in ("input[name=override_code]", "select[name=override_code]",
                     "input[name=override_text]", "textarea", "#record", "#check",
                     "button:has-text('override')", "input[name=reason]"):  # fmt: skip
        assert page.locator(selector).count() == 0, selector
    assert "reason" not in text.lower() and "override" not in text.lower()
    assert not re.search(r"\b[A-Z]{3,}(?:_[A-Z]+)+\b", text)  # no finding code
    page.context.close()
