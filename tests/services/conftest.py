"""Service tests run on the fake record (tests/fakes.py): no database, a fixed clock."""

from __future__ import annotations

from typing import Any

import pytest

from b12.bootstrap import App
from b12.knowledge import load_knowledge
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
