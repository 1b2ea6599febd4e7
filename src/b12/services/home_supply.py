"""Supply at home: dispense containers to a patient, record what was discarded, and show the stock,
the day it runs out along the course still owed, and the day to ask for a new prescription by.

The arithmetic is ``b12.domain.home_supply``; the course still owed is the active prescription's
re-flowed rows (``services.record.course_of``), so a late or missed dose moves the run-out day.

The in-use life of an opened multi-dose vial is not in the knowledge base: no source b12 holds
states it (the US label says "multi-dose vial" without a discard period; the seeds say nothing).
It is shown as not known, and an opened vial is then counted until it is empty or expires; the
label on the vial decides.

The lead time before the run-out day is policy, not a clinical fact: how long a clinic gives a
prescriber and a pharmacy to renew (``Settings.supply_lead_days``, default ``LEAD_DAYS``).

Finding codes raised here (level):
  SUPPLY_RUNS_OUT (warning)             the supply does not cover the doses still owed
  SUPPLY_EXPIRES_BEFORE_USE (warning)   a container would be used after its expiry
  SUPPLY_IN_USE_LIFE_ENDED (info)       an opened vial passed its in-use life (discarded)
  SUPPLY_IN_USE_LIFE_UNKNOWN (info)     no in-use life for the opened multi-dose vial
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from b12.domain.findings import Finding, Level, finding
from b12.domain.home_supply import (
    MULTI_DOSE,
    SINGLE_USE,
    Dispensing,
    Dose,
    Forecast,
    Pack,
    Stock,
    Waste,
    forecast,
    replay,
)
from b12.domain.reasons import meaningful_reason
from b12.domain.records import current
from b12.errors import InputError, UnknownNameError, about
from b12.knowledge.base import Knowledge
from b12.services.ports import UnitOfWork, opens_unit_of_work
from b12.services.record import (
    active_prescription,
    audit,
    course_of,
    find_patient,
    new_id,
)

#: Policy, not a clinical fact: days before the run-out day to ask for a new prescription by.
LEAD_DAYS = 14
MAX_CONTAINERS = 1000


def in_use_days(kb: Knowledge, product_id: str) -> int | None:
    """The in-use life of the product's opened multi-dose vial, in days: not in the knowledge
    base for any product (see the module's docstring), so None."""
    return None


def pack_of(kb: Knowledge, product_id: str) -> Pack:
    """The container of a product as supply counts it; a product without a countable injection
    container is refused."""
    product = kb.get("products", product_id)
    box = product.container
    if box is None or box.volume_ml is None or box.kind not in (*SINGLE_USE, MULTI_DOSE):
        raise InputError(
            f"product {product_id!r} has no ampoule or vial of known volume in the knowledge "
            "base: dispense a product with a container volume",
            field="product",
            listed="products",
        )
    days = in_use_days(kb, product_id) if box.kind == MULTI_DOSE else None
    return Pack(box.kind, box.volume_ml, days)


def dispensable(kb: Knowledge) -> list[tuple[str, str]]:
    """(id, name) of every product supply can count (an ampoule or vial of known volume), by id."""
    return sorted(
        (p.id, p.name)
        for p in kb.all("products").values()
        if p.container is not None
        and p.container.volume_ml is not None
        and p.container.kind in (*SINGLE_USE, MULTI_DOSE)
    )


@opens_unit_of_work
def dispense(
    uow: UnitOfWork,
    kb: Knowledge,
    code: str,
    product: str,
    containers: int,
    lot: str,
    expiry: date,
    who: str,
    now: datetime,
) -> Dispensing:
    """Containers of one product and lot handed over for use at home (append-only, audited)."""
    record = find_patient(uow, code)
    with about("product"):
        try:
            found = kb.lookup("products", product, "product")
        except UnknownNameError as unknown:  # the choices are what supply can count
            ids = [i for i, _ in dispensable(kb)]
            close = [s for s in unknown.suggestions if s in ids]
            raise UnknownNameError("product", product, ids, close) from None
    pack_of(kb, found.id)
    if not 1 <= containers <= MAX_CONTAINERS:
        raise InputError(
            f"count {containers}: write how many ampoules or vials, 1-{MAX_CONTAINERS}",
            field="count",
        )
    lot = lot.strip()
    if not lot:
        raise InputError("write the lot number printed on the pack, e.g. C4471", field="lot")
    if expiry < now.date():
        raise InputError(
            f"expiry {expiry.isoformat()} is before today ({now.date().isoformat()}): an expired "
            "pack is not dispensed; check the date on the pack",
            field="expiry",
        )
    uow.patients.lock(record.code)
    row = Dispensing(new_id(), record.id, found.id, containers, lot, expiry, now, who)
    uow.dispensings.add(row)
    audit(uow, who, "dispense", row, record.id)
    uow.commit()
    return row


def _decimal(text: str | Decimal | None, field: str) -> Decimal | None:
    if text is None or text == "":
        return None
    try:
        value = Decimal(str(text).strip().removesuffix("mL").removesuffix("ml").strip())
    except InvalidOperation:
        raise InputError(
            f"{field} {str(text)[:40]!r}: write a volume in mL, e.g. 0.5", field=field
        ) from None
    if not value.is_finite() or value < 0 or value > 1000:
        raise InputError(f"{field} {text}: write a volume in mL from 0 to 1000", field=field)
    return value


@opens_unit_of_work
def record_waste(
    uow: UnitOfWork,
    kb: Knowledge,
    code: str,
    lot: str,
    containers: int,
    volume_ml: str | Decimal | None,
    reason: str,
    on: date,
    who: str,
    now: datetime,
) -> Waste:
    """Containers and/or a volume discarded from the patient's dispensing of ``lot``."""
    record = find_patient(uow, code)
    uow.patients.lock(record.code)
    volume = _decimal(volume_ml, "volume")
    if containers < 0 or containers > MAX_CONTAINERS:
        raise InputError(f"containers {containers}: write 0-{MAX_CONTAINERS}", field="count")
    if not containers and not volume:
        raise InputError(
            "say what was discarded: a number of ampoules or vials, or a volume in mL",
            field="count",
        )
    if on > now.date():
        raise InputError(
            f"day {on.isoformat()} is after today: record a waste once it happened", field="on"
        )
    reason = meaningful_reason(
        reason, "reason", "a waste", "vial dropped and broken; past its in-use life"
    )
    stock, dispensings = _stock(uow, kb, record.id, on)
    lot = lot.strip()
    mine = [d for d in dispensings if d.lot == lot]
    left = [c for d in mine for c in stock.left(d.id)]
    if not mine:
        lots = sorted({d.lot for d in dispensings})
        raise InputError(
            f"lot {lot!r} was not dispensed to {record.code}: write one of "
            f"{', '.join(lots) or 'none (dispense first)'}",
            field="lot",
        )
    if containers > len(left):
        raise InputError(
            f"lot {lot} has {len(left)} ampoule(s) or vial(s) left: discard at most that many",
            field="count",
        )
    opened = [c for c in left if c.state == "open"]
    if volume and not containers and (not opened or volume > opened[0].remaining_ml):
        held = opened[0].remaining_ml if opened else Decimal(0)
        raise InputError(
            f"volume {volume} mL: the open vial of lot {lot} holds {held} mL; discard at most "
            "that, or count whole vials",
            field="volume",
        )
    target = next((c.dispensing for c in [*opened, *left]), mine[-1])
    row = Waste(new_id(), record.id, target.id, containers, volume, reason.strip(), on, now, who)
    uow.wastes.add(row)
    audit(uow, who, "waste", row, record.id)
    uow.commit()
    return row


def _stock(
    uow: UnitOfWork, kb: Knowledge, patient_id: str, on: date
) -> tuple[Stock, list[Dispensing]]:
    dispensings = current(uow.dispensings.for_patient(patient_id))
    packs = [(d, pack_of(kb, d.product)) for d in dispensings]
    given = [
        Dose(a.given_at.date(), a.volume_ml, a.lot, a.product, a.id)
        for a in current(uow.administrations.for_patient(patient_id))
        if a.volume_ml is not None
    ]
    wastes = current(uow.wastes.for_patient(patient_id))
    return replay(packs, given, wastes, on), dispensings


@dataclass(frozen=True)
class HomeSupply:
    """The patient's supply at home on a day and how far it goes."""

    patient: str
    on: date
    stock: Stock
    dispensings: tuple[Dispensing, ...]
    wastes: tuple[Waste, ...]
    forecast: Forecast | None  # None without an active prescription
    lead_days: int
    ask_by: date | None
    in_use: dict[str, int | None]  # product -> in-use days of its opened vial (None: not known)
    findings: tuple[Finding, ...]

    def to_dict(self) -> dict[str, Any]:
        f = self.forecast
        left = self.stock.left()
        return {
            "patient": self.patient,
            "date": self.on.isoformat(),
            "containers_left": len(left),
            "volume_left_ml": self.stock.volume_left(),
            "containers": [c.to_dict() for c in self.stock.containers],
            "drawn": [vars(d) for d in self.stock.drawn],
            "given_from_other_stock": list(self.stock.elsewhere),
            "dispensings": [vars(d) for d in self.dispensings],
            "wastes": [vars(w) for w in self.wastes],
            "doses_owed": None if f is None else f.owed,
            "doses_covered": None if f is None else f.covered,
            "covered_until": None
            if f is None or f.covered_until is None
            else f.covered_until.isoformat(),
            "runs_out_on": None
            if f is None or f.runs_out_on is None
            else f.runs_out_on.isoformat(),
            "ask_for_prescription_by": None if self.ask_by is None else self.ask_by.isoformat(),
            "ask_now": self.ask_by is not None and self.ask_by <= self.on,
            "lead_days": self.lead_days,
            "lead_days_is": "policy (a setting), not a clinical fact",
            "in_use_days": dict(self.in_use),
            "findings": [x.to_dict() for x in self.findings],
        }


@opens_unit_of_work
def home_supply(
    uow: UnitOfWork, kb: Knowledge, code: str, on: date, lead_days: int = LEAD_DAYS
) -> HomeSupply:
    """The stock on ``on``, what was drawn and discarded, and how far it goes along the course."""
    if not 0 <= lead_days <= 365:
        raise InputError(f"lead time {lead_days} days: write 0-365", field="lead_days")
    record = find_patient(uow, code)
    stock, dispensings = _stock(uow, kb, record.id, on)
    rx = active_prescription(uow, record.id)
    ahead = None
    if rx is not None:
        owed = [
            Dose(c.due, c.planned.volume_ml, None, rx.product, f"dose {c.planned.number}")
            for c in course_of(uow, rx)
            if c.state != "given" and c.planned.volume_ml is not None
        ]
        ahead = forecast(stock, owed, on) if dispensings else None
    ask_by = None
    if ahead is not None and ahead.runs_out_on is not None:
        ask_by = ahead.runs_out_on - timedelta(days=lead_days)
    packs = {d.product: pack_of(kb, d.product) for d in dispensings}
    in_use = {p: pack.in_use_days for p, pack in packs.items() if pack.kind == MULTI_DOSE}
    findings = _findings(stock, ahead, ask_by, in_use)
    wastes = tuple(current(uow.wastes.for_patient(record.id)))
    return HomeSupply(
        record.code, on, stock, tuple(dispensings), wastes, ahead, lead_days, ask_by, in_use,
        tuple(findings),
    )  # fmt: skip


def _findings(
    stock: Stock,
    ahead: Forecast | None,
    ask_by: date | None,
    in_use: dict[str, int | None],
) -> list[Finding]:
    out: list[Finding] = []
    if ahead is not None and ahead.runs_out_on is not None:
        out.append(
            finding(
                "SUPPLY_RUNS_OUT",
                Level.WARNING,
                f"The supply at home covers {ahead.covered} of the {ahead.owed} doses still "
                f"planned; it runs out on {ahead.runs_out_on.isoformat()}: ask for a new "
                "prescription in time.",
                (),
                {"runs out on": ahead.runs_out_on.isoformat(), "ask by": str(ask_by)},
            )
        )
    for flag in (*stock.flags, *(() if ahead is None else ahead.flags)):
        level = Level.WARNING if flag.code == "SUPPLY_EXPIRES_BEFORE_USE" else Level.INFO
        out.append(
            finding(flag.code, level, flag.says, (), {"lot": flag.lot, "on": flag.on.isoformat()})
        )
    for product in sorted(p for p, days in in_use.items() if days is None):
        out.append(
            finding(
                "SUPPLY_IN_USE_LIFE_UNKNOWN",
                Level.INFO,
                f"How long an opened vial of {product} may be used is not in the knowledge base "
                "(no source b12 holds states it): follow the label on the vial. Opened vials are "
                "counted until empty or expired.",
                (),
            )
        )
    return out
