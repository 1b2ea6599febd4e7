"""What people type at the command line, read into the typed commands the services take.

The services take quantities (``Mass``, ``Concentration``), knowledge ids and route ids; the
reading of text (``.5mg``, ``1000mcg/mL``, ``im``, a product's name) is done here, with the
domain's readers, and raises their errors unchanged. Every door reads its own input this way (a
FHIR ``Quantity`` becomes a ``Mass`` with ``Mass.of``, without text in between).
"""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING

from b12.domain.dose_input import ParsedDose, parse_concentration, parse_dose
from b12.domain.lab_values import Measurement
from b12.domain.patient import Patient
from b12.domain.quantity import Concentration
from b12.domain.routes import parse_route
from b12.errors import InputError, about
from b12.knowledge.base import Knowledge
from b12.services.dosing import DoseRequest, one_strength

if TYPE_CHECKING:  # the planner imports the knowledge schema (pydantic): not on the dose path
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


# the readers under the names the request builders' parameters would shadow
read_concentration = concentration
read_route = route
