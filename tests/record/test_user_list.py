"""`b12 user list`: every account with its role, state and live links, never a password hash; a
disabled account, a locked one and an ended link shown as they are."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator

import pytest

from tests.record.helpers import cli

PASSWORD = "correct horse battery"


@pytest.fixture
def db(sqlite_url: str) -> Iterator[str]:
    os.environ["B12_PASSWORD"] = PASSWORD
    try:
        assert cli("patient", "add", "P-1", "--age-years", "60", "--db", sqlite_url)[0] == 0
        assert cli("patient", "add", "P-2", "--age-years", "70", "--db", sqlite_url)[0] == 0
        for argv in (
            ["user", "add", "zoe.nurse", "--role", "nurse"],
            ["user", "add", "ann", "--role", "caregiver", "--patient", "P-1", "--patient", "P-2"],
            ["user", "add", "bob", "--role", "patient", "--patient", "P-2"],
        ):
            code, _, err = cli(*argv, "--db", sqlite_url)
            assert code == 0, err
        assert cli("user", "link", "ann", "P-1", "--injects", "--db", sqlite_url)[0] == 0
        assert cli("user", "unlink", "ann", "P-2", "--db", sqlite_url)[0] == 0
        assert cli("user", "disable", "bob", "--db", sqlite_url)[0] == 0
        yield sqlite_url
    finally:
        del os.environ["B12_PASSWORD"]


def test_every_account_with_its_role_state_and_live_links(db: str) -> None:
    code, out, err = cli("user", "list", "--db", db, "--json")
    assert code == 0, err
    accounts = {a["username"]: a for a in json.loads(out)["accounts"]}
    assert list(accounts) == ["ann", "bob", "zoe.nurse"]
    assert accounts["ann"]["role"] == "caregiver"
    assert accounts["ann"]["patients"] == [{"code": "P-1", "injects": True}]  # P-2's link ended
    assert accounts["bob"]["disabled"] is True and accounts["zoe.nurse"]["patients"] == []
    assert "argon2" not in out and "password" not in out


def test_the_table_says_who_is_disabled_and_who_injects(db: str) -> None:
    code, out, err = cli("user", "list", "--db", db)
    assert code == 0, err
    lines = {line.split()[0]: line for line in out.splitlines() if line.split()}
    assert "disabled" in lines["bob"] and "P-2" in lines["bob"]
    assert "P-1 (injects)" in lines["ann"] and "active" in lines["ann"]
    assert "argon2" not in out


def test_an_empty_record_lists_no_account(sqlite_url: str) -> None:
    code, out, _ = cli("user", "list", "--db", sqlite_url, "--json")
    assert code == 0 and json.loads(out) == {"accounts": []}
