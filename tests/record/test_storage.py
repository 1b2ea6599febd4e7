"""Storage: settings, exact round trips, append-only, migrations from the first revision, tampering."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from sqlalchemy import create_engine, insert, select, text
from sqlalchemy.exc import DBAPIError

from b12.adapters.storage import tables as t
from b12.adapters.storage.database import current_revision, head_revision, make_engine, migrate
from b12.bootstrap import Settings, upgrade
from b12.errors import RecordVersionError
from b12.services.record import verify_audit
from tests.record.helpers import administration, cli, open_app, patient, write_one


def test_sqlite_connections_are_wal_full_sync_with_foreign_keys(sqlite_url: str) -> None:
    record = open_app(sqlite_url)
    with record.unit_of_work() as uow:
        c = uow.connection
        assert c.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert c.execute(text("PRAGMA synchronous")).scalar() == 2  # FULL
        assert c.execute(text("PRAGMA foreign_keys")).scalar() == 1


def test_decimals_and_findings_round_trip_exactly(db_url: str) -> None:
    record = open_app(db_url)
    pid = patient(record.unit_of_work)
    with record.unit_of_work() as uow:
        given = administration(pid, 1)
        exact = type(given)(**{**vars(given), "dose_mcg": Decimal("333.333333"),
                               "volume_ml": Decimal("0.333333"),
                               "findings": ({"code": "X", "values": {"v": "0.1"}},)})  # fmt: skip
        uow.administrations.add(exact)
        uow.commit()
    with record.unit_of_work() as uow:
        back = uow.administrations.get(exact.id)
    assert back is not None
    assert back.dose_mcg == Decimal("333.333333") and back.volume_ml == Decimal("0.333333")
    assert back.expiry == date(2027, 1, 1) and back.given_at == datetime(2026, 1, 5, 9, tzinfo=UTC)
    assert back.findings[0]["values"]["v"] == "0.1"


def test_records_refuse_update_and_delete(db_url: str) -> None:
    record = open_app(db_url)
    pid = patient(record.unit_of_work)
    with record.unit_of_work() as uow:
        write_one(uow, pid, 1)
    for statement in ("UPDATE administrations SET lot = 'X'", "DELETE FROM audit_log"):
        with pytest.raises(DBAPIError, match="append-only"), record.unit_of_work() as uow:
            uow.connection.execute(text(statement))


def test_schema_of_the_migrations_matches_the_tables(db_url: str) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    engine = make_engine(db_url)
    with engine.connect() as c:
        differences = compare_metadata(MigrationContext.configure(c), t.metadata)
    engine.dispose()
    assert differences == []


def test_a_database_of_the_first_revision_upgrades_and_keeps_its_rows(empty_db_url: str) -> None:
    db_url = empty_db_url
    engine = make_engine(db_url)
    migrate(engine, "0001")
    with engine.begin() as c:
        assert current_revision(c) == "0001"
        c.execute(insert(t.patients).values(id="p1", code="P-OLD", profile={"sex": "male"},
                                            recorded_at=datetime(2025, 3, 1, 10, tzinfo=UTC), recorded_by="v1"))  # fmt: skip
        c.execute(text(
            "INSERT INTO administrations (id, patient_id, given_at, dose_mcg, volume_ml, route,"
            " given_by, findings, fingerprint) VALUES ('a1', 'p1', '2025-03-01 10:30:00',"
            " '1000', '1', 'IM', 'v1', '[]', 'old')"
        ))  # fmt: skip
    engine.dispose()
    with pytest.raises(RecordVersionError):  # refused until upgraded
        open_app(db_url).unit_of_work()
    upgrade(Settings(database_url=db_url))
    record = open_app(db_url)
    with record.unit_of_work() as uow:
        assert current_revision(uow.connection) == head_revision() == "0012"
        old = uow.patients.with_code("P-OLD")
        given = uow.administrations.for_patient("p1")
    assert [(p.id, p.profile["sex"], p.corrects_id) for p in old] == [("p1", "male", None)]
    assert [(a.id, a.dose_mcg, a.volume_ml, a.corrects_id) for a in given] == [
        ("a1", Decimal("1000"), Decimal("1"), None)
    ]


def _tamper(url: str, seq: int) -> None:
    engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://"))
    with engine.begin() as c:
        if c.dialect.name == "sqlite":
            c.execute(text("DROP TRIGGER audit_log_no_update"))
        else:
            c.execute(text("ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only"))
        c.execute(text("UPDATE audit_log SET who = 'mallory' WHERE seq = :s"), {"s": seq})
    engine.dispose()


def test_audit_log_verify_finds_a_tampered_row(db_url: str) -> None:
    record = open_app(db_url)
    pid = patient(record.unit_of_work)
    with record.unit_of_work() as uow:
        for n in range(4):
            write_one(uow, pid, n)
    record.close()
    code, said, err = cli("audit-log", "verify", "--db", db_url, "--json")
    assert code == 0, err
    assert json.loads(said) == {**json.loads(said), "intact": True, "links": 5}
    _tamper(db_url, 3)
    code, said, _ = cli("audit-log", "verify", "--db", db_url, "--json")
    assert code == 3
    out = json.loads(said)
    assert out["intact"] is False and out["broken_seq"] == 3
    assert [(p["kind"], p["seq"]) for p in out["problems"]] == [("link-changed", 3)]
    assert out["problem"].endswith(
        "link 3 (seq 3): its content does not match its keyed hash (changed, or hashed with "
        "another key)"
    )


def test_a_row_removed_from_the_chain_is_found(sqlite_url: str) -> None:
    record = open_app(sqlite_url)
    pid = patient(record.unit_of_work)
    with record.unit_of_work() as uow:
        write_one(uow, pid, 1)
        write_one(uow, pid, 2)
    engine = create_engine(sqlite_url)
    with engine.begin() as c:
        c.execute(text("DROP TRIGGER audit_log_no_delete"))
        c.execute(text("DELETE FROM audit_log WHERE seq = 2"))
    check = verify_audit(record.unit_of_work)
    assert [(p.kind, p.seq, p.table) for p in check.problems] == [
        ("link-missing", 3, "administrations"),
        ("row-without-link", None, "administrations"),
    ]
    assert check.problem is not None and check.problem.endswith(
        "link 3 (seq 3): link 2 was due (a link was deleted)"
    )


def test_every_change_has_its_audit_link_in_the_same_transaction(sqlite_url: str) -> None:
    record = open_app(sqlite_url)
    pid = patient(record.unit_of_work)
    with record.unit_of_work() as uow:
        uow.administrations.add(administration(pid, 9))
        uow.audit.append("x", "give", "Administration", "a", pid, {})
        # no commit: both are rolled back together
    with record.unit_of_work() as uow:
        rows = uow.connection.execute(select(t.audit_log.c.action)).scalars().all()
        given = uow.administrations.for_patient(pid)
    assert rows == ["patient-add"] and given == []


def test_the_head_and_the_record_revision_are_read_as_alembic_reads_them(db_url: str) -> None:
    from alembic.runtime.migration import MigrationContext

    from b12.adapters.storage.database import _alembic_head

    assert head_revision() == _alembic_head()
    engine = make_engine(db_url)
    with engine.connect() as c:
        assert current_revision(c) == MigrationContext.configure(c).get_current_revision()
    engine.dispose()
