"""From an order to the volume to draw: parse, convert, choose the syringe, say what to open, check.

Finding codes raised here (level):
  DOSE_IU_ASSUMED (warning)          an IU dose read as mcg on request
  DOSE_UNIT_SLIP (stop)              a mg/mcg slip: the dose is implausible, its mcg reading is not
  DOSE_IMPLAUSIBLE (stop)            >= 10x the largest single injected dose of any trusted regimen
  DOSE_ABOVE_TRUSTED_MAX (warning)   above that largest dose, below 10x
  DOSE_OUTSIDE_INDICATION (warning)  outside every dose range the indication's regimens use for the
                                     patient's age group (a child's: the children's regimen)
  VOLUME_IMPLAUSIBLE (stop)          no injection site takes the volume at any age
  VOLUME_ABOVE_AGE_LIMITS (warning)  no site takes the volume at the patient's age
  VOLUME_ROUNDED (info)              the syringe cannot measure the exact volume; rounding stated
  SITE_VOLUME_LIMIT (warning)        the volume exceeds the site's limit for the patient's age
  SITE_AVOID (warning)               a site the sources advise against
  SITE_ROUTE_MISMATCH (warning)      the site is not used for the route
  SITE_NO_LIMIT_FOR_AGE (warning)    the sources give the site no volume limit at this age
  SITE_SUGGESTION (info)             sites that take the volume (when no site was given)
  SITE_NO_LIMIT_AT_AGE (warn.|info)  no sourced site limit at this age (3-17 years): the volume
                                     judged by the nearest younger age band's limits
  ROUTE_NOT_FOR_PRODUCT (stop|warn.) not made for the route (stop: injecting a tablet or drops)
  ROUTE_AVOID (warning)              the product's sources advise against the route
  ROUTE_SPECIALIST_ONLY (warning)    a route only a specialist should use
  PRODUCT_EXPIRED (stop)             the expiry date has passed
  COMBINATION_INGREDIENTS (info)     what else the volume delivers (thiamine, lidocaine...)
  DOSE_NOT_WHOLE_UNITS (warning)     a tablet/spray dose that is not a whole number of units
Every order is also screened (codes: b12.services.screening): its route against its substance
(the product's ingredients, or the substance given with a bare strength) and the product's
excipients and form, always; the patient too when any patient detail is given (age, pregnancy,
breastfeeding, conditions, medicines, allergies, syringe partners). A substance's route rule
replaces the product's own route advice for that route; otherwise a code a dose check above
already raised is not repeated.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_CEILING, Decimal
from typing import TYPE_CHECKING, Any, Literal

from b12.domain.display import format_mass, format_number, format_volume
from b12.domain.dose_input import ParsedDose
from b12.domain.findings import Finding, Level, finding
from b12.domain.patient import Patient
from b12.domain.quantity import Concentration, Mass, exact_divide, exact_multiply
from b12.domain.routes import route_id
from b12.domain.volume import Measured, draw
from b12.errors import InputError
from b12.knowledge.base import Knowledge
from b12.services.dose_checks import (
    indication_range,
    plausibility,
    product_checks,
    site_checks,
    weak_positions,
)
from b12.services.patient_groups import population_of

if TYPE_CHECKING:
    from b12.knowledge.entries import Product


@dataclass(frozen=True)
class DoseRequest:
    """One order, read: an adapter turns what was typed (or sent) into these values."""

    dose: ParsedDose  # the mass, and how it was written (ParsedDose.of for a bare quantity)
    product: str | None = None  # a product id (names are resolved by the adapter)
    concentration: Concentration | None = None  # a strength instead of a product
    route: str | None = None  # a route id (b12.domain.routes.ROUTES); default: the product's
    site: str | None = None
    indication: str | None = None  # an indication id
    patient: Patient = field(default_factory=Patient)
    expiry: date | None = None
    today: date | None = None
    mix: tuple[str, ...] = ()
    substance: str | None = None  # the cobalamin of a bare strength (a product names its own)
    screen_patient: bool = True  # False where the caller screens the patient itself (a plan)
    # False where an order may come without its strength (an EHR's order of a bare cobalamin):
    # every check but the volume runs
    needs_strength: bool = True


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
    parsed = request.dose
    product = _product(kb, request.product) if request.product else None
    concentration = (
        _concentration(product, request.concentration)
        if request.needs_strength or product is not None or request.concentration is not None
        else None
    )
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
                weak_positions(iu) if iu else ("seed-000",),
                {"dose as written": parsed.text, "read as": format_mass(parsed.mass.mcg)},
                conflict=iu.id if iu else None,
            )
        )
    findings += plausibility(
        kb, parsed.mass, slip_possible=not parsed.assumed_iu_is_mcg, route=route
    )
    if request.indication:
        population = population_of(patient)
        findings += indication_range(kb, request.indication, parsed.mass, population)

    measured: Measured | None = None
    units: Decimal | None = None
    containers: tuple[Opened, ...] = ()
    ingredients: tuple[IngredientDose, ...] = ()
    if product is not None and product.form != "injection":
        units, unit_findings = _units(product, parsed.mass)
        findings += unit_findings
    elif concentration is not None and not (findings and _any_stop(findings)):
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
        findings += site_checks(kb, request.site, route, measured.rounded_ml, patient)
        if product is not None:
            containers = _containers(product, measured.rounded_ml)
            ingredients = _ingredients(kb, product, measured.rounded_ml)
            findings += _combination(product, ingredients)
    if product is not None:
        findings += product_checks(kb, product, route)
    if request.expiry is not None and request.today is not None and request.expiry < request.today:
        findings.append(
            finding(
                "PRODUCT_EXPIRED",
                Level.STOP,
                f"The product expired on {request.expiry.isoformat()}; do not use it.",
                (),
                {"expiry": request.expiry.isoformat(), "today": request.today.isoformat()},
            )
        )
    findings += _screening(kb, request, product, route, findings)
    return DoseResult(
        parsed,
        route,
        product,
        concentration,
        measured,
        units,
        containers,
        ingredients,
        # sorted is stable: one finding (the common case) needs no key computed
        tuple(sorted(findings, key=lambda f: -f.level.rank) if len(findings) > 1 else findings),
        kb.fingerprint,
    )


def _screening(
    kb: Knowledge, request: DoseRequest, product: Product | None, route: str, raised: list[Finding]
) -> list[Finding]:
    """The screening of the order (always: route x substance x excipients) and of the patient
    (when a detail is given). A substance's route rule replaces the product's own advice for that
    route, so one fact gives one finding; otherwise the dose checks' findings win."""
    from b12.services.screening import order_findings, screen_patient

    patient = request.patient
    form = product.form if product is not None else "injection"
    substance = request.substance
    found: tuple[Finding, ...]
    if request.screen_patient and (patient.screenable or request.mix or request.indication):
        found = screen_patient(
            kb, patient, product=product.id if product else None, route=route, mix=request.mix,
            substance=substance, form=form, indication=request.indication,
        ).findings  # fmt: skip
    else:
        found = order_findings(
            kb, route, product=product.id if product else None, substance=substance, form=form
        )
    if any(f.code.startswith("ROUTE_") for f in found):
        raised[:] = [f for f in raised if f.code not in PRODUCT_ROUTE_ADVICE]
    already = {f.code for f in raised}
    return [f for f in found if f.code not in already]


#: The product's own route advice, which a substance's route rule says better.
PRODUCT_ROUTE_ADVICE = frozenset({"ROUTE_AVOID", "ROUTE_SPECIALIST_ONLY"})


def _any_stop(findings: list[Finding]) -> bool:
    return any(f.level is Level.STOP for f in findings)


def _product(kb: Knowledge, product_id: str) -> Product:
    product: Product = kb.get("products", product_id)
    return product


def one_strength(product: bool, concentration: bool) -> None:
    """An order names its strength once: by a product, or by a concentration."""
    if not product and not concentration:
        raise InputError(
            "name a product or a concentration, e.g. 1000mcg/mL",
            field="product",
            alternatives=("concentration",),
            listed="products",
        )
    if product and concentration:
        raise InputError(
            "give a product or a concentration, not both: the product fixes the strength",
            field="product",
            alternatives=("concentration",),
        )


def _concentration(
    product: Product | None, concentration: Concentration | None
) -> Concentration | None:
    one_strength(product is not None, concentration is not None)
    if concentration is not None:
        return concentration
    assert product is not None
    if product.form != "injection":
        return None
    strength = cobalamin_strength(product)
    if strength is not None:
        return strength
    raise InputError(
        f"the strength of {product.id} is not in the knowledge base (its sources do not give it); "
        "read it from the label and give it as the concentration, e.g. 1000mcg/mL",
        field="concentration",
    )


def cobalamin_strength(product: Product) -> Concentration | None:
    """The product's cobalamin per mL, as the knowledge gives it (None where it does not)."""
    for ingredient in product.ingredients:
        cobalamin = ingredient.substance.endswith("cobalamin")
        if cobalamin and ingredient.amount_mcg is not None and ingredient.per_ml is not None:
            return Concentration(ingredient.amount_mcg, ingredient.per_ml)
    return None


def _route(route: str | None, product: Product | None) -> str:
    if route is None:
        return product.routes[0] if product is not None else "IM"
    return route_id(route)


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
        if ingredient.amount_mcg is None or ingredient.per_ml is None:
            continue
        # amount x volume / the volume the label states it per: 100 mg/3 mL x 3 mL = 100 mg exactly
        held, exact_product = exact_multiply(ingredient.amount_mcg, volume_ml)
        amount, exact_quotient = exact_divide(held, ingredient.per_ml)
        substance = kb.get("substances", ingredient.substance)
        # B12 always in mcg (ISMP); other ingredients in mg from 1 mg up, as their labels print them.
        unit: Literal["mcg", "mg"] = (
            "mcg" if ingredient.substance.endswith("cobalamin") or amount < 1000 else "mg"
        )
        if exact_product and exact_quotient:
            shown = format_mass(amount, unit)
        else:
            shown = "about " + format_mass(amount, unit, places=1)
        out.append(IngredientDose(substance.id, substance.name, amount, shown))
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
        if (
            ingredient.substance.endswith("cobalamin")
            and ingredient.amount_mcg
            and ingredient.per_unit
        ):
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
    raise InputError(
        f"the strength of {product.id} is not in the knowledge base; it cannot be dosed by b12",
        field="product",
    )
