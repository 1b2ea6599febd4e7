"""Every reason b12 takes (an override, a bypass, a stop, a missed dose, a correction) must say
something: one shared check refuses empty, whitespace, punctuation and one-character reasons."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest

from b12.domain.reasons import MIN_REASON_CHARACTERS, ReasonError, meaningful_reason
from tests.record.helpers import cli

PRODUCT = "cyanocobalamin-us-1000mcg-ml-10ml-vial"
BAD = ["", " ", "\t", ".", "x", "-", "...", "ok", "?!?", " a. "]
GOOD = "allergist cleared, test dose tolerated"


def _record(db: str) -> str:
    """P-1 with a prescription and one dose given; the dose's id."""
    cli("patient", "add", "P-1", "--age-years", "60", "--at", "2026-01-02", "--db", db)
    cli("prescribe", "P-1", "--indication", "pernicious-anaemia", "--start", "2026-01-05",
        "--product", PRODUCT, "--at", "2026-01-02T10:00", "--db", db)  # fmt: skip
    _, out, _ = cli("give", "P-1", "--lot", "L1", "--expiry", "2027-01-01", "--at",
                    "2026-01-05T09:00", "--db", db, "--json")  # fmt: skip
    return str(json.loads(out)["administration"]["id"])


#: Every command that takes a reason: (the option the error names, what the reason is for, the
#: command line).
COMMANDS: dict[str, tuple[str, str, Callable[[str, str, str], list[str]]]] = {
    "give --override": ("--override", "the override", lambda db, given, r: [
        "give", "P-1", "--at", "2026-01-06T09:00", "--override", r, "--db", db]),
    "prescribe --override": ("--override", "the override", lambda db, given, r: [
        "prescribe", "P-1", "--indication", "pernicious-anaemia", "--start", "2026-01-06",
        "--override", r, "--db", db]),
    "prescribe --stop --reason": ("--reason", "stopping the prescription", lambda db, given, r: [
        "prescribe", "P-1", "--stop", "--reason", r, "--db", db]),
    "missed --reason": ("--reason", "the missed dose", lambda db, given, r: [
        "missed", "P-1", "--reason", r, "--at", "2026-01-06", "--db", db]),
    "correct --reason": ("--reason", "the correction", lambda db, given, r: [
        "correct", "administration", "P-1", given, "lot=L2", "--reason", r, "--db", db]),
    "check --bypass": ("--bypass", "the bypass of COBALAMIN_HYPERSENSITIVITY", lambda db, given, r: [
        "check", "--allergy", "cobalamin", "--bypass", f"COBALAMIN_HYPERSENSITIVITY={r}"]),
}  # fmt: skip


@pytest.mark.parametrize("reason", BAD, ids=repr)
@pytest.mark.parametrize("command", COMMANDS)
def test_a_reason_that_says_nothing_is_refused(sqlite_url: str, command: str, reason: str) -> None:
    option, what, argv = COMMANDS[command]
    given = _record(sqlite_url)
    code, out, err = cli(*argv(sqlite_url, given, reason))
    assert code == 2 and out == ""
    assert err.startswith(
        f"b12: {option}: the reason for {what} must say why, in words (at least 3 letters or "
        "digits), e.g. "
    )


@pytest.mark.parametrize("command", COMMANDS)
def test_a_reason_in_words_is_taken(sqlite_url: str, command: str) -> None:
    _, _, argv = COMMANDS[command]
    given = _record(sqlite_url)
    code, _, err = cli(*argv(sqlite_url, given, GOOD))
    assert code in (0, 3), err


@pytest.mark.parametrize("reason", BAD)
def test_the_shared_check_says_what_to_write(reason: str) -> None:
    with pytest.raises(ReasonError) as refused:
        meaningful_reason(reason, "reason", "the missed dose", "in hospital")
    got = "nothing" if not reason else repr(reason)
    assert str(refused.value) == (
        f"the reason for the missed dose must say why, in words (at least "
        f"{MIN_REASON_CHARACTERS} letters or digits), e.g. 'in hospital'; got {got}"
    )
    assert refused.value.field == "reason"


@pytest.mark.parametrize("reason", ["DKA", "  in hospital  ", "pt refused", "Dr. Lee: ok"])
def test_a_short_reason_in_words_is_kept_stripped(reason: str) -> None:
    assert meaningful_reason(reason, "reason", "the missed dose", "") == reason.strip()
