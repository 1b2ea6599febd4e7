"""The volume to draw for a dose, and how a standard syringe measures it.

Volumes stay exact until a syringe is chosen; only then are they rounded, half-up, to the syringe's
graduation, and the result says so and gives the dose that the rounded volume delivers.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from b12.domain.display import format_mass, format_number, format_volume
from b12.domain.quantity import (
    EXACT,
    Concentration,
    Mass,
    Volume,
    canonical,
    checked_decimal,
    exact_divide,
    exact_multiply,
    exact_scale,
)
from b12.errors import UnmeasurableVolumeError

# Half-up, not banker's rounding: a nurse reading 0.125 mL on a 0.01 mL scale draws 0.13 mL, and
# the stated rule must match what a person does at the syringe.
ROUNDING = "half-up"


@dataclass(frozen=True)
class Syringe:
    """A standard syringe: what it holds and the smallest step its scale shows."""

    capacity_ml: Decimal
    graduation_ml: Decimal

    def __str__(self) -> str:
        scale = format_volume(self.graduation_ml)
        return f"{format_volume(self.capacity_ml)} syringe graduated {scale}"


SYRINGES: tuple[Syringe, ...] = (
    Syringe(Decimal(1), Decimal("0.01")),
    Syringe(Decimal(3), Decimal("0.1")),
    Syringe(Decimal(5), Decimal("0.2")),
    Syringe(Decimal(10), Decimal("0.5")),
)


@dataclass(frozen=True)
class Measured:
    """A volume as drawn: the syringe, the volume rounded to its scale and the dose it delivers."""

    volume_ml: Decimal  # before rounding (cut at 60 digits when `exact` is False)
    syringe_ml: Decimal
    graduation_ml: Decimal
    rounded_ml: Decimal  # what to draw
    rounded: bool  # rounded_ml differs from volume_ml
    intended_mcg: Decimal  # the dose volume_ml holds
    delivered_mcg: Decimal  # the dose rounded_ml holds
    exact: bool = True  # False when a quotient did not terminate (a concentration per 3 mL)
    rounding: str = ROUNDING

    @property
    def syringe(self) -> Syringe:
        return Syringe(self.syringe_ml, self.graduation_ml)

    def describe(self) -> str:
        """'0.3333 mL rounded half-up to 0.33 mL on a 1 mL syringe ... (330 mcg instead of ...)'."""
        draw = f"{format_volume(self.rounded_ml)} on a {self.syringe}"
        if not self.rounded:
            return f"{draw} ({format_mass(self.delivered_mcg)})"
        # One more place than the scale shows the volume that was rounded; 'about' marks any cut.
        places = len(format_number(self.graduation_ml).partition(".")[2]) + 1
        volume = _about(self.volume_ml, places, "mL")
        intended = _about(self.intended_mcg, 1, "mcg")
        return (
            f"{volume} rounded {self.rounding} to {draw} "
            f"({_about(self.delivered_mcg, 1, 'mcg')} instead of {intended})"
        )


def _about(value: Decimal, places: int, unit: str) -> str:
    shown = format_number(value, places=places)
    prefix = "" if Decimal(shown.replace(",", "")) == value else "about "
    return f"{prefix}{shown} {unit}"


def volume_for(dose: Mass, conc: Concentration) -> Volume:
    """The exact volume holding `dose`: 500 mcg at 1,000 mcg/mL -> 0.5 mL."""
    ml, exact = exact_scale(dose.mcg, conc.per_ml, conc.mcg)
    return Volume(ml, exact=exact)


def dose_in(volume: Volume, conc: Concentration) -> tuple[Mass, bool]:
    """The dose a volume holds, and whether it is exact: 0.5 mL at 1,000 mcg/mL -> 500 mcg."""
    mcg, exact = exact_scale(volume.ml, conc.mcg, conc.per_ml)
    return Mass(mcg), volume.exact and exact


def choose_syringe(volume: Volume) -> Syringe:
    """The smallest standard syringe that holds the volume."""
    return _syringe_for(volume.ml)


def _syringe_for(ml: Decimal) -> Syringe:
    for syringe in SYRINGES:
        if ml <= syringe.capacity_ml:
            return syringe
    largest = SYRINGES[-1].capacity_ml
    raise UnmeasurableVolumeError(
        format_number(ml, places=4),
        f"more than the largest standard syringe holds ({format_volume(largest)})",
        "check the dose and the concentration, or split the dose over two injections",
    )


def measure(volume: Volume, conc: Concentration) -> Measured:
    """Choose the syringe, round the volume half-up to its scale, and give the dose delivered."""
    intended, intended_exact = dose_in(volume, conc)
    return _measure(volume.ml, conc, intended.mcg, intended_exact)


def draw(dose: Mass, conc: Concentration) -> Measured:
    """`measure(volume_for(dose, conc), conc)`, keeping the prescribed dose as the intended one."""
    # volume_for without building the Volume: checked_decimal is what Volume does to its ml.
    ml, exact = exact_scale(dose.mcg, conc.per_ml, conc.mcg)
    return _measure(checked_decimal(ml, "Volume.ml"), conc, dose.mcg, exact)


def _measure(ml: Decimal, conc: Concentration, intended: Decimal, exact: bool) -> Measured:
    """`ml` is a Volume's ml: canonical, checked."""
    syringe = _syringe_for(ml)
    graduation = syringe.graduation_ml
    # Each step first in the context that traps Inexact; a cut quotient (or any other signal)
    # takes the step again through exact_divide/exact_multiply, which keep the cut value.
    try:
        steps = EXACT.divide(ml, graduation).to_integral_value(ROUND_HALF_UP)
        rounded_ml = canonical(EXACT.multiply(steps, graduation))
    except ArithmeticError:
        cut, _ = exact_divide(ml, graduation)
        rounded_ml, _ = exact_multiply(cut.to_integral_value(ROUND_HALF_UP), graduation)
    if rounded_ml == 0:
        raise UnmeasurableVolumeError(
            format_number(ml, places=6),
            f"less than half the smallest step of a {syringe}",
            "check the dose and the concentration; a more dilute product may be needed",
        )
    # rounded_ml is canonical, > 0 and at most the syringe's capacity: Volume(rounded_ml) would
    # change nothing, so dose_in's arithmetic is done here (checked_decimal is what Mass does).
    delivered, delivered_exact = exact_scale(rounded_ml, conc.mcg, conc.per_ml)
    return Measured(
        volume_ml=ml,
        syringe_ml=syringe.capacity_ml,
        graduation_ml=graduation,
        rounded_ml=rounded_ml,
        rounded=rounded_ml != ml,
        intended_mcg=intended,
        delivered_mcg=checked_decimal(delivered, "Mass.mcg"),
        exact=exact and delivered_exact,
    )
