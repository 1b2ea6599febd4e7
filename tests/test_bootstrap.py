"""The composition root: settings read once (arguments > environment > defaults), one App built
from them, migrations as an explicit step, and a knowledge command that never loads the database."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import fields
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from b12.adapters.clock import SystemClock
from b12.bootstrap import ENVIRONMENT, Settings, build, upgrade
from b12.errors import InputError, RecordVersionError
from tests.record.helpers import cli

GIVEN = {"database_url": "sqlite:///given.db", "knowledge_dir": "/given/kb",
         "time_zone": "Europe/Paris", "user": "dr Given", "audit_key_file": "/given/audit.key",
         "supply_lead_days": "21", "cds_issuers": "/given/cds-issuers.json"}  # fmt: skip
FROM_ENV = {"database_url": "sqlite:///env.db", "knowledge_dir": "/env/kb",
            "time_zone": "Asia/Tokyo", "user": "dr Env", "audit_key_file": "/env/audit.key",
            "supply_lead_days": "10", "cds_issuers": "/env/cds-issuers.json"}  # fmt: skip


def test_every_setting_has_its_environment_variable() -> None:
    assert set(ENVIRONMENT) == {f.name for f in fields(Settings)}
    assert ENVIRONMENT == {"database_url": "B12_DATABASE_URL", "knowledge_dir": "B12_KB",
                           "time_zone": "B12_TIMEZONE", "user": "B12_USER",
                           "audit_key_file": "B12_AUDIT_KEY_FILE",
                           "supply_lead_days": "B12_SUPPLY_LEAD_DAYS", "cds_issuers": "B12_CDS_ISSUERS"}  # fmt: skip


@pytest.mark.parametrize("name", list(ENVIRONMENT))
def test_an_argument_wins_over_the_environment_which_wins_over_the_default(name: str) -> None:
    environ = {ENVIRONMENT[name]: FROM_ENV[name]}
    assert getattr(Settings.read(environ={}), name) is None  # the default
    assert getattr(Settings.read(environ=environ), name) == FROM_ENV[name]
    given = Settings.read(environ=environ, **{name: GIVEN[name]})  # type: ignore[arg-type]
    assert getattr(given, name) == GIVEN[name]


def test_an_unknown_time_zone_is_refused_when_read() -> None:
    with pytest.raises(InputError) as refused:
        Settings.read(environ={"B12_TIMEZONE": "Europe/Pariss"})
    assert str(refused.value) == (
        "time zone 'Europe/Pariss' (B12_TIMEZONE) is not known; write an IANA name such as "
        "Europe/Paris or UTC"
    )


def test_the_supply_lead_time_is_a_policy_setting_with_a_default() -> None:
    from b12.services.home_supply import LEAD_DAYS

    assert Settings.read(environ={}).lead_days == LEAD_DAYS
    assert Settings.read(environ={"B12_SUPPLY_LEAD_DAYS": "0"}).lead_days == 0
    for wrong in ("-1", "366", "two weeks"):
        with pytest.raises(InputError, match="write a whole number from 0 to 365"):
            Settings.read(environ={"B12_SUPPLY_LEAD_DAYS": wrong})


@pytest.mark.parametrize("zone", ["UTC", "Pacific/Auckland", "America/Los_Angeles"])
def test_the_apps_clock_is_aware_and_in_the_clinics_zone(zone: str) -> None:
    now = build(Settings(time_zone=zone)).clock.now()
    assert now.tzinfo == ZoneInfo(zone)
    assert abs(now - datetime.now(UTC)).total_seconds() < 60


def test_with_no_zone_the_clock_is_the_machines_local_time() -> None:
    clock = build(Settings()).clock
    assert isinstance(clock, SystemClock) and clock.zone is None
    assert clock.now().utcoffset() == datetime.now().astimezone().utcoffset()


def test_a_bare_path_is_an_sqlite_file(tmp_path: Path) -> None:
    assert Settings(database_url=str(tmp_path / "r.db")).resolved_database_url() == (
        f"sqlite:///{tmp_path / 'r.db'}"
    )


def _url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'record.db'}"


def test_an_empty_record_is_refused_until_upgraded(tmp_path: Path) -> None:
    (
        tmp_path / "record.db"
    ).touch()  # an empty file: a missing one is refused before (test_safe_io)
    app = build(Settings(database_url=_url(tmp_path)))
    with pytest.raises(RecordVersionError) as refused:
        app.unit_of_work()
    assert str(refused.value) == (
        f"the record {_url(tmp_path)} has no b12 tables yet, b12 needs revision 0012: "
        "run `b12 db upgrade` first"
    )
    done = upgrade(Settings(database_url=_url(tmp_path)))
    assert (done.before, done.after) == (None, "0012")
    with app.unit_of_work() as uow:
        assert uow.patients.all() == []
    again = upgrade(Settings(database_url=_url(tmp_path)))
    assert (again.before, again.after) == ("0012", "0012")


def test_a_record_at_an_older_revision_is_refused(tmp_path: Path) -> None:
    from b12.adapters.storage.database import make_engine, migrate

    engine = make_engine(_url(tmp_path))
    migrate(engine, "0002")
    engine.dispose()
    with pytest.raises(RecordVersionError, match=r"is at revision 0002, b12 needs revision 0012"):
        build(Settings(database_url=_url(tmp_path))).unit_of_work()


def test_a_password_is_never_shown(tmp_path: Path) -> None:
    from b12.adapters.storage.database import make_engine, shown_url

    engine = make_engine("postgresql://nurse:s3cret@db.example:5432/b12")
    assert shown_url(engine) == "postgresql+psycopg://nurse:***@db.example:5432/b12"


@pytest.mark.parametrize(
    "argv",
    [
        ("patient", "list"),
        ("patient", "add", "P-1", "--age-years", "60"),
        ("give", "P-1"),
        ("missed", "P-1", "--reason", "in hospital"),
        ("status", "P-1"),
        ("due",),
        ("lab", "add", "P-1", "hb=9.1g/dL"),
        ("event", "add", "P-1", "--description", "sore arm"),
        ("audit-log", "verify"),
        ("correct", "lab", "P-1", "x", "taken_on=2026-01-05", "--reason", "wrong day"),
        ("prescribe", "P-1", "--indication", "pernicious-anaemia", "--start", "2026-01-05"),
    ],
)
def test_every_record_command_on_an_empty_record_says_to_upgrade(
    tmp_path: Path, argv: tuple[str, ...]
) -> None:
    (tmp_path / "record.db").touch()
    code, out, err = cli(*argv, "--db", _url(tmp_path))
    assert (code, out) == (1, "")
    assert err == (
        f"b12: the record {_url(tmp_path)} has no b12 tables yet, b12 needs revision 0012: "
        "run `b12 db upgrade` first\n"
    )


def test_db_upgrade_creates_then_reports_up_to_date(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    key = tmp_path / "keys" / "audit.key"
    monkeypatch.setenv("B12_AUDIT_KEY_FILE", str(key))
    code, out, _ = cli("db", "upgrade", "--db", _url(tmp_path))
    said = "".join(out.split())  # the console wraps a long path; the words are what matter
    assert (code, said) == (
        0,
        "".join(
            f"Record {_url(tmp_path)} upgraded: was empty, now at revision 0012. Audit key "
            f"created: {key} (mode 0600; keep a copy apart from the record's backups).".split()
        ),
    )
    assert key.stat().st_mode & 0o777 == 0o600 and len(bytes.fromhex(key.read_text())) == 32
    code, out, _ = cli("db", "upgrade", "--db", _url(tmp_path), "--json")
    assert code == 0
    assert json.loads(out) == {"database": _url(tmp_path), "before": "0012", "after": "0012",
                               "audit_key_file": str(key), "audit_key_created": False}  # fmt: skip
    assert cli("patient", "add", "P-1", "--age-years", "60", "--db", _url(tmp_path))[0] == 0


def test_the_database_url_comes_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("B12_DATABASE_URL", _url(tmp_path))
    monkeypatch.setenv("B12_USER", "nurse Env")
    assert cli("db", "upgrade")[0] == 0
    cli("patient", "add", "P-1", "--age-years", "60")
    code, out, _ = cli("patient", "list", "--json")
    (patient,) = json.loads(out)["patients"]
    assert (code, patient["code"], patient["recorded_by"]) == (0, "P-1", "nurse Env")


def test_a_knowledge_command_imports_no_database_layer() -> None:
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "b12", "sources", "--json"],
        capture_output=True, text=True, check=False, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0 and json.loads(done.stdout)["sources"]
    imported = [line.rsplit("|", 1)[-1].strip() for line in done.stderr.splitlines()]
    assert "b12.bootstrap" in imported  # the knowledge came through the App
    assert [m for m in imported if m.split(".")[0] in ("sqlalchemy", "alembic")] == []
