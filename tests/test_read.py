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
from b12.domain.intake import Portion
from b12.domain.lab_values import LabInputError, LabUnitError, Measurement, ReferenceRange
from b12.domain.patient import Patient
from b12.domain.quantity import Concentration, Mass
from b12.errors import IUNotAUnitError, QuantityTypeError, QuantityValueError, UnknownUnitError
from b12.knowledge.base import Knowledge
from b12.services import labs
from b12.services.administering import GiveRequest
from b12.services.dosing import DoseRequest, calculate_dose
from b12.services.intake import estimate_intake, requirement
from b12.services.labs import interpret_labs
from b12.services.planning import PlanRequest, plan_therapy
from b12.services.screening import screen_patient

KB = load_knowledge()
VIAL = "cyanocobalamin-us-1000mcg-ml-10ml-vial"
START = date(2027, 1, 4)
ADULT = Patient(age_months=Decimal(40 * 12), sex="female")


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
            "name a product or a concentration, e.g. 1000mcg/mL",
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
QUANTITY_NAMES = frozenset(
    {"dose", "concentration", "b12", "readings", "reading", "ranges", "items"}
)


def _services() -> dict[str, Any]:
    from b12.services import corrections, follow_up, intake, record

    return {
        "DoseRequest": DoseRequest,
        "PlanRequest": PlanRequest,
        "GiveRequest": GiveRequest,
        "labs.interpret_labs": labs.interpret_labs,
        "labs.lab_ranges": labs.lab_ranges,
        "record.add_labs": record.add_labs,
        "follow_up.patient_status": follow_up.patient_status,
        "corrections.lab_changes": corrections.lab_changes,
        "intake.estimate_intake": intake.estimate_intake,
    }


def _holds_text(hint: Any) -> bool:
    return hint is str or any(_holds_text(arg) for arg in typing.get_args(hint))


def _text_parameters() -> set[tuple[str, str]]:
    found = set()
    for name, service in _services().items():
        # names some services import only for type checking
        hidden = {"Knowledge": Knowledge}
        if dataclasses.is_dataclass(service):
            hints = typing.get_type_hints(service, localns=hidden)
            names = [f.name for f in dataclasses.fields(service)]
        else:
            hints = typing.get_type_hints(service, localns=hidden)
            names = list(inspect.signature(service).parameters)
        found |= {(name, p) for p in names if p in QUANTITY_NAMES and _holds_text(hints[p])}
    return found


def test_no_service_takes_a_dose_concentration_or_reading_as_text() -> None:
    assert _text_parameters() == set()


def test_every_service_listed_has_a_quantity_or_reading_to_check() -> None:
    found = set()
    for name, service in _services().items():
        params = (
            [f.name for f in dataclasses.fields(service)]
            if dataclasses.is_dataclass(service)
            else list(inspect.signature(service).parameters)
        )
        found |= {name for p in params if p in QUANTITY_NAMES}
    assert found == set(_services())  # the check above cannot pass by looking at nothing


def test_the_typed_commands_carry_quantities() -> None:
    hints = typing.get_type_hints(DoseRequest)
    assert hints["dose"] is ParsedDose
    assert hints["concentration"] == Concentration | None
    plan = typing.get_type_hints(PlanRequest)
    assert plan["concentration"] == Concentration | None
    assert plan["b12"] == Measurement | None
    assert typing.get_type_hints(GiveRequest)["dose"] == ParsedDose | None


# --- laboratory results, the lab's ranges, foods, tables and routes ---------------------------


@pytest.mark.parametrize(
    ("text", "analyte", "value", "unit", "assumed", "name"),
    [
        ("b12=150pg/mL", "b12", "150", "pg/mL", False, "b12"),
        ("B12 = 150 pg/mL", "b12", "150", "pg/mL", False, "B12"),
        ("b12=110.7 pmol/L", "b12", "110.7", "pmol/L", False, "b12"),
        ("b12=150ng/L", "b12", "150", "ng/L", False, "b12"),
        ("b12=.5pg/mL", "b12", "0.5", "pg/mL", False, "b12"),
        ("b12=0150pg/mL", "b12", "150", "pg/mL", False, "b12"),
        ("active b12=40pmol/L", "active-b12", "40", "pmol/L", False, "active b12"),
        ("Hb=11.2g/dL", "haemoglobin", "11.2", "g/dL", False, "Hb"),
        ("hb=11.20g/dL", "haemoglobin", "11.2", "g/dL", False, "hb"),
        ("hb=112 g/L", "haemoglobin", "112", "g/L", False, "hb"),
        ("haemoglobin=11.2g/dL", "haemoglobin", "11.2", "g/dL", False, "haemoglobin"),
        ("hb=11.2\u00a0g/dL", "haemoglobin", "11.2", "g/dL", False, "hb"),
        ("hb\u200b=11.2g/dL", "haemoglobin", "11.2", "g/dL", False, "hb"),
        ("rbc=4.5", "rbc", "4.5", "10*6/uL", True, "rbc"),
        ("rbc=4.5x10^6/uL", "rbc", "4.5", "10*6/uL", False, "rbc"),
        ("rbc=4.5 10*6/uL", "rbc", "4.5", "10*6/uL", False, "rbc"),
        ("rbc=4.5×10⁶/µL", "rbc", "4.5", "10*6/uL", False, "rbc"),
        ("rbc=4.5x10^12/L", "rbc", "4.5", "10*12/L", False, "rbc"),
        ("retic=2.50%", "reticulocytes", "2.5", "%", False, "retic"),
        ("  Retic = 2.50 % ", "reticulocytes", "2.5", "%", False, "Retic"),
        ("haematocrit=38%", "haematocrit", "38", "%", False, "haematocrit"),
        ("k=3.6mmol/L", "potassium", "3.6", "mmol/L", False, "k"),
        ("potassium=3.6mEq/L", "potassium", "3.6", "mEq/L", False, "potassium"),
        ("mcv=104fL", "mcv", "104", "fL", False, "mcv"),
        ("ferritin=30mcg/L", "ferritin", "30", "ug/L", False, "ferritin"),
        ("ferritin=30ug/L", "ferritin", "30", "ug/L", False, "ferritin"),
        ("ferritin=30 µg/L", "ferritin", "30", "ug/L", False, "ferritin"),
        ("folate=5ng/mL", "folate", "5", "ng/mL", False, "folate"),
        ("mma=0.3umol/L", "mma", "0.3", "umol/L", False, "mma"),
        ("homocysteine=12umol/L", "homocysteine", "12", "umol/L", False, "homocysteine"),
    ],
)
def test_every_reading_form_reads_to_a_measurement_in_the_declared_unit(
    text: str, analyte: str, value: str, unit: str, assumed: bool, name: str
) -> None:
    reading = read.reading(KB, text)
    assert reading == Measurement(analyte, Decimal(value), unit, assumed, name, text)
    assert unit in {u.unit for u in KB.get("analytes", analyte).units}  # UCUM, as declared
    (result,) = interpret_labs(KB, [reading], ADULT).results
    assert (result.analyte.id, result.value.value, result.value.unit.unit) == (
        analyte,
        Decimal(value),
        unit,
    )
    assert (result.value.unit_assumed, result.name) == (assumed, name)


_UNITS_B12 = "write the value in one of: pmol/L, pg/mL, ng/L"
_TESTS = (
    "write one of: active-b12, b12, blood-count, coagulation, colour-index, ferritin, folate, "
    "haematocrit, haemoglobin, homocysteine, iron, mcv, mma, potassium, rbc, reticulocytes"
)
_PLAIN = "write the value without commas or spaces, with a point for decimals: 1200, 4.5"
_OUTSIDE = (
    "marks a value outside what the lab can measure, which b12 cannot band; "
    "write the number the lab reported and read the lab's comment"
)
_DIGITS = "has more digits than any laboratory value; write at most 12 digits before the point and 6 after it"


@pytest.mark.parametrize(
    ("text", "error", "message"),
    [
        ("b12", LabInputError, "'b12': not NAME=VALUE[UNIT]; write e.g. b12=150pg/mL"),
        ("=150pg/mL", LabInputError, "'=150pg/mL': not NAME=VALUE[UNIT]; write e.g. b12=150pg/mL"),
        ("b12=", LabInputError, "'b12=': no value after b12=; write e.g. b12=150pg/mL"),
        ("b12=<150pg/mL", LabInputError, f"'b12=<150pg/mL': < {_OUTSIDE}"),
        ("b12=>2000pg/mL", LabInputError, f"'b12=>2000pg/mL': > {_OUTSIDE}"),
        (
            "b12=-1pg/mL",
            LabInputError,
            "'b12=-1pg/mL': a signed value; write the value as a plain number, e.g. 4.5",
        ),
        ("b12=1,200pg/mL", LabInputError, f"'b12=1,200pg/mL': 1, is not a plain number; {_PLAIN}"),
        ("b12=1 200pg/mL", LabInputError, f"'b12=1 200pg/mL': 12 is not a plain number; {_PLAIN}"),
        (
            "b12=pg/mL",
            LabInputError,
            "'b12=pg/mL': 'pg/mL' does not start with a number; write e.g. b12=150pg/mL",
        ),
        (
            "hb=abc",
            LabInputError,
            "'hb=abc': 'abc' does not start with a number; write e.g. b12=150pg/mL",
        ),
        ("b12=1.1234567pg/mL", LabInputError, f"'b12=1.1234567pg/mL': 1.1234567 {_DIGITS}"),
        (
            "b12=1234567890123pg/mL",
            LabInputError,
            f"'b12=1234567890123pg/mL': 1234567890123 {_DIGITS}",
        ),
        ("b12=150", LabUnitError, f"'b12=150': no unit given for b12; {_UNITS_B12}"),
        ("b12=150.", LabUnitError, f"'b12=150.': no unit given for b12; {_UNITS_B12}"),
        (
            "b12=150mg/dL",
            LabUnitError,
            f"'b12=150mg/dL': b12 cannot be read in 'mg/dL'; {_UNITS_B12}",
        ),
        (
            "hb=12g/dL extra",
            LabUnitError,
            "'hb=12g/dL extra': haemoglobin cannot be read in 'g/dL extra'; "
            "write the value in one of: g/dL, g/L",
        ),
        ("zzz=1", UnknownNameError, f"unknown laboratory test 'zzz': {_TESTS}"),
        (
            "hemoglobn=12g/dL",
            UnknownNameError,
            "unknown laboratory test 'hemoglobn': did you mean haemoglobin?",
        ),
        (
            "blood-count=12",
            LabInputError,
            "'blood-count=12': full blood count is a panel, not one value; "
            "write each test of the panel as NAME=VALUE[UNIT], e.g. hb=12g/dL",
        ),
    ],
)
def test_an_unreadable_reading_is_the_text_paths_error_about_readings(
    text: str, error: type[Exception], message: str
) -> None:
    with pytest.raises(error) as raised:
        read.labs(KB, [text])
    assert type(raised.value) is error
    assert str(raised.value) == message
    assert raised.value.field == "readings"  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("text", "analyte", "low", "high", "unit", "canonical"),
    [
        ("hb=12-15g/dL", "haemoglobin", "12", "15", "g/dL", ("12", "15")),
        ("hb = 12 - 15 g/dL", "haemoglobin", "12", "15", "g/dL", ("12", "15")),
        ("hb=12g/dL-15g/dL", "haemoglobin", "12", "15", "g/dL", ("12", "15")),
        ("hb=120-150g/L", "haemoglobin", "120", "150", "g/L", ("12", "15")),
        ("rbc=4.2-5.4", "rbc", "4.2", "5.4", "10*6/uL", ("4.2", "5.4")),
        ("k=3.5-5.1mmol/L", "potassium", "3.5", "5.1", "mmol/L", ("3.5", "5.1")),
        ("k=3.5-5.1mEq/L", "potassium", "3.5", "5.1", "mEq/L", ("3.5", "5.1")),
        ("potassium=3.5-5.1", "potassium", "3.5", "5.1", "mmol/L", ("3.5", "5.1")),
        ("ferritin=15-200mcg/L", "ferritin", "15", "200", "ug/L", ("15", "200")),
        ("b12=180-914pg/mL", "b12", "180", "914", "pg/mL", ("132.84", "674.532")),
        ("b12=133-675pmol/L", "b12", "133", "675", "pmol/L", ("133", "675")),
    ],
)
def test_every_range_form_reads_to_a_range_in_the_declared_unit(
    text: str, analyte: str, low: str, high: str, unit: str, canonical: tuple[str, str]
) -> None:
    (given,) = read.lab_ranges(KB, [text])
    written = text.partition("=")[2].strip()
    assert given == ReferenceRange(analyte, Decimal(low), Decimal(high), unit, written)
    judged = labs.lab_ranges(KB, [given])[analyte]
    assert (judged.low, judged.high, judged.text) == (*map(Decimal, canonical), written)


_NOT_A_RANGE = "not a range LOW-HIGH; write e.g. rbc=4.2-5.4"


@pytest.mark.parametrize(
    ("texts", "error", "message"),
    [
        (["hb"], LabInputError, "'hb': not NAME=LOW-HIGH; write e.g. rbc=4.2-5.4"),
        (["=12-15"], LabInputError, "'=12-15': not NAME=LOW-HIGH; write e.g. rbc=4.2-5.4"),
        (["hb=12"], LabInputError, f"'hb=12': {_NOT_A_RANGE}"),
        (["hb=12-"], LabInputError, f"'hb=12-': {_NOT_A_RANGE}"),
        (["hb=-15g/dL"], LabInputError, f"'hb=-15g/dL': {_NOT_A_RANGE}"),
        (
            ["hb=12g/L-15g/dL"],
            LabInputError,
            "'hb=12g/L-15g/dL': two units in one range; write the unit once, after HIGH",
        ),
        (
            ["hb=15-12g/dL"],
            LabInputError,
            "'hb=15-12g/dL': LOW is above HIGH; write the range as LOW-HIGH",
        ),
        (
            ["blood-count=1-2"],
            LabInputError,
            "'blood-count=1-2': blood-count is a panel, not one value; give a range for one of "
            "its tests",
        ),
        (["zzz=1-2"], UnknownNameError, f"unknown laboratory test 'zzz': {_TESTS}"),
        (
            ["hb=12-15mg/dL"],
            LabUnitError,
            "'hb=12-15mg/dL': haemoglobin cannot be read in 'mg/dL'; write the value in one of: "
            "g/dL, g/L",
        ),
        (["b12=180-914"], LabUnitError, f"'b12=180-914': no unit given for b12; {_UNITS_B12}"),
        (
            ["hb=12-15g/dL", "haemoglobin=11-14g/dL"],
            LabInputError,
            "'haemoglobin=11-14g/dL': a second range for haemoglobin; give one range for each test",
        ),
    ],
)
def test_an_unreadable_range_is_the_text_paths_error_about_ranges(
    texts: list[str], error: type[Exception], message: str
) -> None:
    with pytest.raises(error) as raised:
        read.labs(KB, ["hb=12g/dL"], texts)
    assert type(raised.value) is error
    assert str(raised.value) == message
    assert raised.value.field == "ranges"  # type: ignore[attr-defined]


def test_lab_errors_come_in_the_text_paths_order() -> None:
    with pytest.raises(LabInputError, match=r"^'': no result given") as raised:
        read.labs(KB, [], ["zzz=1-2"])  # nothing to read comes first
    assert raised.value.field == "readings"
    with pytest.raises(UnknownNameError) as unknown:
        read.labs(KB, ["hb=abc"], ["zzz=1-2"])  # then the ranges, then the readings
    assert unknown.value.field == "ranges"


@pytest.mark.parametrize(
    ("reading", "given", "field", "message"),
    [
        (
            Measurement("b12", Decimal(150), "mg/dL"),
            (),
            "readings",
            "'b12=150mg/dL': b12 cannot be read in 'mg/dL'; write the value in one of: pmol/L, "
            "pg/mL, ng/L",
        ),
        (  # a typed reading carries the unit as declared, not a lab's spelling of it
            Measurement("rbc", Decimal("4.5"), "x10^6/uL"),
            (),
            "readings",
            "'rbc=4.5x10^6/uL': rbc cannot be read in 'x10^6/uL'; write the value in one of: "
            "10*6/uL, 10*12/L, million/uL",
        ),
        (
            Measurement("blood-count", Decimal(1), "1"),
            (),
            "readings",
            "'blood-count=1': full blood count is a panel, not one value; write each test of "
            "the panel as NAME=VALUE[UNIT], e.g. hb=12g/dL",
        ),
        (
            Measurement("hb", Decimal(12), "g/dL"),
            (),
            "readings",
            "unknown analyte 'hb': write one of: active-b12, b12, blood-count, coagulation, "
            "colour-index, ferritin, folate, haematocrit, haemoglobin, homocysteine, iron, mcv, "
            "mma, potassium, rbc, reticulocytes",
        ),
        (
            Measurement("haemoglobin", Decimal(12), "g/dL"),
            (ReferenceRange("haemoglobin", Decimal(15), Decimal(12), "g/dL"),),
            "ranges",
            "'haemoglobin=15-12 g/dL': LOW is above HIGH; write the range as LOW-HIGH",
        ),
        (
            Measurement("haemoglobin", Decimal(12), "g/dL"),
            (ReferenceRange("haemoglobin", Decimal(12), Decimal(15), "mg/dL", "12-15mg/dL"),),
            "ranges",
            "'haemoglobin=12-15mg/dL': haemoglobin cannot be read in 'mg/dL'; write the value "
            "in one of: g/dL, g/L",
        ),
        (
            Measurement("haemoglobin", Decimal(12), "g/dL"),
            (
                ReferenceRange("haemoglobin", Decimal(12), Decimal(15), "g/dL"),
                ReferenceRange("haemoglobin", Decimal(11), Decimal(14), "g/dL"),
            ),
            "ranges",
            "'haemoglobin=11-14 g/dL': a second range for haemoglobin; give one range for each "
            "test",
        ),
    ],
)
def test_a_typed_reading_or_range_the_knowledge_does_not_declare_is_refused(
    reading: Measurement, given: tuple[ReferenceRange, ...], field: str, message: str
) -> None:
    with pytest.raises(InputError) as raised:
        interpret_labs(KB, [reading], ADULT, given)
    assert (str(raised.value), raised.value.field) == (message, field)


def test_a_fhir_observation_reaches_the_labs_without_text() -> None:
    typed = interpret_labs(
        KB,
        [Measurement("b12", Decimal(150), "pg/mL"), Measurement("rbc", Decimal("4.5"), "10*6/uL")],
        ADULT,
        [ReferenceRange("rbc", Decimal("4.6"), Decimal("6.2"), "10*6/uL")],
    )
    readings, ranges = read.labs(KB, ["b12=150pg/mL", "rbc=4.5x10^6/uL"], ["rbc=4.6-6.2"])
    as_typed = interpret_labs(KB, readings, ADULT, ranges)
    assert [r.to_dict() for r in typed.results] == [
        {**r.to_dict(), "name": r.analyte.id} for r in as_typed.results
    ]
    assert [f.code for f in typed.findings] == [f.code for f in as_typed.findings]
    assert typed.results[1].range_used["text"] == "lab's own range 4.6-6.2 x10^6/uL"


@pytest.mark.parametrize(
    ("text", "food", "grams"),
    [
        ("liver=100", "beef-liver", "100"),
        ("liver=100g", "beef-liver", "100"),
        ("beef liver=100", "beef-liver", "100"),
        ("Milk = 250 grams", "cows-milk", "250"),
        ("milk=250gram", "cows-milk", "250"),
        ("trout=33.3", "trout", "33.3"),
        ("egg=55G", "chicken-egg", "55"),
    ],
)
def test_every_food_form_reads_to_a_food_id_and_grams(text: str, food: str, grams: str) -> None:
    (portion,) = read.foods(KB, [text])
    assert portion == Portion(food, Decimal(grams), text)
    (item,) = estimate_intake(KB, [portion], ADULT).items
    assert (item.food.id, item.grams, item.text) == (food, Decimal(grams), text)


_PORTION = "write grams above 0 and up to 5000"


@pytest.mark.parametrize(
    ("text", "error", "message"),
    [
        ("liver", LabInputError, "'liver': not FOOD=GRAMS; write e.g. liver=100g"),
        ("liver=", LabInputError, "'liver=': not FOOD=GRAMS; write e.g. liver=100g"),
        ("=100", LabInputError, "'=100': not FOOD=GRAMS; write e.g. liver=100g"),
        (
            "liver=100mg",
            LabInputError,
            "'liver=100mg': 'mg' is not grams; write the amount in grams, e.g. liver=100g",
        ),
        ("liver=0", LabInputError, f"'liver=0': 0 g is not a day's portion; {_PORTION}"),
        ("liver=5001", LabInputError, f"'liver=5001': 5001 g is not a day's portion; {_PORTION}"),
        (
            "liver=lots",
            LabInputError,
            "'liver=lots': 'lots' does not start with a number; write e.g. b12=150pg/mL",
        ),
        (
            "liver=-5",
            LabInputError,
            "'liver=-5': a signed value; write the value as a plain number, e.g. 4.5",
        ),
        ("liver=1,5", LabInputError, f"'liver=1,5': 1, is not a plain number; {_PLAIN}"),
        ("liverr=100", UnknownNameError, "unknown food 'liverr': did you mean beef-liver?"),
    ],
)
def test_an_unreadable_food_is_the_text_paths_error_about_foods(
    text: str, error: type[Exception], message: str
) -> None:
    with pytest.raises(error) as raised:
        read.foods(KB, [text])
    assert type(raised.value) is error
    assert (str(raised.value), raised.value.field) == (message, "foods")  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("portion", "message"),
    [
        (Portion("beef-liver", Decimal(0)), "'beef-liver=0g': 0 g is not a day's portion"),
        (Portion("beef-liver", Decimal(5001)), "'beef-liver=5001g': 5001 g is not a day's portion"),
        (Portion("liver", Decimal(100)), "unknown food 'liver': "),
    ],
)
def test_a_typed_portion_must_name_a_food_id_and_a_days_grams(
    portion: Portion, message: str
) -> None:
    with pytest.raises(InputError) as raised:
        estimate_intake(KB, [portion], ADULT)
    assert str(raised.value).startswith(message)
    assert raised.value.field == "foods"


@pytest.mark.parametrize(
    ("text", "table"),
    [
        ("iom-rda", "iom-rda"),
        ("IOM RDA", "iom-rda"),
        ("efsa-adequate-intake", "efsa-adequate-intake"),
    ],
)
def test_a_requirement_table_name_reads_to_its_id(text: str, table: str) -> None:
    chosen = read.requirement_table(KB, text)
    assert chosen == table
    assert requirement(KB, ADULT, chosen).chosen.table.id == table


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "who",
            "unknown requirement table 'who': write one of: efsa-adequate-intake, iom-rda, "
            "seed-000-age-table-1, seed-000-age-table-2",
        ),
        ("iom", "unknown requirement table 'iom': did you mean iom-rda?"),
    ],
)
def test_an_unknown_requirement_table_is_named(text: str, message: str) -> None:
    with pytest.raises(UnknownNameError) as raised:
        read.requirement_table(KB, text)
    assert (str(raised.value), raised.value.field) == (message, "table")
    with pytest.raises(UnknownNameError) as typed:
        requirement(KB, ADULT, "IOM RDA")  # the service takes the id only
    assert typed.value.field == "table"


@pytest.mark.parametrize(
    ("text", "route"),
    [
        ("IM", "IM"),
        ("im", "IM"),
        ("Intramuscular", "IM"),
        ("deep sc", "deep-SC"),
        ("subcutaneous", "SC"),
        ("intralumbar", "intrathecal"),
        ("by mouth", "oral"),
    ],
)
def test_screening_takes_the_route_id_the_reader_gives(text: str, route: str) -> None:
    assert screen_patient(KB, ADULT, route=read.route(text)).route == route
    if text != route:
        with pytest.raises(InputError) as raised:
            screen_patient(KB, ADULT, route=text)
        assert str(raised.value) == (
            f"unknown route {text!r}: write one of IM, SC, deep-SC, IV, intrathecal, oral, "
            "sublingual, nasal"
        )
        assert raised.value.field == "route"
