"""The record use cases as a clinic calls them, on any App (the fake record or a database).

One place holds how the use cases are called, so the fake tests and the database runs of the same
scenarios stay the same scenarios.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from b12.adapters.cli import read
from b12.bootstrap import App, Settings, build
from b12.domain.patient import Patient
from b12.services import administering, corrections, follow_up, record
from b12.services.planning import PlanRequest
from tests.fakes import FixedClock, fake_factory

START = date(2026, 1, 5)
NOW = datetime(2026, 1, 20, 12, tzinfo=UTC)
PRODUCT = "cyanocobalamin-us-1000mcg-ml-10ml-vial"
LOT = {"lot": "C4471", "expiry": date(2027, 9, 30)}


def fake_app(kb: Any, now: datetime = NOW) -> App:
    return build(Settings(), knowledge=kb, uow_factory=fake_factory(), clock=FixedClock(now))


def add_patient(
    app: App, code: str = "P-1", *, ward: str | None = None, correct: bool = False, **profile: Any
) -> Any:
    patient = Patient(age_months=Decimal(744), sex="female", **profile)
    return record.add_patient(
        app.unit_of_work, code, patient, "dr Ames", datetime(2026, 1, 2, 9, tzinfo=UTC),
        ward=ward, correct=correct,
    )  # fmt: skip


def prescribe(app: App, code: str = "P-1", *, override: str | None = None, **request: Any) -> Any:
    plan = PlanRequest(**{"start": START, "indication": "pernicious-anaemia", "product": PRODUCT,
                          **request})  # fmt: skip
    return record.prescribe(app.unit_of_work, app.knowledge, code, plan, "dr Ames",
                            datetime(2026, 1, 2, 10, tzinfo=UTC), override=override)  # fmt: skip


def give(app: App, at: datetime, code: str = "P-1", **options: Any) -> administering.Given:
    request = administering.GiveRequest(code, at, **{**LOT, **options})
    return administering.give(app.unit_of_work, app.knowledge, request, "nurse Bo", app.clock)


def missed(app: App, on: date, reason: str = "in hospital", code: str = "P-1",
           refused: bool = False, held: bool = False) -> Any:  # fmt: skip
    return administering.record_missed(app.unit_of_work, code, reason, on, "nurse Bo",
                                       datetime.combine(on, datetime.min.time(), UTC),
                                       refused=refused, held=held)  # fmt: skip


def labs(app: App, readings: list[str], on: date, code: str = "P-1") -> Any:
    typed, _ = read.labs(app.knowledge, readings)  # as the command line reads them
    return record.add_labs(app.unit_of_work, app.knowledge, code, typed, on, "lab",
                           datetime.combine(on, datetime.min.time(), UTC))  # fmt: skip


def event(app: App, on: date, description: str, severity: str = "mild", code: str = "P-1",
          **options: Any) -> Any:  # fmt: skip
    return record.add_event(app.unit_of_work, code, on, description, severity, "nurse Bo",
                            datetime.combine(on, datetime.min.time(), UTC), **options)  # fmt: skip


def correct(app: App, kind: str, record_id: str, changes: dict[str, Any],
            reason: str = "written in the wrong row", code: str = "P-1") -> Any:  # fmt: skip
    return corrections.correct(app.unit_of_work, code, kind, record_id, changes, reason,
                               "nurse Bo", datetime(2026, 1, 20, 9, tzinfo=UTC))  # fmt: skip


def void(app: App, kind: str, record_id: str, reason: str = "recorded for the wrong patient",
         code: str = "P-1") -> Any:  # fmt: skip
    return corrections.void(app.unit_of_work, code, kind, record_id, reason, "dr Ames",
                            datetime(2026, 1, 20, 9, tzinfo=UTC))  # fmt: skip


def status(app: App, on: date, code: str = "P-1") -> follow_up.Status:
    return follow_up.patient_status(app.unit_of_work, code, on, app.knowledge)


def audit_actions(app: App) -> list[str]:
    """The use cases' audit actions, in order (the ``bind`` links that bind a prescription's
    planned doses and checks, row by row, left out)."""
    with app.unit_of_work() as uow:
        return [e.action for e in uow.audit.entries() if e.action != "bind"]


def given(app: App, code: str = "P-1") -> list[Any]:
    """The current administrations of ``code``."""
    from b12.domain.records import current

    with app.unit_of_work() as uow:
        patient = record.find_patient(uow, code)
        return current(uow.administrations.for_patient(patient.id))
