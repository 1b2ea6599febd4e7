"""Plan a course of B12 therapy: regimen -> dated administrations (dose mcg, volume mL, route)
-> laboratory plan -> supply -> alternatives, conflicts and findings, with the knowledge fingerprint.

Finding codes raised here (level):
  PLAN_REGIMEN_CHOSEN (info)          which regimen the plan follows and why
  PLAN_REGIMEN_FALLBACK (warning)     no authoritative regimen for the indication; a conflict's default
                                      or a related indication's regimen is used (regimen_choice.py)
  PLAN_REGIMEN_NOT_DEFAULT (warning)  the regimen is contradicted or unsupported; its conflict is named
  PLAN_SUBSTANCE_DIFFERS (warning)    the product's cobalamin is not the regimen's
  PLAN_POPULATION_DIFFERS (warning)   an adult regimen for a child, or the reverse
  PLAN_NEURO_NOT_ADDRESSED (warning)  neurological involvement, regimen without (or silent on) it
  PLAN_NEURO_NO_SUBSTANCE_REGIMEN (warning) neurological involvement, and no regimen of the
                                      product's substance is written for it (regimen_choice.py)
  PLAN_RANGE_READ (info)              how ranges in the source were read (see domain/schedule.py)
  PLAN_OPEN_PHASE_ASSUMED (warning)   an "until ..." phase planned for a default length, then a review
  PLAN_PHASE_NOT_SCHEDULED (warning)  a phase without a rhythm the planner can date
  PLAN_CONTINUES (info)               the last phase goes on past the horizon (lifelong, or until ...)
  PLAN_NO_VOLUME (info)               no product or concentration: no volumes, containers or cost
  PLAN_VOLUME_NOT_MEASURABLE (warning) a dose no standard syringe measures at this strength
  PLAN_SUBSTANCE_ADVISED_AGAINST (warning) a finding advises against the plan's cobalamin for this
                                      patient; the indication's regimen with another one is named
  PLAN_B12_BASELINE (info|warning)    the baseline B12 against the NICE bands
  LAB_B12_MOVED (info)                a B12 level kept out of the 2 weeks after an injection
  DOSE_*, ROUTE_*, ... (dosing.py)    the checks of each distinct dose, once each
  and the plan's own screening (b12.services.screening): its indication, its substance and the
  patient, for every route its phases use.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from b12.domain.dose_input import ParsedDose
from b12.domain.findings import Finding, Level, distinct, finding, suggest
from b12.domain.lab_values import Measurement
from b12.domain.patient import Patient
from b12.domain.quantity import Concentration, Mass
from b12.domain.schedule import OPEN_PHASE_DAYS, Schedule, ScheduledDose, add_months, expand
from b12.errors import InputError
from b12.knowledge.base import Knowledge
from b12.knowledge.entries import Product, Regimen
from b12.services.dosing import DoseRequest, DoseResult, calculate_dose
from b12.services.lab_plan import LabCheck, LabContext, plan_labs
from b12.services.plan_findings import baseline_b12, screening_findings
from b12.services.plan_json import alternative_dict, conflict_dict, regimen_dict, timeline
from b12.services.regimen_choice import Choice, choose_regimen
from b12.services.supply import Dispensed, Supply, supply_for


@dataclass(frozen=True)
class PlanRequest:
    """A course to plan, read: ids of the knowledge, quantities, the baseline B12 as a measurement."""

    start: date
    indication: str | None = None  # an indication id
    regimen: str | None = None  # a regimen id
    product: str | None = None  # a product id
    concentration: Concentration | None = None  # a strength instead of a product
    months: int = 12
    neuro: bool = False
    b12: Measurement | None = None  # the baseline level, e.g. b12 150 pg/mL
    patient: Patient = field(default_factory=Patient)
    open_phase_days: int = OPEN_PHASE_DAYS


@dataclass(frozen=True)
class PlannedAdministration:
    """One dated dose of the plan; the dose given is recorded as ``domain.records.Administration``."""

    date: date
    day: int
    dose_mcg: Decimal
    dose_range: str | None
    volume_ml: Decimal | None
    route: str
    phase: str
    phase_kind: str
    number: int
    syringe_ml: Decimal | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "date": self.date.isoformat(),
            "day": self.day,
            "dose_mcg": self.dose_mcg,
            "dose_range_mcg": self.dose_range,
            "volume_ml": self.volume_ml,
            "route": self.route,
            "phase": self.phase,
            "phase_kind": self.phase_kind,
            "number_in_phase": self.number,
            "syringe_ml": self.syringe_ml,
        }


@dataclass(frozen=True)
class Plan:
    request: PlanRequest
    choice: Choice
    schedule: Schedule
    administrations: tuple[PlannedAdministration, ...]
    labs: tuple[LabCheck, ...]
    supply_first_month: Supply
    supply_horizon: Supply
    product: Product | None
    findings: tuple[Finding, ...]
    fingerprint: str

    @property
    def regimen(self) -> Regimen:
        return self.choice.regimen

    @property
    def stops(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.level is Level.STOP)

    def to_dict(self, kb: Knowledge | None = None) -> dict[str, Any]:
        s = self.schedule
        checkpoints = [
            {"date": c.date.isoformat(), "kind": c.kind, "phase": c.phase, "says": c.says}
            for c in s.checkpoints
        ]
        return {
            "indication": {"id": self.choice.indication.id, "name": self.choice.indication.name},
            "start": s.start.isoformat(),
            "end": s.end.isoformat(),
            "months": self.request.months,
            "product": None if self.product is None else self.product.id,
            "concentration": None
            if self.request.concentration is None
            else str(self.request.concentration),
            "regimen": regimen_dict(self.choice, s),
            "administrations": [a.to_dict() for a in self.administrations],
            "labs": [lab.to_dict() for lab in self.labs],
            "checkpoints": checkpoints,
            "timeline": timeline(self),
            "supply": {
                "first_month": self.supply_first_month.to_dict(),
                "horizon": self.supply_horizon.to_dict(),
            },
            "alternatives": [
                alternative_dict(r) for r in self.choice.candidates if r is not self.regimen
            ],
            "conflicts": [conflict_dict(c, self.regimen) for c in self.choice.conflicts],
            "findings": [f.to_dict() for f in self.findings],
            "fingerprint": self.fingerprint,
        }


def plan_therapy(kb: Knowledge, request: PlanRequest) -> Plan:
    """The whole plan. Input that cannot be understood raises InputError; the rest are findings."""
    if not 1 <= request.months <= 60:
        raise InputError(
            f"{request.months} months: write a whole number of months from 1 to 60", field="months"
        )
    if request.product and request.concentration:
        raise InputError(
            "give a product or a concentration, not both: the product fixes the strength",
            field="product",
            alternatives=("concentration",),
        )
    product: Product | None = kb.get("products", request.product) if request.product else None
    choice = choose_regimen(
        kb,
        request.indication,
        request.regimen,
        neuro=request.neuro,
        patient=request.patient,
        product=product,
    )
    regimen = choice.regimen
    routes = [_route(ph.routes or regimen.routes, product) for ph in regimen.phases]
    end = add_months(request.start, request.months)
    schedule = expand(
        regimen.phases, request.start, end, routes, open_phase_days=request.open_phase_days
    )
    findings: list[Finding] = [
        _chosen(choice),
        *choice.findings,
        *_schedule_findings(regimen, schedule, request),
    ]
    administrations = _administrations(kb, request, schedule.doses, findings, regimen.substance)
    injections = tuple(
        a.date for a in administrations if a.route not in ("oral", "sublingual", "nasal")
    )
    category = choice.indication.category
    ctx = LabContext(
        request.start,
        end,
        injections,
        # A deficiency or an anaemia: potassium in the first 48 h (US label: hypokalaemia).
        treats_anaemia=category in ("haematological", "deficiency")
        or choice.regimen.indication in ("pernicious-anaemia", "megaloblastic-anaemia"),
        treats=category not in ("diagnostic", "prophylaxis"),
        diagnostic_trial=choice.indication.id == "diagnostic-trial",
        pregnant_or_breastfeeding=request.patient.pregnant or request.patient.breastfeeding,
        routes=frozenset(a.route for a in administrations),
    )
    labs, lab_findings = plan_labs(kb, ctx)
    findings += lab_findings
    if request.b12 is not None:
        findings.append(baseline_b12(kb, request.b12, request.patient))
    screened = screening_findings(
        kb,
        request.patient,
        product,
        routes,
        substance=regimen.substance,
        indication=choice.indication.id,
    )
    findings += screened + _other_substance(kb, choice, product, screened)
    month_end = add_months(request.start, 1)
    dispensed = [Dispensed(a.route, a.volume_ml, a.syringe_ml) for a in administrations]
    first_month = [d for d, a in zip(dispensed, administrations, strict=True) if a.date < month_end]
    return Plan(
        request,
        choice,
        schedule,
        administrations,
        labs,
        supply_for("first month", first_month, product),
        supply_for(f"{request.months} months", dispensed, product),
        product,
        tuple(sorted(distinct(findings), key=lambda f: -f.level.rank)),
        kb.fingerprint,
    )


def plan(
    indication: str | None = None,
    *,
    start: date,
    regimen: str | None = None,
    product: str | None = None,
    concentration: Concentration | None = None,
    months: int = 12,
    neuro: bool = False,
    patient: Patient | None = None,
    kb: Knowledge | None = None,
) -> Plan:
    """Public API: ``b12.plan("pernicious anaemia", start=date(2026, 1, 5), product=...)``.

    The Python door: the indication, regimen and product by id, name or synonym."""
    from b12.knowledge.loader import load_knowledge

    kb = kb or load_knowledge()
    request = PlanRequest(
        start,
        kb.lookup("indications", indication, "indication").id if indication else None,
        kb.lookup("regimens", regimen, "regimen").id if regimen else None,
        kb.lookup("products", product, "product").id if product else None,
        concentration,
        months,
        neuro,
        patient=patient or Patient(),
    )
    return plan_therapy(kb, request)


def _route(allowed: tuple[str, ...], product: Product | None) -> str:
    if product is not None:
        for route in allowed:
            if route in product.routes:
                return route
    return allowed[0]


def _chosen(choice: Choice) -> Finding:
    r = choice.regimen
    return finding(
        "PLAN_REGIMEN_CHOSEN",
        Level.INFO,
        f"Following {r.title} ({r.id}): {choice.why}.",
        r.sources,
        {"indication": choice.indication.id, "regimen": r.id, "chosen": choice.how},
    )


def _schedule_findings(regimen: Regimen, schedule: Schedule, request: PlanRequest) -> list[Finding]:
    out = []
    ranged = [p for p in schedule.phases if "(source:" in p.rhythm + p.length]
    if ranged or any(not ph.dose_mcg.is_single for ph in regimen.phases):
        read = "; ".join(f"{p.name}: {p.rhythm}, {p.length}" for p in schedule.phases)
        out.append(
            finding(
                "PLAN_RANGE_READ",
                Level.INFO,
                f"Ranges read as: the longer course, the shorter interval, the lower dose ({read}). Each administration shows the source's range.",
                regimen.sources,
                {"regimen": regimen.id},
            )
        )
    for c in schedule.checkpoints:
        if c.kind == "review":
            out.append(
                finding(
                    "PLAN_OPEN_PHASE_ASSUMED",
                    Level.WARNING,
                    f"{c.phase}: {c.says} Review on {c.date.isoformat()}.",
                    regimen.sources,
                    {"assumed days": request.open_phase_days},
                )
            )
        elif c.kind == "not-scheduled":
            out.append(
                finding(
                    "PLAN_PHASE_NOT_SCHEDULED",
                    Level.WARNING,
                    f"{c.phase}: {c.says}",
                    regimen.sources,
                    {"regimen": regimen.id},
                )
            )
        elif c.kind == "horizon":
            out.append(
                finding(
                    "PLAN_CONTINUES",
                    Level.INFO,
                    f"{c.phase}: {c.says}",
                    regimen.sources,
                    {"end": c.date.isoformat()},
                )
            )
    return out


def _administrations(
    kb: Knowledge,
    request: PlanRequest,
    doses: tuple[ScheduledDose, ...],
    findings: list[Finding],
    substance: str,
) -> tuple[PlannedAdministration, ...]:
    checked: dict[tuple[Decimal, str], DoseResult | None] = {}
    if request.product is None and request.concentration is None:
        findings.append(
            finding(
                "PLAN_NO_VOLUME",
                Level.INFO,
                "No product or concentration: volumes, containers and cost are not calculated.",
                (),
                {},
                suggestion=suggest("name a product (or a concentration)", set="product"),
            )
        )
    out = []
    for d in doses:
        key = (d.dose_mcg, d.route)
        if key not in checked and (request.product or request.concentration):
            checked[key] = _check(kb, request, d, findings, substance)
        result = checked.get(key)
        m = None if result is None else result.measured
        out.append(
            PlannedAdministration(
                d.date,
                d.day,
                d.dose_mcg,
                d.dose_range,
                None if m is None else m.rounded_ml,
                d.route,
                d.phase,
                d.phase_kind,
                d.number,
                None if m is None else m.syringe_ml,
            )
        )
    return tuple(out)


def _check(
    kb: Knowledge, request: PlanRequest, d: ScheduledDose, findings: list[Finding], substance: str
) -> DoseResult | None:
    dose = DoseRequest(
        ParsedDose.of(Mass(d.dose_mcg)),
        request.product,
        request.concentration,
        d.route,
        patient=request.patient,
        substance=None if request.product else substance,
        screen_patient=False,  # the plan screens the patient once, with its indication
    )
    try:
        result = calculate_dose(kb, dose)
    except InputError as exc:
        findings.append(
            finding(
                "PLAN_VOLUME_NOT_MEASURABLE",
                Level.WARNING,
                f"{d.phase}: {exc}",
                (),
                {"dose_mcg": d.dose_mcg},
            )
        )
        return None
    findings.extend(result.findings)
    return result


def _other_substance(
    kb: Knowledge, choice: Choice, product: Product | None, screened: list[Finding]
) -> list[Finding]:
    """When a warning or stop advises against the plan's own substance, the regimens of the same
    indication with another cobalamin (Leber's disease: hydroxocobalamin, not cyanocobalamin)."""
    given = (
        {i.substance for i in product.ingredients if i.substance.endswith("cobalamin")}
        if product
        else {choice.regimen.substance}
    )
    return other_substance(kb, choice, given, screened)


def advising_against(given: set[str], screened: list[Finding]) -> list[Finding]:
    """The warnings and stops that advise against one of the cobalamins ``given`` for a condition."""
    return [
        f
        for f in screened
        if f.level is not Level.INFO
        and f.basis.values.get("substance") in given
        and "condition" in f.basis.values
    ]


def other_substance(
    kb: Knowledge, choice: Choice, given: set[str], screened: list[Finding]
) -> list[Finding]:
    """PLAN_SUBSTANCE_ADVISED_AGAINST when a screening finding advises against the cobalamins
    ``given`` (a plan's, or an order's): the indication's regimen with another one, named."""
    against = advising_against(given, screened)
    if not against:
        return []
    others = [
        r
        for r in kb.regimens_for(choice.indication.id)
        if r.substance not in given and r.status != "contradicted"
    ]
    codes = ", ".join(dict.fromkeys(f.code for f in against))
    substances = ", ".join(sorted(given))
    if not others:
        return [
            finding(
                "PLAN_SUBSTANCE_ADVISED_AGAINST",
                Level.WARNING,
                f"{codes} advises against {substances} here, and the knowledge base has no regimen "
                f"for {choice.indication.name} with another cobalamin: ask a specialist.",
                tuple(dict.fromkeys(s for f in against for s in f.basis.sources)),
                {"substance": substances, "indication": choice.indication.id},
            )
        ]
    best = others[0]
    products = [
        p.id
        for p in kb.products.values()
        if p.form == "injection" and any(i.substance == best.substance for i in p.ingredients)
    ]
    regimen = (
        f"the regimen followed, {best.title} ({best.id}), is written for {best.substance}"
        if best.id == choice.regimen.id
        else f"the knowledge base's {best.substance} regimen for {choice.indication.name} is "
        f"{best.title} ({best.id})"
    )
    return [
        finding(
            "PLAN_SUBSTANCE_ADVISED_AGAINST",
            Level.WARNING,
            f"{codes} advises against {substances} here; {regimen}: give it with a "
            f"{best.substance} product ({', '.join(products[:3]) or 'none in the knowledge base'}).",
            tuple(dict.fromkeys([*(s for f in against for s in f.basis.sources), *best.sources])),
            {"substance": substances, "indication": choice.indication.id, "regimen": best.id},
            suggestion=suggest(
                f"follow {best.title} with a {best.substance} product", set="regimen", to=best.id
            ),
        )
    ]
