"""Revision 0005 upgrades a record made by the release at 0004 (tests/record/data, made by
make_release_0004.sh with that release's CLI): every row survives with the same values (amounts as
Decimals, times as the same instants in UTC, the planned doses as the old plan said), `status` and
`due` answer as that release did, the audit chain verifies; and downgrade then upgrade again gives
the same record. On SQLite the release's file itself; on PostgreSQL its rows loaded at 0004."""

from __future__ import annotations

import json
import shutil
import sqlite3
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from b12.adapters.storage.database import make_engine, migrate
from b12.bootstrap import Settings, upgrade
from tests.record.helpers import cli

DATA = Path(__file__).parent / "data"
RELEASE = DATA / "release-0004.sqlite"
ANSWERS = json.loads((DATA / "release-0004.answers.json").read_text())
PARIS = ZoneInfo("Europe/Paris")
TABLES = ("patients", "prescriptions", "administrations", "missed_doses", "lab_results",
          "adverse_events", "audit_log")  # fmt: skip
RECORD = ("patients", "prescriptions", "planned_doses", "planned_labs", "administrations",
          "missed_doses", "lab_results", "adverse_events")  # fmt: skip
TIMES = {"patients": "recorded_at", "prescriptions": "prescribed_at", "administrations": "given_at",
         "missed_doses": "recorded_at", "lab_results": "recorded_at",
         "adverse_events": "recorded_at"}  # fmt: skip


def _old_rows() -> dict[str, list[dict[str, Any]]]:
    """Every row of the release's record, as it stored them."""
    with sqlite3.connect(RELEASE) as c:
        c.row_factory = sqlite3.Row
        return {t: [dict(r) for r in c.execute(f"SELECT * FROM {t}")] for t in TABLES}


OLD = _old_rows()


def _release_record(empty_db_url: str, tmp_path: Path) -> str:
    """The release's record at 0004 on the database of ``empty_db_url``."""
    if empty_db_url.startswith("sqlite"):
        copy = tmp_path / "release.sqlite"
        shutil.copy(RELEASE, copy)
        return f"sqlite:///{copy}"
    engine = make_engine(empty_db_url)
    migrate(engine, "0004")
    meta = sa.MetaData()
    with engine.begin() as c:
        c.execute(sa.text("ALTER TABLE audit_log DISABLE TRIGGER USER"))  # no trigger on insert
        for name in TABLES:
            table = sa.Table(name, meta, autoload_with=c)
            rows = [{k: _pg_value(table.c[k].type, v) for k, v in r.items()} for r in OLD[name]]
            if rows:
                c.execute(table.insert(), rows)
        c.execute(sa.text("ALTER TABLE audit_log ENABLE TRIGGER USER"))
    engine.dispose()
    return empty_db_url


def _pg_value(kind: Any, value: Any) -> Any:
    if value is None:
        return None
    if isinstance(kind, sa.Boolean):
        return bool(value)
    if isinstance(kind, sa.DateTime):
        return datetime.fromisoformat(value)
    if isinstance(kind, sa.Date):
        return date.fromisoformat(value)
    if isinstance(kind, sa.JSON):
        return json.loads(value)
    return value


def _upgraded(empty_db_url: str, tmp_path: Path) -> str:
    url = _release_record(empty_db_url, tmp_path)
    upgrade(Settings(database_url=url, time_zone="Europe/Paris"))
    return url


#: Columns later revisions add to the tables 0005 made (NULL on the rows it upgraded).
def _dump(url: str, names: tuple[str, ...] | None = None) -> dict[str, list[dict[str, Any]]]:
    """Every row of every table (of ``names``), read through the head schema's types; the
    columns of later revisions left out (the record is the same whether it has them or not)."""
    from b12.adapters.storage import tables as t

    engine = make_engine(url)
    with engine.connect() as c:
        there = sa.inspect(c)
        out = {}
        for name, table in t.metadata.tables.items():
            if names is not None and name not in names:
                continue
            # the columns a later revision adds are not there yet at an older one
            kept = {col["name"] for col in there.get_columns(name)}
            query = sa.select(*(col for col in table.columns if col.name in kept))
            out[name] = [dict(r._mapping) for r in c.execute(query.order_by(*table.primary_key))]
    engine.dispose()
    return out


def _instant(old: dict[str, Any], column: str, audit: dict[str, dict[str, Any]]) -> datetime:
    """What a 0004 time meant: the audit trail's time when written with an offset, else the
    stored wall clock in the clinic's zone."""
    written = audit.get(old["id"], {}).get(column)
    if written is not None and datetime.fromisoformat(written).utcoffset() is not None:
        return datetime.fromisoformat(written).astimezone(UTC)
    return datetime.fromisoformat(old[column]).replace(tzinfo=PARIS).astimezone(UTC)


def test_every_record_survives_with_the_same_values(empty_db_url: str, tmp_path: Path) -> None:
    url = _upgraded(empty_db_url, tmp_path)
    new = _dump(url)
    audit = {r["entity_id"]: json.loads(r["payload"]) for r in OLD["audit_log"]}
    for name in TABLES:
        kept = new[name] if name != "audit_log" else [r for r in new[name] if r["stream"] is None]
        assert len(kept) == len(OLD[name]), name
    for name, column in TIMES.items():
        by_id = {r["id"]: r for r in new[name]}
        for old in OLD[name]:
            assert by_id[old["id"]][column] == _instant(old, column, audit), (name, old["id"])
            assert by_id[old["id"]][column].tzinfo is not None
    # the time typed with its own offset (+00:00) is that instant, not the clinic's 08:00
    p3 = next(r for r in new["patients"] if r["code"] == "P-0003" and r["corrects_id"] is None)
    assert p3["recorded_at"] == datetime(2026, 5, 1, 8, tzinfo=UTC)
    for name, columns in {"administrations": ("dose_mcg", "volume_ml"),
                          "lab_results": ("value", "normalised_value")}.items():  # fmt: skip
        by_id = {r["id"]: r for r in new[name]}
        for old in OLD[name]:
            for column in columns:
                want = None if old[column] is None else Decimal(old[column])
                got = by_id[old["id"]][column]
                assert got == want and (got is None or isinstance(got, Decimal)), (name, column)
                assert got is None or str(got) == old[column]  # the text 0004 kept, exactly
    unchanged = {"administrations": ("lot", "expiry", "route", "site", "planned_number",
                                     "prescription_id", "corrects_id", "duplicate_of"),
                 "lab_results": ("analyte", "unit", "normalised_unit", "text", "taken_on"),
                 "adverse_events": ("description", "severity", "administration_id", "on"),
                 "missed_doses": ("planned_number", "kind", "reason", "on")}  # fmt: skip
    for name, columns in unchanged.items():
        by_id = {r["id"]: r for r in new[name]}
        for old in OLD[name]:
            for column in columns:
                got = by_id[old["id"]][column]
                assert (got if not isinstance(got, date) else got.isoformat()) == old[column]
    for old in OLD["patients"]:
        row = next(r for r in new["patients"] if r["id"] == old["id"])
        profile = json.loads(old["profile"])
        assert row["age_months"] == Decimal(profile.pop("age_months"))
        assert row["age_given_on"] == date.fromisoformat(profile.pop("as_of"))
        assert row["born"] is None and dict(row["profile"]) == profile
    for old in OLD["prescriptions"]:
        plan = json.loads(old["plan"])
        rx = next(r for r in new["prescriptions"] if r["id"] == old["id"])
        assert rx["regimen_id"] == plan["regimen"]["id"]
        assert rx["concentration"] == plan["concentration"]
        assert rx["substance"] == plan["regimen"]["substance"]
        doses = [d for d in new["planned_doses"] if d["prescription_id"] == old["id"]]
        assert [
            (d["number"], d["due_on"].isoformat(), d["dose_mcg"], d["volume_ml"], d["route"],
             d["phase"], d["phase_kind"], d["regimen_id"], d["fingerprint"])
            for d in doses
        ] == [
            (n, a["date"], Decimal(a["dose_mcg"]),
             None if a["volume_ml"] is None else Decimal(a["volume_ml"]), a["route"],
             a["phase"], a["phase_kind"], plan["regimen"]["id"], old["fingerprint"])
            for n, a in enumerate(plan["administrations"], start=1)
        ]  # fmt: skip
        labs = [lab for lab in new["planned_labs"] if lab["prescription_id"] == old["id"]]
        assert [(lab["due_on"].isoformat(), list(lab["tests"])) for lab in labs] == [
            (item["date"], [test["name"] for test in item["tests"]]) for item in plan["labs"]
        ]
    # The release's links are kept as they were (revision 0006 keeps them as the unkeyed prefix),
    # and 0006 binds every row, planned doses and checks included, with an ``adopt`` link.
    legacy = [r for r in new["audit_log"] if r["stream"] is None]
    assert [{k: r[k] for k in OLD["audit_log"][0]} for r in legacy] == [
        {**r, "payload": json.loads(r["payload"])} for r in OLD["audit_log"]
    ]
    from b12.domain.audit import row_key

    adopted = {
        (r["record_table"], r["entity_id"]) for r in new["audit_log"] if r["action"] == "adopt"
    }
    assert adopted == {(name, row_key(name, row)) for name in RECORD for row in new[name]}


def _as_answered(new: Any, old: Any) -> Any:
    """``new`` with only the keys the release answered (the JSON contract only adds fields: a
    key added since, such as a guideline range's bands, is not a change of answer)."""
    if isinstance(new, dict) and isinstance(old, dict):
        return {k: _as_answered(v, old[k]) for k, v in new.items() if k in old}
    if isinstance(new, list) and isinstance(old, list) and len(new) == len(old):
        return [_as_answered(n, o) for n, o in zip(new, old, strict=True)]
    return new


#: Findings status raises since the release: the monitoring windows the population audit reads
#: (a release's answer never had them; each of its own findings must still be there, unchanged).
RAISED_SINCE = frozenset({"NO_POTASSIUM_48H", "NO_RETICULOCYTES_DAY_10"})


def _comparable_status(answer: dict[str, Any]) -> dict[str, Any]:
    """A status without what only says when things were written (shown in the clinic's zone
    now, with its offset)."""
    out = dict(answer)
    for key in ("prescription", "replaced"):
        items = out[key] if isinstance(out[key], list) else [out[key]]
        out[key] = [None if i is None else {**i, "prescribed_at": None} for i in items]
    return out


def test_status_and_due_answer_as_the_release_did(
    empty_db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = _upgraded(empty_db_url, tmp_path)
    monkeypatch.setenv("B12_TIMEZONE", "Europe/Paris")
    for key, old in ANSWERS["status"].items():
        code, day = key.split()
        status, out, _err = cli("status", code, "--at", day, "--db", url, "--json")
        fresh = json.loads(out)
        fresh["findings"] = [f for f in fresh["findings"] if f["code"] not in RAISED_SINCE]
        now = _as_answered(fresh, old)
        assert _comparable_status(now) == _comparable_status(old), key
        assert status in (0, 3)
    for day, old in ANSWERS["due"].items():
        _status, out, _err = cli("due", "--date", day, "--db", url, "--json")
        assert json.loads(out) == old, day
    status, out, _err = cli("audit-log", "verify", "--db", url, "--json")
    assert status == 0 and json.loads(out)["intact"] is True


def test_downgrade_then_upgrade_gives_the_same_record(empty_db_url: str, tmp_path: Path) -> None:
    # To 0005 only: 0006 keys the audit trail, which no downgrade undoes (tested with 0006).
    url = _release_record(empty_db_url, tmp_path)
    engine = make_engine(url)
    migrate(engine, "0005", zone=PARIS)
    engine.dispose()
    first = _dump(url, RECORD)
    engine = make_engine(url)
    from alembic import command

    from b12.adapters.storage.database import alembic_config

    with engine.begin() as c:
        command.downgrade(alembic_config(c, PARIS), "0004")
    with engine.connect() as c:
        given = dict(c.execute(sa.text("SELECT id, dose_mcg FROM administrations")).all())
        plans = dict(c.execute(sa.text("SELECT id, plan FROM prescriptions")).all())
    engine.dispose()
    # at 0004 again: amounts are text as 0004 wrote them, the plan is JSON again
    assert given == {r["id"]: r["dose_mcg"] for r in OLD["administrations"]}
    for old in OLD["prescriptions"]:
        plan = plans[old["id"]]
        plan = json.loads(plan) if isinstance(plan, str) else plan
        kept = json.loads(old["plan"])["administrations"]
        assert [
            {k: a[k] for k in ("date", "dose_mcg", "volume_ml", "route", "phase", "phase_kind")}
            for a in plan["administrations"]
        ] == [
            {k: a[k] for k in ("date", "dose_mcg", "volume_ml", "route", "phase", "phase_kind")}
            for a in kept
        ]
    engine = make_engine(url)
    migrate(engine, "0005", zone=PARIS)
    engine.dispose()
    assert _dump(url, RECORD) == first
    upgrade(Settings(database_url=url, time_zone="Europe/Paris"))  # and on to the head
    head = _dump(url, RECORD)
    added = {"self_injection", "scanned", "correction_reason", "corrected_by", "corrected_at",
             "entered_in_error", "ward"}  # fmt: skip
    # revisions 0009, 0011 and 0012 add empty columns: nothing written before is rewritten
    assert all(r.get(k) is None for rows in head.values() for r in rows for k in added)
    kept = {
        n: [{k: v for k, v in r.items() if k not in added} for r in rows]
        for n, rows in head.items()
    }
    assert kept == first


def _supply_rows(engine: sa.Engine) -> None:
    """A row in each table of revision 0008 (written directly: only its triggers are tested)."""
    from datetime import date
    from decimal import Decimal

    from b12.adapters.storage import tables as t

    now = datetime.now(UTC)
    with engine.begin() as c:
        pid = c.execute(sa.select(t.patients.c.id).limit(1)).scalar_one()
        c.execute(
            t.dispensings.insert().values(
                id="d1",
                patient_id=pid,
                product="p",
                containers=1,
                lot="L",
                expiry=date(2030, 1, 1),
                dispensed_at=now,
                dispensed_by="ph",
            )
        )
        c.execute(
            t.wastes.insert().values(
                id="w1",
                patient_id=pid,
                dispensing_id="d1",
                containers=1,
                volume_ml=Decimal("0.5"),
                reason="dropped",
                on=now.date(),
                recorded_at=now,
                recorded_by="ph",
            )
        )
        c.execute(t.calendar_feeds.insert().values(
            id="f1", patient_id=pid, token_hash="0" * 64, created_at=now, created_by="pat"))  # fmt: skip


def test_append_only_and_the_keys_hold_after_the_upgrade(empty_db_url: str, tmp_path: Path) -> None:
    from b12.adapters.storage import tables as t
    from b12.adapters.storage.unit_of_work import SqlUnitOfWork
    from b12.domain.records import PatientRecord
    from b12.errors import AlreadyRecordedError

    url = _upgraded(empty_db_url, tmp_path)
    engine = make_engine(url)
    _supply_rows(engine)  # the tables of revision 0008 hold rows too: a row trigger needs one
    for name, table in t.metadata.tables.items():
        if table in t.WEB_TABLES:  # accounts and sessions change in place (revision 0007)
            continue
        if table in t.CDS_TABLES:  # empty here: tests/cds/test_store.py tries them with rows
            continue
        first = next(iter(table.columns)).name
        for statement in (f"UPDATE {name} SET {first} = {first}", f"DELETE FROM {name}"):
            with pytest.raises(sa.exc.DBAPIError, match="append-only"), engine.begin() as c:
                c.execute(sa.text(statement))
    with SqlUnitOfWork(engine) as uow, pytest.raises(AlreadyRecordedError, match=r"nurse\.a"):
        uow.patients.add(PatientRecord("new", "P-0001", {}, datetime.now(UTC), "x"))
    engine.dispose()
