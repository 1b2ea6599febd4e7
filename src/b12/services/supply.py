"""What to buy for a plan: containers, packs, syringes, needles and the cost where a price is known.

Single-use containers (ampoules, single-dose vials) are opened per injection and never shared;
a multi-dose vial is counted by the total volume drawn (its in-use life after opening is not in
the knowledge base: the label decides). One syringe and one needle per injection (seed 000's
"a syringe with a needle"). Packs are whole packs of the product's pack count.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_CEILING, Decimal
from typing import Any

from b12.domain.routes import INJECTED
from b12.knowledge.entries import Product

SYRINGE_SOURCES = ("seed-000",)


@dataclass(frozen=True)
class Dispensed:
    """One administration as supply sees it."""

    route: str
    volume_ml: Decimal | None
    syringe_ml: Decimal | None


@dataclass(frozen=True)
class Cost:
    amount: Decimal
    currency: str
    per_pack: Decimal
    pack: str
    sources: tuple[str, ...]


@dataclass(frozen=True)
class Supply:
    period: str
    administrations: int
    injections: int
    volume_ml: Decimal | None
    containers: int | None
    container: str | None
    packs: int | None
    syringes: dict[str, int]  # "1 mL" -> count
    needles: int
    costs: tuple[Cost, ...]
    notes: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "period": self.period,
            "administrations": self.administrations,
            "injections": self.injections,
            "volume_ml": self.volume_ml,
            "containers": self.containers,
            "container": self.container,
            "packs": self.packs,
            "syringes": [{"capacity": k, "count": v} for k, v in self.syringes.items()],
            "needles": self.needles,
            "costs": [vars(c) | {"sources": list(c.sources)} for c in self.costs],
            "notes": list(self.notes),
            "sources": list(SYRINGE_SOURCES),
        }


def _ceil(value: Decimal) -> int:
    return int(value.to_integral_value(ROUND_CEILING))


def supply_for(period: str, given: Sequence[Dispensed], product: Product | None) -> Supply:
    injected = [g for g in given if g.route in INJECTED]
    syringes: dict[str, int] = {}
    for g in injected:
        if g.syringe_ml is not None:
            key = f"{g.syringe_ml.normalize():f} mL"
            syringes[key] = syringes.get(key, 0) + 1
    volumes = [g.volume_ml for g in given if g.volume_ml is not None]
    total = sum(volumes, Decimal(0)) if len(volumes) == len(given) and given else None
    notes: list[str] = []
    containers = packs = None
    costs: tuple[Cost, ...] = ()
    box = product.container if product is not None else None
    if product is None:
        notes.append(
            "No product given: containers, packs and cost are not counted (name a product)."
        )
    elif box is None or box.volume_ml is None:
        notes.append(
            f"The container volume of {product.id} is not in the knowledge base: containers are not counted."
        )
    elif total is not None:
        if box.kind == "multi-dose-vial":
            containers = _ceil(total / box.volume_ml) if total else 0
            notes.append(
                "Multi-dose vials counted by volume; discard an opened vial as its label says."
            )
        else:
            containers = sum(_ceil(v / box.volume_ml) for v in volumes)
        packs = _ceil(Decimal(containers) / box.pack_count)
        # A price buys a stated number of containers; one of unstated size gives no cost.
        costs = tuple(
            Cost(
                p.amount * _ceil(Decimal(containers) / p.containers),
                p.currency,
                p.amount,
                p.pack,
                p.sources,
            )
            for p in product.prices
            if p.containers is not None
        )
        unsized = [p for p in product.prices if p.containers is None]
        if unsized:
            notes.append(
                "Not costed: "
                + "; ".join(f"{p.amount} {p.currency} buys {p.pack}" for p in unsized)
                + " (how many containers is not stated)."
            )
        if not product.prices:
            notes.append("No price for this product in the knowledge base.")
    return Supply(
        period,
        len(given),
        len(injected),
        total,
        containers,
        None if box is None else box.kind,
        packs,
        syringes,
        len(injected),
        costs,
        tuple(notes),
    )
