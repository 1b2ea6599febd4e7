"""The audit's door: `b12 export parquet`, `b12 audit population`, `b12 audit synth`, on a real
record (SQLite and PostgreSQL) and on folders, with their exit codes and input errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest

from tests.population.test_boundaries import CASES, write_case


def b12(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "200"}
    return subprocess.run(
        [sys.executable, "-m", "b12", *args], capture_output=True, text=True, timeout=300, env=env
    )


@pytest.fixture(scope="module")
def example_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The worked example's record: one real course on SQLite."""
    folder = tmp_path_factory.mktemp("example")
    done = b12("example", "--folder", str(folder), "--json")
    assert done.returncode == 0, done.stderr
    return folder / "example.db"


def _table(folder: Path, name: str) -> list[dict[str, Any]]:
    rows = ds.dataset(folder / name, format="parquet", partitioning="hive").to_table().to_pylist()
    for row in rows:
        row.pop("month", None)
    return sorted(rows, key=lambda r: json.dumps(r, default=str, sort_keys=True))


def _latest_counts(url: str) -> dict[str, int]:
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    names = {
        "administrations": "administrations",
        "results": "lab_results",
        "reactions": "adverse_events",
    }
    out = {}
    with engine.connect() as c:
        for layout, table in names.items():
            out[layout] = c.execute(
                text(
                    f"SELECT count(*) FROM {table} t WHERE NOT EXISTS (SELECT 1 FROM {table} c WHERE c.corrects_id = t.id)"
                )
            ).scalar_one()
    engine.dispose()
    return out


def test_export_writes_every_latest_row_in_the_layout(example_db: Path, tmp_path: Path) -> None:
    out = tmp_path / "export"
    done = b12("export", "parquet", str(out), "--db", str(example_db), "--json")
    assert done.returncode == 0, done.stderr
    rows = json.loads(done.stdout)["rows"]
    expected = _latest_counts(f"sqlite:///{example_db}")
    assert {k: rows[k] for k in expected} == expected
    assert rows["administrations"] > 0 and rows["planned_doses"] >= rows["administrations"]
    given = _table(out, "administrations")
    assert {r["prescription_id"] for r in given} == {
        r["prescription_id"] for r in _table(out, "prescriptions")
    }
    assert all(
        r["given_at"].tzinfo is None for r in given
    )  # UTC without a zone, as the layout says
    planned = {
        (p["prescription_id"], p["planned_number"]): p["phase"]
        for p in _table(out, "planned_doses")
    }
    assert all(phase is not None for phase in planned.values())
    # each dose carries the phase of the planned dose it fulfils, as joining them would give
    assert [r["phase"] for r in given] == [
        planned.get((r["prescription_id"], r["planned_number"])) for r in given
    ]
    assert any(r["phase"] is not None for r in given)
    months = {p.name for p in (out / "administrations").iterdir()}
    assert all(m.startswith("month=") for m in months)


@pytest.fixture
def postgres_copy(example_db: Path) -> Iterator[str]:
    """The example's record copied row for row into a fresh PostgreSQL database."""
    from sqlalchemy import create_engine
    from sqlalchemy.exc import OperationalError

    from b12.adapters.storage.tables import RECORD_TABLES
    from tests.record.pg import create_database, drop_database

    try:
        url = create_database("b12_audit")
    except OperationalError as exc:
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI=true and PostgreSQL is unreachable: {exc}")
        pytest.skip("PostgreSQL unreachable (not on CI)")
    try:
        assert b12("db", "upgrade", "--db", url).returncode == 0
        source, target = create_engine(f"sqlite:///{example_db}"), create_engine(url)
        with source.connect() as read, target.begin() as write:
            for table in RECORD_TABLES:
                rows = [dict(r) for r in read.execute(table.select()).mappings()]
                if rows:
                    write.execute(table.insert(), rows)
        source.dispose()
        target.dispose()
        yield url
    finally:
        drop_database(url)


@pytest.mark.postgres
def test_postgresql_and_sqlite_export_the_same_layout(
    example_db: Path, postgres_copy: str, tmp_path: Path
) -> None:
    for name, db in (("sqlite", str(example_db)), ("postgres", postgres_copy)):
        assert b12("export", "parquet", str(tmp_path / name), "--db", db).returncode == 0
    from b12.adapters.population.layout import TABLES

    for table in TABLES:
        assert _table(tmp_path / "sqlite", table) == _table(tmp_path / "postgres", table), table


def test_auditing_the_database_equals_auditing_its_export(example_db: Path, tmp_path: Path) -> None:
    assert b12("export", "parquet", str(tmp_path), "--db", str(example_db)).returncode == 0
    as_of = ["--as-of", "2030-01-01"]
    from_folder = b12("audit", "population", str(tmp_path), "--json", *as_of)
    from_db = b12("audit", "population", "--db", str(example_db), "--json", *as_of)
    assert from_folder.returncode == from_db.returncode
    a, b = json.loads(from_folder.stdout), json.loads(from_db.stdout)
    assert a["by_rule"] == b["by_rule"] and a["administrations"] == b["administrations"] > 0


def test_synth_then_audit_with_a_report(tmp_path: Path) -> None:
    data, report = tmp_path / "data", tmp_path / "report"
    made = b12("audit", "synth", "--patients", "120", "--out", str(data), "--seed", "3", "--json")
    assert made.returncode == 0, made.stderr
    assert sum(json.loads(made.stdout)["injected"].values()) == 11
    done = b12("audit", "population", str(data), "--report", str(report))
    assert done.returncode == 3, (
        done.stderr
    )  # stop-level findings (the injected slips, expiries ...)
    line = done.stdout.strip().splitlines()[0]
    assert line.startswith("11 findings (3 stop) in ") and line.endswith(
        "precision 100.0%, recall 100.0%."
    )
    for name in ("report.html", "findings.parquet", "findings.csv"):
        assert (report / name).stat().st_size > 0
    for plot in ("findings_over_time", "doses_by_indication", "intervals"):
        assert (report / "plots" / f"{plot}.png").read_bytes()[:4] == b"\x89PNG"
    assert len((report / "findings.csv").read_text().splitlines()) == 12


def test_the_report_escapes_what_the_record_holds(tmp_path: Path) -> None:
    data = tmp_path / "data"
    write_case(data, CASES["given the day after expiry"])  # its ward is "<b>Ward 4</b>"
    done = b12(
        "audit", "population", str(data), "--report", str(tmp_path / "r"), "--as-of", "2026-01-01"
    )
    assert done.returncode == 3, done.stderr
    page = (tmp_path / "r" / "report.html").read_text()
    assert "&lt;b&gt;Ward 4&lt;/b&gt;" in page and "<b>Ward 4</b>" not in page


def test_a_clean_population_exits_0(tmp_path: Path) -> None:
    write_case(tmp_path, CASES["volume matches"])
    done = b12("audit", "population", str(tmp_path), "--json", "--as-of", "2025-03-20")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["findings"] == 0


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["audit", "population", "/no/such/folder"], "is not a folder"),
        (["audit", "population"], "give a folder in the audit layout, or --db URL"),
        (["audit", "population", ".", "--db", "x.db"], "one of them"),
        (["audit", "population", "{data}", "--engine", "polars"], "write duckdb or spark"),
        (["audit", "population", "{data}", "--as-of", "soon"], "write YYYY-MM-DD"),
        (["audit", "population", "{empty}"], "is missing: an audit folder holds"),
        (["audit", "population", "{old}"], "has no column patient_key: it was written by an"),
        (
            ["audit", "population", "{unphased}"],
            "administrations has no column phase: it was written by an earlier layout; write it again",
        ),
        (["audit", "synth", "--patients", "5", "--out", "{empty}"], "at least 11 patients"),
    ],
)
def test_bad_input_is_a_clear_message_and_exit_2(
    tmp_path: Path, args: list[str], says: str
) -> None:
    data, empty, old = tmp_path / "data", tmp_path / "empty", tmp_path / "old"
    unphased = tmp_path / "unphased"
    empty.mkdir()
    write_case(data, CASES["volume matches"])
    write_case(old, CASES["volume matches"])  # then as the layout was before its keys
    patients = old / "patients" / "part-0.parquet"
    pq.write_table(pq.read_table(patients).drop_columns(["patient_key"]), patients)
    write_case(unphased, CASES["volume matches"])  # then before the doses carried their phase
    for part in (unphased / "administrations").rglob("*.parquet"):
        pq.write_table(pq.read_table(part).drop_columns(["phase"]), part)
    done = b12(*(a.format(data=data, empty=empty, old=old, unphased=unphased) for a in args))
    assert done.returncode == 2, (done.stdout, done.stderr)
    assert says in done.stderr
    assert "Traceback" not in done.stderr
