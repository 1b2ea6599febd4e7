"""The population audit's tests: its engines are optional extras (b12[audit], b12[spark]).

Off CI a missing engine skips its tests; with CI=true it fails them (CI installs `.[dev]`, which
holds both, and has Java 17 for Spark).
"""

from __future__ import annotations

import importlib.util
import os
import shutil
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

ON_CI = os.environ.get("CI") == "true"
AS_OF = datetime(2026, 1, 1)


def need(module: str, why: str) -> None:
    if importlib.util.find_spec(module) is None:
        if ON_CI:
            pytest.fail(f"CI=true and {module} is not installed ({why})")
        pytest.skip(f"{module} not installed ({why})")


@pytest.fixture(autouse=True)
def _audit_extra() -> None:
    need("ibis", "pip install 'b12[audit]'")
    need("duckdb", "pip install 'b12[audit]'")


@pytest.fixture(scope="session")
def kb() -> Any:
    from b12.knowledge import load_knowledge

    return load_knowledge()


@pytest.fixture(scope="session")
def population(tmp_path_factory: pytest.TempPathFactory, kb: Any) -> Path:
    """One seeded synthetic population (600 patients, two injected errors of every rule's kind)."""
    need("ibis", "pip install 'b12[audit]'")
    from b12.adapters.population.synth import synthesize

    out = tmp_path_factory.mktemp("population")
    synthesize(kb, out, 600, seed=17, errors_per_rule=2, as_of=AS_OF)
    return out


@pytest.fixture(scope="session")
def spark() -> Iterator[Any]:
    need("pyspark", "pip install 'b12[spark]'")
    if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        if ON_CI:
            pytest.fail("CI=true and no Java for Spark")
        pytest.skip("no Java for Spark")
    from b12.adapters.population.engines import spark_session

    session = spark_session("local[2]")
    yield session
    session.stop()
