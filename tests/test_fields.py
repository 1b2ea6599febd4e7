"""Errors and findings name the field of the command, never a command-line option; the command
line shows the field as its option; one table gives every error its exit code and HTTP status."""

from __future__ import annotations

import ast
import json
import re
from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

import b12
import b12.errors as errors
from b12.adapters.cli import read
from b12.adapters.cli.fields import ARGUMENTS, OPTION_OF_FIELD, options_for
from b12.domain.findings import Finding, Level, Outcome, finding, outcome, suggest
from b12.domain.intake import Portion
from b12.domain.lab_values import Measurement, ReferenceRange
from b12.domain.patient import Patient
from b12.domain.reasons import ReasonError
from b12.errors import ERROR_STATUS, B12Error, InputError, status_of
from b12.knowledge import load_knowledge
from b12.services.administering import GiveRequest, give, record_missed
from b12.services.corrections import correct
from b12.services.dosing import calculate_dose
from b12.services.intake import estimate_intake, requirement
from b12.services.labs import interpret_labs
from b12.services.planning import plan_therapy
from b12.services.record import prescribe
from b12.services.screening import screen_patient
from tests.fakes import fake_factory
from tests.record.helpers import run_main

PACKAGE = Path(b12.__file__).parent
FLAG = re.compile(r"(?<![\w-])--[a-z]")
KB = load_knowledge()
ADULT = Patient(age_months=Decimal(480))
STRENGTH = "1000mcg/mL"
NOW = datetime(2026, 1, 9, 9)


def _literals(path: Path) -> list[tuple[int, str]]:
    """Every string constant of a module (docstrings and f-string parts too; comments are not)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return [
        (node.lineno, node.value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str)
    ]


@pytest.mark.parametrize(
    "path",
    sorted((*(PACKAGE / "services").rglob("*.py"), *(PACKAGE / "domain").rglob("*.py"))),
    ids=lambda p: str(p.relative_to(PACKAGE)),
)
def test_no_service_or_domain_string_names_a_command_line_option(path: Path) -> None:
    named = [(line, text) for line, text in _literals(path) if FLAG.search(text)]
    assert named == []


def _docstrings(tree: ast.AST) -> set[int]:
    """The ids of the docstring constants of a module, its classes and functions."""
    kinds = (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)
    return {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, kinds)
        and node.body
        and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Constant)
    }


@pytest.mark.parametrize(
    "path",
    sorted((*(PACKAGE / "services").rglob("*.py"), *(PACKAGE / "domain").rglob("*.py"))),
    ids=lambda p: str(p.relative_to(PACKAGE)),
)
def test_no_service_or_domain_message_names_a_command(path: Path) -> None:
    """A web page or an EHR shows the same message: what lists the choices is said by the error's
    ``listed``, which each door turns into its own pointer (the command line: its command)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    skip = _docstrings(tree)
    named = [
        (node.lineno, node.value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in skip
        and "`b12 " in node.value
    ]  # fmt: skip
    assert named == []


@pytest.mark.parametrize(
    ("argv", "hint"),
    [
        (["dose", "500mcg"], "(`b12 products` lists them)"),
        (["plan", "--start", "2026-01-05"], "(`b12 indications` lists them)"),
        (["status", "P-404"], "(`b12 patient list` lists them; `b12 patient add` adds one)"),
    ],
)
def test_the_command_line_points_to_the_command_that_lists_the_choices(
    argv: list[str], hint: str, tmp_path: Path
) -> None:
    import os

    from b12.bootstrap import Settings, upgrade

    db = str(tmp_path / "r.db")
    upgrade(Settings(database_url=db, audit_key_file=str(tmp_path / "k")))
    os.environ["B12_AUDIT_KEY_FILE"] = str(tmp_path / "k")
    try:
        code, _, err = run_main([*argv, "--db", db] if argv[0] == "status" else argv)
    finally:
        del os.environ["B12_AUDIT_KEY_FILE"]
    assert code == 2 and err.rstrip("\n").endswith(hint), err


def test_the_literal_reader_sees_strings_and_not_comments(tmp_path: Path) -> None:
    module = tmp_path / "m.py"
    module.write_text('# --comment\nx = f"give --dose {1}"\n', encoding="utf-8")
    assert [t for _, t in _literals(module) if FLAG.search(t)] == ["give --dose "]


# --- one table: every error class -> exit code and HTTP status ---------------------------------


def _subclasses(cls: type[B12Error]) -> set[type[B12Error]]:
    out = {cls}
    for sub in cls.__subclasses__():
        out |= _subclasses(sub)
    return out


def test_every_error_class_of_the_error_module_has_a_row() -> None:
    own = {c for c in _subclasses(B12Error) if c.__module__ == errors.__name__}
    assert len(own) >= 27
    assert own == set(ERROR_STATUS)


@pytest.mark.parametrize("cls", sorted(_subclasses(B12Error), key=lambda c: c.__qualname__))
def test_input_errors_exit_2_and_others_1(cls: type[B12Error]) -> None:
    status = status_of(cls)
    if issubclass(cls, InputError):
        assert status.exit_code == 2 and 400 <= status.http_status < 500
    elif cls in (errors.RecordVersionError, errors.RecordUnavailableError):  # not ready, not found
        assert (status.exit_code, status.http_status) == (1, 503)
    else:
        assert (status.exit_code, status.http_status) == (1, 500)


def test_a_subclass_outside_the_table_takes_its_nearest_ancestors_row() -> None:
    assert ReasonError not in ERROR_STATUS
    assert status_of(ReasonError) == ERROR_STATUS[InputError]
    assert status_of(errors.UnknownNameError("product", "x", ())).http_status == 404


# --- every input error names its field ---------------------------------------------------------


def _dose(dose: str, **fields: Any) -> Callable[[], object]:
    """An order as typed: read by the command line's reader (where text errors arise), then
    checked by the service (where the rest do)."""
    return lambda: calculate_dose(KB, read.dose_request(KB, dose, patient=ADULT, **fields))


def _plan(**fields: Any) -> Callable[[], object]:
    return lambda: plan_therapy(
        KB, read.plan_request(KB, date(2026, 1, 5), patient=ADULT, **fields)
    )


#: An empty record: these refusals come before the record is read (on it, patient P-1 is unknown,
#: which would be refused naming another field).
EMPTY = fake_factory()


def _give(**fields: Any) -> Callable[[], object]:
    request = GiveRequest("P-1", fields.pop("at", NOW), **fields)
    return lambda: give(EMPTY, KB, request, "nurse", NOW)  # type: ignore[arg-type]


#: Each known error site, by the field it must name (and the fields that would settle it too).
SITES: dict[str, tuple[Callable[[], object], tuple[str, ...]]] = {
    "dose text": (_dose(dose="500", concentration=STRENGTH), ("dose",)),
    "dose in IU": (_dose(dose="500 IU", concentration=STRENGTH), ("dose", "assume_iu_is_mcg")),
    "concentration": (_dose(dose="500mcg", concentration="1000"), ("concentration",)),
    "route": (_dose(dose="500mcg", concentration=STRENGTH, route="nasal spray"), ("route",)),
    "unknown product": (_dose(dose="500mcg", product="no-such-vial"), ("product",)),
    "product and concentration": (
        _dose(
            dose="500mcg", product="cyanocobalamin-us-1000mcg-ml-1ml-vial", concentration=STRENGTH
        ),
        ("product", "concentration"),
    ),
    "neither product nor concentration": (_dose(dose="500mcg"), ("product", "concentration")),
    "site": (_dose(dose="500mcg", concentration=STRENGTH, site="elbow"), ("site",)),
    "indication": (
        _dose(dose="500mcg", concentration=STRENGTH, indication="no such illness"),
        ("indication",),
    ),
    "months": (_plan(indication="pernicious-anaemia", months=0), ("months",)),
    "regimen": (_plan(regimen="no-such-regimen"), ("regimen",)),
    "no indication or regimen": (_plan(product=None), ("indication", "regimen")),
    "baseline B12": (_plan(indication="pernicious-anaemia", b12="low"), ("baseline_b12",)),
    "override reason on give": (_give(override="."), ("override_reason",)),
    "override reason on prescribe": (
        lambda: prescribe(EMPTY, KB, "P-1", None, "dr", NOW, override="ok"),  # type: ignore[arg-type]
        ("override_reason",),
    ),
    "missed-dose reason": (
        lambda: record_missed(EMPTY, "P-1", "-", date(2026, 1, 6), "nurse", NOW),
        ("reason",),
    ),
    "correction kind": (
        lambda: correct(EMPTY, "P-1", "prescription", "x", {}, "typo", "a", NOW),
        ("kind",),
    ),
    "correction reason": (
        lambda: correct(EMPTY, "P-1", "lab", "x", {}, "?", "a", NOW),
        ("reason",),
    ),
    "time given in the future": (_give(at=datetime(2099, 1, 5, 9)), ("at",)),
    "bypass of a stop that is not hard": (
        lambda: screen_patient(KB, ADULT, bypass={"LEBERS_DISEASE": "reason given"}),
        ("bypass",),
    ),
    "bypass reason": (
        lambda: screen_patient(KB, ADULT, bypass={"COBALAMIN_HYPERSENSITIVITY": ""}),
        ("bypass",),
    ),
    "substance not a cobalamin": (
        lambda: screen_patient(KB, ADULT, substance="folic-acid"),
        ("substance",),
    ),
    "lab reading": (lambda: read.labs(KB, ["hb=abc"]), ("readings",)),
    "unknown laboratory test": (lambda: read.labs(KB, ["zzz=1"]), ("readings",)),
    "lab reading's unit": (lambda: read.labs(KB, ["b12=150mg/dL"]), ("readings",)),
    "no lab reading": (lambda: interpret_labs(KB, [], ADULT), ("readings",)),
    "typed reading's unit": (
        lambda: interpret_labs(KB, [Measurement("b12", Decimal(150), "mg/dL")], ADULT),
        ("readings",),
    ),
    "lab range": (lambda: read.labs(KB, ["hb=12g/dL"], ["hb"]), ("ranges",)),
    "lab range bounds": (lambda: read.labs(KB, ["hb=12g/dL"], ["hb=12"]), ("ranges",)),
    "typed lab range": (
        lambda: interpret_labs(
            KB,
            [Measurement("hb", Decimal(12), "g/dL")],
            ADULT,
            [ReferenceRange("hb", Decimal(15), Decimal(12), "g/dL")],
        ),
        ("ranges",),
    ),
    "screening route": (lambda: screen_patient(KB, ADULT, route="im"), ("route",)),
    "age": (lambda: Patient(age_months=Decimal(2000)), ("age",)),
    "age twice": (lambda: Patient.of_age(Decimal(1), Decimal(12)), ("age", "age_months")),
    "weight": (lambda: Patient(weight_kg=Decimal(900)), ("weight_kg",)),
    "requirement without age": (lambda: requirement(KB, Patient()), ("age",)),
    "requirement table": (lambda: read.requirement_table(KB, "who"), ("table",)),
    "requirement table id": (lambda: requirement(KB, ADULT, "who"), ("table",)),
    "food": (lambda: read.foods(KB, ["liver=lots"]), ("foods",)),
    "food id": (lambda: estimate_intake(KB, [Portion("lots", Decimal(1))], ADULT), ("foods",)),
    "food grams": (lambda: estimate_intake(KB, [Portion("liver", Decimal(0))], ADULT), ("foods",)),
}


@pytest.mark.parametrize("site", SITES)
def test_an_input_error_names_its_field(site: str) -> None:
    run, fields = SITES[site]
    with pytest.raises(InputError) as refused:
        run()
    assert refused.value.fields == fields, str(refused.value)
    assert not FLAG.search(str(refused.value))
    assert all(f in OPTION_OF_FIELD or f in ARGUMENTS for f in fields)


# --- the command line shows the field as its option ---------------------------------------------


#: (command line, what stderr must say exactly).
CLI_ERRORS = [
    (["dose", "500mcg", "--concentration", "1000"],
     "b12: --concentration: concentration '1000': no unit; write the concentration with a unit: "
     "1,000 mcg/mL, 1 mg/1 mL\n"),
    (["dose", "500", "--concentration", STRENGTH],
     "b12: DOSE: dose '500': no unit; write the dose with a unit: 500 mcg, 0.5 mg\n"),
    (["dose", "500 IU", "--concentration", STRENGTH],
     "b12: DOSE or --assume-iu-is-mcg: dose '500 IU': vitamin B12 has no international unit, so "
     "'IU' is not converted; write the dose in mcg (500 mcg), or accept the assumption 1 IU = 1 "
     "mcg\n"),
    (["dose", "500mcg"],
     "b12: --product or --concentration: name a product or a concentration, e.g. 1000mcg/mL "
     "(`b12 products` lists them)\n"),
    (["dose", "500mcg", "--concentration", STRENGTH, "--route", "nasal spray"],
     "b12: --route: unknown route 'nasal spray': write one of IM, SC, deep-SC, IV, intrathecal, "
     "oral, sublingual, nasal\n"),
    (["plan", "--start", "2026-01-05", "--months", "0", "--indication", "pernicious-anaemia"],
     "b12: --months: 0 months: write a whole number of months from 1 to 60\n"),
    (["check", "--bypass", "LEBERS_DISEASE=reason given"],
     "b12: --bypass: LEBERS_DISEASE cannot be bypassed: only a hard stop can be bypassed "
     "(COBALAMIN_HYPERSENSITIVITY, PRODUCT_CONTRAINDICATED, ROUTE_INTRATHECAL, "
     "ROUTE_INTRATHECAL_PRESERVED)\n"),
    (["labs", "hb=12g/dL", "--range", "hb"],
     "b12: --range: 'hb': not NAME=LOW-HIGH; write e.g. rbc=4.2-5.4\n"),
    (["labs", "hb=abc"],
     "b12: READINGS: 'hb=abc': 'abc' does not start with a number; write e.g. b12=150pg/mL\n"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("argv", "said"), CLI_ERRORS, ids=lambda a: " ".join(a) if isinstance(a, list) else ""
)
def test_the_command_line_names_the_option_to_fix(argv: list[str], said: str) -> None:
    assert run_main(argv) == (2, "", said)


def test_an_option_the_command_lacks_is_never_named() -> None:
    assert options_for(["dose", "product"], {"DOSE", "--concentration"}) == ["DOSE"]
    assert options_for(["override_reason"], {"--reason"}) == []
    assert options_for(["override_reason"], None) == ["--override"]


# --- suggestions and outcomes -------------------------------------------------------------------


def test_a_slip_suggests_the_dose_as_an_action_in_the_json() -> None:
    code, out, _ = run_main(["dose", "500 mg", "--concentration", STRENGTH, "--json"])
    assert code == 3
    slip = next(f for f in json.loads(out)["findings"] if f["code"] == "DOSE_UNIT_SLIP")
    assert slip["suggestion"] == {
        "says": "if 500 mcg was meant, order 500 mcg",
        "action": {"set": "dose", "to": "500 mcg"},
    }


def test_a_suggestion_without_an_action_has_words_only() -> None:
    plain = finding("X", Level.INFO, "m", (), suggestion=suggest("check it by hand"))
    assert plain.to_dict()["suggestion"] == {"says": "check it by hand"}
    listed = suggest("one of", with_one_of=("a", "b"))
    assert listed.to_dict() == {"says": "one of", "action": {"with_one_of": ["a", "b"]}}


def _f(level: Level, code: str = "C") -> Finding:
    return finding(code, level, "m", ())


@pytest.mark.parametrize(
    ("levels", "interrupt_on", "bypassed", "expected"),
    [
        ((), Level.STOP, (), Outcome.DONE),
        ((Level.INFO, Level.WARNING), Level.STOP, (), Outcome.DONE),
        ((Level.INFO, Level.STOP), Level.STOP, (), Outcome.STOPPED),
        ((Level.STOP,), Level.STOP, ("C",), Outcome.DONE),
        ((Level.WARNING,), Level.WARNING, (), Outcome.STOPPED),
        ((Level.INFO,), Level.WARNING, (), Outcome.DONE),
        ((Level.INFO,), Level.INFO, (), Outcome.STOPPED),
        ((Level.STOP,), Level.INFO, ("C",), Outcome.DONE),
    ],
)
def test_outcome_of_findings(
    levels: tuple[Level, ...], interrupt_on: Level, bypassed: tuple[str, ...], expected: Outcome
) -> None:
    found = [_f(level) for level in levels]
    assert outcome(found, interrupt_on=interrupt_on, bypassed=bypassed) is expected
