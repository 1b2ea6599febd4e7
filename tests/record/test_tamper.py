"""Tamper evidence that covers the records: every way of changing the record behind b12's back that
the database lets through is found by `b12 audit-log verify` (exit 3, naming the table and row), and
the ways the database can refuse are refused: SQLite REPLACE and upserts, PostgreSQL TRUNCATE.

Each tamper kind is a test, over every record table where it applies, on both databases where it
applies. The record is written by the use cases themselves (every kind of row, a correction, a
refused give, two patients), then changed with raw SQL as an attacker with database access would.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Connection, Engine, create_engine, insert, select, text
from sqlalchemy.exc import DBAPIError

from b12.adapters.cli import read
from b12.adapters.storage import tables as t
from b12.domain.audit import GENESIS, KEYED_FIELDS, ROW_KEYS, link_mac, link_message, row_key
from b12.domain.patient import Patient
from b12.knowledge import load_knowledge
from b12.services.administering import GiveRequest, give, record_missed
from b12.services.corrections import correct
from b12.services.follow_up import patient_status
from b12.services.planning import PlanRequest
from b12.services.record import add_event, add_labs, add_patient, prescribe
from tests.record.helpers import cli, open_app

PRODUCT = "cyanocobalamin-us-1000mcg-ml-10ml-vial"
TABLES = [table.name for table in t.RECORD_TABLES]
ALL_TABLES = [*TABLES, "audit_log"]
#: A text column of each record table an attacker changes (any column would do).
CHANGED = {"patients": "recorded_by", "prescriptions": "prescribed_by",
           "administrations": "given_by", "missed_doses": "recorded_by",
           "lab_results": "recorded_by", "adverse_events": "recorded_by",
           "planned_doses": "route", "planned_labs": "tests", "dispensings": "dispensed_by",
           "wastes": "recorded_by", "calendar_feeds": "created_by"}  # fmt: skip
#: What a changed column is set to (a JSON column takes JSON).
MALLORY = {"tests": '["mallory"]'}


def key_where(table: str, key: str) -> tuple[str, dict[str, Any]]:
    """A WHERE clause and its parameters for the row of ``table`` named ``key`` (row_key)."""
    columns = ROW_KEYS.get(table, ("id",))
    parts = key.split("/") if len(columns) > 1 else [key]
    params = {
        f"k{i}": int(v) if c == "number" else v
        for i, (c, v) in enumerate(zip(columns, parts, strict=True))
    }
    return " AND ".join(f"{c} = :k{i}" for i, c in enumerate(columns)), params


def set_mallory(table: str) -> str:
    column = CHANGED[table]
    return f"{column} = '{MALLORY.get(column, 'mallory')}'"


TRIGGERS = [
    f"{table}_no_{verb}" for table in ALL_TABLES for verb in ("update", "delete", "replace")
]


@pytest.fixture(scope="module")
def kb():  # type: ignore[no-untyped-def]
    return load_knowledge()


def full_record(url: str, kb: Any) -> None:
    """A row in every record table, through the use cases: two patients, labs, a prescription,
    gives (one refused), a missed dose, an event and a correction."""
    record = open_app(url)
    work = record.unit_of_work
    for code in ("P-1", "P-2"):
        add_patient(work, code, Patient(age_months=Decimal(600), sex="female"), "dr B",
                    datetime(2026, 1, 2, 10, tzinfo=UTC))  # fmt: skip
    add_labs(work, kb, "P-1", [read.reading(kb, "hb=11.2g/dL")], date(2026, 1, 2), "lab",
             datetime(2026, 1, 2, 12, tzinfo=UTC))  # fmt: skip
    prescribe(work, kb, "P-1", PlanRequest(start=date(2026, 1, 5), indication="pernicious-anaemia",
              product=PRODUCT), "dr B", datetime(2026, 1, 2, 14, tzinfo=UTC))  # fmt: skip
    lot = {"lot": "C1", "expiry": date(2027, 6, 30)}
    given = give(work, kb, GiveRequest("P-1", datetime(2026, 1, 5, 9, tzinfo=UTC), **lot), "nurse A",
                 record.clock).recorded  # fmt: skip
    assert given is not None
    refused = give(work, kb, GiveRequest("P-1", datetime(2026, 1, 6, 9, tzinfo=UTC), dose=read.dose("5mg"),
                   **lot), "nurse A", record.clock)  # fmt: skip
    assert refused.recorded is None
    record_missed(
        work,
        "P-1",
        "in hospital",
        date(2026, 1, 6),
        "nurse A",
        datetime(2026, 1, 6, 18, tzinfo=UTC),
    )
    add_event(work, "P-1", date(2026, 1, 5), "pain at the site", "mild", "nurse A",
              datetime(2026, 1, 5, 10, tzinfo=UTC))  # fmt: skip
    correct(work, "P-1", "administration", given.id, {"site": "right deltoid"},
            "side misrecorded", "nurse A", datetime(2026, 1, 5, 11, tzinfo=UTC))  # fmt: skip
    from b12.services.home_supply import dispense, record_waste
    from b12.services.reminders import make_feed

    at = datetime(2026, 1, 6, 12, tzinfo=UTC)
    dispense(work, kb, "P-1", PRODUCT, 2, "C1", date(2027, 6, 30), "ph C", at)
    record_waste(work, kb, "P-1", "C1", 1, None, "dropped and broken", at.date(), "ph C", at)
    make_feed(work, "P-1", "P-1's carer", at)
    record.close()


def _engine(url: str) -> Engine:
    return create_engine(url.replace("postgresql://", "postgresql+psycopg://"))


def tamper(url: str, *statements: str, params: dict[str, Any] | None = None) -> None:
    """Run ``statements`` as an attacker with the database's full rights: SQLite's refusing
    triggers dropped, PostgreSQL's switched off (session_replication_role = replica)."""
    engine = _engine(url)
    with engine.begin() as c:
        if c.dialect.name == "sqlite":
            for trigger in TRIGGERS:
                c.execute(text(f"DROP TRIGGER IF EXISTS {trigger}"))
        else:
            c.execute(text("SET LOCAL session_replication_role = replica"))
        for statement in statements:
            c.execute(text(statement), params or {})
    engine.dispose()


def verify(url: str, *options: str) -> tuple[int, dict[str, Any]]:
    code, out, err = cli("audit-log", "verify", "--db", url, "--json", *options)
    assert code in (0, 3), err
    return code, json.loads(out)


def kinds(out: dict[str, Any]) -> list[tuple[str, str | None, str | None]]:
    return [(p["kind"], p["table"], p["row_id"]) for p in out["problems"]]


def first_id(url: str, table: str) -> str:
    """The key (row_key) of the first row of ``table``."""
    engine = _engine(url)
    keys = ", ".join(ROW_KEYS.get(table, ("id",)))
    with engine.connect() as c:
        found = c.execute(text(f"SELECT * FROM {table} ORDER BY {keys} LIMIT 1")).first()
    engine.dispose()
    assert found is not None
    return row_key(table, found._mapping)


@pytest.fixture
def record_url(db_url: str, kb: Any) -> str:
    full_record(db_url, kb)
    return db_url


# --- what holds ---------------------------------------------------------------------------------


def test_a_good_record_is_intact_with_every_row_bound(record_url: str) -> None:
    code, out = verify(record_url)
    assert (code, out["intact"], out["problems"]) == (0, True, [])
    engine = _engine(record_url)
    with engine.connect() as c:
        rows = sum(c.execute(text(f"SELECT count(*) FROM {n}")).scalar_one() for n in TABLES)
        streams = c.execute(text("SELECT count(DISTINCT stream) FROM audit_log")).scalar_one()
        unbound = c.execute(
            text(
                "SELECT count(*) FROM audit_log WHERE action = 'give-refused' AND row_hash IS NULL"
            )
        ).scalar_one()
    engine.dispose()
    assert out["rows"] == rows and rows >= len(TABLES) + 2
    assert out["streams"] == streams == 2 and unbound == 1
    assert cli("audit-log", "verify", "--db", record_url)[0] == 0


def test_a_row_no_link_names_gets_its_own_bind_link(sqlite_url: str) -> None:
    """No row is committed through b12 without a link: one a use case wrote beside the row its
    link records is bound by a link of its own at commit."""
    from tests.record.helpers import administration, patient

    record = open_app(sqlite_url)
    pid = patient(record.unit_of_work)
    with record.unit_of_work() as uow:
        extra = administration(pid, 1)
        uow.administrations.add(extra)
        uow.commit()
        links = list(uow.audit.entries())
    record.close()
    assert [(e.action, e.record_table, e.entity_id, e.stream) for e in links][-1] == (
        "bind",
        "administrations",
        extra.id,
        pid,
    )
    assert verify(sqlite_url)[0] == 0


def test_a_stream_cannot_fork(record_url: str) -> None:
    engine = _engine(record_url)
    with engine.begin() as c:
        link = dict(c.execute(select(t.audit_log).order_by(t.audit_log.c.seq)).first()._mapping)  # type: ignore[union-attr]
    with pytest.raises(DBAPIError), engine.begin() as c:
        c.execute(insert(t.audit_log).values({**link, "seq": 10_000}))
    engine.dispose()


# --- what the database refuses ------------------------------------------------------------------


@pytest.mark.parametrize("table", ALL_TABLES)
@pytest.mark.parametrize(
    "statement",
    [
        "INSERT OR REPLACE INTO {t} SELECT * FROM {t} WHERE rowid = (SELECT min(rowid) FROM {t})",
        "REPLACE INTO {t} SELECT * FROM {t} WHERE rowid = (SELECT min(rowid) FROM {t})",
        "INSERT INTO {t} SELECT * FROM {t} WHERE rowid = (SELECT min(rowid) FROM {t}) "
        "ON CONFLICT DO NOTHING",
    ],
)
def test_sqlite_refuses_replace_on_every_table_whatever_the_pragmas(
    sqlite_url: str, kb: Any, table: str, statement: str
) -> None:
    """A bare sqlite3 connection (no b12 pragmas, recursive_triggers off) is refused too."""
    import sqlite3

    full_record(sqlite_url, kb)
    db = sqlite3.connect(sqlite_url.removeprefix("sqlite:///"), isolation_level=None)
    assert db.execute("PRAGMA recursive_triggers").fetchone() == (0,)
    before = db.execute(f"SELECT count(*), group_concat(rowid) FROM {table}").fetchone()
    with pytest.raises(sqlite3.IntegrityError, match="REPLACE and upserts are refused"):
        db.execute(statement.format(t=table))
    assert db.execute(f"SELECT count(*), group_concat(rowid) FROM {table}").fetchone() == before
    db.close()
    assert verify(sqlite_url)[0] == 0


UNIQUE_KEYS = [
    *(
        (table, f"{table}_pk", ROW_KEYS.get(table, ("id",)), "1 = 1")
        for table in ALL_TABLES
        if table != "audit_log"
    ),
    ("audit_log", "audit_log_pk", ("seq",), "1 = 1"),
    ("audit_log", "uq_audit_log_stream_seq", ("stream", "stream_seq"), "stream IS NOT NULL"),
    *((table, index, columns, where) for table, (index, columns, where) in t.ONE_ONLY.items()),
]


@pytest.mark.parametrize(("table", "index", "columns", "where"), UNIQUE_KEYS,
                         ids=[key[1] for key in UNIQUE_KEYS])  # fmt: skip
def test_sqlite_refuses_a_replace_on_every_unique_key(
    sqlite_url: str, kb: Any, table: str, index: str, columns: tuple[str, ...], where: str
) -> None:
    """REPLACE deletes the row holding any unique key, not only the primary key (a new patient
    id with a taken code would delete the patient): a row taking any key is refused, and a row
    outside a partial key's condition is not (a correction repeats its original's key)."""
    import sqlite3

    full_record(sqlite_url, kb)
    db = sqlite3.connect(sqlite_url.removeprefix("sqlite:///"), isolation_level=None)
    db.row_factory = sqlite3.Row
    row = dict(db.execute(f"SELECT * FROM {table} WHERE {where} LIMIT 1").fetchone())
    fresh = {"id": "new-id", "seq": 10_000, "stream_seq": 10_000, "code": "P-NEW",
             "planned_number": None}  # fmt: skip
    copy = {k: (v if k in columns else fresh.get(k, v)) for k, v in row.items()}
    names, marks = ", ".join(f'"{k}"' for k in copy), ", ".join("?" for _ in copy)
    count = db.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
    with pytest.raises(sqlite3.IntegrityError, match="refused"):
        db.execute(
            f"INSERT OR REPLACE INTO {table} ({names}) VALUES ({marks})", list(copy.values())
        )
    assert db.execute(f"SELECT count(*) FROM {table}").fetchone()[0] == count
    db.close()


@pytest.mark.postgres
@pytest.mark.parametrize("table", ALL_TABLES)
def test_postgres_refuses_truncate_on_every_table(pg_url: str, kb: Any, table: str) -> None:
    db_url = pg_url
    full_record(db_url, kb)
    engine = _engine(db_url)
    # A table others reference refuses a plain TRUNCATE by its foreign keys already; CASCADE
    # (and every unreferenced table) meets the trigger.
    for statement, refusal in ((f"TRUNCATE {table}", "append-only|foreign key"),
                               (f"TRUNCATE {table} CASCADE", "append-only")):  # fmt: skip
        with pytest.raises(DBAPIError, match=refusal), engine.begin() as c:
            c.execute(text(statement))
    engine.dispose()
    assert verify(db_url)[0] == 0


# --- what verify finds --------------------------------------------------------------------------


@pytest.mark.parametrize("table", TABLES)
def test_a_changed_row_is_named(record_url: str, table: str) -> None:
    """PostgreSQL: UPDATE under session_replication_role = replica; SQLite: triggers dropped."""
    row_id = first_id(record_url, table)
    where, params = key_where(table, row_id)
    tamper(record_url, f"UPDATE {table} SET {set_mallory(table)} WHERE {where}", params=params)
    code, out = verify(record_url)
    assert code == 3 and kinds(out) == [("row-changed", table, row_id)]
    assert f"{table} row {row_id}" in out["problems"][0]["message"]
    shown = cli("audit-log", "verify", "--db", record_url)
    assert shown[0] == 3 and f"{table} row {row_id}" in " ".join(shown[1].split())


@pytest.mark.parametrize("table", TABLES)
def test_a_row_replaced_once_the_triggers_are_dropped_is_named(
    sqlite_url: str, kb: Any, table: str
) -> None:
    full_record(sqlite_url, kb)
    row_id = first_id(sqlite_url, table)
    where, params = key_where(table, row_id)
    tamper(
        sqlite_url,
        f"CREATE TEMP TABLE copy AS SELECT * FROM {table} WHERE {where}",
        f"UPDATE copy SET {set_mallory(table)}",
        f"INSERT OR REPLACE INTO {table} SELECT * FROM copy",
        params=params,
    )
    code, out = verify(sqlite_url)
    assert code == 3 and kinds(out) == [("row-changed", table, row_id)]


@pytest.mark.parametrize("table", TABLES)
def test_a_deleted_row_is_named(record_url: str, table: str) -> None:
    row_id = first_id(record_url, table)
    where, params = key_where(table, row_id)
    tamper(record_url, f"DELETE FROM {table} WHERE {where}", params=params)
    code, out = verify(record_url)
    assert code == 3 and ("link-without-row", table, row_id) in kinds(out)


@pytest.mark.parametrize("table", TABLES)
def test_a_forged_row_without_a_link_is_named(record_url: str, table: str) -> None:
    engine = _engine(record_url)
    with engine.begin() as c:
        row = dict(c.execute(select(t.metadata.tables[table])).first()._mapping)  # type: ignore[union-attr]
        forged = {**row, "id": "forged-0001"} if "id" in row else {**row, "number": 999}
        if table == "patients":
            forged["code"] = "P-FORGED"
        if table == "administrations":
            forged["planned_number"] = None
        if table == "calendar_feeds":
            forged["token_hash"] = "f" * 64  # a feed's token is one feed's only
        c.execute(insert(t.metadata.tables[table]).values(forged))  # a plain INSERT: allowed
    engine.dispose()
    code, out = verify(record_url)
    assert code == 3 and kinds(out) == [("row-without-link", table, row_key(table, forged))]


@pytest.mark.postgres
def test_a_truncated_table_under_replica_is_found(pg_url: str, kb: Any) -> None:
    db_url = pg_url
    full_record(db_url, kb)
    tamper(db_url, "TRUNCATE adverse_events")
    code, out = verify(db_url)
    assert code == 3 and [k[:2] for k in kinds(out)] == [("link-without-row", "adverse_events")]


def _links(c: Connection, stream: str | None = None) -> list[dict[str, Any]]:
    query = select(t.audit_log).order_by(t.audit_log.c.stream, t.audit_log.c.stream_seq)
    if stream is not None:
        query = query.where(t.audit_log.c.stream == stream)
    return [dict(r._mapping) for r in c.execute(query)]


def _patient_stream(url: str, code: str = "P-1") -> str:
    engine = _engine(url)
    with engine.connect() as c:
        found = c.execute(text("SELECT id FROM patients WHERE code = :c"), {"c": code}).scalar_one()
    engine.dispose()
    return str(found)


def test_a_deleted_link_is_found(record_url: str) -> None:
    stream = _patient_stream(record_url)
    tamper(record_url, "DELETE FROM audit_log WHERE stream = :s AND stream_seq = 3",
           params={"s": stream})  # fmt: skip
    code, out = verify(record_url)
    assert code == 3
    assert [p["kind"] for p in out["problems"]][:1] == ["link-missing"]
    assert "link-missing" in out["problems"][0]["kind"] and stream in out["problem"]


def _anchor(url: str, folder: Path) -> Path:
    path = folder / "anchor.json"
    code, _, err = cli("audit-log", "anchor", "--db", url, "--out", str(path))
    assert code == 0, err
    return path


def test_a_truncated_tail_is_found_against_the_anchor(record_url: str, tmp_path: Path) -> None:
    anchor = _anchor(record_url, tmp_path)
    assert verify(record_url, "--anchor", str(anchor))[0] == 0
    stream = _patient_stream(record_url)
    # The stream's last links: the attacker removes the newest link and the row it records.
    engine = _engine(record_url)
    with engine.connect() as c:
        last = _links(c, stream)[-1]
    engine.dispose()
    tamper(record_url, f"DELETE FROM {last['record_table']} WHERE id = :id",
           "DELETE FROM audit_log WHERE seq = :seq",
           params={"id": last["entity_id"], "seq": last["seq"]})  # fmt: skip
    assert verify(record_url)[0] == 0  # consistent without the anchor: only the anchor knows
    code, out = verify(record_url, "--anchor", str(anchor))
    assert code == 3 and [(p["kind"], p["stream"]) for p in out["problems"]] == [
        ("truncated", stream)
    ]


def test_a_refused_give_removed_from_the_tail_is_found_against_the_anchor(
    record_url: str, tmp_path: Path
) -> None:
    """A link that records no row (a refused give) is only in the chain: truncated, the anchor
    still finds it once it is anchored."""
    stream = _patient_stream(record_url)
    engine = _engine(record_url)
    with engine.connect() as c:
        links = _links(c, stream)
    engine.dispose()
    refused = next(link for link in links if link["action"] == "give-refused")
    later = [link["seq"] for link in links if link["stream_seq"] >= refused["stream_seq"]]
    anchor = _anchor(record_url, tmp_path)
    rows = [(link["record_table"], link["entity_id"]) for link in links if link["seq"] in later]
    tamper(record_url, *(f"DELETE FROM {tb} WHERE id = '{i}'" for tb, i in rows if tb),
           *(f"DELETE FROM audit_log WHERE seq = {s}" for s in later))  # fmt: skip
    assert verify(record_url)[0] == 0
    code, out = verify(record_url, "--anchor", str(anchor))
    assert code == 3 and out["problems"][0]["kind"] == "truncated"


def _rehash(url: str, stream: str, mac: Any, change: str | None = None) -> None:
    """Rewrite a stream's chain consistently with the hash function ``mac`` (after changing
    ``change``'s row, its digest recomputed the way b12 computes it)."""
    from b12.domain.audit import row_digest

    engine = _engine(url)
    with engine.connect() as c:
        links = _links(c, stream)
        digests = {}
        if change is not None:
            for link in links:
                if link["record_table"] == change:
                    row = c.exec_driver_sql(
                        f"SELECT * FROM {change} WHERE id = '{link['entity_id']}'"
                    ).first()
                    values = dict(row._mapping)  # type: ignore[union-attr]
                    values[CHANGED[change]] = "mallory"
                    digests[link["seq"]] = row_digest(values)
                    break
    engine.dispose()
    statements, prev = [], GENESIS
    for link in links:
        link = {**link, "prev_hash": prev, "row_hash": digests.get(link["seq"], link["row_hash"])}
        link["hash"] = mac(link_message({k: link[k] for k in KEYED_FIELDS}))
        statements.append(
            f"UPDATE audit_log SET prev_hash = '{prev}', hash = '{link['hash']}', row_hash = "
            + ("NULL" if link["row_hash"] is None else f"'{link['row_hash']}'")
            + f" WHERE seq = {link['seq']}"
        )
        prev = link["hash"]
    if change is not None:
        statements.append(
            f"UPDATE {change} SET {CHANGED[change]} = 'mallory' WHERE id IN (SELECT entity_id "
            f"FROM audit_log WHERE seq = {next(iter(digests))})"
        )
    tamper(url, *statements)


@pytest.mark.parametrize(
    ("name", "mac", "kind"),
    [
        ("plain sha256", lambda m: hashlib.sha256(m).hexdigest(), "link-rehashed"),
        ("another key", lambda m: link_mac(b"k" * 32, m), "link-changed"),
    ],
)
def test_a_rehashed_chain_is_found(
    record_url: str, tmp_path: Path, name: str, mac: Any, kind: str
) -> None:
    anchor = _anchor(record_url, tmp_path)
    stream = _patient_stream(record_url)
    _rehash(record_url, stream, mac, change="administrations")
    code, out = verify(record_url)
    found = {p["kind"] for p in out["problems"]}
    assert code == 3 and found == {kind}, name
    assert all(p["stream"] == stream for p in out["problems"])
    code, out = verify(record_url, "--anchor", str(anchor))
    assert code == 3 and "rewritten" in {p["kind"] for p in out["problems"]}


def test_a_record_read_with_another_key_does_not_verify(
    record_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    other = tmp_path / "other.key"
    other.write_text("ab" * 32 + "\n")
    other.chmod(0o600)
    monkeypatch.setenv("B12_AUDIT_KEY_FILE", str(other))
    code, out = verify(record_url)
    assert code == 3 and {p["kind"] for p in out["problems"]} == {"link-changed"}


def test_a_changed_anchor_file_is_refused(record_url: str, tmp_path: Path) -> None:
    anchor = _anchor(record_url, tmp_path)
    kept = json.loads(anchor.read_text())
    stream = next(iter(kept["streams"]))
    kept["streams"][stream]["links"] -= 1
    anchor.write_text(json.dumps(kept))
    code, out = verify(record_url, "--anchor", str(anchor))
    assert code == 3 and [p["kind"] for p in out["problems"]] == ["anchor-invalid"]
    assert (
        cli("audit-log", "verify", "--db", record_url, "--anchor", str(tmp_path / "none"))[0] == 2
    )


def test_anchor_prints_the_heads_and_refuses_to_overwrite(record_url: str, tmp_path: Path) -> None:
    code, out, _ = cli("audit-log", "anchor", "--db", record_url)
    printed = json.loads(out)
    assert code == 0 and printed["format"] == "b12-audit-anchor-1" and len(printed["streams"]) == 2
    path = _anchor(record_url, tmp_path)
    assert json.loads(path.read_text()) == printed
    assert cli("audit-log", "anchor", "--db", record_url, "--out", str(path))[0] == 2


# --- the key ------------------------------------------------------------------------------------


def test_without_its_key_nothing_is_written(
    sqlite_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("B12_AUDIT_KEY_FILE", str(tmp_path / "missing.key"))
    code, out, err = cli("patient", "add", "P-9", "--age-years", "50", "--db", sqlite_url)
    assert (code, out) == (2, "") and "no audit key at" in err and "Traceback" not in err
    monkeypatch.delenv("B12_AUDIT_KEY_FILE")
    assert cli("patient", "list", "--db", sqlite_url, "--json")[1].count("P-9") == 0


@pytest.mark.parametrize(("content", "mode", "said"), [
    ("ab" * 32, 0o644, "open to other users"),
    ("not a key", 0o600, "not 64 hexadecimal digits"),
    ("ab" * 16, 0o600, "not 64 hexadecimal digits"),
])  # fmt: skip
def test_a_bad_key_file_is_refused(
    sqlite_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, content: str, mode: int,
    said: str,
) -> None:  # fmt: skip
    key = tmp_path / "audit.key"
    key.write_text(content)
    key.chmod(mode)
    monkeypatch.setenv("B12_AUDIT_KEY_FILE", str(key))
    code, _, err = cli("patient", "add", "P-9", "--age-years", "50", "--db", sqlite_url)
    assert code == 2 and said in err and "Traceback" not in err


# --- older records ------------------------------------------------------------------------------


def _old_record(url: str) -> Iterator[str]:
    """A record at revision 0004 as b12 wrote it then: rows, unkeyed links, a marked double."""
    from b12.adapters.storage.database import make_engine, migrate
    from b12.domain.audit import link_hash

    engine = make_engine(url)
    migrate(engine, "0004")
    prev = GENESIS
    with engine.begin() as c:
        for n, (pid, code) in enumerate([("p1", "P-OLD"), ("p2", "P-OLD2")], start=1):
            c.execute(insert(t.patients).values(id=pid, code=code, profile={"sex": "male"},
                      recorded_at=datetime(2025, 3, 1, 10, tzinfo=UTC), recorded_by="v1"))  # fmt: skip
            link = {"seq": n, "at": "2025-03-01T10:00:00+00:00", "who": "v1",
                    "action": "patient-add", "entity": "PatientRecord", "entity_id": pid,
                    "patient": pid, "payload": {"id": pid}, "prev_hash": prev}  # fmt: skip
            prev = link_hash(link)
            c.execute(insert(t.audit_log).values({**link, "hash": prev}))
        c.execute(insert(t.patients).values(id="p3", code="P-OLD", profile={}, duplicate_of="p1",
                  recorded_at=datetime(2025, 3, 1, 10, tzinfo=UTC), recorded_by="v1"))  # fmt: skip
    engine.dispose()
    yield "p1"


def test_an_older_record_is_sealed_and_adopted_on_upgrade(empty_db_url: str) -> None:
    from b12.bootstrap import Settings, upgrade

    list(_old_record(empty_db_url))
    upgrade(Settings(database_url=empty_db_url))
    code, out = verify(empty_db_url)
    assert (code, out["problems"]) == (0, [])
    assert out["known_duplicates"] == [{"table": "patients", "id": "p3", "duplicate_of": "p1"}]
    engine = _engine(empty_db_url)
    with engine.connect() as c:
        actions = [(link["stream"], link["action"]) for link in _links(c) if link["stream"]]
    engine.dispose()
    assert sorted(actions) == sorted([("record", "audit-seal-legacy"), ("p1", "adopt"),
                                      ("p2", "adopt"), ("p3", "adopt")])  # fmt: skip
    shown = " ".join(cli("audit-log", "verify", "--db", empty_db_url)[1].split())
    assert "1 known old duplicates (kept, marked by revision 0004): patients p3 = p1" in shown
    status = patient_status(open_app(empty_db_url).unit_of_work, "P-OLD", date(2026, 1, 1))
    known = [dict(f.basis.values) for f in status.findings if f.code == "RECORD_KNOWN_DUPLICATE"]
    assert known == [{"table": "patients", "id": "p3", "duplicate_of": "p1"}]


@pytest.mark.parametrize("how", ["changed", "rehashed", "removed", "added"])
def test_a_changed_legacy_prefix_is_found(empty_db_url: str, how: str) -> None:
    """The unkeyed links are sealed: changed and re-hashed with the old function, cut short or
    lengthened, they no longer match the keyed seal."""
    from b12.bootstrap import Settings, upgrade
    from b12.domain.audit import link_hash

    list(_old_record(empty_db_url))
    upgrade(Settings(database_url=empty_db_url))
    engine = _engine(empty_db_url)
    with engine.connect() as c:
        legacy = [dict(r._mapping) for r in c.execute(
            select(t.audit_log).where(t.audit_log.c.stream.is_(None)).order_by(t.audit_log.c.seq))]  # fmt: skip
    engine.dispose()
    if how == "removed":
        statements = [f"DELETE FROM audit_log WHERE seq = {legacy[-1]['seq']}"]
    elif how == "added":
        extra = {**legacy[-1], "seq": 1000, "prev_hash": legacy[-1]["hash"], "who": "mallory"}
        extra["hash"] = link_hash(extra)
        statements = [
            "INSERT INTO audit_log (seq, at, who, action, entity, entity_id, patient, payload, "
            f"prev_hash, hash) VALUES (2999, '{extra['at']}', 'mallory', 'x', 'x', 'x', NULL, "
            f"'{{}}', '{extra['prev_hash']}', '{extra['hash']}')"
        ]
    else:
        prev, statements = GENESIS, []
        for link in legacy:
            link = {
                **link,
                "prev_hash": prev,
                "who": "mallory" if link["seq"] == 1 else link["who"],
            }
            new = link_hash(link) if how == "rehashed" else link["hash"]
            statements.append(f"UPDATE audit_log SET who = '{link['who']}', prev_hash = '{prev}', "
                              f"hash = '{new}' WHERE seq = {link['seq']}")  # fmt: skip
            prev = new
    tamper(empty_db_url, *statements)
    code, out = verify(empty_db_url)
    assert code == 3 and {p["kind"] for p in out["problems"]} == {"legacy-changed"}


def test_revision_0006_needs_the_key_for_an_older_record(empty_db_url: str) -> None:
    from b12.adapters.storage.database import make_engine, migrate
    from b12.errors import AuditKeyError

    list(_old_record(empty_db_url))
    engine = make_engine(empty_db_url)
    with pytest.raises(AuditKeyError, match="binds the record's existing rows"):
        migrate(engine)
    engine.dispose()


def _downgrade(url: str, revision: str) -> None:
    from alembic import command

    from b12.adapters.storage.database import alembic_config, make_engine

    engine = make_engine(url)
    with engine.begin() as c:
        command.downgrade(alembic_config(c), revision)
    engine.dispose()


def test_revision_0004_downgrades_keeping_every_row(empty_db_url: str) -> None:
    from sqlalchemy import inspect

    list(_old_record(empty_db_url))
    _downgrade(empty_db_url, "0003")
    engine = _engine(empty_db_url)
    with engine.connect() as c:
        columns = {col["name"] for col in inspect(c).get_columns("patients")}
        indexes = {i["name"] for i in inspect(c).get_indexes("patients")}
        ids = c.execute(text("SELECT id FROM patients ORDER BY id")).scalars().all()
        for statement in ("UPDATE patients SET code = 'X'", "DELETE FROM patients"):
            with pytest.raises(DBAPIError, match="append-only"), c.begin_nested():
                c.execute(text(statement))
    engine.dispose()
    assert "duplicate_of" not in columns and "uq_patients_code" not in indexes
    assert ids == ["p1", "p2", "p3"]


def test_revision_0006_downgrades_only_without_keyed_links(empty_db_url: str) -> None:
    from b12.bootstrap import Settings, upgrade

    upgrade(Settings(database_url=empty_db_url))  # empty: no keyed link yet
    _downgrade(empty_db_url, "0004")
    upgrade(Settings(database_url=empty_db_url))
    record = open_app(empty_db_url)
    add_patient(record.unit_of_work, "P-1", Patient(age_months=Decimal(600)), "x",
                datetime(2026, 1, 1, tzinfo=UTC))  # fmt: skip
    record.close()
    with pytest.raises(RuntimeError, match="keyed chain cannot be made unkeyed"):
        _downgrade(empty_db_url, "0004")
