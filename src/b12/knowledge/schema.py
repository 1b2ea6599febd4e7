"""The schema of the knowledge files: one frozen pydantic model per kind of entry.

A field typed with ``Ref("collection")`` must name an id that exists in that collection; the
loader checks every such reference after all files are read (see ``refs.py``). Quantities are
Decimal (never float): a dose read from here may end up drawn into a syringe.

No ``from __future__ import annotations`` here: pydantic would evaluate every string annotation
when the classes are built, which cost ~45 ms of every command's start (see README).

This is the source, not what b12 runs on: ``make kb-manifest`` validates the YAML with these models
and generates ``entries.py`` (one frozen, slotted dataclass per model, same names, fields and types)
and the artifact ``kb/knowledge.json`` that the shipped package loads. Behaviour beyond the fields
(``Range.is_single``, ``Source.trust``, ...) goes in a mixin of ``behaviour.py``, which both forms
inherit. After any change here, run ``make kb-manifest``; a test fails until you do.
"""

from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from b12.domain.quantity import parse_mass_mcg, parse_volume_ml
from b12.knowledge.behaviour import (
    TRUST_BY_KIND as TRUST_BY_KIND,  # re-exported for code that reads it from the schema
)
from b12.knowledge.behaviour import (
    Form,
    IngredientBehaviour,
    PhaseKind,
    RangeBehaviour,
    Route,
    SourceBehaviour,
    SourceKind,
    Status,
)


class Ref:
    """Marks a field whose value must be the id of an entry in one of ``collections``."""

    __slots__ = ("collections",)

    def __init__(self, *collections: str) -> None:
        self.collections = collections

    def __repr__(self) -> str:
        return f"Ref{self.collections!r}"


Id = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9-]*$", max_length=80)]
SourceId = Annotated[Id, Ref("sources")]
SubstanceId = Annotated[Id, Ref("substances")]
ConditionId = Annotated[Id, Ref("conditions", "indications")]
MedicineId = Annotated[Id, Ref("medicines", "medicine-classes")]
AllergenId = Annotated[Id, Ref("substances", "allergens")]
AnalyteId = Annotated[Id, Ref("analytes")]
ProductId = Annotated[Id, Ref("products")]
ConflictId = Annotated[Id, Ref("conflicts")]
#: "collection:id", pointing at any entry (used by the seed inventory and conflict positions).
EntryRef = Annotated[str, Field(pattern=r"^[a-z-]+:[a-z0-9][a-z0-9-]*$")]


class Frozen(BaseModel):
    model_config = ConfigDict(
        frozen=True, extra="forbid", str_strip_whitespace=True, defer_build=True
    )


class Range(RangeBehaviour, Frozen):
    """An inclusive range; written in the files as ``7``, ``"6-7"``, ``[6, 7]`` or ``{min, max}``."""

    min: Decimal
    max: Decimal

    @model_validator(mode="before")
    @classmethod
    def _from_shorthand(cls, value: Any) -> Any:
        if isinstance(value, bool):
            raise ValueError("a number or range is expected, not true/false")
        if isinstance(value, int | Decimal):
            return {"min": value, "max": value}
        if isinstance(value, float):
            raise ValueError("write the number as a string or integer, never as a float")
        if isinstance(value, str):
            low, sep, high = value.partition("-")
            return {"min": low.strip(), "max": (high if sep else low).strip()}
        if isinstance(value, list | tuple) and len(value) == 2:
            return {"min": value[0], "max": value[1]}
        return value

    @model_validator(mode="after")
    def _ordered(self) -> "Range":
        if self.min < 0 or self.max < self.min:
            raise ValueError(f"range {self.min}-{self.max} must be non-negative and ordered")
        return self


class Attributed(Frozen):
    """Anything claimed by a source. A contradicted claim names the conflict that explains it."""

    sources: tuple[SourceId, ...] = Field(min_length=1)
    status: Status = "supported"
    conflict: ConflictId | None = None
    note: str | None = None

    @model_validator(mode="after")
    def _contradicted_needs_conflict(self) -> "Attributed":
        if self.status == "contradicted" and self.conflict is None:
            raise ValueError("a contradicted claim must name its conflict")
        return self


# --- sources -------------------------------------------------------------------------------


class Source(SourceBehaviour, Frozen):
    id: Id
    title: str
    kind: SourceKind
    file: str | None = None
    part: str | None = None
    address: str | None = None
    citation: str | None = None
    published: str | None = None
    note: str | None = None

    @model_validator(mode="after")
    def _located(self) -> "Source":
        if self.file is not None and (self.address or self.citation):
            raise ValueError(
                "a seed source has a `file` only; authorities an `address` or `citation`"
            )
        if self.file is None and not (self.address or self.citation):
            raise ValueError("a source needs a seed `file`, an `address` or a `citation`")
        return self


# --- vocabularies ------------------------------------------------------------------------


class Substance(Frozen):
    id: Id
    name: str
    synonyms: tuple[str, ...] = ()
    role: Literal["cobalamin", "vitamin", "anaesthetic", "excipient", "mineral", "other"]
    sources: tuple[SourceId, ...] = ()
    note: str | None = None


class Allergen(Frozen):
    """An allergy that is not a substance of a product (cobalt, for one)."""

    id: Id
    name: str
    synonyms: tuple[str, ...] = ()
    includes: tuple[SubstanceId, ...] = ()


class Condition(Frozen):
    id: Id
    name: str
    synonyms: tuple[str, ...] = ()
    icd10: tuple[str, ...] = ()
    sources: tuple[SourceId, ...] = ()  # the vocabulary reference and the texts screened against
    note: str | None = None


class MedicineClass(Frozen):
    id: Id
    name: str
    synonyms: tuple[str, ...] = ()
    parents: tuple[Annotated[Id, Ref("medicine-classes")], ...] = ()


class Medicine(Frozen):
    id: Id
    name: str
    synonyms: tuple[str, ...] = ()
    classes: tuple[Annotated[Id, Ref("medicine-classes")], ...] = ()
    #: a combination medicine (co-careldopa) stands for each medicine it holds
    contains: tuple[Annotated[Id, Ref("medicines")], ...] = ()
    sources: tuple[SourceId, ...] = ()  # the vocabulary reference and the texts screened against


# --- products ------------------------------------------------------------------------------


class Ingredient(IngredientBehaviour, Frozen):
    """An amount of a substance per mL (solutions) or per unit (tablet, spray, drop).

    Written as ``{substance: thiamine, amount: "100 mg", per: "2 mL"}`` or ``per: tablet``.
    A product whose sources name an ingredient without its amount leaves both out; no dose
    can then be calculated from that product, and b12 says so.
    """

    substance: SubstanceId
    amount_mcg: Decimal | None = None
    per_ml: Decimal | None = None
    per_unit: Literal["tablet", "spray", "drop", "capsule"] | None = None

    @model_validator(mode="before")
    @classmethod
    def _parse(cls, value: Any) -> Any:
        if isinstance(value, dict) and "amount" in value:
            value = dict(value)
            value["amount_mcg"] = parse_mass_mcg(str(value.pop("amount")))
            per = str(value.pop("per", "1 mL"))
            if per in ("tablet", "spray", "drop", "capsule"):
                value["per_unit"] = per
            else:
                value["per_ml"] = parse_volume_ml(per)
        return value

    @model_validator(mode="after")
    def _one_basis(self) -> "Ingredient":
        if self.amount_mcg is None:
            if self.per_ml is not None or self.per_unit is not None:
                raise ValueError("`per` without an `amount`")
            return self
        if (self.per_ml is None) == (self.per_unit is None):
            raise ValueError("an ingredient is per mL or per unit, exactly one")
        if self.per_ml is not None and self.per_ml <= 0:
            raise ValueError("per must be a positive volume")
        return self


class Excipient(Frozen):
    substance: SubstanceId
    amount: str | None = None
    sources: tuple[SourceId, ...] = Field(min_length=1)


class Container(Frozen):
    kind: Literal[
        "ampoule", "single-dose-vial", "multi-dose-vial", "bottle", "spray-bottle", "blister"
    ]
    volume_ml: Decimal | None = None
    units: int | None = None
    pack_count: int = 1

    @field_validator("volume_ml", mode="before")
    @classmethod
    def _volume(cls, value: Any) -> Any:
        return parse_volume_ml(value) if isinstance(value, str) else value


class RouteAdvice(Frozen):
    route: Route
    advice: Literal["avoid", "specialist-only", "preferred", "allowed"]
    says: str
    sources: tuple[SourceId, ...] = Field(min_length=1)
    status: Status = "supported"


class Storage(Frozen):
    says: str
    temperature_c: Range | None = None
    protect_from_light: bool | None = None
    shelf_life_months: int | None = None
    sources: tuple[SourceId, ...] = Field(min_length=1)


class Price(Frozen):
    """What an amount buys; ``containers`` (ampoules, vials or tablets) is None when unstated."""

    amount: Decimal
    currency: Literal["RUB", "USD", "GBP", "EUR"]
    pack: str
    containers: int | None = Field(default=None, gt=0)
    sources: tuple[SourceId, ...] = Field(min_length=1)


class AgeLimit(Frozen):
    min_years: Decimal
    says: str
    sources: tuple[SourceId, ...] = Field(min_length=1)


class Product(Attributed):
    id: Id
    name: str
    synonyms: tuple[str, ...] = ()
    form: Form
    ingredients: tuple[Ingredient, ...] = Field(min_length=1)
    excipients: tuple[Excipient, ...] = ()
    container: Container
    routes: tuple[Route, ...] = Field(min_length=1)
    route_advice: tuple[RouteAdvice, ...] = ()
    storage: tuple[Storage, ...] = ()
    prices: tuple[Price, ...] = ()
    age_limits: tuple[AgeLimit, ...] = ()
    region: str | None = None
    manufacturer: str | None = None
    prescription_only: bool | None = None


# --- indications and regimens -------------------------------------------------------------


class Indication(Attributed):
    id: Id
    name: str
    synonyms: tuple[str, ...] = ()
    icd10: tuple[str, ...] = ()
    category: Literal[
        "deficiency",
        "haematological",
        "neurological",
        "hepatic",
        "diagnostic",
        "prophylaxis",
        "other",
    ]


class Phase(Frozen):
    """One phase of a regimen: a dose, a rhythm, and how long the rhythm lasts."""

    name: str
    kind: PhaseKind
    dose_mcg: Range
    dose_to_mcg: Range | None = None
    escalation: str | None = None
    every_days: Range | None = None
    per_week: Range | None = None
    per_month: Range | None = None
    frequency_note: str | None = None
    doses: Range | None = None
    duration_days: Range | None = None
    until: str | None = None
    total_mcg: Range | None = None  # the phase ends with the dose that reaches this total
    lifelong: bool = False
    routes: tuple[Route, ...] = ()
    gate: str | None = None
    note: str | None = None

    @model_validator(mode="after")
    def _complete(self) -> "Phase":
        rhythms = [r for r in (self.every_days, self.per_week, self.per_month) if r is not None]
        if len(rhythms) > 1:
            raise ValueError("give one of every_days, per_week, per_month")
        if not rhythms and self.frequency_note is None:
            raise ValueError("give every_days, per_week or per_month (or a frequency_note)")
        if not (self.doses or self.duration_days or self.until or self.total_mcg or self.lifelong):
            raise ValueError(
                "say how long the phase lasts: doses, duration_days, until, total_mcg or lifelong"
            )
        if self.total_mcg is not None and self.dose_to_mcg is not None:
            raise ValueError("total_mcg counts a steady dose; an escalating phase gives doses")
        return self


class Regimen(Attributed):
    id: Id
    title: str
    indication: Annotated[Id, Ref("indications")]
    substance: SubstanceId
    population: Literal["adult", "child", "infant", "premature", "any"] = "any"
    neuro: bool | None = None
    applies_when: str | None = None
    routes: tuple[Route, ...] = Field(min_length=1)
    phases: tuple[Phase, ...] = Field(min_length=1)


# --- safety --------------------------------------------------------------------------------


class Trigger(Frozen):
    """What about a patient, product or order a safety statement is about."""

    conditions: tuple[ConditionId, ...] = ()
    medicines: tuple[MedicineId, ...] = ()
    allergies: tuple[AllergenId, ...] = ()
    pregnancy: bool | None = None
    breastfeeding: bool | None = None
    age_below_years: Decimal | None = None
    age_below_months: Decimal | None = None
    routes: tuple[Route, ...] = ()
    ingredients: tuple[SubstanceId, ...] = ()
    excipients: tuple[SubstanceId, ...] = ()
    mix: tuple[SubstanceId, ...] = ()
    products: tuple[ProductId, ...] = ()
    forms: tuple[Form, ...] = ()


class Caution(Attributed):
    """A contraindication, warning, precaution or caution as one source states it."""

    id: Id
    kind: Literal["contraindication", "warning", "precaution", "caution", "information"]
    about: Trigger
    says: str


class Interaction(Attributed):
    id: Id
    medicines: tuple[MedicineId, ...] = Field(min_length=1)
    mechanism: Literal[
        "absorption",
        "effect",
        "assay-interference",
        "deficiency-risk",
        "serum-level",
        "clotting",
        "allergy",
    ]
    says: str
    matters_for_routes: tuple[Route, ...] = ()


class Incompatibility(Attributed):
    id: Id
    partners: tuple[SubstanceId, ...] = Field(min_length=1)
    says: str
    evidence: Literal["confirmed", "reported", "unconfirmed"]


class AdverseEffect(Attributed):
    id: Id
    effect: str
    frequency: Literal["common", "uncommon", "rare", "unknown"] = "unknown"
    serious: bool = False
    timing: str | None = None


class OverdoseClaim(Attributed):
    id: Id
    says: str
    threshold_mcg: Decimal | None = None
    symptoms: tuple[str, ...] = ()


# --- requirements, foods, monitoring, technique, laboratory ------------------------------


class RequirementRow(Frozen):
    age_from_months: int = 0
    age_to_months: int | None = None  # exclusive; None = no upper bound
    state: Literal["any", "pregnancy", "lactation", "pregnancy-or-lactation"] = "any"
    mcg_per_day: Range
    basis: Literal["RDA", "AI", "norm"] = "RDA"


class RequirementTable(Attributed):
    id: Id
    title: str
    rows: tuple[RequirementRow, ...] = Field(min_length=1)


class Food(Attributed):
    id: Id
    name: str
    synonyms: tuple[str, ...] = ()
    mcg_per_100g: Decimal | None = None
    category: str


class MonitoringRule(Attributed):
    id: Id
    tests: tuple[AnalyteId, ...] = Field(min_length=1)
    says: str
    start_day: int | None = None
    end_day: int | None = None
    every_days: Range | None = None
    until: str | None = None
    applies_to: str | None = None
    routes: tuple[Route, ...] = ()  # () = every injected route (IM, SC, deep-SC, IV, intrathecal)


class SiteLimit(Frozen):
    age_from_months: int = 0
    age_to_months: int | None = None
    typical_ml: Range | None = None
    max_ml: Decimal
    sources: tuple[SourceId, ...] = Field(min_length=1)


class InjectionSite(Attributed):
    id: Id
    name: str
    synonyms: tuple[str, ...] = ()
    routes: tuple[Route, ...] = Field(min_length=1)
    limits: tuple[SiteLimit, ...] = ()
    avoid: bool = False


class Needle(Attributed):
    id: Id
    route: Route
    angle_degrees: int
    gauge: Range | None = None
    length_mm: Decimal | None = None
    population: str = "adult"


class TechniqueStep(Attributed):
    id: Id
    order: int
    kind: Literal["preparation", "supply", "site", "injection", "aftercare", "rotation", "disposal"]
    says: str


class UnitFactor(Frozen):
    unit: str
    to_canonical: Decimal


class Band(Attributed):
    name: str
    low: Decimal | None = None
    high: Decimal | None = None
    low_inclusive: bool = True
    high_inclusive: bool = False
    unit: str | None = None  # the unit the source writes the band in; None = the canonical unit
    sex: Literal["female", "male"] | None = None
    min_age_years: int | None = None


class LoincCode(Frozen):
    code: str = Field(pattern=r"^\d{1,7}-\d$")
    property: str
    note: str | None = None


class Analyte(Frozen):
    id: Id
    name: str
    synonyms: tuple[str, ...] = ()
    loinc: tuple[LoincCode, ...] = ()
    canonical_unit: str
    units: tuple[UnitFactor, ...] = ()
    bands: tuple[Band, ...] = ()
    sources: tuple[SourceId, ...] = Field(min_length=1)
    note: str | None = None


class Fact(Attributed):
    """A statement that fits no other kind of entry (pharmacology, deficiency, response...)."""

    id: Id
    topic: Literal[
        "pharmacology",
        "pharmacokinetics",
        "deficiency",
        "forms",
        "storage",
        "administration",
        "diet",
        "response",
        "diagnosis",
        "units",
        "other",
    ]
    says: str


class Retention(Attributed):
    """How much of an injected dose leaves in the urine within some hours, as a source measured
    it: the body-store estimate reads its low and high from these (never a dose advice)."""

    id: Id
    substance: SubstanceId
    routes: tuple[Route, ...] = Field(min_length=1)
    dose_mcg: Range  # the doses the figure was measured at
    hours: int = Field(gt=0)
    excreted_percent: Range  # of the dose, found in the urine within ``hours``
    says: str

    @model_validator(mode="after")
    def _a_percentage(self) -> "Retention":
        if self.excreted_percent.max > 100:
            raise ValueError("excreted_percent is a share of the dose: at most 100")
        return self


# --- population audit rules ----------------------------------------------------------------


class AuditRule(Frozen):
    """One rule of the population audit: what it checks across every administration, how loud,
    and the knowledge its thresholds come from (the rule's one implementation reads them there).

    ``factor``, ``tolerance_hours``, ``monitoring`` and ``indications`` are the rule's own figures
    and scope where the clinical entries (regimens, products, monitoring) do not hold them.
    """

    id: Id
    code: str = Field(pattern=r"^[A-Z][A-Z0-9]*(_[A-Z0-9]+)*$", max_length=60)
    checks: str = Field(min_length=10)
    level: Literal["stop", "warning", "info"]
    #: the entries the thresholds come from, "collection:id" or "collection:*" (all of them)
    reads: tuple[Annotated[str, Field(pattern=r"^[a-z-]+:(\*|[a-z0-9][a-z0-9-]*)$")], ...] = Field(
        min_length=1
    )
    factor: Decimal | None = None
    tolerance_hours: Decimal | None = None
    monitoring: tuple[Annotated[Id, Ref("monitoring")], ...] = ()
    indications: tuple[Annotated[Id, Ref("indications")], ...] = ()
    sources: tuple[SourceId, ...] = Field(min_length=1)
    note: str | None = None

    @model_validator(mode="after")
    def _positive(self) -> "AuditRule":
        for name in ("factor", "tolerance_hours"):
            value = getattr(self, name)
            if value is not None and value < 0:
                raise ValueError(f"{name} must not be negative")
        return self


# --- conflicts and the seed inventory ---------------------------------------------------------


class Position(Frozen):
    id: Id
    says: str
    sources: tuple[SourceId, ...] = Field(min_length=1)
    entries: tuple[EntryRef, ...] = ()


class Conflict(Frozen):
    id: Id
    topic: str
    claim: str
    positions: tuple[Position, ...] = Field(min_length=2)
    default: Id
    reason: str

    @model_validator(mode="after")
    def _default_is_a_position(self) -> "Conflict":
        ids = [p.id for p in self.positions]
        if self.default not in ids:
            raise ValueError(f"default {self.default!r} is not one of the positions {ids}")
        if len(set(ids)) != len(ids):
            raise ValueError("position ids must be unique")
        return self


class InventoryItem(Frozen):
    fact: str
    ref: EntryRef


# --- screening rules ---------------------------------------------------------------------------

#: The fields a rule's message template may use (``str.format``); each is a patient value.
RULE_MESSAGE_FIELDS = frozenset(
    {"condition", "medicine", "allergy", "mix", "age", "product", "route", "substance"}
)


class ScreeningRule(Frozen):
    """One screening rule: when its trigger matches a patient and order, raise a finding.

    The rule acts on knowledge claims (``claims``: "collection:id" of cautions, interactions,
    incompatibilities or facts); its level may be no louder than its most trusted claim allows
    (checked by the loader, see ``rule_checks.py``).
    """

    id: Id
    code: str = Field(pattern=r"^[A-Z][A-Z0-9]*(_[A-Z0-9]+)*$", max_length=60)
    trigger: Trigger
    without_product: bool = False
    without_substance: bool = False
    level: Literal["stop", "warning", "info"]
    message: str = Field(min_length=10)
    sources: tuple[SourceId, ...] = Field(min_length=1)
    claims: tuple[EntryRef, ...] = Field(min_length=1)
    conflict: ConflictId | None = None
    bypass: bool = False
    note: str | None = None

    @model_validator(mode="after")
    def _consistent(self) -> "ScreeningRule":
        import string

        fields = {f for _, f, _, _ in string.Formatter().parse(self.message) if f is not None}
        unknown = sorted(fields - RULE_MESSAGE_FIELDS)
        if unknown:
            raise ValueError(
                f"message uses {unknown}; a template may use {sorted(RULE_MESSAGE_FIELDS)}"
            )
        from b12.domain.screening import NO_BYPASS

        if self.bypass != (self.level == "stop" and self.code not in NO_BYPASS):
            raise ValueError(
                "a `stop` rule needs `bypass: true`, except a stop no reason lifts "
                f"({', '.join(sorted(NO_BYPASS))}); only a stop has a bypass"
            )
        if self.trigger == Trigger():
            raise ValueError("a rule needs a trigger: an empty one would match every patient")
        product_fields = (
            self.trigger.ingredients or self.trigger.excipients or self.trigger.products
        )
        if self.without_product and product_fields:
            raise ValueError("`without_product` rules cannot also name product ingredients")
        if self.without_substance and self.trigger.ingredients:
            raise ValueError("`without_substance` rules cannot also name ingredients")
        return self
