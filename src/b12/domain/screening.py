"""The screening engine: match a resolved patient profile against rule triggers, build findings.

Pure: it knows nothing of files or names. The service resolves what people typed into knowledge
ids (a medicine with its classes, an allergy with what it covers) and hands over the rules.
A trigger matches when every field it sets matches; within one list, any item matches.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Protocol

from b12.domain.findings import Finding, Level, finding

#: The findings a screening rule may raise as a `stop`. Each is listed here on purpose: a label's
#: contraindication (cobalamin or cobalt hypersensitivity; a combination product's own
#: contraindications) or an order that is never ordinary (B12 into the spinal canal).
HARD_STOPS = frozenset(
    {
        "COBALAMIN_HYPERSENSITIVITY",
        "PRODUCT_CONTRAINDICATED",
        "ROUTE_INTRATHECAL",
        "ROUTE_INTRATHECAL_PRESERVED",
    }
)
#: Hard stops that no reason lifts: a preserved product into the spinal canal.
NO_BYPASS = frozenset({"ROUTE_INTRATHECAL_PRESERVED"})
#: Hard stops the engine sets for an order that is never ordinary, whatever a claim's own level:
#: no label gives the route, so no claim can earn the stop.
ORDER_STOPS = frozenset({"ROUTE_INTRATHECAL", "ROUTE_INTRATHECAL_PRESERVED"})
LEVEL_RANK = {"info": 1, "warning": 2, "stop": 3}


class TriggerLike(Protocol):
    @property
    def conditions(self) -> tuple[str, ...]: ...
    @property
    def medicines(self) -> tuple[str, ...]: ...
    @property
    def allergies(self) -> tuple[str, ...]: ...
    @property
    def pregnancy(self) -> bool | None: ...
    @property
    def breastfeeding(self) -> bool | None: ...
    @property
    def age_below_years(self) -> Decimal | None: ...
    @property
    def age_below_months(self) -> Decimal | None: ...
    @property
    def routes(self) -> tuple[str, ...]: ...
    @property
    def ingredients(self) -> tuple[str, ...]: ...
    @property
    def excipients(self) -> tuple[str, ...]: ...
    @property
    def mix(self) -> tuple[str, ...]: ...
    @property
    def products(self) -> tuple[str, ...]: ...
    @property
    def forms(self) -> tuple[str, ...]: ...


class RuleLike(Protocol):
    @property
    def id(self) -> str: ...
    @property
    def code(self) -> str: ...
    @property
    def trigger(self) -> TriggerLike: ...
    @property
    def without_product(self) -> bool: ...
    @property
    def without_substance(self) -> bool: ...
    @property
    def level(self) -> str: ...
    @property
    def message(self) -> str: ...
    @property
    def sources(self) -> tuple[str, ...]: ...
    @property
    def conflict(self) -> str | None: ...


@dataclass(frozen=True)
class Named:
    """A name as written, how it is shown, and the knowledge ids it stands for."""

    written: str
    shown: str
    ids: frozenset[str]


@dataclass(frozen=True)
class Profile:
    """A patient and an order, resolved to knowledge ids.

    ``ingredients`` are the order's active substances whatever names them: a product's label, a
    regimen's substance or the substance given with a bare strength (empty when nobody said).
    ``excipients`` are known only from a product. ``form`` is the product's form, or "injection"
    for a strength in mcg/mL drawn into a syringe.
    """

    age_months: Decimal | None = None
    age_shown: str = "not given"
    pregnant: bool = False
    breastfeeding: bool = False
    conditions: tuple[Named, ...] = ()
    medicines: tuple[Named, ...] = ()
    allergies: tuple[Named, ...] = ()
    mix: tuple[Named, ...] = ()
    route: str = "IM"
    product: str | None = None
    product_name: str | None = None
    ingredients: frozenset[str] = frozenset()
    excipients: frozenset[str] = frozenset()
    form: str | None = None

    @property
    def order_shown(self) -> str:
        """The order as a message names it: the product, else its substances."""
        if self.product_name or self.product:
            return str(self.product_name or self.product)
        if self.ingredients:
            return " and ".join(sorted(i.replace("-", " ") for i in self.ingredients))
        return "the product"


@dataclass(frozen=True)
class ScreeningPolicy:
    """Which findings interrupt: this level and louder (default: only `stop`)."""

    interrupt_on: Level = Level.STOP

    def interrupts(self, found: Finding) -> bool:
        return found.level.rank >= self.interrupt_on.rank


def _names(wanted: tuple[str, ...], given: tuple[Named, ...]) -> list[Named]:
    ids = set(wanted)
    return [n for n in given if n.ids & ids]


def _substances(wanted: tuple[str, ...], present: frozenset[str]) -> list[str]:
    return [s for s in wanted if s in present]


def match(rule: RuleLike, profile: Profile) -> dict[str, str] | None:
    """The patient values a rule's trigger used, or None when it does not apply."""
    t = rule.trigger
    values: dict[str, str] = {}
    if rule.without_product and profile.product is not None:
        return None
    if rule.without_substance and profile.ingredients:
        return None
    for field, wanted, given in (
        ("condition", t.conditions, profile.conditions),
        ("medicine", t.medicines, profile.medicines),
        ("allergy", t.allergies, profile.allergies),
        ("mix", t.mix, profile.mix),
    ):
        if wanted:
            found = _names(wanted, given)
            if not found:
                return None
            values[field] = ", ".join(n.shown for n in found)
    if t.pregnancy is not None:
        if profile.pregnant != t.pregnancy:
            return None
        values["pregnant"] = "yes" if profile.pregnant else "no"
    if t.breastfeeding is not None:
        if profile.breastfeeding != t.breastfeeding:
            return None
        values["breastfeeding"] = "yes" if profile.breastfeeding else "no"
    limits = [(t.age_below_years, Decimal(12)), (t.age_below_months, Decimal(1))]
    for limit, months_per_unit in limits:
        if limit is not None:
            if profile.age_months is None or profile.age_months >= limit * months_per_unit:
                return None
            values["age"] = profile.age_shown
    if t.routes:
        if profile.route not in t.routes:
            return None
        values["route"] = profile.route
    if t.products and profile.product not in t.products:
        return None
    if t.forms:
        if profile.form not in t.forms:
            return None
        values["form"] = str(profile.form)
    for wanted, present in (
        (t.ingredients, profile.ingredients),
        (t.excipients, profile.excipients),
    ):
        if wanted:
            found_ids = _substances(wanted, present)
            if not found_ids:
                return None
            values["substance"] = ", ".join(i.replace("-", " ") for i in found_ids)
    if t.products or t.ingredients or t.excipients:
        values["product"] = profile.order_shown
    return values


def screen(
    rules: Iterable[RuleLike], profile: Profile, conflict_notes: Mapping[str, str]
) -> list[Finding]:
    """Every rule that applies, as a finding; loudest first, then by code."""
    out: list[Finding] = []
    for rule in rules:
        values = match(rule, profile)
        if values is None:
            continue
        fields = {
            "condition": "",
            "medicine": "",
            "allergy": "",
            "mix": "",
            "substance": "",
            "age": profile.age_shown,
            "route": profile.route,
            "product": profile.order_shown,
            **values,
        }
        message = rule.message.format_map(fields)
        if rule.conflict is not None and rule.conflict in conflict_notes:
            message = f"{message} {conflict_notes[rule.conflict]}"
        out.append(
            finding(
                rule.code, Level(rule.level), message, rule.sources, values, conflict=rule.conflict
            )
        )
    return sorted(out, key=lambda f: (-f.level.rank, f.code))
