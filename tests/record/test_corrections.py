"""Corrections: a new record replaces the old one and points at it; the old one is kept."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from sqlalchemy import text

from b12 import InputError
from b12.adapters.cli import read
from b12.domain.patient import Patient
from b12.knowledge import load_knowledge
from b12.services.administering import GiveRequest, give
from b12.services.corrections import correct, lab_changes
from b12.services.follow_up import patient_status
from b12.services.planning import PlanRequest
from b12.services.record import add_labs, add_patient, prescribe, verify_audit
from tests.record.helpers import cli, open_app

PRODUCT = "cyanocobalamin-us-1000mcg-ml-10ml-vial"


def _course(url: str):  # type: ignore[no-untyped-def]
    kb = load_knowledge()
    record = open_app(url)
    work = record.unit_of_work
    add_patient(
        work, "P-7", Patient(age_months=Decimal(600)), "dr B", datetime(2026, 1, 2, 9, tzinfo=UTC)
    )
    prescribe(work, kb, "P-7", PlanRequest(date(2026, 1, 5), "pernicious-anaemia", product=PRODUCT),
              "dr B", datetime(2026, 1, 2, 10, tzinfo=UTC))  # fmt: skip
    given = give(work, kb, GiveRequest("P-7", datetime(2026, 1, 5, 9, tzinfo=UTC), lot="L1",
                                       expiry=date(2027, 1, 1)), "nurse A", record.clock)  # fmt: skip
    labs = add_labs(
        work, kb, "P-7", [read.reading(kb, "hb=9.1g/dL")], date(2026, 1, 5), "lab",
        datetime(2026, 1, 5, 12, tzinfo=UTC),
    )  # fmt: skip
    assert given.recorded is not None
    return kb, record, given.recorded, labs.results[0]


def test_a_corrected_administration_is_replaced_and_kept(db_url: str) -> None:
    _, record, first, _ = _course(db_url)
    done = correct(record.unit_of_work, "P-7", "administration", first.id,
                   {"site": "right deltoid", "lot": "L2"}, "site written on the wrong side",
                   "nurse A", datetime(2026, 1, 5, 10, tzinfo=UTC))  # fmt: skip
    assert (done.new.corrects_id, done.new.site, done.new.lot) == (first.id, "right deltoid", "L2")
    assert done.new.dose_mcg == first.dose_mcg == Decimal(100)
    status = patient_status(record.unit_of_work, "P-7", date(2026, 1, 5))
    given = [e for e in status.timeline if e.kind == "given"]
    assert [e.ref for e in given] == [done.new.id]  # the corrected one no longer counts
    assert "right deltoid" in given[0].says
    chain = verify_audit(record.unit_of_work)
    assert chain.intact
    with record.unit_of_work() as uow:  # nothing deleted: both rows are there
        c = uow.connection
        rows = c.execute(text("SELECT id FROM administrations ORDER BY given_at")).scalars().all()
        assert set(rows) == {first.id, done.new.id}
        actions = c.execute(text("SELECT action, payload FROM audit_log ORDER BY seq")).all()
    assert actions[-1][0] == "correct-administration"
    payload = actions[-1][1] if isinstance(actions[-1][1], dict) else json.loads(actions[-1][1])
    assert payload["reason"] == "site written on the wrong side"


def test_a_lab_result_is_corrected_by_a_new_reading(db_url: str) -> None:
    kb, record, _, hb = _course(db_url)
    changes = lab_changes(
        kb, record.unit_of_work, "P-7", read.reading(kb, "hb=91g/L"), date(2026, 1, 5)
    )
    done = correct(
        record.unit_of_work,
        "P-7",
        "lab",
        hb.id,
        changes,
        "unit misread",
        "lab",
        datetime(2026, 1, 6, tzinfo=UTC),
    )
    assert (done.new.value, done.new.unit, done.new.normalised_value) == (
        Decimal(91),
        "g/L",
        Decimal("9.1"),
    )


def test_a_correction_is_refused_when_it_cannot_be_right(db_url: str) -> None:
    _, record, first, _ = _course(db_url)
    with pytest.raises(
        InputError,
        match="may set dose_mcg, expiry, given_at, lot, route, site, volume_ml; not patient_id",
    ):
        correct(
            record.unit_of_work,
            "P-7",
            "administration",
            first.id,
            {"patient_id": "x"},
            "why",
            "a",
            datetime(2026, 1, 6, tzinfo=UTC),
        )
    with pytest.raises(InputError, match="the reason for the correction must say why"):
        correct(
            record.unit_of_work,
            "P-7",
            "administration",
            first.id,
            {"lot": "L9"},
            " ",
            "a",
            datetime(2026, 1, 6, tzinfo=UTC),
        )
    correct(
        record.unit_of_work,
        "P-7",
        "administration",
        first.id,
        {"lot": "L9"},
        "typo",
        "a",
        datetime(2026, 1, 6, tzinfo=UTC),
    )
    with pytest.raises(InputError, match="already corrected"):
        correct(
            record.unit_of_work,
            "P-7",
            "administration",
            first.id,
            {"lot": "L8"},
            "again",
            "a",
            datetime(2026, 1, 7, tzinfo=UTC),
        )


def test_correct_command(sqlite_url: str) -> None:
    url = sqlite_url
    _, _, first, _ = _course(url)
    done = subprocess.run(
        [sys.executable, "-m", "b12", "correct", "administration", "P-7", first.id, "dose_mcg=100",
         "volume_ml=0.1", "site=left vastus lateralis", "--reason", "site", "--db", url, "--json"],
        capture_output=True, text=True, check=False, timeout=60,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert data["corrects"] == first.id
    assert data["record"]["site"] == "left vastus-lateralis"  # named as `give` names a site
    bad = subprocess.run(
        [sys.executable, "-m", "b12", "correct", "administration", "P-7", first.id, "dose_mcg=lots",
         "--reason", "x", "--db", url],
        capture_output=True, text=True, check=False, timeout=60,
    )  # fmt: skip
    assert bad.returncode == 2
    assert "dose_mcg='lots' cannot be read" in bad.stderr


# --- b12 void: entered in error, from the command line ----------------------------------------

REASON = "recorded for the wrong patient"


def _given_by_cli(url: str) -> str:
    """P-7 prescribed and one dose given on 2026-01-05 at 09:00, through the command line; its id."""
    for argv in (
        ["patient", "add", "P-7", "--age-years", "50", "--at", "2026-01-02"],
        ["prescribe", "P-7", "--indication", "pernicious-anaemia", "--start", "2026-01-05",
         "--product", PRODUCT, "--at", "2026-01-02"],
    ):  # fmt: skip
        assert cli(*argv, "--db", url)[0] == 0, argv
    code, out, err = cli("give", "P-7", "--lot", "L1", "--at", "2026-01-05T09:00", "--db", url,
                         "--json")  # fmt: skip
    assert code == 0, err
    given_id: str = json.loads(out)["administration"]["id"]
    return given_id


def _given_count(url: str) -> int:
    code, out, err = cli("status", "P-7", "--at", "2026-01-06", "--db", url, "--json")
    assert code == 0, err
    return int(json.loads(out)["given"])


def test_void_command_takes_a_dose_out_of_status_and_of_the_next_gives_stop(db_url: str) -> None:
    url = db_url
    first = _given_by_cli(url)
    again = ("give", "P-7", "--lot", "L2", "--at", "2026-01-05T11:00", "--db", url, "--json")
    stopped, out, _ = cli(*again)  # the same day: stopped, as it must be while the dose counts
    assert stopped == 3
    assert "RECORD_ALREADY_GIVEN_TODAY" in {f["code"] for f in json.loads(out)["findings"]}
    assert _given_count(url) == 1
    code, out, err = cli("void", "administration", "P-7", first, "--reason", REASON,
                         "--who", "dr Ames", "--db", url)  # fmt: skip
    assert (code, err) == (0, ""), err
    assert f"Administration {first} marked entered in error by " in out
    assert f"({REASON}); the original is kept and no longer counts." in out
    assert _given_count(url) == 0  # out of the count, as the web's "Mark entered in error"
    code, out, err = cli(*again)  # no longer stopped: the dose in error does not count
    assert code == 0, out
    assert json.loads(out)["administration"]["planned_number"] == 1
    assert _given_count(url) == 1
    code, out, err = cli("audit-log", "verify", "--db", url, "--json")
    assert code == 0 and json.loads(out)["intact"], out
    with open_app(url).unit_of_work() as uow:  # nothing deleted; the void's audit link
        c = uow.connection
        ids = set(c.execute(text("SELECT id FROM administrations")).scalars().all())
        actions = c.execute(text("SELECT action, who FROM audit_log ORDER BY seq")).all()
    assert first in ids and len(ids) == 3
    assert ("void-administration", "dr Ames") in [tuple(a) for a in actions]


def test_void_command_json_is_what_the_web_api_answers(sqlite_url: str) -> None:
    url = sqlite_url
    first = _given_by_cli(url)
    code, out, err = cli("void", "administration", "P-7", first, "--reason", f"  {REASON} ",
                         "--who", "dr Ames", "--db", url, "--json")  # fmt: skip
    assert code == 0, err
    data = json.loads(out)
    assert set(data) == {"kind", "corrects", "record", "reason"}  # Corrected.to_dict, as the API
    assert (data["kind"], data["corrects"], data["reason"]) == ("administration", first, REASON)
    record = data["record"]
    assert record["entered_in_error"] is True and record["corrects_id"] == first
    assert (record["correction_reason"], record["corrected_by"]) == (REASON, "dr Ames")
    assert record["id"] != first and record["lot"] == "L1"  # a copy of the dose, marked


def test_void_command_refuses_what_it_cannot_do_and_says_what_to_write(sqlite_url: str) -> None:
    url = sqlite_url
    first = _given_by_cli(url)

    def void(*argv: str) -> tuple[int, str, str]:
        return cli("void", *argv, "--db", url)

    code, out, err = void("administration", "P-7", first)
    assert (code, out) == (2, "")
    assert "the following arguments are required: --reason (see `b12 void --help`)" in err
    code, _, err = void("administration", "P-7", first, "--reason", "x")
    assert code == 2 and err.startswith(
        "b12: --reason: the reason for marking it entered in error must"
    )
    code, _, err = void("event", "P-7", first, "--reason", REASON)
    assert code == 2
    assert "KIND: cannot mark 'event' entered in error; write one of administration, lab" in err
    code, _, err = void("administration", "P-7", "nope", "--reason", REASON)
    assert code == 2
    assert "RECORD_ID: no current administration 'nope' for patient 'P-7'" in err
    assert "the patient's status lists the ids" in err
    code, _, err = void("administration", "P-8", first, "--reason", REASON)
    assert code == 2 and "no patient 'P-8'" in err
    assert _given_count(url) == 1  # nothing refused was recorded
    assert void("administration", "P-7", first, "--reason", REASON, "--who", "dr Ames")[0] == 0
    code, out, err = void("administration", "P-7", first, "--reason", "second try")
    assert (code, out) == (2, "")
    assert (
        f"RECORD_ID: no current administration '{first}' for patient 'P-7': it is already marked "
        f"entered in error by dr Ames ('{REASON}') and no longer counts; nothing more to do"
    ) in err
    code, _, err = cli("correct", "administration", "P-7", first, "lot=L9", "--reason", "lot typo",
                       "--db", url)  # fmt: skip
    assert code == 2 and "already marked entered in error" in err
    with open_app(url).unit_of_work() as uow:
        voids = uow.connection.execute(
            text("SELECT count(*) FROM administrations WHERE entered_in_error")
        ).scalar()
    assert voids == 1  # refused twice: one mark


def test_a_corrected_record_names_the_one_that_counts_now(sqlite_url: str) -> None:
    url = sqlite_url
    first = _given_by_cli(url)
    code, out, _ = cli("correct", "administration", "P-7", first, "lot=L2", "--reason",
                       "lot typo", "--db", url, "--json")  # fmt: skip
    assert code == 0
    now = json.loads(out)["record"]["id"]
    code, _, err = cli("void", "administration", "P-7", first, "--reason", REASON, "--db", url)
    assert code == 2
    assert f"it is already corrected; the record that counts now is '{now}'" in err
    assert cli("void", "administration", "P-7", now, "--reason", REASON, "--db", url)[0] == 0
    assert _given_count(url) == 0


@pytest.mark.parametrize(
    ("reason", "who"),
    [("[bold]wrong[/bold] patient", "[red]dr"), ("wrong\x1b[2J patient\x07", "dr\x9b31m A"),
     ("patient \\[x] mixed up\\", "[link=http://x]a")],
)  # fmt: skip
def test_void_command_prints_odd_text_as_written_never_a_traceback(
    sqlite_url: str, reason: str, who: str
) -> None:
    url = sqlite_url
    first = _given_by_cli(url)
    for expected, argv in (
        (0, ("void", "administration", "P-7", first, "--reason", reason, "--who", who)),
        (2, ("void", "administration", "P-7", first, "--reason", reason)),  # says who and why
        (2, ("void", "administration\x1b[31m", "P-[/]", first, "--reason", reason)),
        (2, ("void", "administration", "P-[/]", "[bold]\x00", "--reason", reason)),
    ):
        code, out, err = cli(*argv, "--db", url)
        assert code == expected and "Traceback" not in err, (argv, err)
        assert not re.search("[\x00-\x08\x0b-\x1f\x7f-\x9f]", out + err), (argv, out, err)
        if code == 0 and not re.search("[\x00-\x1f\x7f-\x9f]", reason):  # markup shown as is
            assert "(" + reason.rstrip("\\") in out, out
    with open_app(url).unit_of_work() as uow:
        (kept,) = uow.connection.execute(
            text("SELECT correction_reason FROM administrations WHERE entered_in_error")
        ).scalars()
    assert kept == reason.strip()  # kept as written; only its printing is escaped


def test_correct_command_checks_as_give_does(sqlite_url: str) -> None:
    url = sqlite_url
    _, _, first, _ = _course(url)

    def run(*argv: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "b12", "correct", *argv, "--db", url],
            capture_output=True, text=True, check=False, timeout=60,
        )  # fmt: skip

    slip = run("administration", "P-7", first.id, "dose_mcg=100000", "--reason", "typed again")
    assert slip.returncode == 2 and "DOSE_UNIT_SLIP" in slip.stderr, slip.stderr
    lab = run("lab", "P-7", first.id, "value=5", "--reason", "typed again")
    assert lab.returncode == 2 and "reading=" in lab.stderr, lab.stderr
    taken = run("administration", "P-7", first.id, "dose_mcg=100000", "volume_ml=100",
                "--reason", "typed again", "--override", "the pharmacy confirmed 100 mg")  # fmt: skip
    assert taken.returncode == 0, taken.stderr
