"""On the seeded synthetic population: every injected error found, no finding on a clean row,
on DuckDB and on Spark, and the two engines give the same findings, row for row."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pyarrow.dataset as ds
import pytest

from tests.population.conftest import AS_OF


def _perfect(score: dict[str, dict[str, Any]], kb: Any) -> None:
    codes = {r.code for r in kb.all("audit-rules").values()}
    assert set(score) == codes | {"all"}
    for code in codes:
        s = score[code]
        assert s["injected"] == 2, code
        assert (s["false"], s["missed"]) == (0, 0), (code, s)
        assert s["precision"] == s["recall"] == 1.0


def test_duckdb_finds_every_injected_error_and_nothing_else(population: Path, kb: Any) -> None:
    from b12.adapters.population.audit import run

    result = run(kb, population)
    assert result.as_of == AS_OF  # the synthesizer's end of the audit, read from audit.json
    assert result.score is not None
    _perfect(result.score, kb)


def test_spark_finds_exactly_what_duckdb_finds(population: Path, kb: Any, spark: Any) -> None:
    from b12.adapters.population.audit import run

    on_spark = run(kb, population, engine="spark")
    on_duckdb = run(kb, population, engine="duckdb")
    assert on_spark.score is not None
    _perfect(on_spark.score, kb)
    assert on_spark.findings.num_rows == on_duckdb.findings.num_rows > 0
    assert on_spark.findings.to_pylist() == on_duckdb.findings.to_pylist()


def test_the_same_seed_writes_the_same_population(tmp_path: Path, kb: Any) -> None:
    from b12.adapters.population.layout import TABLES
    from b12.adapters.population.synth import synthesize

    for name in ("a", "b"):
        synthesize(kb, tmp_path / name, 40, seed=5, errors_per_rule=1)
    for table in (*TABLES, "truth.parquet"):
        a, b = (ds.dataset(tmp_path / n / table, partitioning="hive").to_table() for n in "ab")
        assert a.equals(b), table


def test_too_few_patients_for_the_errors_is_an_input_error(tmp_path: Path, kb: Any) -> None:
    from b12.adapters.population.synth import synthesize
    from b12.errors import InputError

    with pytest.raises(InputError, match="at least 22 patients") as caught:
        synthesize(kb, tmp_path, 21, errors_per_rule=2)
    assert caught.value.field == "patients"
