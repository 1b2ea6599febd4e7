"""The supply page in a real browser (Debian's chromium, as tests/web/test_browser.py drives it): a
prescriber prescribes single-dose vials, a pharmacist dispenses three, a nurse gives a dose from
that lot, and the page shows the dose drawn and the day the supply runs out."""

from __future__ import annotations

from typing import Any

import pytest

from tests.web.test_browser import SHOTS, _log_in, browser, server  # noqa: F401 (fixtures)

pytestmark = pytest.mark.browser
VIAL = "cyanocobalamin-us-1000mcg-ml-1ml-vial"


def test_the_supply_page_shows_the_run_out_date_after_doses_are_drawn(
    browser: Any,  # noqa: F811
    server: str,  # noqa: F811
) -> None:
    page = _log_in(browser, server, "dr.ames")
    page.goto(f"{server}/patients/P-0002/prescribe")
    page.select_option("select[name=indication]", "pernicious-anaemia")
    page.select_option("select[name=product]", VIAL)
    page.fill("input[name=start]", "2027-03-10")
    page.click("text=Preview the plan")
    page.wait_for_load_state()
    page.click("#sign")
    page.wait_for_load_state()
    assert "Prescribed · patient P-0002" in page.inner_text("h1")
    page.context.close()

    page = _log_in(browser, server, "ph.chen")
    page.goto(f"{server}/patients/P-0002/supply")
    page.select_option("select[name=product]", VIAL)
    page.fill("input[name=count]", "3")
    page.fill("input[name=lot]", "H1")
    page.fill("input[name=expiry]", "2028-01-31")
    page.click("#dispense")
    page.wait_for_load_state()
    assert "Dispensed 3 x" in page.inner_text("main")
    before = page.inner_text("#runs-out-on")
    page.context.close()

    page = _log_in(browser, server, "nurse.bo")
    page.goto(f"{server}/patients/P-0002/give")
    page.fill("#lot", "H1")
    page.fill("#expiry", "2028-01-31")
    page.click("text=Check before giving")
    page.wait_for_load_state()
    page.click("#record")
    page.wait_for_load_state()
    assert "Recorded · patient P-0002" in page.inner_text("h1")
    page.goto(f"{server}/patients/P-0002/supply")
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "supply.png"), full_page=True)
    summary = page.inner_text("#supply-summary")
    assert "2 ampoule(s) or vial(s) left" in summary
    page.click("text=Doses drawn from them (1)")
    assert "from lot H1" in page.inner_text("main")
    # the dose given was due today: drawing it leaves the run-out day where it was
    assert page.inner_text("#runs-out-on") == before
    assert "Ask for a new prescription now" in summary  # 14 days before 03-13 is past
    page.context.close()
