"""Reading typed text into the typed commands (adapters/cli/read.py), and the typed services.

Each text form the command line accepted reads to the same typed value, and each error is the one
the text path raised; a quantity that was never text (a FHIR Quantity) reaches the services as is.
"""

from __future__ import annotations

import dataclasses
import inspect
import typing
from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from b12 import InputError, UnknownNameError, load_knowledge
from b12.adapters.cli import read
from b12.domain.dose_input import ParsedDose
from b12.domain.lab_values import Measurement
from b12.domain.quantity import Concentration, Mass
from b12.errors import IUNotAUnitError, QuantityTypeError, QuantityValueError, UnknownUnitError
from b12.services.administering import GiveRequest
from b12.services.dosing import DoseRequest, calculate_dose
from b12.services.planning import PlanRequest, plan_therapy

KB = load_knowledge()
VIAL = "cyanocobalamin-us-1000mcg-ml-10ml-vial"
START = date(2027, 1, 4)


# --- Mass.of: a number and a UCUM code, no text ------------------------------------------------


@pytest.mark.parametrize(
    ("value", "code", "mcg"),
    [
        (Decimal(500), "ug", "500"),
        (Decimal("0.5"), "mg", "500"),
        (Decimal("1.25"), "mg", "1250"),
        (Decimal("0.001"), "g", "1000"),
        (Decimal("0.000001"), "g", "1"),
        (1000, "ug", "1000"),
    ],
)
def test_mass_of_a_ucum_quantity(value: Decimal, code: str, mcg: str) -> None:
    mass = Mass.of(value, code)
    assert mass == Mass(Decimal(mcg))
    assert mass == read.dose(f"{value} {'mcg' if code == 'ug' else code}").mass


@pytest.mark.parametrize("code", ["[iU]", "[IU]", "IU", "iU"])
def test_mass_of_refuses_the_international_unit_as_the_text_path_does(code: str) -> None:
    with pytest.raises(IUNotAUnitError) as raised:
        Mass.of(Decimal(5000), code)
    assert str(raised.value) == (
        f"mass '5000 {code}': vitamin B12 has no international unit, so {code!r} is not "
        "converted; give the mass in ug, mg or g"
    )
    with pytest.raises(IUNotAUnitError):
        read.dose("5000 IU")


@pytest.mark.parametrize("code", ["mcg", "UG", "mL", "", "kg", "[mcg]"])
def test_mass_of_takes_only_the_three_ucum_mass_codes(code: str) -> None:
    with pytest.raises(UnknownUnitError, match=r"is not a UCUM mass code; use ug, mg or g"):
        Mass.of(Decimal(1), code)


def test_mass_of_refuses_a_float_and_a_negative_value() -> None:
    with pytest.raises(QuantityTypeError):
        Mass.of(0.5, "mg")  # type: ignore[arg-type]
    with pytest.raises(QuantityValueError, match=">= 0"):
        Mass.of(Decimal(-1), "ug")


def test_a_fhir_quantity_reaches_the_dose_check_without_text() -> None:
    order = DoseRequest(
        ParsedDose.of(Mass.of(Decimal("0.5"), "mg")), concentration=Concentration(Decimal(1000))
    )
    typed = calculate_dose(KB, order)
    as_typed = calculate_dose(KB, read.dose_request(KB, "500 mcg", concentration="1000 mcg/mL"))
    assert typed.measured == as_typed.measured
    assert typed.measured is not None and typed.measured.rounded_ml == Decimal("0.5")
    assert typed.to_dict()["dose_as_written"] == "500 mcg"
    assert [f.code for f in typed.findings] == [f.code for f in as_typed.findings]


# --- what the command line reads --------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "mcg", "written"),
    [
        ("500mcg", "500", "mcg"),
        ("500 mcg", "500", "mcg"),
        (".5mg", "500", "mg"),
        ("0.5 mg", "500", "mg"),
        ("1,000 µg", "1000", "µg"),
        ("1000 ug", "1000", "ug"),
        ("1 milligram", "1000", "milligram"),
        ("0.001 g", "1000", "g"),
    ],
)
def test_every_dose_form_reads_to_the_same_mass(text: str, mcg: str, written: str) -> None:
    request = read.dose_request(KB, text, concentration="1000mcg/mL")
    assert request.dose.mass == Mass(Decimal(mcg))
    assert (request.dose.text, request.dose.unit_written) == (text, written)
    assert not request.dose.assumed_iu_is_mcg


def test_an_iu_dose_reads_only_with_the_assumption_and_carries_it() -> None:
    request = read.dose_request(KB, "5000 iu", concentration="1000mcg/mL", assume_iu_is_mcg=True)
    assert request.dose.mass == Mass(Decimal(5000))
    assert request.dose.assumed_iu_is_mcg
    assert "DOSE_IU_ASSUMED" in {f.code for f in calculate_dose(KB, request).findings}


@pytest.mark.parametrize(
    ("text", "mcg", "per_ml"),
    [
        ("1000mcg/mL", "1000", "1"),
        ("1000 mcg/mL", "1000", "1"),
        ("1 mg/1 mL", "1000", "1"),
        ("100 mg/2 mL", "100000", "2"),
        ("1000 mcg per mL", "1000", "1"),
        ("0.5 mg/mL", "500", "1"),
    ],
)
def test_every_concentration_form_reads_exactly(text: str, mcg: str, per_ml: str) -> None:
    strength = read.dose_request(KB, "1 mg", concentration=text).concentration
    assert strength is not None
    assert (strength.mcg, strength.per_ml) == (Decimal(mcg), Decimal(per_ml))


@pytest.mark.parametrize(
    ("text", "route"),
    [
        ("IM", "IM"),
        ("im", "IM"),
        ("Intramuscular", "IM"),
        ("deep sc", "deep-SC"),
        ("deep_sc", "deep-SC"),
        ("subcutaneous", "SC"),
        ("intralumbar", "intrathecal"),
        ("by mouth", "oral"),
    ],
)
def test_every_route_form_reads_to_its_id(text: str, route: str) -> None:
    assert read.dose_request(KB, "1 mg", concentration="1000mcg/mL", route=text).route == route


def test_names_and_synonyms_read_to_knowledge_ids() -> None:
    request = read.dose_request(KB, "1 mg", product="milgamma", indication="Addison-Biermer anemia")
    assert (request.product, request.indication) == ("milgamma-2ml-ampoule", "pernicious-anaemia")
    plan = read.plan_request(KB, START, indication="Addison-Biermer anaemia", product=VIAL)
    assert (plan.indication, plan.product) == ("pernicious-anaemia", VIAL)


@pytest.mark.parametrize(
    ("text", "value", "unit"),
    [
        ("150pg/mL", "150", "pg/mL"),
        ("150 PG/ML", "150", "pg/mL"),
        ("110.7 pmol/L", "110.7", "pmol/L"),
    ],
)
def test_the_baseline_b12_reads_to_a_measurement(text: str, value: str, unit: str) -> None:
    assert read.b12_level(KB, text) == Measurement("b12", Decimal(value), unit)


@pytest.mark.parametrize(
    ("text", "options", "error", "message"),
    [
        (
            "5000 iu",
            {"concentration": "1000mcg/mL"},
            IUNotAUnitError,
            "dose '5000 iu': vitamin B12 has no international unit, so 'iu' is not converted; "
            "write the dose in mcg (500 mcg), or accept the assumption 1 IU = 1 mcg",
        ),
        (
            "1 mg",
            {"product": "milgama"},
            UnknownNameError,
            "unknown product 'milgama': did you mean milgamma-2ml-ampoule, vitagamma-ampoule?",
        ),
        (
            "1 mg",
            {},
            InputError,
            "name a product (see `b12 products`) or a concentration, e.g. 1000mcg/mL",
        ),
        (
            "1 mg",
            {"product": "milgamma", "concentration": "not read"},
            InputError,
            "give a product or a concentration, not both: the product fixes the strength",
        ),
        (
            "1 mg",
            {"concentration": "1000mcg/mL", "route": "muscle"},
            InputError,
            "unknown route 'muscle': write one of IM, SC, deep-SC, IV, intrathecal, oral, "
            "sublingual, nasal",
        ),
        (
            "1 mg",
            {"concentration": "1000 IU/mL"},
            IUNotAUnitError,
            "concentration '1000 IU/mL': vitamin B12 has no international unit, so 'IU' is not "
            "converted; write the concentration in mcg: 1,000 mcg/mL, 1 mg/1 mL",
        ),
        # the dose is read first, then the product, as the text path did
        (
            "x",
            {"product": "nope"},
            InputError,
            "dose 'x': no number; write the dose as a number and a unit: 500 mcg, 0.5 mg",
        ),
    ],
)
def test_reading_errors_are_the_text_paths(
    text: str, options: dict[str, Any], error: type[Exception], message: str
) -> None:
    with pytest.raises(error) as raised:
        read.dose_request(KB, text, **options)
    assert str(raised.value) == message


def test_an_unknown_indication_is_named() -> None:
    with pytest.raises(UnknownNameError, match=r"^unknown indication 'nope': "):
        read.dose_request(KB, "1 mg", concentration="1000mcg/mL", indication="nope")


@pytest.mark.parametrize("text", ["150", "150 mg/dL", "pg/mL", "150 pg/mL extra"])
def test_an_unreadable_baseline_b12_says_what_to_write(text: str) -> None:
    with pytest.raises(InputError) as raised:
        read.b12_level(KB, text)
    assert str(raised.value) == (
        f"baseline B12 {text!r}: write a number and a unit (pmol/L, pg/mL, ng/L), e.g. 150pg/mL"
    )


def test_a_typed_route_must_be_an_id() -> None:
    with pytest.raises(InputError, match=r"^unknown route 'im': write one of IM, SC"):
        calculate_dose(KB, DoseRequest(read.dose("1 mg"), VIAL, route="im"))


def test_a_typed_baseline_in_an_undeclared_unit_is_refused() -> None:
    request = PlanRequest(
        START, "pernicious-anaemia", b12=Measurement("b12", Decimal(150), "mg/dL")
    )
    with pytest.raises(InputError, match="the baseline B12 must be a b12 level"):
        plan_therapy(KB, request)


# --- no text where a quantity belongs ---------------------------------------------------------

#: Parameters that carry a quantity or a reading, by the names the services give them.
QUANTITY_NAMES = frozenset({"dose", "concentration", "b12", "readings", "reading", "ranges"})


def _services() -> dict[str, Any]:
    from b12.services import labs, record

    return {
        "DoseRequest": DoseRequest,
        "PlanRequest": PlanRequest,
        "GiveRequest": GiveRequest,
        "labs.interpret_labs": labs.interpret_labs,
        "labs.read_ranges": labs.read_ranges,
        "record.add_labs": record.add_labs,
    }


#: Converted later (issue 11, point 2c/2d): laboratory readings and ranges are still text.
KNOWN_DEBTS = frozenset(
    {
        ("labs.interpret_labs", "readings"),
        ("labs.interpret_labs", "ranges"),
        ("labs.read_ranges", "ranges"),
        ("record.add_labs", "readings"),
        ("record.add_labs", "ranges"),
    }
)


def _holds_text(hint: Any) -> bool:
    return hint is str or any(_holds_text(arg) for arg in typing.get_args(hint))


def _text_parameters() -> set[tuple[str, str]]:
    found = set()
    for name, service in _services().items():
        if dataclasses.is_dataclass(service):
            hints = typing.get_type_hints(service)
            names = [f.name for f in dataclasses.fields(service)]
        else:
            hints = typing.get_type_hints(service)
            names = list(inspect.signature(service).parameters)
        found |= {(name, p) for p in names if p in QUANTITY_NAMES and _holds_text(hints[p])}
    return found


def test_no_service_takes_a_dose_concentration_or_reading_as_text() -> None:
    assert _text_parameters() == KNOWN_DEBTS


def test_the_typed_commands_carry_quantities() -> None:
    hints = typing.get_type_hints(DoseRequest)
    assert hints["dose"] is ParsedDose
    assert hints["concentration"] == Concentration | None
    plan = typing.get_type_hints(PlanRequest)
    assert plan["concentration"] == Concentration | None
    assert plan["b12"] == Measurement | None
    assert typing.get_type_hints(GiveRequest)["dose"] == ParsedDose | None
