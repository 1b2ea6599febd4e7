"""The calendar export parses back into the plan: every injection, check and checkpoint, each with a
reminder; a lifelong or open-ended maintenance phase is one recurrence with no end."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import pytest
from dateutil.rrule import rrulestr
from icalendar import Calendar

from b12 import load_knowledge
from b12.adapters.calendar import OPEN_ENDED_KINDS, recurrence, to_ics, write_ics
from b12.domain.schedule import add_months
from b12.knowledge.schema import Phase
from b12.services.planning import Plan, PlanRequest, plan_therapy

START = date(2026, 1, 5)
KB = load_knowledge()


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
    dated = [a for a in plan.administrations if a.phase != "monthly maintenance"]
    gates = [c for c in plan.schedule.checkpoints if c.kind != "horizon"]
    assert len(events) == len(dated) + 1 + len(plan.labs) + len(gates)
    assert [e.decoded("dtstart") for e in doses if "rrule" not in e] == [a.date for a in dated]
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
    # two months: the lifelong phase is not reached, so every dose is dated, every checkpoint shown
    assert len(list(Calendar.from_ical(ics.read_bytes()).walk("VEVENT"))) == len(
        data["administrations"]
    ) + len(data["labs"]) + len(data["checkpoints"])


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


# --- lifelong and open-ended maintenance: one recurrence; checkpoints as events --------------------


def _goes_on(phase: Phase) -> bool:
    """A last phase the plan cannot finish: lifelong, or maintenance "until" with no count."""
    open_ended = phase.until is not None and not (phase.doses or phase.duration_days)
    return phase.lifelong or (open_ended and phase.kind in OPEN_ENDED_KINDS)


REPEATING = sorted(r.id for r in KB.all("regimens").values() if _goes_on(r.phases[-1]))


def _plan(regimen: str) -> Plan:
    return plan_therapy(KB, PlanRequest(START, regimen=regimen))


def _events(plan: Plan) -> list[Any]:
    return list(Calendar.from_ical(to_ics(plan)).walk("VEVENT"))


def _expected_rule(phase: Phase) -> tuple[str, int]:
    """FREQ and INTERVAL as the phase's rhythm says them (interval: the lower bound, as planned)."""
    if phase.every_days is not None:
        days = int(phase.every_days.min)
        return ("WEEKLY", days // 7) if days % 7 == 0 else ("DAILY", days)
    if phase.per_week is not None:
        return "WEEKLY", 1
    assert phase.per_month is not None
    return "MONTHLY", 1


def test_the_repeating_regimens_include_every_lifelong_one() -> None:
    lifelong = {r.id for r in KB.all("regimens").values() if any(p.lifelong for p in r.phases)}
    assert lifelong and lifelong <= set(REPEATING)
    assert "us-label-pernicious-anaemia" in lifelong
    assert {"nhs-scotland-anaemia-without-neuro", "nhs-scotland-anaemia-with-neuro"} <= set(
        REPEATING
    )


@pytest.mark.parametrize("regimen", REPEATING)
def test_lifelong_maintenance_is_one_recurrence_without_end(regimen: str) -> None:
    plan = _plan(regimen)
    last = plan.schedule.phases[-1]
    if last.first is None:
        # an earlier phase has no rhythm to date (seed 004's "daily, every other day or weekly"):
        # nothing after it is dated, so nothing repeats, and the plan says why
        assert [e for e in _events(plan) if "rrule" in e] == []
        assert "PLAN_PHASE_NOT_SCHEDULED" in {f.code for f in plan.findings}
        return
    phase = next(p for p in plan.regimen.phases if p.name == last.name)
    planned = [a.date for a in plan.administrations if a.phase == last.name]
    events = _events(plan)
    repeating = [e for e in events if "rrule" in e]
    if recurrence(phase, last.first) is None:  # no RRULE says this rhythm: dated to the horizon
        assert not phase.lifelong and repeating == []
        doses = [e.decoded("dtstart") for e in events if "injection" in str(e["summary"])]
        assert set(planned) <= set(doses)
        assert any(str(e["summary"]).startswith("B12 plan ends") for e in events)
        return
    assert len(repeating) == 1
    [event] = repeating
    rule = event["rrule"]
    assert "UNTIL" not in rule and "COUNT" not in rule
    freq, interval = _expected_rule(phase)
    assert (rule["FREQ"], rule["INTERVAL"]) == ([freq], [interval])
    assert event.decoded("dtstart") == last.first == planned[0]
    # within the plan's horizon the recurrence gives exactly the planned dates
    start = datetime.combine(last.first, time(0))
    dates = rrulestr(rule.to_ical().decode(), dtstart=start)
    within = [
        d.date()
        for d in dates.between(start, datetime.combine(plan.schedule.end, time(0)), inc=True)
    ]
    assert [d for d in within if d < plan.schedule.end] == planned
    # no dated copy of the repeating phase, and no "plan ends here" for a phase that goes on
    dated = {
        e.decoded("dtstart")
        for e in events
        if "rrule" not in e and "injection" in str(e["summary"])
    }
    assert not dated & set(planned[1:])
    assert not any(str(e["summary"]).startswith("B12 plan ends") for e in events)
    assert str(event["summary"]).startswith("B12 injection ")
    assert "repeats with no end date" in str(event["description"])


@pytest.mark.parametrize("regimen", sorted(KB.all("regimens")))
def test_every_checkpoint_is_an_all_day_event_with_its_note(regimen: str) -> None:
    plan = _plan(regimen)
    events = _events(plan)
    repeats = any("rrule" in e for e in events)
    shown = {(e.decoded("dtstart"), str(e["description"])) for e in events}
    for checkpoint in plan.schedule.checkpoints:
        if checkpoint.kind == "horizon" and repeats:
            continue
        assert any(
            day == checkpoint.date and note.startswith(checkpoint.says) for day, note in shown
        ), checkpoint


def test_the_label_gate_is_a_note_on_its_day() -> None:
    events = _events(_plan("us-label-pernicious-anaemia"))
    [gate] = [e for e in events if str(e["summary"]).startswith("B12 plan gate")]
    assert str(gate["summary"]) == "B12 plan gate: alternate days"
    assert gate.decoded("dtstart") == date(2026, 1, 13)
    assert str(gate["description"]).startswith(
        "Before this phase: clinical improvement and reticulocyte response."
    )


@pytest.mark.parametrize(
    ("start", "expected"),
    [
        (
            date(2027, 1, 31),
            [date(2027, 1, 31), date(2027, 2, 28), date(2027, 3, 31), date(2027, 4, 30)],
        ),
        (
            date(2027, 1, 30),
            [date(2027, 1, 30), date(2027, 2, 28), date(2027, 3, 30), date(2027, 4, 30)],
        ),
        (
            date(2028, 1, 29),
            [date(2028, 1, 29), date(2028, 2, 29), date(2028, 3, 29), date(2028, 4, 29)],
        ),
        (
            date(2027, 1, 15),
            [date(2027, 1, 15), date(2027, 2, 15), date(2027, 3, 15), date(2027, 4, 15)],
        ),
    ],
)
def test_monthly_late_in_the_month_keeps_the_schedules_clamping(
    start: date, expected: list[date]
) -> None:
    """The same day each month, a shorter month's last day: as the schedule dates it."""
    phase = next(p for p in KB.all("regimens")["us-label-pernicious-anaemia"].phases if p.lifelong)
    rule = recurrence(phase, start)
    assert rule is not None
    parts = ";".join(
        f"{k.upper()}={','.join(map(str, v)) if isinstance(v, list) else v}"
        for k, v in rule.items()
    )
    first = datetime.combine(start, time(0))
    got = [d.date() for d in rrulestr(parts, dtstart=first)[:4]]
    assert got == expected == [add_months(start, k) for k in range(4)]
