"""From an order to the volume to draw: parse, convert, choose the syringe, say what to open, check.

Finding codes raised here (level):
  DOSE_IU_ASSUMED (warning)          an IU dose read as mcg on request
  DOSE_UNIT_SLIP (stop)              a mg/mcg slip: the dose is implausible, its mcg reading is not
  DOSE_IMPLAUSIBLE (stop)            >= 10x the largest single injected dose of any trusted regimen
  DOSE_ABOVE_TRUSTED_MAX (warning)   above that largest dose, below 10x
  DOSE_OUTSIDE_INDICATION (warning)  outside every dose range the indication's regimens use
  VOLUME_IMPLAUSIBLE (stop)          no injection site takes the volume at any age
  VOLUME_ABOVE_AGE_LIMITS (warning)  no site takes the volume at the patient's age
  VOLUME_ROUNDED (info)              the syringe cannot measure the exact volume; rounding stated
  SITE_VOLUME_LIMIT (warning)        the volume exceeds the site's limit for the patient's age
  SITE_AVOID (warning)               a site the sources advise against
  SITE_ROUTE_MISMATCH (warning)      the site is not used for the route
  SITE_NO_LIMIT_FOR_AGE (warning)    the sources give the site no volume limit at this age
  SITE_SUGGESTION (info)             sites that take the volume (when no site was given)
  ROUTE_NOT_FOR_PRODUCT (stop)       the product is not made for the route
  ROUTE_AVOID (warning)              the product's sources advise against the route
  ROUTE_SPECIALIST_ONLY (warning)    a route only a specialist should use
  PRODUCT_EXPIRED (stop)             the expiry date has passed
  PRODUCT_AGE_LIMIT (warning)        the patient is younger than the product's age limit
  EXCIPIENT_NEONATE (warning)        benzyl alcohol in a neonate or premature infant
  COMBINATION_INGREDIENTS (info)     what else the volume delivers (thiamine, lidocaine...)
  DOSE_NOT_WHOLE_UNITS (warning)     a tablet/spray dose that is not a whole number of units
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_CEILING, Decimal
from functools import lru_cache
from typing import Any

from b12.domain.display import format_mass, format_number, format_volume
from b12.domain.findings import Finding, Level, finding
from b12.domain.patient import ADULT_MONTHS, Patient
from b12.domain.quantity import Concentration, Mass, ParsedDose, parse_concentration, parse_dose
from b12.domain.volume import Measured, draw
from b12.errors import InputError
from b12.knowledge.loader import Knowledge
from b12.knowledge.schema import InjectionSite, Product

INJECTED = frozenset({"IM", "SC", "deep-SC", "IV", "intrathecal"})
ROUTES = ("IM", "SC", "deep-SC", "IV", "intrathecal", "oral", "sublingual", "nasal")
TRUSTED = 4  # guideline or regulatory
SLIP_FACTOR = Decimal(10)
NEONATE_MONTHS = Decimal(1)


@dataclass(frozen=True)
class DoseRequest:
    dose: str
    product: str | None = None
    concentration: str | None = None
    route: str | None = None
    site: str | None = None
    indication: str | None = None
    patient: Patient = field(default_factory=Patient)
    assume_iu_is_mcg: bool = False
    expiry: date | None = None
    today: date | None = None


@dataclass(frozen=True)
class Opened:
    """What to open for one dose."""

    kind: str
    count: int
    volume_each_ml: Decimal | None
    use_ml: Decimal | None
    left_ml: Decimal | None  # discarded (single use) or left in the vial (multi-dose)
    note: str


@dataclass(frozen=True)
class IngredientDose:
    substance: str
    name: str
    amount_mcg: Decimal
    shown: str


@dataclass(frozen=True)
class DoseResult:
    dose: ParsedDose
    route: str
    product: Product | None
    concentration: Concentration | None
    measured: Measured | None
    units: Decimal | None  # tablets, sprays or drops, for products dosed per unit
    containers: tuple[Opened, ...]
    ingredients: tuple[IngredientDose, ...]
    findings: tuple[Finding, ...]
    fingerprint: str

    @property
    def dose_mcg(self) -> Decimal:
        return self.dose.mass.mcg

    @property
    def stops(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.level is Level.STOP)

    def to_dict(self) -> dict[str, Any]:
        m = self.measured
        return {
            "dose_mcg": self.dose_mcg,
            "dose": format_mass(self.dose_mcg),
            "dose_as_written": self.dose.text,
            "route": self.route,
            "product": None if self.product is None else self.product.id,
            "concentration": None if self.concentration is None else str(self.concentration),
            "volume_ml": None if m is None else m.rounded_ml,
            "volume": None if m is None else format_volume(m.rounded_ml),
            "volume_exact_ml": None if m is None else _exact_or_cut(m.volume_ml, m.exact),
            "syringe": None
            if m is None
            else {
                "capacity_ml": m.syringe_ml,
                "graduation_ml": m.graduation_ml,
                "rounded": m.rounded,
                "rounding": m.rounding,
                "delivered_mcg": m.delivered_mcg,
                "statement": m.describe(),
            },
            "units": self.units,
            "containers": [vars(c) for c in self.containers],
            "ingredients": [vars(i) for i in self.ingredients],
            "findings": [f.to_dict() for f in self.findings],
            "fingerprint": self.fingerprint,
        }


def _exact_or_cut(value: Decimal, exact: bool) -> Decimal:
    return value if exact else value.quantize(Decimal("0.000001"))


def calculate_dose(kb: Knowledge, request: DoseRequest) -> DoseResult:
    """The whole dose check. Input that cannot be understood raises InputError; the rest are findings."""
    parsed = parse_dose(request.dose, assume_iu_is_mcg=request.assume_iu_is_mcg)
    product = _product(kb, request.product) if request.product else None
    concentration = _concentration(product, request.concentration)
    route = _route(request.route, product)
    patient = request.patient
    findings: list[Finding] = []
    if parsed.assumed_iu_is_mcg:
        iu = kb.conflicts.get("b12-international-unit")
        findings.append(
            finding(
                "DOSE_IU_ASSUMED",
                Level.WARNING,
                f"'{parsed.text}' was read as {format_mass(parsed.mass.mcg)}: vitamin B12 has no "
                "international unit; 1 IU = 1 mcg is an assumption made on request, from a weak source.",
                _weak_positions(iu) if iu else ("seed-000",),
                {"dose as written": parsed.text, "read as": format_mass(parsed.mass.mcg)},
                conflict=iu.id if iu else None,
            )
        )
    findings += _plausibility(kb, parsed.mass, slip_possible=not parsed.assumed_iu_is_mcg)
    if request.indication:
        findings += _indication_range(kb, request.indication, parsed.mass)

    measured: Measured | None = None
    units: Decimal | None = None
    containers: tuple[Opened, ...] = ()
    ingredients: tuple[IngredientDose, ...] = ()
    if product is not None and product.form != "injection":
        units, unit_findings = _units(product, parsed.mass)
        findings += unit_findings
    elif concentration is not None and not _any_stop(findings):
        measured = draw(parsed.mass, concentration)
        if measured.rounded:
            findings.append(
                finding(
                    "VOLUME_ROUNDED",
                    Level.INFO,
                    f"Draw {format_volume(measured.rounded_ml)}: {measured.describe()}.",
                    (),
                    {"exact volume": _exact_or_cut(measured.volume_ml, measured.exact)},
                )
            )
        findings += _site_checks(kb, request.site, route, measured.rounded_ml, patient)
        if product is not None:
            containers = _containers(product, measured.rounded_ml)
            ingredients = _ingredients(kb, product, measured.rounded_ml)
            findings += _combination(product, ingredients)
    if product is not None:
        findings += _product_checks(kb, product, route, patient, request.expiry, request.today)
    return DoseResult(
        parsed,
        route,
        product,
        concentration,
        measured,
        units,
        containers,
        ingredients,
        tuple(sorted(findings, key=lambda f: -f.level.rank)),
        kb.fingerprint,
    )


def _weak_positions(conflict: Any) -> tuple[str, ...]:
    """The sources of the positions a conflict does not follow (what an assumption rests on)."""
    return tuple(s for p in conflict.positions if p.id != conflict.default for s in p.sources)


def _any_stop(findings: list[Finding]) -> bool:
    return any(f.level is Level.STOP for f in findings)


def _product(kb: Knowledge, name: str) -> Product:
    product: Product = kb.lookup("products", name, "product")
    return product


def _b12_ingredient_mcg_per_ml(product: Product) -> Decimal | None:
    for ingredient in product.ingredients:
        if ingredient.substance.endswith("cobalamin") and ingredient.mcg_per_ml is not None:
            return ingredient.mcg_per_ml
    return None


def _concentration(product: Product | None, text: str | None) -> Concentration | None:
    if product is None and text is None:
        raise InputError("give --product ID (see `b12 products`) or --concentration, e.g. 1000mcg/mL")
    if product is not None and text is not None:
        raise InputError("give --product or --concentration, not both: the product fixes the strength")
    if text is not None:
        return parse_concentration(text)
    assert product is not None
    if product.form != "injection":
        return None
    for ingredient in product.ingredients:
        if ingredient.substance.endswith("cobalamin") and ingredient.amount_mcg is not None:
            if ingredient.per_ml is not None:
                return Concentration(ingredient.amount_mcg, ingredient.per_ml)
    raise InputError(
        f"the strength of {product.id} is not in the knowledge base (its sources do not give it); "
        "read it from the label and give --concentration, e.g. 1000mcg/mL"
    )


def _route(text: str | None, product: Product | None) -> str:
    if text is None:
        return product.routes[0] if product is not None else "IM"
    for route in ROUTES:
        if text.strip().lower().replace("_", "-") in (route.lower(), route.lower().replace("-", " ")):
            return route
    aliases = {"intramuscular": "IM", "subcutaneous": "SC", "intravenous": "IV", "intralumbar": "intrathecal"}
    if text.strip().lower() in aliases:
        return aliases[text.strip().lower()]
    raise InputError(f"unknown route {text!r}: write one of {', '.join(ROUTES)}")


@lru_cache(maxsize=8)
def largest_trusted_dose(kb: Knowledge) -> tuple[Decimal, tuple[str, ...]]:
    """The largest single injected dose any trusted regimen uses, and the regimens that use it."""
    best = Decimal(0)
    ids: list[str] = []
    for regimen in kb.regimens.values():
        if kb.trust(regimen.sources) < TRUSTED or regimen.status == "contradicted":
            continue
        for phase in regimen.phases:
            routes = phase.routes or regimen.routes
            if not INJECTED & set(routes):
                continue
            top = (phase.dose_to_mcg or phase.dose_mcg).max
            if top > best:
                best, ids = top, [regimen.id]
            elif top == best:
                ids.append(regimen.id)
    return best, tuple(ids)


def _regimen_sources(kb: Knowledge, regimen_ids: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(s for r in regimen_ids for s in kb.regimens[r].sources))


def _plausibility(kb: Knowledge, mass: Mass, *, slip_possible: bool) -> list[Finding]:
    top, regimen_ids = largest_trusted_dose(kb)
    sources = _regimen_sources(kb, regimen_ids)
    values = {"dose": format_mass(mass.mcg), "largest trusted single dose": format_mass(top)}
    if mass.mcg >= top * SLIP_FACTOR:
        as_mcg = mass.mcg / 1000
        if slip_possible and 1 <= as_mcg <= top:
            return [
                finding(
                    "DOSE_UNIT_SLIP",
                    Level.STOP,
                    f"{format_mass(mass.mcg)} is {format_number(mass.mcg / top)} times the largest single "
                    f"dose any trusted regimen injects ({format_mass(top)}): a mg/mcg slip? The likely "
                    f"intended dose is {format_mass(as_mcg)}.",
                    sources,
                    values,
                    suggestion=format_mass(as_mcg),
                )
            ]
        return [
            finding(
                "DOSE_IMPLAUSIBLE",
                Level.STOP,
                f"{format_mass(mass.mcg)} is at least 10 times the largest single dose any trusted regimen "
                f"injects ({format_mass(top)}). Check the order.",
                sources,
                values,
            )
        ]
    if mass.mcg > top:
        return [
            finding(
                "DOSE_ABOVE_TRUSTED_MAX",
                Level.WARNING,
                f"{format_mass(mass.mcg)} is above the largest single dose any trusted regimen injects "
                f"({format_mass(top)}).",
                sources,
                values,
            )
        ]
    return []


def _indication_range(kb: Knowledge, name: str, mass: Mass) -> list[Finding]:
    indication = kb.lookup("indications", name, "indication")
    regimens = [r for r in kb.regimens_for(indication.id) if r.status != "contradicted"]
    trusted = [r for r in regimens if kb.trust(r.sources) >= TRUSTED] or regimens
    if not trusted:
        return [
            finding(
                "DOSE_OUTSIDE_INDICATION",
                Level.INFO,
                f"No regimen in the knowledge base doses {indication.name}; the dose was not range-checked.",
                indication.sources,
                {"indication": indication.id},
            )
        ]
    ranges = sorted({(p.dose_mcg.min, (p.dose_to_mcg or p.dose_mcg).max) for r in trusted for p in r.phases})
    if any(low <= mass.mcg <= high for low, high in ranges):
        return []
    shown = ", ".join(
        format_mass(lo) if lo == hi else f"{format_number(lo)}-{format_mass(hi)}" for lo, hi in ranges
    )
    return [
        finding(
            "DOSE_OUTSIDE_INDICATION",
            Level.WARNING,
            f"{format_mass(mass.mcg)} is outside the doses the regimens for {indication.name} use ({shown}).",
            tuple(dict.fromkeys(s for r in trusted for s in r.sources)),
            {"dose": format_mass(mass.mcg), "indication": indication.id, "regimens": ", ".join(r.id for r in trusted)},
        )
    ]


def _site_limit(kb: Knowledge, site: InjectionSite, age_months: Decimal) -> tuple[Decimal, tuple[str, ...]] | None:
    """The site's maximum volume for this age, from its most trusted limit."""
    matching = [
        lim
        for lim in site.limits
        if lim.age_from_months <= age_months and (lim.age_to_months is None or age_months < lim.age_to_months)
    ]
    if not matching:
        return None
    best = max(kb.trust(lim.sources) for lim in matching)
    chosen = min((lim for lim in matching if kb.trust(lim.sources) == best), key=lambda lim: lim.max_ml)
    return chosen.max_ml, chosen.sources


def _site_checks(
    kb: Knowledge, site_name: str | None, route: str, volume_ml: Decimal, patient: Patient
) -> list[Finding]:
    if route not in INJECTED:
        return []
    age = patient.age_months if patient.age_months is not None else ADULT_MONTHS
    age_note = patient.describe_age() + ("" if patient.age_known else " (adult limits used)")
    sites: list[InjectionSite] = list(kb.all("sites").values())
    limits = {s.id: _site_limit(kb, s, age) for s in sites}
    takers = [
        (s, lim)
        for s in sites
        if (lim := limits[s.id]) is not None and not s.avoid and route in s.routes and volume_ml <= lim[0]
    ]
    largest = max((lim.max_ml for s in sites for lim in s.limits), default=None)
    if largest is not None and volume_ml > largest:
        all_sources = tuple(dict.fromkeys(src for s in sites for lim in s.limits for src in lim.sources))
        return [
            finding(
                "VOLUME_IMPLAUSIBLE",
                Level.STOP,
                f"No injection site takes {format_volume(volume_ml)} in one injection at any age (the "
                f"largest is {format_volume(largest)}). Check the dose and the strength.",
                all_sources,
                {"volume": format_volume(volume_ml)},
            )
        ]
    out: list[Finding] = []
    known_here = [(s, lim) for s in sites if (lim := limits[s.id]) is not None and route in s.routes]
    if not takers and known_here:
        out.append(
            finding(
                "VOLUME_ABOVE_AGE_LIMITS",
                Level.WARNING,
                f"No {route} site takes {format_volume(volume_ml)} in one injection at age {age_note} "
                f"({', '.join(f'{s.name} up to {format_volume(lim[0])}' for s, lim in known_here)}); "
                "split the dose between sites or check the order.",
                tuple(dict.fromkeys(src for _, lim in known_here for src in lim[1])),
                {"volume": format_volume(volume_ml), "age": age_note},
            )
        )
    taker_names = ", ".join(f"{s.name} (up to {format_volume(lim[0])})" for s, lim in takers) or "none"
    if site_name is None:
        if not takers:
            return out
        return [
            finding(
                "SITE_SUGGESTION",
                Level.INFO,
                f"Sites that take {format_volume(volume_ml)} {route} at age {age_note}: {taker_names}.",
                tuple(dict.fromkeys(src for _, lim in takers for src in lim[1])),
                {"volume": format_volume(volume_ml), "age": age_note},
            )
        ]
    site: InjectionSite = kb.lookup("sites", site_name, "site")
    if site.avoid:
        out.append(
            finding(
                "SITE_AVOID",
                Level.WARNING,
                f"The sources advise against the {site.name} ({site.note or 'see its sources'}). "
                f"Sites that take this volume: {taker_names}.",
                site.sources,
                {"site": site.id},
                conflict=site.conflict,
            )
        )
    if route not in site.routes:
        out.append(
            finding(
                "SITE_ROUTE_MISMATCH",
                Level.WARNING,
                f"The {site.name} is used for {', '.join(site.routes)}, not {route}.",
                site.sources,
                {"site": site.id, "route": route},
            )
        )
    limit = _site_limit(kb, site, age)
    if limit is None:
        out.append(
            finding(
                "SITE_NO_LIMIT_FOR_AGE",
                Level.WARNING,
                f"The sources give no volume limit for the {site.name} at age {age_note}. "
                f"Sites with a known limit that take {format_volume(volume_ml)}: {taker_names}.",
                site.sources,
                {"site": site.id, "age": age_note},
            )
        )
    elif volume_ml > limit[0]:
        out.append(
            finding(
                "SITE_VOLUME_LIMIT",
                Level.WARNING,
                f"{format_volume(volume_ml)} is more than the {site.name} takes at age {age_note} "
                f"(up to {format_volume(limit[0])}). Sites that take it: {taker_names}.",
                limit[1],
                {"volume": format_volume(volume_ml), "site": site.id, "age": age_note},
            )
        )
    return out


def _containers(product: Product, use_ml: Decimal) -> tuple[Opened, ...]:
    box = product.container
    if box.volume_ml is None:
        return ()
    if box.kind == "multi-dose-vial":
        count = int((use_ml / box.volume_ml).to_integral_value(ROUND_CEILING))
        left = count * box.volume_ml - use_ml
        note = (
            f"draw {format_volume(use_ml)} from a {format_volume(box.volume_ml)} multi-dose vial; "
            f"{format_volume(left)} stays in it (record the date opened)"
        )
        return (Opened(box.kind, count, box.volume_ml, use_ml, left, note),)
    count = int((use_ml / box.volume_ml).to_integral_value(ROUND_CEILING))
    left = count * box.volume_ml - use_ml
    note = f"open {count} {box.kind.replace('-', ' ')}{'s' if count > 1 else ''} of {format_volume(box.volume_ml)}"
    note += f"; discard the {format_volume(left)} left (single use)" if left else ""
    return (Opened(box.kind, count, box.volume_ml, use_ml, left, note),)


def _ingredients(kb: Knowledge, product: Product, volume_ml: Decimal) -> tuple[IngredientDose, ...]:
    out = []
    for ingredient in product.ingredients:
        per_ml = ingredient.mcg_per_ml
        if per_ml is None:
            continue
        amount = per_ml * volume_ml
        substance = kb.get("substances", ingredient.substance)
        unit = "mcg" if ingredient.substance.endswith("cobalamin") or amount < 1000 else "mg"
        out.append(IngredientDose(substance.id, substance.name, amount, format_mass(amount, unit)))
    return tuple(out)


def _combination(product: Product, ingredients: tuple[IngredientDose, ...]) -> list[Finding]:
    others = [i for i in ingredients if not i.substance.endswith("cobalamin")]
    if not others:
        return []
    shown = ", ".join(f"{i.shown} {i.name}" for i in others)
    return [
        finding(
            "COMBINATION_INGREDIENTS",
            Level.INFO,
            f"{product.name} is a combination: this volume also gives {shown}.",
            product.sources,
            {"product": product.id},
        )
    ]


def _units(product: Product, mass: Mass) -> tuple[Decimal | None, list[Finding]]:
    for ingredient in product.ingredients:
        if ingredient.substance.endswith("cobalamin") and ingredient.amount_mcg and ingredient.per_unit:
            units = mass.mcg / ingredient.amount_mcg
            if units == units.to_integral_value():
                return units, []
            return units, [
                finding(
                    "DOSE_NOT_WHOLE_UNITS",
                    Level.WARNING,
                    f"{format_mass(mass.mcg)} is {format_number(units.quantize(Decimal('0.01')))} "
                    f"{ingredient.per_unit}s of {format_mass(ingredient.amount_mcg)}: not a whole number.",
                    product.sources,
                    {"product": product.id},
                )
            ]
    raise InputError(f"the strength of {product.id} is not in the knowledge base; it cannot be dosed by b12")


def _product_checks(
    kb: Knowledge, product: Product, route: str, patient: Patient, expiry: date | None, today: date | None
) -> list[Finding]:
    out: list[Finding] = []
    if route not in product.routes:
        out.append(
            finding(
                "ROUTE_NOT_FOR_PRODUCT",
                Level.STOP,
                f"{product.name} is not made for {route}; its routes are {', '.join(product.routes)}.",
                product.sources,
                {"route": route, "product": product.id},
            )
        )
    for advice in product.route_advice:
        if advice.route != route or advice.status == "contradicted":
            continue
        if advice.advice == "avoid":
            out.append(
                finding("ROUTE_AVOID", Level.WARNING, f"{route}: {advice.says}", advice.sources, {"route": route})
            )
        elif advice.advice == "specialist-only":
            out.append(
                finding(
                    "ROUTE_SPECIALIST_ONLY", Level.WARNING, f"{route}: {advice.says}", advice.sources, {"route": route}
                )
            )
    if expiry is not None and today is not None and expiry < today:
        out.append(
            finding(
                "PRODUCT_EXPIRED",
                Level.STOP,
                f"The product expired on {expiry.isoformat()}; do not use it.",
                (),
                {"expiry": expiry.isoformat(), "today": today.isoformat()},
            )
        )
    age_years = patient.age_years
    if age_years is not None:
        for limit in product.age_limits:
            if age_years < limit.min_years:
                out.append(
                    finding(
                        "PRODUCT_AGE_LIMIT",
                        Level.WARNING,
                        f"{product.name}: {limit.says}",
                        limit.sources,
                        {"age": patient.describe_age(), "minimum age": f"{format_number(limit.min_years)} years"},
                    )
                )
                break
    if patient.age_months is not None and patient.age_months < NEONATE_MONTHS:
        for excipient in product.excipients:
            if excipient.substance == "benzyl-alcohol":
                out.append(
                    finding(
                        "EXCIPIENT_NEONATE",
                        Level.WARNING,
                        f"{product.name} contains benzyl alcohol, linked to a fatal 'gasping syndrome' in "
                        "premature infants and neonates; choose a preservative-free product.",
                        excipient.sources,
                        {"age": patient.describe_age(), "excipient": "benzyl alcohol"},
                    )
                )
    return out
