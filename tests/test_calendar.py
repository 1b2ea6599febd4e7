"""The calendar export parses back into the plan: every injection and check, each with a reminder."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path

from icalendar import Calendar

from b12 import load_knowledge
from b12.adapters.calendar import to_ics, write_ics
from b12.services.planning import Plan, PlanRequest, plan_therapy

START = date(2026, 1, 5)


def label_plan() -> Plan:
    request = PlanRequest(START, "pernicious-anaemia", product="cyanocobalamin-500mcg-ml-ampoule")
    return plan_therapy(load_knowledge(), request)


def test_calendar_parses_back_to_the_plan(tmp_path: Path) -> None:
    plan = label_plan()
    path = write_ics(plan, tmp_path / "plan.ics")
    cal = Calendar.from_ical(path.read_bytes())
    events = list(cal.walk("VEVENT"))
    doses = [e for e in events if str(e["summary"]).startswith("B12 injection")]
    labs = [e for e in events if str(e["summary"]).startswith("B12 plan laboratory check")]
    assert len(events) == len(plan.administrations) + len(plan.labs)
    assert [e.decoded("dtstart") for e in doses] == [a.date for a in plan.administrations]
    assert [e.decoded("dtstart") for e in labs] == [lab.date for lab in plan.labs]
    assert str(doses[0]["summary"]) == "B12 injection 100 mcg IM (0.2 mL)"
    assert "LOINC 2823-3" in str(labs[0]["description"])
    assert len({str(e["uid"]) for e in events}) == len(events)
    for event in events:
        alarms = list(event.walk("VALARM"))
        assert len(alarms) == 1
        assert alarms[0].decoded("trigger") == timedelta(hours=-12)
        assert str(alarms[0]["action"]) == "DISPLAY"


def test_the_same_plan_writes_the_same_calendar() -> None:
    assert to_ics(label_plan()) == to_ics(label_plan())


def test_cli_plan_json_contract_and_ics(tmp_path: Path) -> None:
    ics = tmp_path / "cli.ics"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "b12",
            "plan",
            "--indication",
            "pernicious anaemia",
            "--start",
            "2026-01-05",
            "--product",
            "cyanocobalamin-500mcg-ml-ampoule",
            "--months",
            "2",
            "--ics",
            str(ics),
            "--json",
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert {
        "regimen",
        "administrations",
        "labs",
        "supply",
        "alternatives",
        "findings",
        "fingerprint",
        "conflicts",
        "timeline",
    } <= set(data)
    assert data["regimen"]["id"] == "us-label-pernicious-anaemia"
    assert data["regimen"]["sources"][0] == "us-label-cyanocobalamin"
    assert data["administrations"][0] == {
        "date": "2026-01-05",
        "day": 0,
        "dose_mcg": 100,
        "dose_range_mcg": None,
        "volume_ml": 0.2,
        "route": "IM",
        "phase": "daily loading",
        "phase_kind": "loading",
        "number_in_phase": 1,
        "syringe_ml": 1,
    }
    assert {"date", "tests", "reason"} <= set(data["labs"][0])
    assert data["supply"]["first_month"]["containers"] == 17
    assert data["fingerprint"] == load_knowledge().fingerprint
    assert data["calendar"] == str(ics)
    assert len(list(Calendar.from_ical(ics.read_bytes()).walk("VEVENT"))) == len(
        data["administrations"]
    ) + len(data["labs"])


def test_cli_plan_bad_start_exits_2() -> None:
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "b12",
            "plan",
            "--indication",
            "pernicious-anaemia",
            "--start",
            "5/1/26",
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert done.returncode == 2
    assert "YYYY-MM-DD" in done.stderr
