"""The daily B12 requirement (every table, the conflict shown) and a day's intake from foods.

Finding codes (level):
  REQUIREMENT_TABLES_DISAGREE (info)  the tables give other values for this patient
  REQUIREMENT_NOT_IN_TABLE (info)     a table gives no value for this patient (EFSA for a child)
  INTAKE_AMOUNT_UNKNOWN (info)        a food named as a B12 source without an amount: not counted
  INTAKE_SEED_FIGURES (info)          food contents come from a seed; no authority gives them
  INTAKE_BELOW_REQUIREMENT (info)     the day's counted intake is below the requirement
  INTAKE_MEETS_REQUIREMENT (info)     the day's counted intake reaches the requirement
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from b12.domain.display import format_mass, format_number
from b12.domain.findings import Finding, Level, finding
from b12.domain.intake import Portion, check_grams, content_mcg, row_for
from b12.domain.patient import Patient
from b12.errors import InputError, about
from b12.knowledge.base import Knowledge
from b12.knowledge.entries import Food, Range, RequirementRow, RequirementTable

CONFLICT = "daily-requirement-by-age"


@dataclass(frozen=True)
class TableValue:
    table: RequirementTable
    row: RequirementRow | None
    trust: int
    followed: bool

    def to_dict(self) -> dict[str, Any]:
        t, r = self.table, self.row
        return {
            "table": t.id,
            "title": t.title,
            "sources": list(t.sources),
            "status": t.status,
            "trust": self.trust,
            "followed": self.followed,
            "mcg_per_day": None if r is None else _amount(r.mcg_per_day),
            "basis": None if r is None else r.basis,
        }


@dataclass(frozen=True)
class Requirement:
    patient: Patient
    chosen: TableValue
    tables: tuple[TableValue, ...]
    findings: tuple[Finding, ...]
    fingerprint: str

    @property
    def mcg_per_day(self) -> Range:
        assert self.chosen.row is not None
        return self.chosen.row.mcg_per_day

    def to_dict(self) -> dict[str, Any]:
        return {
            "age": self.patient.describe_age(),
            "pregnant": self.patient.pregnant,
            "breastfeeding": self.patient.breastfeeding,
            "table": self.chosen.table.id,
            "requirement_mcg_per_day": _amount(self.mcg_per_day),
            "tables": [t.to_dict() for t in self.tables],
            "conflict": CONFLICT,
            "findings": [f.to_dict() for f in self.findings],
            "fingerprint": self.fingerprint,
        }


@dataclass(frozen=True)
class IntakeItem:
    text: str
    food: Food
    grams: Decimal
    mcg: Decimal | None  # None: the source names the food without an amount

    def to_dict(self) -> dict[str, Any]:
        return {
            "as_written": self.text,
            "food": self.food.id,
            "name": self.food.name,
            "grams": self.grams,
            "mcg_per_100g": self.food.mcg_per_100g,
            "mcg": self.mcg,
            "counted": self.mcg is not None,
            "sources": list(self.food.sources),
            "status": self.food.status,
        }


@dataclass(frozen=True)
class IntakeEstimate:
    requirement: Requirement
    items: tuple[IntakeItem, ...]
    intake_mcg_per_day: Decimal
    findings: tuple[Finding, ...]
    fingerprint: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "requirement_mcg_per_day": _amount(self.requirement.mcg_per_day),
            "requirement_table": self.requirement.chosen.table.id,
            "intake_mcg_per_day": self.intake_mcg_per_day,
            "items": [i.to_dict() for i in self.items],
            "findings": [f.to_dict() for f in (*self.requirement.findings, *self.findings)],
            "fingerprint": self.fingerprint,
        }


def _amount(value: Range) -> Decimal | dict[str, Decimal]:
    return value.min if value.is_single else {"min": value.min, "max": value.max}


def _shown(value: Range) -> str:
    if value.is_single:
        return format_mass(value.min)
    return f"{format_number(value.min)}-{format_mass(value.max)}"


def default_table(kb: Knowledge) -> str:
    """The table the conflict follows by default (the most trusted position)."""
    conflict = kb.conflicts[CONFLICT]
    position = next(p for p in conflict.positions if p.id == conflict.default)
    return position.entries[0].partition(":")[2]


def requirement(kb: Knowledge, patient: Patient, table: str | None = None) -> Requirement:
    """The daily requirement from the table of id ``table`` (default: IOM), with every other
    table's value."""
    tables: dict[str, RequirementTable] = dict(kb.all("requirements"))
    chosen_id = default_table(kb) if table is None else _table(kb, table)
    if patient.age_months is None and not (patient.pregnant or patient.breastfeeding):
        raise InputError(
            "the requirement depends on age: give the age in years (or in months for infants)",
            field="age",
        )
    values = tuple(
        TableValue(t, row_for(t.rows, patient), kb.trust(t.sources), t.id == chosen_id)
        for t in sorted(
            tables.values(), key=lambda t: (t.id != chosen_id, -kb.trust(t.sources), t.id)
        )
    )
    chosen = values[0]
    if chosen.row is None:
        usable = ", ".join(v.table.id for v in values if v.row is not None)
        raise InputError(
            f"table {chosen_id} gives no value for this patient (age {patient.describe_age()}); use one of the tables: {usable}",
            field="table",
        )
    return Requirement(
        patient, chosen, values, _table_notes(chosen, values, patient), kb.fingerprint
    )


def _table_notes(
    chosen: TableValue, values: Sequence[TableValue], patient: Patient
) -> tuple[Finding, ...]:
    assert chosen.row is not None
    shown = _shown(chosen.row.mcg_per_day)
    who = {
        "age": patient.describe_age(),
        "pregnant": patient.pregnant,
        "breastfeeding": patient.breastfeeding,
    }
    others = [
        v
        for v in values
        if v is not chosen and v.row is not None and v.row.mcg_per_day != chosen.row.mcg_per_day
    ]
    notes: list[Finding] = []
    if others:
        listed = "; ".join(f"{v.table.id} {_shown(v.row.mcg_per_day)}" for v in others if v.row)
        notes.append(
            finding(
                "REQUIREMENT_TABLES_DISAGREE",
                Level.INFO,
                f"{chosen.table.id} gives {shown} a day for this patient; other tables differ: {listed}.",
                tuple(dict.fromkeys(s for v in (chosen, *others) for s in v.table.sources)),
                who,
                conflict=CONFLICT,
            )
        )
    for v in values:
        if v.row is None:
            notes.append(
                finding(
                    "REQUIREMENT_NOT_IN_TABLE",
                    Level.INFO,
                    f"{v.table.id} gives no value for this patient.",
                    v.table.sources,
                    who,
                )
            )
    return tuple(notes)


def _table(kb: Knowledge, table: str) -> str:
    with about("table"):
        return str(kb.get("requirements", table).id)


def estimate_intake(
    kb: Knowledge, items: Sequence[Portion], patient: Patient, table: str | None = None
) -> IntakeEstimate:
    """A day's intake from portions (food id, grams) against the requirement, summed exactly."""
    if not items:
        raise InputError("no food given; write FOOD=GRAMS, e.g. liver=100g", field="foods")
    need = requirement(kb, patient, table)
    eaten: list[IntakeItem] = []
    notes: list[Finding] = []
    for portion in items:
        text = portion.text or f"{portion.food}={portion.grams}g"
        with about("foods"):
            food: Food = kb.get("foods", portion.food)
            check_grams(portion.grams, text)
        mcg = None if food.mcg_per_100g is None else content_mcg(portion.grams, food.mcg_per_100g)
        eaten.append(IntakeItem(text, food, portion.grams, mcg))
        if mcg is None:
            notes.append(
                finding(
                    "INTAKE_AMOUNT_UNKNOWN",
                    Level.INFO,
                    f"{food.name}: amount unknown (its sources name it as a B12 source without a figure); not counted.",
                    food.sources,
                    {"food": food.id, "grams": format_number(portion.grams)},
                )
            )
    total = sum((i.mcg for i in eaten if i.mcg is not None), Decimal(0))
    counted = [i for i in eaten if i.mcg is not None]
    if any(i.food.status != "supported" for i in counted):
        seeds = tuple(dict.fromkeys(s for i in counted for s in i.food.sources))
        notes.append(
            finding(
                "INTAKE_SEED_FIGURES",
                Level.INFO,
                "Food contents are seed figures; no authority in b12's sources gives them, so the total is an estimate.",
                seeds,
                {"foods": ", ".join(i.food.id for i in counted)},
            )
        )
    notes.append(_against(total, need, uncounted=len(eaten) - len(counted)))
    return IntakeEstimate(need, tuple(eaten), total, tuple(notes), kb.fingerprint)


def _against(total: Decimal, need: Requirement, uncounted: int) -> Finding:
    target = need.mcg_per_day.min
    values = {
        "intake": format_mass(total),
        "requirement": _shown(need.mcg_per_day),
        "table": need.chosen.table.id,
    }
    more = (
        f"; {uncounted} food(s) without an amount were not counted, so the real intake may be higher"
        if uncounted
        else ""
    )
    if total < target:
        return finding(
            "INTAKE_BELOW_REQUIREMENT",
            Level.INFO,
            f"Counted intake {format_mass(total)} a day is below the requirement of {_shown(need.mcg_per_day)} ({need.chosen.table.id}){more}.",
            need.chosen.table.sources,
            values,
        )
    return finding(
        "INTAKE_MEETS_REQUIREMENT",
        Level.INFO,
        f"Counted intake {format_mass(total)} a day reaches the requirement of {_shown(need.mcg_per_day)} ({need.chosen.table.id}).",
        need.chosen.table.sources,
        values,
    )
