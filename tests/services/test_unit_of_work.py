"""Each record use case opens its own unit of work from the factory it is given, commits inside
when it writes, and closes it, also when it refuses; no door opens one itself."""

from __future__ import annotations

import ast
import inspect
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

import b12
from b12.adapters.cli import read
from b12.bootstrap import App
from b12.errors import InputError
from b12.services import corrections, record
from tests.fakes import Opened
from tests.services import steps

AT = datetime(2026, 1, 20, 9, tzinfo=UTC)


#: Every record use case, called as a door calls it, and whether it writes (commits once).
CASES: dict[str, tuple[Callable[[App, str], object], bool]] = {
    "add_patient": (lambda app, given: steps.add_patient(app, "P-2"), True),
    "list_patients": (lambda app, given: record.list_patients(app.unit_of_work), False),
    "patient_record": (lambda app, given: record.patient_record(app.unit_of_work, "P-1"), False),
    "prescribe": (lambda app, given: steps.prescribe(app, months=6), True),
    "stop_prescription": (
        lambda app, given: record.stop_prescription(
            app.unit_of_work, "P-1", "remission", "dr Ames", AT
        ),
        True,
    ),
    "give": (lambda app, given: steps.give(app, datetime(2026, 1, 6, 9, tzinfo=UTC)), True),
    "record_missed": (lambda app, given: steps.missed(app, date(2026, 1, 7)), True),
    "add_labs": (lambda app, given: steps.labs(app, ["hb=12.1g/dL"], date(2026, 1, 6)), True),
    "add_event": (lambda app, given: steps.event(app, date(2026, 1, 5), "sore arm"), True),
    "correct": (
        lambda app, given: steps.correct(app, "administration", given, {"lot": "L2"}),
        True,
    ),
    "lab_changes": (
        lambda app, given: corrections.lab_changes(
            app.knowledge,
            app.unit_of_work,
            "P-1",
            read.reading(app.knowledge, "hb=91g/L"),
            date(2026, 1, 5),
        ),
        False,
    ),
    "patient_status": (lambda app, given: steps.status(app, date(2026, 1, 10)), False),
    "due_on": (lambda app, given: record.due_on(app.unit_of_work, date(2026, 1, 10)), False),
    "verify_audit": (lambda app, given: record.verify_audit(app.unit_of_work), False),
    "audit_anchor": (lambda app, given: record.audit_anchor(app.unit_of_work), False),
}


def test_the_fake_record_binds_every_row_as_the_sql_one_does(opened: tuple[App, Opened]) -> None:
    app, _ = opened
    check = record.verify_audit(app.unit_of_work)
    _patient, (rx,) = record.patient_record(app.unit_of_work, "P-1")
    planned = len(rx.doses) + len(rx.labs)  # rows of their own, each bound by a link
    assert planned > 0
    assert check.intact and check.rows == check.links == 3 + planned


@pytest.mark.parametrize("name", CASES)
def test_a_use_case_opens_one_unit_of_work_commits_if_it_writes_and_closes_it(
    opened: tuple[App, Opened], name: str
) -> None:
    app, factory = opened
    given = steps.given(app)[0].id  # the record a correction corrects
    factory.units.clear()
    CASES[name][0](app, given)
    (unit,) = factory.units
    assert unit.commits == (1 if CASES[name][1] else 0)
    assert not hasattr(unit, "_rows")  # closed: left through __exit__


def test_a_refused_use_case_closes_its_unit_of_work_and_commits_nothing(
    opened: tuple[App, Opened],
) -> None:
    app, factory = opened
    with pytest.raises(InputError, match="already recorded by"):
        steps.add_patient(app, "P-1")
    (unit,) = factory.units
    assert unit.commits == 0 and not hasattr(unit, "_rows")


def test_every_record_use_case_of_the_public_api_is_tested_here() -> None:
    modules = {"b12.services.record", "b12.services.administering", "b12.services.corrections",
               "b12.services.follow_up"}  # fmt: skip
    public = {
        name
        for name in b12.__all__
        if inspect.isfunction(member := getattr(b12, name)) and member.__module__ in modules
    }
    assert public <= set(CASES)
    assert public >= {"give", "add_labs", "correct", "patient_status", "verify_audit"}


ADAPTERS = Path(b12.__file__).parent / "adapters"


def _opens_unit_of_work(path: Path) -> list[int]:
    """Lines of ``path`` that call ``something.unit_of_work()`` (open a unit of work)."""
    return [
        node.lineno
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "unit_of_work"
    ]


def test_no_door_opens_a_unit_of_work() -> None:
    held = {
        str(p.relative_to(ADAPTERS)): lines
        for p in sorted(ADAPTERS.rglob("*.py"))
        if (lines := _opens_unit_of_work(p))
    }
    assert held == {}


def test_the_check_for_doors_finds_a_unit_of_work_opened(tmp_path: Path) -> None:
    door = tmp_path / "door.py"
    door.write_text("def f(app):\n    with app.unit_of_work() as uow:\n        return uow\n")
    assert _opens_unit_of_work(door) == [2]
    door.write_text("def f(app):\n    return give(app.unit_of_work, 1)\n")
    assert _opens_unit_of_work(door) == []
