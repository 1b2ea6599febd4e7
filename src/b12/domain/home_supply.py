"""Supply at home: the containers dispensed to a patient, the doses drawn from them, what was
discarded, and how far the rest goes along the course still to come. Pure arithmetic on Decimals.

The rules:
* A dispensing is ``containers`` ampoules or vials of one product, one lot, one expiry. A
  container is usable up to and including its expiry date.
* A dose given draws from the container it came from: a dispensing of the same lot (and product,
  when both are known); without a lot, the open multi-dose vial that expires first, else the
  unopened container that expires first. A dose whose lot no dispensing has was given from other
  stock (a clinic's): it draws nothing from the patient's.
* A single-use container (ampoule, single-dose vial) is opened for one injection: a dose takes
  as many as its volume needs, and what is left in them is not kept.
* A multi-dose vial is opened on its first draw and holds what was not drawn. Its in-use life,
  when the knowledge gives one, runs to the end of the day ``in_use_days`` after the day it was
  opened; a draw after that opens another vial, and the old one counts as discarded. A vial
  holding less than the next dose is not used for it (one dose is never drawn from two vials).
* A waste removes whole containers (the open one first) and/or a volume from the open container.
* The forecast walks the planned doses still owed, each on its re-flowed due date (never before
  today), through the same rules. The first dose nothing covers is the day the supply runs out.
  A container that would be next but whose expiry precedes the day it would be used on is
  flagged (expiry before use) and passed over.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import ROUND_CEILING, Decimal
from typing import Any, Literal

ContainerState = Literal["unopened", "open", "empty", "discarded", "in-use life ended"]
SINGLE_USE = ("ampoule", "single-dose-vial")
MULTI_DOSE = "multi-dose-vial"


@dataclass(frozen=True)
class Dispensing:
    """Containers of one product and lot handed to the patient (or the caregiver) to use at home."""

    id: str
    patient_id: str
    product: str
    containers: int
    lot: str
    expiry: date
    dispensed_at: datetime
    dispensed_by: str
    corrects_id: str | None = None


@dataclass(frozen=True)
class Waste:
    """What was discarded from a dispensing: whole containers and/or a volume, and why."""

    id: str
    patient_id: str
    dispensing_id: str
    containers: int
    volume_ml: Decimal | None
    reason: str
    on: date
    recorded_at: datetime
    recorded_by: str
    corrects_id: str | None = None


@dataclass(frozen=True)
class Pack:
    """What the knowledge says of a product's container: kind, volume, in-use life once opened
    (None: not known)."""

    kind: str
    volume_ml: Decimal
    in_use_days: int | None = None


@dataclass(frozen=True)
class Dose:
    """A dose drawn or to be drawn: its day, volume, lot and product when known."""

    on: date
    volume_ml: Decimal
    lot: str | None = None
    product: str | None = None
    ref: str = ""  # an administration's id, or "dose N" of the course


@dataclass(frozen=True)
class Draw:
    ref: str
    on: date
    volume_ml: Decimal
    dispensing_id: str
    lot: str
    containers: int  # containers opened for it (0: from an open multi-dose vial)


@dataclass(frozen=True)
class Flag:
    code: str  # SUPPLY_EXPIRES_BEFORE_USE, SUPPLY_IN_USE_LIFE_ENDED
    dispensing_id: str
    lot: str
    on: date
    says: str


@dataclass
class Container:
    """One ampoule or vial of a dispensing, as it stands."""

    dispensing: Dispensing
    number: int  # 1..containers within its dispensing
    pack: Pack
    remaining_ml: Decimal
    state: ContainerState = "unopened"
    opened_on: date | None = None

    @property
    def in_use_until(self) -> date | None:
        """The last day an opened multi-dose vial may be drawn from (None: not opened, or not known)."""
        if self.opened_on is None or self.pack.in_use_days is None:
            return None
        return self.opened_on + timedelta(days=self.pack.in_use_days)

    def usable_on(self, day: date) -> bool:
        if day > self.dispensing.expiry or self.state not in ("unopened", "open"):
            return False
        until = self.in_use_until
        return until is None or day <= until

    def to_dict(self) -> dict[str, Any]:
        until = self.in_use_until
        return {
            "dispensing": self.dispensing.id,
            "number": self.number,
            "product": self.dispensing.product,
            "lot": self.dispensing.lot,
            "expiry": self.dispensing.expiry.isoformat(),
            "kind": self.pack.kind,
            "volume_ml": self.pack.volume_ml,
            "remaining_ml": self.remaining_ml,
            "state": self.state,
            "opened_on": None if self.opened_on is None else self.opened_on.isoformat(),
            "in_use_until": None if until is None else until.isoformat(),
        }


@dataclass
class Stock:
    """Every container dispensed, and what happened to them."""

    containers: list[Container] = field(default_factory=list)
    drawn: list[Draw] = field(default_factory=list)
    elsewhere: list[str] = field(default_factory=list)  # doses not drawn from this stock
    flags: list[Flag] = field(default_factory=list)

    def add(self, dispensing: Dispensing, pack: Pack) -> None:
        for n in range(1, dispensing.containers + 1):
            self.containers.append(Container(dispensing, n, pack, pack.volume_ml))

    def left(self, dispensing_id: str | None = None) -> list[Container]:
        return [
            c
            for c in self.containers
            if c.state in ("unopened", "open")
            and (dispensing_id is None or c.dispensing.id == dispensing_id)
        ]

    def volume_left(self) -> Decimal:
        return sum((c.remaining_ml for c in self.left()), Decimal(0))

    # --- drawing ------------------------------------------------------------------------------

    def end_in_use_lives(self, day: date) -> None:
        """Open vials past their in-use life on ``day`` are counted as discarded."""
        for c in self.containers:
            until = c.in_use_until
            if c.state == "open" and until is not None and day > until:
                c.state = "in-use life ended"
                self.flags.append(
                    Flag(
                        "SUPPLY_IN_USE_LIFE_ENDED", c.dispensing.id, c.dispensing.lot, day,
                        f"Opened vial of lot {c.dispensing.lot} (opened {c.opened_on}) is past "
                        f"its in-use life ({until}): {c.remaining_ml} mL left in it are discarded.",
                    )
                )  # fmt: skip

    def draw(self, dose: Dose, *, past: bool) -> Draw | None:
        """Draw ``dose`` from the container it comes from (see the module's rules); None when
        nothing covers it. ``past``: a dose given (a lot no dispensing has: other stock)."""
        self.end_in_use_lives(dose.on)
        candidates = [
            c
            for c in self.left()
            if (dose.product is None or c.dispensing.product == dose.product)
            and c.dispensing.dispensed_at.date() <= dose.on
        ]
        if dose.lot is not None and past:
            candidates = [c for c in candidates if c.dispensing.lot == dose.lot]
        if not past:
            candidates = self._flag_expired(candidates, dose.on)
        else:
            candidates = [c for c in candidates if c.usable_on(dose.on)] or candidates
        # the open multi-dose vial first, then by expiry, dispensing and number
        ordered = sorted(
            candidates,
            key=lambda c: (c.state != "open", c.dispensing.expiry, c.dispensing.dispensed_at,
                           c.dispensing.id, c.number),
        )  # fmt: skip
        for c in ordered:
            if c.pack.kind == MULTI_DOSE:
                if c.remaining_ml < dose.volume_ml:
                    continue
                opened = 1 if c.state == "unopened" else 0
                if c.state == "unopened":
                    c.state, c.opened_on = "open", dose.on
                c.remaining_ml -= dose.volume_ml
                if c.remaining_ml == 0:
                    c.state = "empty"
                return self._drew(dose, c, opened)
            if c.pack.kind in SINGLE_USE:
                need = _ceil(dose.volume_ml / c.pack.volume_ml)
                same = [
                    x
                    for x in ordered
                    if x.dispensing.id == c.dispensing.id and x.state == "unopened"
                ]
                if len(same) < need:
                    continue
                for x in same[:need]:
                    x.state, x.opened_on, x.remaining_ml = "empty", dose.on, Decimal(0)
                return self._drew(dose, c, need)
        if past:
            self.elsewhere.append(dose.ref)
        return None

    def _drew(self, dose: Dose, c: Container, opened: int) -> Draw:
        drawn = Draw(dose.ref, dose.on, dose.volume_ml, c.dispensing.id, c.dispensing.lot, opened)
        self.drawn.append(drawn)
        return drawn

    def _flag_expired(self, candidates: list[Container], day: date) -> list[Container]:
        usable = []
        for c in candidates:
            if day > c.dispensing.expiry:
                if not any(
                    f.code == "SUPPLY_EXPIRES_BEFORE_USE" and f.dispensing_id == c.dispensing.id
                    for f in self.flags
                ):
                    self.flags.append(
                        Flag(
                            "SUPPLY_EXPIRES_BEFORE_USE", c.dispensing.id, c.dispensing.lot, day,
                            f"Lot {c.dispensing.lot} expires {c.dispensing.expiry.isoformat()}, "
                            f"before the dose due {day.isoformat()} it would be used for: "
                            "do not use it then; it is not counted from that day.",
                        )
                    )  # fmt: skip
                continue
            usable.append(c)
        return usable

    # --- discarding ---------------------------------------------------------------------------

    def discard(self, waste: Waste) -> None:
        """Whole containers (the open one first, then the last unopened) and a volume from the
        open one."""
        if waste.volume_ml:
            open_ = next((c for c in self.left(waste.dispensing_id) if c.state == "open"), None)
            if open_ is not None:
                open_.remaining_ml = max(Decimal(0), open_.remaining_ml - waste.volume_ml)
                if open_.remaining_ml == 0:
                    open_.state = "empty"
        mine = sorted(self.left(waste.dispensing_id), key=lambda c: (c.state != "open", -c.number))
        for c in mine[: waste.containers]:
            c.state = "discarded"


def _ceil(value: Decimal) -> int:
    return int(value.to_integral_value(ROUND_CEILING))


@dataclass(frozen=True)
class Forecast:
    """How far the containers left go along the doses still owed."""

    draws: tuple[Draw, ...]
    covered: int  # doses the supply covers
    owed: int  # doses still owed
    covered_until: date | None  # the day of the last dose covered
    runs_out_on: date | None  # the day of the first dose nothing covers (None: all covered)
    flags: tuple[Flag, ...]


def replay(
    dispensings: Sequence[tuple[Dispensing, Pack]],
    given: Sequence[Dose],
    wastes: Sequence[Waste],
    on: date,
) -> Stock:
    """The stock on ``on``: every dispensing, dose given and waste up to that day, in the order
    they happened (on one day: dispensings, then doses, then wastes)."""
    stock = Stock()
    events: list[tuple[date, int, Any, Any]] = []
    events += [(d.dispensed_at.date(), 0, d, p) for d, p in dispensings]
    events += [(g.on, 1, g, None) for g in given]
    events += [(w.on, 2, w, None) for w in wastes]
    for day, kind, item, pack in sorted(events, key=lambda e: (e[0], e[1])):
        if day > on:
            continue
        if kind == 0:
            stock.add(item, pack)
        elif kind == 1:
            stock.draw(item, past=True)
        else:
            stock.discard(item)
    stock.end_in_use_lives(on)
    return stock


def forecast(stock: Stock, owed: Sequence[Dose], on: date) -> Forecast:
    """Walk the doses still owed (each drawn on its day, never before ``on``) through a copy of
    ``stock``; the first one nothing covers is the day the supply runs out."""
    import copy

    ahead = copy.deepcopy(stock)
    ahead.flags = []
    draws: list[Draw] = []
    runs_out = covered_until = None
    for dose in owed:
        day = max(dose.on, on)
        drawn = ahead.draw(Dose(day, dose.volume_ml, None, dose.product, dose.ref), past=False)
        if drawn is None:
            runs_out = day
            break
        draws.append(drawn)
        covered_until = day
    return Forecast(
        tuple(draws), len(draws), len(owed), covered_until, runs_out, tuple(ahead.flags)
    )
