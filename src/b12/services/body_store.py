"""The body-store estimate of a patient: the doses given and the knowledge's retention figures.

Shown to the prescriber beside the results and printed in the course summary, always marked as an
estimate with its sources; no rule reads it and it never advises a dose (domain/body_store.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from b12.domain.body_store import Estimate, Injection, RetentionFigure, estimate
from b12.domain.display import format_mass

if TYPE_CHECKING:
    from b12.domain.records import Administration, Prescription
    from b12.knowledge.base import Knowledge
    from b12.services.follow_up import Status

MARKED = (
    "Estimate, not a measurement and not a dose advice: the B12 the injections given may have "
    "added to the body's store, from sourced urinary losses in the first 48-72 hours."
)
LEFT_OUT = (
    "Not counted: the store before the first dose, losses after the first days (no sourced "
    "figure here), and doses without a figure (listed)."
)


def retention_figures(kb: Knowledge) -> tuple[RetentionFigure, ...]:
    """The knowledge's retention entries as the domain reads them (kept on the knowledge)."""

    def build() -> tuple[RetentionFigure, ...]:
        return tuple(
            RetentionFigure(
                id=r.id,
                substance=r.substance,
                routes=frozenset(r.routes),
                dose_low_mcg=r.dose_mcg.min,
                dose_high_mcg=r.dose_mcg.max,
                hours=r.hours,
                excreted_low_percent=r.excreted_percent.min,
                excreted_high_percent=r.excreted_percent.max,
                sources=tuple(r.sources),
            )
            for r in kb.all("retention").values()
        )

    return kb.memo(("retention-figures",), build)


def substance_given(
    kb: Knowledge, given: Administration, prescription: Prescription | None
) -> str | None:
    """The cobalamin of a dose: its product's, else the prescription's (None: not known)."""
    product_id = given.product or (prescription.product if prescription else None)
    if product_id and product_id in kb.all("products"):
        product = kb.get("products", product_id)
        found: list[str] = sorted(
            i.substance for i in product.ingredients if i.substance.endswith("cobalamin")
        )
        if len(found) == 1:
            return found[0]
    return prescription.substance if prescription is not None else None


@dataclass(frozen=True)
class BodyStore:
    """The estimate on ``at``: the band now, its steps over time, the figures and their sources."""

    at: datetime
    estimate: Estimate
    low_mcg: Decimal
    high_mcg: Decimal
    series: tuple[tuple[datetime, Decimal, Decimal], ...]
    sources: tuple[str, ...]

    @property
    def doses_counted(self) -> int:
        """The doses given by ``at`` that the estimate counts."""
        return sum(1 for k in self.estimate.kept if k.injection.at <= self.at)

    def to_dict(self) -> dict[str, Any]:
        return {
            "estimate": True,
            "says": MARKED,
            "left_out": LEFT_OUT,
            "at": self.at.isoformat(),
            "low_mcg": self.low_mcg,
            "high_mcg": self.high_mcg,
            "shown": f"{format_mass(self.low_mcg)} to {format_mass(self.high_mcg)}",
            "doses_counted": self.doses_counted,
            "not_estimated": [
                {
                    "given_at": n.injection.at.isoformat(),
                    "dose_mcg": n.injection.dose_mcg,
                    "why": n.why,
                }
                for n in self.estimate.not_estimated
            ],
            "figures": [
                {
                    "id": f.id,
                    "substance": f.substance,
                    "hours": f.hours,
                    "excreted_percent": [f.excreted_low_percent, f.excreted_high_percent],
                    "dose_mcg": [f.dose_low_mcg, f.dose_high_mcg],
                    "sources": list(f.sources),
                }
                for f in self.estimate.figures
            ],
            "sources": list(self.sources),
            "series": [
                {"at": m.isoformat(), "low_mcg": lo, "high_mcg": hi} for m, lo, hi in self.series
            ],
        }


def body_store(kb: Knowledge, status: Status, at: datetime) -> BodyStore:
    """The estimate from every dose the course counts as given, on ``at``."""
    shots = [
        Injection(
            c.given.given_at,
            c.given.dose_mcg,
            substance_given(kb, c.given, status.prescription),
            c.given.route,
        )
        for c in status.course
        if c.given is not None
    ]
    found = estimate(shots, retention_figures(kb))
    low, high = found.at(at)
    sources = tuple(dict.fromkeys(s for f in found.figures for s in f.sources))
    return BodyStore(at, found, low, high, found.series(at), sources)
