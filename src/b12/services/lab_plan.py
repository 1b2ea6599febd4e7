"""The laboratory plan of a treatment plan: dated checks, each test with its LOINC code and the rule
(and source) that asked for it, built from the monitoring rules in monitoring.yaml.

Readings (documented defaults, like the schedule's):
  * baseline on day 0, before the first injection (US label tests, potassium early: Cobalin);
  * urea and electrolytes the day after the first dose (NHS Lothian: "after starting", any route);
  * potassium on days 1 and 2 after the first injection ("closely for the first 48 hours", US
    label) when a deficiency or an anaemia is treated;
  * a rule is planned only on its routes (monitoring.yaml `routes`; omitted = the injected
    routes): a review of oral replacement is not part of an IM plan, nor an injection rule of an
    oral one;
  * haematocrit and reticulocytes daily on days 5-7 (US label), iron on day 5 (seed 000) and
    reticulocytes again on day 7 (NHS Lothian, 7-10 days);
  * the blood every 7 days (seed 000's "every 1-2 weeks", shorter bound) from day 14 until
    remission, planned to day 56 (NHS Lothian's 8-week blood count; response "normal within about
    2 months"), then every 120 days (seed 000's "every 4-6 months", shorter bound);
  * review at 3 months, 1 month in pregnancy or breastfeeding (NICE NG239);
  * a B12 level is never planned within 14 days after an injection (Mayo): it moves to the first
    day at least 14 days after the last injection (drawn before that day's dose), or is left out.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from b12.domain.findings import Finding, Level, finding
from b12.domain.routes import INJECTED
from b12.knowledge.base import Knowledge
from b12.knowledge.entries import MonitoringRule

B12_WASHOUT_DAYS = 14
REMISSION_PLANNED_DAY = 56
BLOOD_EVERY_DAYS = 7
AFTER_REMISSION_EVERY_DAYS = 120


@dataclass(frozen=True)
class LabTest:
    analyte: str
    name: str
    loinc: str | None

    def to_dict(self) -> dict[str, Any]:
        return {"analyte": self.analyte, "name": self.name, "loinc": self.loinc}


@dataclass(frozen=True)
class LabReason:
    rule: str
    says: str
    sources: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        return {"rule": self.rule, "says": self.says, "sources": list(self.sources)}


@dataclass(frozen=True)
class LabCheck:
    date: date
    day: int
    tests: tuple[LabTest, ...]
    reasons: tuple[LabReason, ...]
    note: str | None = None

    @property
    def reason(self) -> str:
        return " ".join(r.says for r in self.reasons)

    def to_dict(self) -> dict[str, Any]:
        return {
            "date": self.date.isoformat(),
            "day": self.day,
            "tests": [t.to_dict() for t in self.tests],
            "reason": self.reason,
            "rules": [r.to_dict() for r in self.reasons],
            "note": self.note,
        }


@dataclass(frozen=True)
class LabContext:
    """What the lab plan needs to know about the plan."""

    start: date
    end: date  # exclusive
    injections: tuple[date, ...]  # sorted
    treats_anaemia: bool
    treats: bool  # False for prophylaxis and diagnostic plans
    diagnostic_trial: bool = False
    pregnant_or_breastfeeding: bool = False
    routes: frozenset[str] = INJECTED  # the routes of the plan's administrations


def rule_routes(rule: MonitoringRule) -> frozenset[str]:
    """The routes a monitoring rule is for (none written: every injected route)."""
    return frozenset(rule.routes) or INJECTED


# (day, rule id, tests or None for the rule's own, note)
_Item = tuple[int, str, tuple[str, ...] | None, str | None]


def plan_labs(kb: Knowledge, ctx: LabContext) -> tuple[tuple[LabCheck, ...], list[Finding]]:
    """The dated checks from ``ctx.start`` until ``ctx.end``, and findings about moved tests."""
    first = (ctx.injections[0] - ctx.start).days if ctx.injections else 0
    items: list[_Item] = [
        (0, "us-label-baseline", None, "before the first injection"),
        (0, "cobalin-potassium-early", None, None),
        (first + 1, "nhs-lothian-ue-after-start", None, None),
    ]
    if ctx.diagnostic_trial:
        items += [(d, "us-label-hydroxocobalamin-diagnostic-trial", None, None) for d in range(11)]
    if ctx.treats_anaemia:
        items += [(first + d, "us-label-potassium-48h", None, None) for d in (1, 2)]
    if ctx.treats:
        items += [(d, "us-label-days-5-7", None, None) for d in (5, 6, 7)]
        items.append((5, "seed-000-reticulocytes-iron-day-5-8", None, None))
        items.append((7, "nhs-lothian-reticulocytes-7-10", None, None))
        for day in range(14, REMISSION_PLANNED_DAY + 1, BLOOD_EVERY_DAYS):
            items.append((day, "seed-000-blood-every-1-2-weeks", None, None))
            items.append((day, "us-label-until-haematocrit-normal", None, None))
        items.append(
            (REMISSION_PLANNED_DAY, "nhs-lothian-fbc-8-weeks", None, "remission assumed by week 8")
        )
        day = REMISSION_PLANNED_DAY + AFTER_REMISSION_EVERY_DAYS
        while ctx.start + timedelta(days=day) < ctx.end:
            items.append((day, "seed-000-after-remission-4-6-months", None, None))
            day += AFTER_REMISSION_EVERY_DAYS
    if ctx.pregnant_or_breastfeeding:
        items.append((30, "nice-review-1-month-pregnancy", None, "review at 1 month"))
    else:
        items.append((90, "nice-review-3-months", None, "review at 3 months"))
    items = [i for i in items if rule_routes(kb.get("monitoring", i[1])) & ctx.routes]
    items, findings = _move_b12(kb, ctx, items)
    return _merge(kb, ctx, items), findings


def _move_b12(
    kb: Knowledge, ctx: LabContext, items: list[_Item]
) -> tuple[list[_Item], list[Finding]]:
    """Take B12 out of any check within 14 days after an injection; put it where it is valid."""
    rule: MonitoringRule = kb.get("monitoring", "mayo-no-b12-after-injection")
    out: list[_Item] = []
    findings: list[Finding] = []
    for day, rule_id, tests, note in items:
        wanted = tests if tests is not None else kb.get("monitoring", rule_id).tests
        when = ctx.start + timedelta(days=day)
        if day == 0 or "b12" not in wanted or _valid_b12_day(when, ctx.injections):
            out.append((day, rule_id, tests, note))
            continue
        others = tuple(t for t in wanted if t != "b12")
        if others:
            out.append((day, rule_id, others, note))
        moved = _first_valid_b12_day(when, ctx.injections, ctx.end)
        shown = {"planned": when.isoformat(), "last injection": _last_before(when, ctx.injections)}
        if moved is None:
            message = f"The B12 level planned for {when.isoformat()} is left out: every day after it in the plan is within 2 weeks of an injection."
        else:
            out.append(
                (
                    (moved - ctx.start).days,
                    rule_id,
                    ("b12",),
                    f"B12 moved from {when.isoformat()}: draw before any injection that day",
                )
            )
            message = f"The B12 level planned for {when.isoformat()} is moved to {moved.isoformat()}: a level within 2 weeks of an injection reflects the injection."
        findings.append(finding("LAB_B12_MOVED", Level.INFO, message, rule.sources, shown))
    return out, findings


def _last_before(day: date, injections: Sequence[date]) -> str:
    before = [d for d in injections if d < day]
    return before[-1].isoformat() if before else "none"


def _valid_b12_day(day: date, injections: Sequence[date]) -> bool:
    # Blood drawn before that day's dose: only injections strictly before the day count.
    before = [d for d in injections if d < day]
    return not before or (day - before[-1]).days >= B12_WASHOUT_DAYS


def _first_valid_b12_day(day: date, injections: Sequence[date], end: date) -> date | None:
    candidate = day
    while candidate < end:
        before = [d for d in injections if d < candidate]
        if not before or (candidate - before[-1]).days >= B12_WASHOUT_DAYS:
            return candidate
        candidate = before[-1] + timedelta(days=B12_WASHOUT_DAYS)
    return None


def _merge(kb: Knowledge, ctx: LabContext, items: Iterable[_Item]) -> tuple[LabCheck, ...]:
    """One check per date: the tests of every rule due that day, each rule named once."""
    by_day: dict[int, tuple[list[str], list[str], list[str]]] = {}
    for day, rule_id, tests, note in items:
        when = ctx.start + timedelta(days=day)
        if when >= ctx.end:
            continue
        rule: MonitoringRule = kb.get("monitoring", rule_id)
        wanted, rules, notes = by_day.setdefault(day, ([], [], []))
        wanted += [t for t in (tests if tests is not None else rule.tests) if t not in wanted]
        if rule_id not in rules:
            rules.append(rule_id)
        if note and note not in notes:
            notes.append(note)
    checks = []
    for day in sorted(by_day):
        wanted, rules, notes = by_day[day]
        checks.append(
            LabCheck(
                ctx.start + timedelta(days=day),
                day,
                tuple(_test(kb, t) for t in wanted),
                tuple(_reason(kb.get("monitoring", r)) for r in rules),
                "; ".join(notes) or None,
            )
        )
    return tuple(checks)


def _test(kb: Knowledge, analyte_id: str) -> LabTest:
    analyte = kb.get("analytes", analyte_id)
    return LabTest(analyte.id, analyte.name, analyte.loinc[0].code if analyte.loinc else None)


def _reason(rule: MonitoringRule) -> LabReason:
    return LabReason(rule.id, rule.says, rule.sources)
