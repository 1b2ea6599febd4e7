"""`b12 calendar make|list|revoke` on a real record: the address printed once and served by the web
app's feed, the live list without tokens, a revoked address answering 404, refusals with a way
out, and the audit chain intact after each."""

from __future__ import annotations

import json

import pytest

from b12.bootstrap import Settings, build
from b12.services.reminders import UnknownFeedError, read_feed
from tests.record.helpers import cli

PRODUCT = "cyanocobalamin-us-1000mcg-ml-10ml-vial"


@pytest.fixture
def db(db_url: str) -> str:
    assert cli("patient", "add", "P-1", "--age-years", "62", "--db", db_url)[0] == 0
    code, _, err = cli("prescribe", "P-1", "--indication", "pernicious-anaemia", "--start",
                       "2026-01-05", "--product", PRODUCT, "--at", "2026-01-02", "--db", db_url)  # fmt: skip
    assert code == 0, err
    return db_url


def _make(db: str, *extra: str) -> dict[str, str]:
    code, out, err = cli("calendar", "make", "P-1", *extra, "--db", db, "--json")
    assert code == 0, err
    return dict(json.loads(out))


def _live(db: str) -> list[dict[str, str]]:
    code, out, err = cli("calendar", "list", "P-1", "--db", db, "--json")
    assert code == 0, err
    return list(json.loads(out)["feeds"])


def _verified(db: str) -> None:
    code, out, err = cli("audit-log", "verify", "--db", db, "--json")
    assert code == 0, (out, err)


def test_an_address_is_printed_once_and_serves_the_course(db: str) -> None:
    made = _make(db, "--url", "https://b12.clinic.example/", "--who", "nurse.ana")
    token = made["token"]
    assert made["address"] == f"https://b12.clinic.example/calendar/{token}.ics"
    app = build(Settings(database_url=db))
    try:
        feed = read_feed(app.unit_of_work, app.knowledge, token, app.clock.now())
    finally:
        app.close()
    assert feed.patient.code == "P-1" and feed.course
    live = _live(db)
    assert [f["id"] for f in live] == [made["id"]] and live[0]["made_by"] == "nurse.ana"
    assert token not in json.dumps(live)  # the record keeps only its hash
    code, out, _ = cli("calendar", "list", "P-1", "--db", db)
    assert code == 0 and made["id"] in out and token not in out
    _verified(db)


def test_without_url_the_path_is_printed(db: str) -> None:
    code, out, err = cli("calendar", "make", "P-1", "--db", db)
    assert code == 0, err
    (path,) = [line for line in out.splitlines() if line.startswith("/calendar/")]
    assert path.endswith(".ics") and len(path) > len("/calendar/.ics") + 40


def test_a_revoked_address_no_longer_serves_and_leaves_the_others(db: str) -> None:
    first, second = _make(db), _make(db)
    code, out, err = cli("calendar", "revoke", "P-1", first["id"], "--db", db, "--json")
    assert code == 0, err
    assert json.loads(out)["revoked"] == first["id"]
    assert [f["id"] for f in _live(db)] == [second["id"]]
    app = build(Settings(database_url=db))
    try:
        with pytest.raises(UnknownFeedError):
            read_feed(app.unit_of_work, app.knowledge, first["token"], app.clock.now())
        assert read_feed(app.unit_of_work, app.knowledge, second["token"], app.clock.now())
    finally:
        app.close()
    _verified(db)


@pytest.mark.parametrize(
    ("argv", "said"),
    [
        (["calendar", "revoke", "P-1", "no-such-feed"], "no live calendar feed"),
        (["calendar", "make", "P-1", "--url", "b12.clinic.example"], "--url"),
        (["calendar", "make", "P-1", "--url", "ftp://x"], "https://"),
        (["calendar", "make", "P-9"], "P-9"),
        (["calendar", "list", "P-9"], "P-9"),
        (["calendar", "make", "P-1", "--url", "https://a b"], "--url"),
        (["calendar", "revoke", "P-1", "\x1b[2J[/]"], "no live calendar feed"),
    ],
)
def test_what_it_cannot_do_is_refused_with_a_way_out(db: str, argv: list[str], said: str) -> None:
    code, out, err = cli(*argv, "--db", db)
    assert code == 2 and said in err, (out, err)
    assert "Traceback" not in err and "\x1b[2J" not in out + err
    assert _live(db) == []  # nothing made by a refused call
    _verified(db)


def test_revoking_twice_is_refused(db: str) -> None:
    made = _make(db)
    assert cli("calendar", "revoke", "P-1", made["id"], "--db", db)[0] == 0
    code, _, err = cli("calendar", "revoke", "P-1", made["id"], "--db", db)
    assert code == 2 and "no live calendar feed" in err
