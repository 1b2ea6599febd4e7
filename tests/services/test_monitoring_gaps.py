"""A patient's status says when the early monitoring of an anaemia course was not done: the same
windows, codes and levels as the population audit's NO_POTASSIUM_48H and NO_RETICULOCYTES_DAY_10,
read from the same knowledge. Both sides of every edge: the day a result counts from and to, the
day the window has passed, the indications the rule names and every other one."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from b12.bootstrap import App
from b12.domain.findings import Level
from b12.services.audit_thresholds import monitoring_windows
from b12.services.follow_up import monitoring_gaps
from tests.services import steps

DAY0 = steps.START  # the first dose is given on the course's first day
K, RETIC = "NO_POTASSIUM_48H", "NO_RETICULOCYTES_DAY_10"


@pytest.fixture
def started(course: App) -> App:
    """The course with its first dose given on DAY0."""
    assert steps.give(course, datetime(2026, 1, 5, 9, tzinfo=UTC)).recorded is not None
    return course


def _codes(app: App, on: date) -> list[str]:
    return [f.code for f in steps.status(app, on).findings if f.code in (K, RETIC)]


def test_the_windows_are_the_audit_rules(kb: Any) -> None:
    potassium, reticulocytes = monitoring_windows(kb)
    rules = {r.code: r for r in kb.all("audit-rules").values()}
    for window, analyte in ((potassium, "potassium"), (reticulocytes, "reticulocytes")):
        rule = rules[window.code]
        assert window.analyte == analyte
        assert (window.level, window.indications, window.sources) == (
            rule.level, rule.indications, rule.sources,
        )  # fmt: skip
    assert (potassium.from_day, potassium.to_day) == (0, 2)  # the first 48 h (us label)
    assert (reticulocytes.from_day, reticulocytes.to_day) == (5, 10)


@pytest.mark.parametrize(("day", "counts"), [(-1, False), (0, True), (2, True), (3, False)])
def test_a_potassium_counts_from_the_first_dose_day_to_day_2(
    started: App, day: int, counts: bool
) -> None:
    steps.labs(started, ["k=3.9mmol/L"], DAY0 + timedelta(days=day))
    assert (K in _codes(started, DAY0 + timedelta(days=4))) is not counts


@pytest.mark.parametrize(("day", "counts"), [(4, False), (5, True), (10, True), (11, False)])
def test_a_reticulocyte_count_counts_on_days_5_to_10(started: App, day: int, counts: bool) -> None:
    steps.labs(started, ["reticulocytes=4.6%"], DAY0 + timedelta(days=day))
    assert (RETIC in _codes(started, DAY0 + timedelta(days=12))) is not counts


def test_nothing_is_said_until_the_window_has_passed(started: App) -> None:
    assert _codes(started, DAY0 + timedelta(days=2)) == []
    assert _codes(started, DAY0 + timedelta(days=3)) == [K]
    assert _codes(started, DAY0 + timedelta(days=10)) == [K]
    assert _codes(started, DAY0 + timedelta(days=11)) == [K, RETIC]


def test_nothing_is_said_before_a_first_dose(course: App) -> None:
    assert _codes(course, DAY0 + timedelta(days=14)) == []


def test_the_finding_names_its_days_and_its_rules(started: App, kb: Any) -> None:
    (found,) = [f for f in steps.status(started, date(2026, 1, 9)).findings if f.code == K]
    assert found.level is Level.WARNING
    assert found.message == (
        "No potassium, serum result from 2026-01-05 (day 0) to 2026-01-07 (day 2) after the first "
        "dose on 2026-01-05: the monitoring rules ask for one in those days "
        "(us-label-potassium-48h)."
    )
    assert found.basis.sources == monitoring_windows(kb)[0].sources
    assert found.basis.values["first dose"] == "2026-01-05"


def test_a_voided_result_does_not_count(started: App) -> None:
    added = steps.labs(started, ["k=3.9mmol/L"], DAY0 + timedelta(days=1))
    assert K not in _codes(started, DAY0 + timedelta(days=4))
    steps.void(started, "lab", added.results[0].id)
    assert K in _codes(started, DAY0 + timedelta(days=4))


def test_every_indication_the_rules_name_and_no_other(started: App, kb: Any) -> None:
    status = steps.status(started, DAY0 + timedelta(days=30))
    assert status.prescription is not None
    named = {w.code: set(w.indications) for w in monitoring_windows(kb)}
    for indication in kb.indications:
        rx = replace(status.prescription, indication=indication)
        found = {f.code for f in monitoring_gaps(kb, rx, status.course, (), status.on)}
        assert found == {code for code, names in named.items() if indication in names}, indication
    rx = replace(status.prescription, indication=None)
    assert monitoring_gaps(kb, rx, status.course, (), status.on) == []
