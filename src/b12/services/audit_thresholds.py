"""The figures the population audit's rules compare against, read from the knowledge.

Each rule of ``audit.yaml`` has one implementation (an Ibis expression in the population adapter);
this module gives it every threshold as plain rows, so no figure is written in a rule: trusted dose
ranges per indication, route and age group, the shortest and longest interval of every phase, the
products' concentrations and the routes their sources advise against, the monitoring windows, and
the rules' own factors. Pure Python: no engine, no table library.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING

from b12.domain.routes import INJECTED
from b12.knowledge.base import Knowledge
from b12.services.dose_checks import TRUSTED, largest_trusted_dose, slip_factor
from b12.services.patient_groups import group_regimens, population_fits, treats_deficiency

if TYPE_CHECKING:
    from b12.knowledge.entries import AuditRule, Phase

#: The age groups a range is looked up by; "unknown" is a patient without a date of birth,
#: whom every regimen's population fits (as b12's own dose check does).
AGE_GROUPS = ("infant", "child", "adult", "unknown")
#: Shortest week and month, for the shortest whole-day gap a rhythm of N a week or a month allows.
WEEK_DAYS = 7
SHORTEST_MONTH_DAYS = 28
LONGEST_MONTH_DAYS = 31
MAINTAINED = frozenset({"maintenance", "prophylaxis"})


@dataclass(frozen=True, slots=True)
class RuleInfo:
    id: str
    code: str
    level: str
    checks: str
    sources: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class DoseRanges:
    """The trusted dose ranges (mcg) for one indication, route and age group."""

    indication: str
    route: str
    age_group: str
    ranges: tuple[tuple[Decimal, Decimal], ...]
    regimens: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class PhaseRhythm:
    """One phase of a regimen: its shortest allowed gap and, if maintained, its longest one."""

    regimen: str
    phase: int  # index in the regimen's phases, from 0
    kind: str
    min_interval_days: Decimal | None  # None: the phase has no rhythm to hold a dose to
    longest_interval_days: Decimal | None
    maintained: bool


@dataclass(frozen=True, slots=True)
class ProductFacts:
    """A product's cobalamin as amount per volume (compared as a cross product, so a strength
    such as 1000 mcg per 3 mL never becomes a rounded decimal), and the routes advised against."""

    product: str
    amount_mcg: Decimal | None  # None where the knowledge holds no amount
    per_ml: Decimal | None
    avoid_routes: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class MonitoringWindow:
    """A test an anaemia course must have between two days counted from its first dose (day 0),
    by one audit rule and the monitoring rules it reads: the population audit checks every course
    against it, a patient's status the patient's own course."""

    code: str  # the audit rule's finding code
    level: str
    analyte: str
    from_day: int
    to_day: int
    indications: tuple[str, ...]
    monitoring: tuple[str, ...]  # the monitoring rules (monitoring.yaml) that ask for the test
    sources: tuple[str, ...]


#: The audit rules that are monitoring windows, and the test each asks for.
MONITORING_RULES = (("no-potassium-48h", "potassium"), ("no-reticulocytes-day-10", "reticulocytes"))


def monitoring_windows(kb: Knowledge) -> tuple[MonitoringWindow, ...]:
    """The monitoring windows of the audit rules (kept on the knowledge: read once)."""
    return kb.memo(monitoring_windows, lambda: tuple(_window(kb, *r) for r in MONITORING_RULES))


def _window(kb: Knowledge, rule_id: str, analyte: str) -> MonitoringWindow:
    rule = _rule(kb, rule_id)
    windows = [kb.get("monitoring", m) for m in rule.monitoring]
    if not windows or any(analyte not in m.tests for m in windows):
        raise ValueError(
            f"audit rule {rule.id}: every monitoring rule it reads must ask for {analyte}"
        )
    return MonitoringWindow(
        code=rule.code,
        level=rule.level,
        analyte=analyte,
        from_day=min(m.start_day or 0 for m in windows),
        to_day=max(m.end_day or 0 for m in windows),
        indications=rule.indications,
        monitoring=rule.monitoring,
        sources=rule.sources,
    )


@dataclass(frozen=True, slots=True)
class AuditThresholds:
    """Everything the audit's rules compare against, with the knowledge's fingerprint."""

    fingerprint: str
    rules: tuple[RuleInfo, ...]
    ranges: tuple[DoseRanges, ...]
    phases: tuple[PhaseRhythm, ...]
    products: tuple[ProductFacts, ...]
    largest_injected_dose_mcg: Decimal
    slip_factor: Decimal
    interval_tolerance_hours: Decimal
    lapse_factor: Decimal
    potassium_hours: Decimal
    potassium_indications: tuple[str, ...]
    reticulocytes_from_day: int
    reticulocytes_to_day: int
    reticulocytes_indications: tuple[str, ...]

    def rule(self, code: str) -> RuleInfo:
        return next(r for r in self.rules if r.code == code)


def audit_thresholds(kb: Knowledge) -> AuditThresholds:
    """The audit's figures from the knowledge ``kb`` (kept on it: computed once)."""
    return kb.memo(audit_thresholds, lambda: _thresholds(kb))


def interval_tolerance_hours(kb: Knowledge) -> Decimal:
    """How many hours short of a phase's shortest gap two doses may be before the gap counts as
    too short (audit.yaml interval-below-minimum): the population audit and ``give`` alike."""
    rule = _rule(kb, "interval-below-minimum")
    return _figure(rule.tolerance_hours, rule, "tolerance_hours")


def shortest_gap_any_regimen(kb: Knowledge) -> Decimal:
    """The shortest gap between two doses that any phase of any regimen keeps (a daily phase: 1)."""

    def shortest() -> Decimal:
        gaps = [p.min_interval_days for p in phase_rhythms(kb) if p.min_interval_days is not None]
        return min(gaps) if gaps else Decimal(1)

    return kb.memo(shortest_gap_any_regimen, shortest)


def _rule(kb: Knowledge, rule_id: str) -> AuditRule:
    rule: AuditRule = kb.get("audit-rules", rule_id)
    return rule


def _figure(value: Decimal | None, rule: AuditRule, name: str) -> Decimal:
    if value is None:
        raise ValueError(f"audit rule {rule.id} needs `{name}` in audit.yaml")
    return value


def _thresholds(kb: Knowledge) -> AuditThresholds:
    lapse = _rule(kb, "maintenance-lapsed")
    potassium, reticulocytes = monitoring_windows(kb)
    return AuditThresholds(
        fingerprint=kb.fingerprint,
        rules=tuple(
            RuleInfo(r.id, r.code, r.level, r.checks, r.sources)
            for r in kb.all("audit-rules").values()
        ),
        ranges=dose_ranges(kb),
        phases=phase_rhythms(kb),
        products=product_facts(kb),
        largest_injected_dose_mcg=largest_trusted_dose(kb, True)[0],
        slip_factor=slip_factor(kb),
        interval_tolerance_hours=interval_tolerance_hours(kb),
        lapse_factor=_figure(lapse.factor, lapse, "factor"),
        potassium_hours=Decimal(24 * potassium.to_day),
        potassium_indications=potassium.indications,
        reticulocytes_from_day=reticulocytes.from_day,
        reticulocytes_to_day=reticulocytes.to_day,
        reticulocytes_indications=reticulocytes.indications,
    )


def dose_ranges(kb: Knowledge) -> tuple[DoseRanges, ...]:
    """Per indication, injected route and age group: the ranges of the most trusted regimens
    (guideline or regulatory where there is one), as b12's dose check reads them."""
    out = []
    for indication in kb.indications.values():
        for group in AGE_GROUPS:
            population = None if group == "unknown" else group
            regimens = [
                r
                for r in kb.regimens_for(indication.id)
                if r.status != "contradicted" and population_fits(r.population, population)
            ]
            if population in ("child", "infant") and treats_deficiency(kb, indication):
                regimens += [r for r in group_regimens(kb, False, population) if r not in regimens]
            if not regimens:
                continue
            top = max(kb.trust(r.sources) for r in regimens)
            trusted = [r for r in regimens if kb.trust(r.sources) >= min(TRUSTED, top)]
            for route in sorted(INJECTED):
                ranges = sorted(
                    {
                        (p.dose_mcg.min, (p.dose_to_mcg or p.dose_mcg).max)
                        for r in trusted
                        for p in r.phases
                        if route in (p.routes or r.routes)
                    }
                )
                if ranges:
                    ids = tuple(
                        r.id
                        for r in trusted
                        if any(route in (p.routes or r.routes) for p in r.phases)
                    )
                    out.append(DoseRanges(indication.id, route, group, tuple(ranges), ids))
    return tuple(out)


def shortest_gap_days(phase: Phase) -> Decimal | None:
    """The shortest whole-day gap the phase's rhythm allows between two doses."""
    if phase.every_days is not None:
        return phase.every_days.min
    if phase.per_week is not None:
        return Decimal(math.floor(WEEK_DAYS / phase.per_week.max))
    if phase.per_month is not None:
        return Decimal(math.floor(SHORTEST_MONTH_DAYS / phase.per_month.max))
    return None


def longest_gap_days(phase: Phase) -> Decimal | None:
    """The longest gap the phase's rhythm allows between two doses."""
    if phase.every_days is not None:
        return phase.every_days.max
    if phase.per_week is not None:
        return Decimal(math.ceil(WEEK_DAYS / phase.per_week.min))
    if phase.per_month is not None:
        return Decimal(math.ceil(LONGEST_MONTH_DAYS / phase.per_month.min))
    return None


def phase_rhythms(kb: Knowledge) -> tuple[PhaseRhythm, ...]:
    return tuple(
        PhaseRhythm(
            regimen.id,
            index,
            phase.kind,
            shortest_gap_days(phase),
            longest_gap_days(phase),
            phase.kind in MAINTAINED and longest_gap_days(phase) is not None,
        )
        for regimen in kb.regimens.values()
        for index, phase in enumerate(regimen.phases)
    )


def product_facts(kb: Knowledge) -> tuple[ProductFacts, ...]:
    cobalamins = {s.id for s in kb.all("substances").values() if s.role == "cobalamin"}
    out = []
    for product in kb.products.values():
        amounts = [
            i
            for i in product.ingredients
            if i.substance in cobalamins and i.amount_mcg is not None and i.per_ml is not None
        ]
        amount, per_ml = (
            (amounts[0].amount_mcg, amounts[0].per_ml) if len(amounts) == 1 else (None, None)
        )
        avoid = tuple(
            sorted(
                {
                    a.route
                    for a in product.route_advice
                    if a.advice == "avoid" and a.status != "contradicted"
                }
            )
        )
        out.append(ProductFacts(product.id, amount, per_ml, avoid))
    return tuple(out)
