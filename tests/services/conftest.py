"""Service tests run on the fake record (tests/fakes.py): no database, a fixed clock."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from b12.bootstrap import App, Settings, build
from b12.knowledge import load_knowledge
from tests.fakes import FixedClock, Opened
from tests.services import steps


@pytest.fixture(scope="session")
def kb() -> Any:
    return load_knowledge()


@pytest.fixture
def app(kb: Any) -> App:
    """An empty fake record; the clock says steps.NOW."""
    return steps.fake_app(kb)


@pytest.fixture
def course(app: App) -> App:
    """A 62-year-old woman with pernicious anaemia, prescribed the US label's course from START."""
    steps.add_patient(app)
    assert steps.prescribe(app).prescription is not None
    return app


@pytest.fixture
def opened(kb: Any) -> tuple[App, Opened]:
    """The course above with one dose given, on a factory that keeps every unit of work it made
    (cleared after the setup)."""
    factory = Opened()
    app = build(Settings(), knowledge=kb, uow_factory=factory, clock=FixedClock(steps.NOW))
    steps.add_patient(app)
    steps.prescribe(app)
    steps.give(app, datetime(2026, 1, 5, 9, tzinfo=UTC))
    factory.units.clear()
    return app, factory
