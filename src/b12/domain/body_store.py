"""An estimate of the B12 the body kept from the injections given, never a dose advice.

Each dose counts less what the urine carries off in the first hours after it, as the sourced
figures measured it (the US label: 50-98% of a 100 or 1000 mcg cyanocobalamin injection within
48 h; Blood 1961: 72-h losses of cyanocobalamin and hydroxocobalamin at 500 and 1000 mcg). The
band is the envelope of every figure for the dose's substance and route, at any dose measured:
its low is the largest loss, its high the smallest. Until a figure's hours have passed, the high
is the whole dose (the urine may not yet have taken its share). What the body held before the
first dose, and the slow losses after the first days, have no sourced figure here and are left
out: the estimate is of what the injections added, not of the whole store. Arithmetic is exact
(Decimal), rounded only for display.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

HUNDRED = Decimal(100)


@dataclass(frozen=True)
class RetentionFigure:
    """A measured urinary loss: ``excreted`` percent of a dose within ``hours``."""

    id: str
    substance: str
    routes: frozenset[str]
    dose_low_mcg: Decimal
    dose_high_mcg: Decimal
    hours: int
    excreted_low_percent: Decimal
    excreted_high_percent: Decimal
    sources: tuple[str, ...]


@dataclass(frozen=True)
class Injection:
    """A dose given: when, how much, of which cobalamin (None when the record cannot say), how."""

    at: datetime
    dose_mcg: Decimal
    substance: str | None
    route: str


@dataclass(frozen=True)
class Kept:
    """One dose and the figures that bound what stays of it."""

    injection: Injection
    figures: tuple[RetentionFigure, ...]

    @property
    def measured_dose(self) -> bool:
        """Whether a figure was measured at this dose (else the figures are carried over)."""
        dose = self.injection.dose_mcg
        return any(f.dose_low_mcg <= dose <= f.dose_high_mcg for f in self.figures)

    def at(self, moment: datetime) -> tuple[Decimal, Decimal]:
        """The low and high mcg of this dose still in the body at ``moment`` (0 before it)."""
        if moment < self.injection.at:
            return Decimal(0), Decimal(0)
        dose = self.injection.dose_mcg
        low = min(HUNDRED - f.excreted_high_percent for f in self.figures)
        elapsed = moment - self.injection.at
        passed = [f for f in self.figures if elapsed >= timedelta(hours=f.hours)]
        high = max(HUNDRED - f.excreted_low_percent for f in passed) if passed else HUNDRED
        return dose * low / HUNDRED, dose * high / HUNDRED


@dataclass(frozen=True)
class NotEstimated:
    injection: Injection
    why: str


@dataclass(frozen=True)
class Estimate:
    kept: tuple[Kept, ...]
    not_estimated: tuple[NotEstimated, ...]

    def at(self, moment: datetime) -> tuple[Decimal, Decimal]:
        """The low and high mcg kept from every estimated dose, at ``moment``."""
        low = high = Decimal(0)
        for k in self.kept:
            lo, hi = k.at(moment)
            low, high = low + lo, high + hi
        return low, high

    def series(self, until: datetime) -> tuple[tuple[datetime, Decimal, Decimal], ...]:
        """The band at every moment it changes up to ``until`` (a step: it holds until the next)."""
        moments = {until}
        for k in self.kept:
            if k.injection.at <= until:
                moments.add(k.injection.at)
                for f in k.figures:
                    end = k.injection.at + timedelta(hours=f.hours)
                    if end <= until:
                        moments.add(end)
        return tuple((m, *self.at(m)) for m in sorted(moments))

    @property
    def figures(self) -> tuple[RetentionFigure, ...]:
        used = {f.id: f for k in self.kept for f in k.figures}
        return tuple(used[i] for i in sorted(used))


def estimate(injections: Iterable[Injection], figures: Sequence[RetentionFigure]) -> Estimate:
    """Each injection with the figures for its substance and route, or why it is left out."""
    kept: list[Kept] = []
    left: list[NotEstimated] = []
    for shot in sorted(injections, key=lambda i: i.at):
        if shot.substance is None:
            left.append(NotEstimated(shot, "the record does not say which cobalamin was given"))
            continue
        mine = [f for f in figures if f.substance == shot.substance]
        fitting = tuple(f for f in mine if shot.route in f.routes)
        if fitting:
            kept.append(Kept(shot, fitting))
        elif mine:
            routes = sorted({r for f in mine for r in f.routes})
            left.append(
                NotEstimated(
                    shot,
                    f"given {shot.route}: the {shot.substance} figures are for "
                    f"{', '.join(routes)} only",
                )
            )
        else:
            left.append(NotEstimated(shot, f"no sourced urinary-loss figure for {shot.substance}"))
    return Estimate(tuple(kept), tuple(left))
