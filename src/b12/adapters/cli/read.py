"""What people type at the command line, read into the typed commands the services take.

The services take quantities (``Mass``, ``Concentration``), knowledge ids and route ids; the
reading of text (``.5mg``, ``1000mcg/mL``, ``im``, a product's name) is done here, with the
domain's readers, and raises their errors unchanged. Every door reads its own input this way (a
FHIR ``Quantity`` becomes a ``Mass`` with ``Mass.of``, without text in between).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING

from b12.domain.dose_input import ParsedDose, parse_concentration, parse_dose
from b12.domain.intake import Portion, parse_portion
from b12.domain.lab_values import (
    LabInputError,
    Measurement,
    ReferenceRange,
    no_reading,
    parse_reading,
)
from b12.domain.labs import find_unit, is_panel, parse_range
from b12.domain.patient import Patient
from b12.domain.quantity import Concentration
from b12.domain.routes import parse_route
from b12.errors import InputError, about
from b12.knowledge.base import Knowledge
from b12.services.dosing import DoseRequest, one_strength

if TYPE_CHECKING:  # the planner imports the knowledge schema (pydantic): not on the dose path
    from b12.knowledge.entries import Analyte
    from b12.services.planning import PlanRequest


def dose(text: str, *, assume_iu_is_mcg: bool = False) -> ParsedDose:
    """'0.5 mg', '1,000 µg', '5000 iu' (with the assumption) -> the dose, as written and read."""
    with about("dose"):
        return parse_dose(text, assume_iu_is_mcg=assume_iu_is_mcg)


def concentration(text: str) -> Concentration:
    """'1000mcg/mL', '100 mg/2 mL' -> the exact concentration."""
    with about("concentration"):
        return parse_concentration(text)


def route(text: str) -> str:
    """'im', 'Intramuscular', 'deep sc' -> the route id."""
    with about("route"):
        return parse_route(text)


def product_id(kb: Knowledge, name: str) -> str:
    """A product's id, name or synonym -> its id; an unknown name lists close ones."""
    with about("product"):
        return str(kb.lookup("products", name, "product").id)


def indication_id(kb: Knowledge, name: str) -> str:
    """An indication's id, name or synonym -> its id."""
    with about("indication"):
        return str(kb.lookup("indications", name, "indication").id)


def regimen_id(kb: Knowledge, name: str) -> str:
    """A regimen's id -> its id (an unknown one lists close ones)."""
    with about("regimen"):
        return str(kb.lookup("regimens", name, "regimen").id)


def dose_request(
    kb: Knowledge,
    dose_text: str,
    *,
    product: str | None = None,
    concentration: str | None = None,
    route: str | None = None,
    indication: str | None = None,
    assume_iu_is_mcg: bool = False,
    site: str | None = None,
    patient: Patient | None = None,
    expiry: date | None = None,
    today: date | None = None,
    mix: tuple[str, ...] = (),
    substance: str | None = None,
) -> DoseRequest:
    """An order as typed -> the dose request, read in the order the errors have always come:
    the dose, the product, one strength, the concentration, the route, the indication."""
    parsed = dose(dose_text, assume_iu_is_mcg=assume_iu_is_mcg)
    product_ref = product_id(kb, product) if product else None
    one_strength(product_ref is not None, concentration is not None)
    strength = read_concentration(concentration) if concentration is not None else None
    route_ref = read_route(route) if route is not None else None
    indication_ref = indication_id(kb, indication) if indication else None
    return DoseRequest(
        parsed,
        product=product_ref,
        concentration=strength,
        route=route_ref,
        site=site,
        indication=indication_ref,
        patient=patient or Patient(),
        expiry=expiry,
        today=today,
        mix=mix,
        substance=substance,
    )


_LEVEL = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([A-Za-z/]+)\s*$")


def b12_level(kb: Knowledge, text: str) -> Measurement:
    """--b12 '150 pg/mL' -> the baseline B12 level, in a unit the knowledge declares for it."""
    analyte = kb.get("analytes", "b12")
    units = {u.unit.lower(): u for u in analyte.units}
    match = _LEVEL.match(text)
    unit = units.get(match.group(2).lower()) if match else None
    if match is None or unit is None:
        raise InputError(
            f"baseline B12 {text!r}: write a number and a unit ({', '.join(u.unit for u in analyte.units)}), e.g. 150pg/mL",
            field="baseline_b12",
        )
    return Measurement(analyte.id, Decimal(match.group(1)), unit.unit)


def plan_request(
    kb: Knowledge,
    start: date,
    indication: str | None = None,
    regimen: str | None = None,
    product: str | None = None,
    concentration: str | None = None,
    months: int = 12,
    neuro: bool = False,
    b12: str | None = None,
    patient: Patient | None = None,
) -> PlanRequest:
    """A course as typed -> the plan request: names to ids, the strength and the B12 level read
    (in the order the errors have always come: product, regimen, indication, then the rest)."""
    from b12.services.planning import PlanRequest

    if product and concentration:
        one_strength(True, True)  # a plan needs neither, but not both
    product_ref = product_id(kb, product) if product else None
    regimen_ref = regimen_id(kb, regimen) if regimen else None
    return PlanRequest(
        start,
        indication=indication_id(kb, indication) if indication else None,
        regimen=regimen_ref,
        product=product_ref,
        concentration=read_concentration(concentration) if concentration is not None else None,
        months=months,
        neuro=neuro,
        b12=b12_level(kb, b12) if b12 is not None else None,
        patient=patient or Patient(),
    )


def analyte(kb: Knowledge, name: str) -> Analyte:
    """A laboratory test's id, name or synonym (b12, Hb, retic ...) -> its analyte."""
    found: Analyte = kb.lookup("analytes", name, "laboratory test")
    return found


def reading(kb: Knowledge, text: str) -> Measurement:
    """'Hb=11.2 g/dL', 'rbc=4.5' -> the analyte id, the exact value and the unit as the knowledge
    declares it in UCUM (a missing unit is taken only where the analyte's units all agree)."""
    with about("readings"):
        written = parse_reading(text)
        test = analyte(kb, written.name)
        if is_panel(test):
            raise LabInputError(
                text,
                f"{test.name} is a panel, not one value",
                "write each test of the panel as NAME=VALUE[UNIT], e.g. hb=12g/dL",
            )
        unit = find_unit(test, written.unit, text)
    return Measurement(test.id, written.value, unit.unit, not written.unit, written.name, text)


def lab_ranges(kb: Knowledge, texts: Sequence[str]) -> list[ReferenceRange]:
    """'hb=12-15g/dL', 'rbc=4.2-5.4' -> the lab's own ranges: one for each test, none for a panel."""
    out: dict[str, ReferenceRange] = {}
    with about("ranges"):
        for text in texts:
            name, sep, rest = text.partition("=")
            if not sep or not name.strip():
                raise LabInputError(text, "not NAME=LOW-HIGH", "write e.g. rbc=4.2-5.4")
            test = analyte(kb, name.strip())
            if is_panel(test):
                raise LabInputError(
                    text,
                    f"{test.id} is a panel, not one value",
                    "give a range for one of its tests",
                )
            if test.id in out:
                raise LabInputError(
                    text, f"a second range for {test.id}", "give one range for each test"
                )
            out[test.id] = parse_range(test, rest, text)
    return list(out.values())


def labs(
    kb: Knowledge, readings: Sequence[str], ranges: Sequence[str] = ()
) -> tuple[list[Measurement], list[ReferenceRange]]:
    """Results and the lab's ranges as typed, read in the order the errors have always come:
    none given, the ranges, then each result."""
    if not readings:
        raise no_reading()
    judged_by = lab_ranges(kb, ranges)
    return [reading(kb, text) for text in readings], judged_by


def foods(kb: Knowledge, texts: Sequence[str]) -> list[Portion]:
    """'liver=100g', 'Milk = 250' -> each food's id and the grams eaten in a day."""
    with about("foods"):
        return [_portion(kb, text) for text in texts]


def _portion(kb: Knowledge, text: str) -> Portion:
    name, grams = parse_portion(text)
    return Portion(str(kb.lookup("foods", name, "food").id), grams, text)


def requirement_table(kb: Knowledge, name: str) -> str:
    """A requirement table's id or name -> its id."""
    with about("table"):
        return str(kb.lookup("requirements", name, "requirement table").id)


# the readers under the names the request builders' parameters would shadow
read_concentration = concentration
read_route = route
