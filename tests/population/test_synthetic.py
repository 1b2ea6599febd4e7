"""On the seeded synthetic population: every injected error found, no finding on a clean row,
on DuckDB and on Spark, and the two engines give the same findings, row for row."""

from __future__ import annotations

from datetime import timedelta
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


def test_each_dose_carries_its_planned_doses_phase(population: Path) -> None:
    """The phase written on each administration is the one joining its planned dose gives."""
    import duckdb

    def src(name: str) -> str:
        return f"read_parquet('{population / name}/**/*.parquet', hive_partitioning=false)"

    con = duckdb.connect()
    counts = con.execute(
        f"""SELECT count(*), count(a.phase),
                   count(*) FILTER (WHERE a.phase IS NOT DISTINCT FROM p.phase)
            FROM {src("administrations")} a LEFT JOIN {src("planned_doses")} p
            ON p.prescription_key = a.prescription_key AND p.planned_number = a.planned_number"""
    ).fetchone()
    con.close()
    assert counts is not None
    rows, phased, agreeing = counts
    assert rows == phased == agreeing > 0


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


#: 28 years: the Gregorian calendar repeats (weekdays, leap days, month lengths) between 1901 and
#: 2099, so every age, day and month boundary of the population falls as before.
SHIFT_DAYS = 10_227


def _shifted(source: Path, out: Path) -> Path:
    """The population of ``source`` 28 years later: every date and time moved by SHIFT_DAYS."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    from b12.adapters.population.audit import read_as_of, write_meta
    from b12.adapters.population.layout import TABLES

    for name, schema in TABLES.items():
        table = ds.dataset(source / name, partitioning="hive").to_table().select(schema.names)
        columns = []
        for field in schema:
            column = table[field.name]
            if pa.types.is_timestamp(field.type):
                column = pc.add(column, pa.scalar(timedelta(days=SHIFT_DAYS)))
            elif pa.types.is_date32(field.type):
                days = pc.add(pc.cast(column, pa.int32()), pa.scalar(SHIFT_DAYS, pa.int32()))
                column = pc.cast(days, pa.date32())
            columns.append(column)
        (out / name).mkdir(parents=True)
        pq.write_table(pa.table(columns, schema=schema), out / name / "part-0.parquet")
    as_of = read_as_of(source)
    assert as_of is not None
    write_meta(out, as_of + timedelta(days=SHIFT_DAYS))
    return out


@pytest.mark.parametrize("engine", ["duckdb", "spark"])
def test_the_same_population_after_2038_is_found_alike(
    population: Path, tmp_path: Path, kb: Any, engine: str, request: pytest.FixtureRequest
) -> None:
    """Times past 2038-01-19 (beyond a 32-bit count of seconds) change nothing but the dates."""
    from b12.adapters.population.audit import run

    if engine == "spark":
        request.getfixturevalue("spark")  # skips off CI without PySpark, as the other Spark tests
    later = run(kb, _shifted(population, tmp_path / "later"), engine=engine)
    now = run(kb, population, engine=engine)
    assert later.findings.num_rows == now.findings.num_rows > 0
    moved = timedelta(days=SHIFT_DAYS)
    for a, b in zip(later.findings.to_pylist(), now.findings.to_pylist(), strict=True):
        assert a.pop("at") == b.pop("at") + moved
        assert a == b
