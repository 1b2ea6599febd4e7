"""Every input, every output, no traceback: what a user typed is printed as written and never acts
on the screen; text the record cannot keep is refused before the database sees it, the same on
SQLite and PostgreSQL; numbers and dates out of range are input errors; a record that cannot be
opened is one line; a missing SQLite file is never created but by `b12 db upgrade`; a closed pipe
never makes a saved record look unsaved."""

from __future__ import annotations

import io
import json
import re
import subprocess
import sys
from contextlib import redirect_stdout
from pathlib import Path

import pytest
from sqlalchemy import create_engine, func, select

from b12.adapters.storage import tables as t
from b12.adapters.storage.limits import TEXT_LIMIT
from tests.record.helpers import run_main

RAW_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")
HOSTILE = "[/][bold]x\x1b[2J\x9b\x7f"  # markup that crashed Rich, a screen clear, C1, DEL
SHOWN = "[/][bold]x\\x1b[2J\\x9b\\x7f"  # as every printer shows it
PRODUCT = "cyanocobalamin-us-1000mcg-ml-10ml-vial"


def _links(url: str) -> int:
    engine = create_engine(url)
    with engine.connect() as c:
        n = c.execute(select(func.count()).select_from(t.audit_log)).scalar_one()
    engine.dispose()
    return int(n)


def _b12(url: str, *argv: str) -> tuple[int, str, str]:
    return run_main([*argv, "--db", url])


def _course(url: str, code: str = "P-1") -> None:
    assert _b12(url, "patient", "add", code, "--age-years", "60", "--sex", "female")[0] == 0
    done = _b12(url, "prescribe", code, "--indication", "pernicious-anaemia", "--start",
                "2026-01-05", "--product", PRODUCT, "--at", "2026-01-05")  # fmt: skip
    assert done[0] == 0, done


# --- output: markup and control characters of stored text, human and JSON ---------------------

#: Each stored free-text field a person types (a site must be a known one), how to store it, and
#: the views that show it.
STORED = {
    "patient": (["patient", "add", HOSTILE, "--age-years", "60"],
                [["patient", "list"], ["patient", "show", HOSTILE], ["status", HOSTILE]]),
    "conditions": (["patient", "add", "P-2", "--condition", HOSTILE], [["patient", "show", "P-2"]]),
    "lot": (["give", "P-1", "--at", "2026-01-05T09:00", "--lot", HOSTILE], [["status", "P-1"]]),
    "reason": (["missed", "P-1", "--at", "2026-01-05", "--reason", HOSTILE], [["status", "P-1"]]),
    "description": (["event", "add", "P-1", "--at", "2026-01-06", "--description", HOSTILE],
                    [["status", "P-1"]]),
    "who": (["patient", "add", "P-3", "--who", HOSTILE], [["patient", "show", "P-3"]]),
}  # fmt: skip


def _strings(data: object) -> list[str]:
    if isinstance(data, str):
        return [data]
    if isinstance(data, dict):
        return [s for v in data.values() for s in _strings(v)]
    if isinstance(data, list):
        return [s for v in data for s in _strings(v)]
    return []


@pytest.mark.parametrize("field", sorted(STORED))
def test_stored_markup_and_controls_print_as_written(
    db_url: str, field: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    _course(db_url)
    store, views = STORED[field]
    if field == "patient":  # a new code is one segment of an address: this one is refused ...
        assert _b12(db_url, *store)[0] == 2
        from b12.services import record

        # ... and an older b12 kept such codes: they still print as written
        monkeypatch.setattr(record, "check_new_code", lambda code: None)
    code, out, err = _b12(db_url, *store, "--json")
    assert code in (0, 3) and err == "", (out, err)
    assert not RAW_CONTROL.search(out)
    assert any(HOSTILE in text for text in _strings(json.loads(out)))  # given back exactly
    for view in views:
        code, out, err = _b12(db_url, *view)
        assert code in (0, 3) and err == "", (view, err)
        assert not RAW_CONTROL.search(out)
        if field not in ("lot", "who"):  # shown in JSON only
            assert SHOWN in out.replace("\n", "").replace("│", "").replace(" ", ""), (view, out)
        code, out, err = _b12(db_url, *view, "--json")
        assert code in (0, 3) and not RAW_CONTROL.search(out), (view, out)


def test_a_stored_value_cannot_style_the_screen_on_a_terminal(
    sqlite_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from b12.adapters.cli.output import PlainConsole, console

    buffer = io.StringIO()
    monkeypatch.setattr(buffer, "isatty", lambda: True)
    with redirect_stdout(buffer):
        PlainConsole().print("[bold]{code}[/bold]", code="[bold]P[/bold][dim]\x1b[2J")
    assert buffer.getvalue() == "\x1b[1m[bold]P[/bold][dim]\\x1b[2J\x1b[0m\n"
    rich = io.StringIO()
    with redirect_stdout(rich):
        console().print("Patient {code}.", code="[bold]P[/][red]")
    assert rich.getvalue() == "Patient [bold]P[/][red].\n"


def test_json_escapes_c1_del_and_undecodable_bytes() -> None:
    from b12.adapters.cli.output import emit_json

    out = io.StringIO()
    with redirect_stdout(out):
        emit_json({"lot": "a\x1b\x85\x7f\udcff"})
    assert out.getvalue() == '{\n  "lot": "a\\u001b\\u0085\\u007f\\udcff"\n}\n'


# --- input: invalid UTF-8 and NUL, refused before anything is stored --------------------------

#: Every text option of every command that stores, with the rest of a call that would store.
TEXT_OPTIONS = [
    (["patient", "add", "{}"], None),
    (["patient", "add", "P-9", "--condition", "{}"], "--condition"),
    (["patient", "add", "P-9", "--medication", "{}"], "--medication"),
    (["patient", "add", "P-9", "--allergy", "{}"], "--allergy"),
    (["patient", "add", "P-9", "--who", "{}"], "--who"),
    (["give", "P-1", "--at", "2026-01-05T09:00", "--lot", "{}"], "--lot"),
    (["give", "P-1", "--at", "2026-01-05T09:00", "--site", "{}"], "--site"),
    (["give", "P-1", "--at", "2026-01-05T09:00", "--override", "{}"], "--override"),
    (["missed", "P-1", "--reason", "{}"], "--reason"),
    (["event", "add", "P-1", "--description", "{}"], "--description"),
    (["lab", "add", "P-1", "{}"], None),
    (["prescribe", "P-1", "--stop", "--reason", "{}"], "--reason"),
    (["correct", "administration", "P-1", "x", "site={}", "--reason", "wrong side"], None),
]


@pytest.mark.parametrize(
    ("bad", "says"),
    [("L\udcff1", "is not valid UTF-8"), ("L\x001", "holds a NUL character")],
    ids=["invalid-utf8", "nul"],
)
@pytest.mark.parametrize(("template", "option"), TEXT_OPTIONS, ids=lambda v: str(v))
def test_invalid_utf8_and_nul_are_refused_before_anything_is_stored(
    db_url: str, template: list[str], option: str | None, bad: str, says: str
) -> None:
    _course(db_url)
    before = _links(db_url)
    code, out, err = _b12(db_url, *(a.replace("{}", bad) for a in template))
    assert (code, out) == (2, "")
    assert says in err and not RAW_CONTROL.search(err) and "\udcff" not in err
    if option:
        assert err.startswith(f"b12: the argument after {option}: ")
    assert _links(db_url) == before


@pytest.mark.parametrize("text", ["P\x00", "P\udcff"], ids=["nul", "invalid-utf8"])
def test_the_record_itself_refuses_nul_and_undecodable_text(db_url: str, text: str) -> None:
    from b12.adapters.storage.limits import StoredTextError
    from tests.record.helpers import open_app, patient

    with pytest.raises(StoredTextError):
        patient(open_app(db_url).unit_of_work, text)  # the use case opens its own unit of work


# --- lengths: one validation, the limit named, the same on both databases ---------------------

#: Each text a person types that the record keeps: the call storing it and the column's limit.
LIMITED = {
    "--who": (["patient", "add", "P-9", "--who", "{}"], 120, "name of who records"),
    "--lot": (["give", "P-1", "--at", "2026-01-05T09:00", "--lot", "{}"], 64, "lot"),
    "--reason": (["missed", "P-1", "--at", "2026-01-05", "--reason", "{}"], TEXT_LIMIT, "reason"),
    "--description": (["event", "add", "P-1", "--description", "{}"], TEXT_LIMIT, "description"),
    "--override": (["give", "P-1", "--at", "2026-01-05T09:00", "--dose", "2000mcg",
                    "--override", "{}"], TEXT_LIMIT, "override reason"),
}  # fmt: skip


@pytest.mark.parametrize("option", sorted(LIMITED))
def test_a_text_longer_than_its_column_is_refused_with_the_limit(db_url: str, option: str) -> None:
    _course(db_url)
    template, limit, label = LIMITED[option]
    before = _links(db_url)
    code, out, err = _b12(db_url, *(a.replace("{}", "x" * (limit + 1)) for a in template))
    assert (code, out) == (2, "")
    assert err == (
        f"b12: {option}: the {label} is {limit + 1} characters long; the record keeps at most "
        f"{limit}: shorten it\n"
    )
    assert _links(db_url) == before
    code, _, err = _b12(db_url, *(a.replace("{}", "x" * limit) for a in template))
    assert code in (0, 3) and err == ""
    assert _links(db_url) > before


# --- numbers and dates out of range; unknown ids ----------------------------------------------

OUT_OF_RANGE = [
    (["patient", "add", "P-9", "--age-years", "1e999999"], "--age-years '1e999999' is far out"),
    (["patient", "add", "P-9", "--weight-kg", "1e308"], "--weight-kg '1e308' is far out"),
    (["patient", "add", "P-9", "--age-years", "131"], "write an age of 0-130 years"),
    (["prescribe", "P-1", "--indication", "pernicious-anaemia", "--product", PRODUCT,
      "--start", "9999-12-01"], "the year 9999 is out of range"),
    (["prescribe", "P-1", "--indication", "pernicious-anaemia", "--product", PRODUCT,
      "--start", "0001-01-01"], "the year 1 is out of range"),
    (["give", "P-1", "--at", "2026-01-05T09:00", "--expiry", "9999-12-31"], "year 9999"),
    (["lab", "add", "P-1", "hb=9g/dL", "--at", "0001-01-01"], "the year 1 is out of range"),
    (["status", "P-1", "--at", "9999-12-31"], "the year 9999 is out of range"),
    (["due", "--date", "0001-01-01"], "the year 1 is out of range"),
    (["correct", "administration", "P-1", "nope", "site=left deltoid", "--reason", "wrong side"],
     "no current administration 'nope' for patient 'P-1'"),
    (["correct", "administration", "P-1", "nope", "dose_mcg=1e999999", "--reason", "typo"],
     "dose_mcg='1e999999' cannot be read"),
    (["correct", "administration", "P-1", "nope", "expiry=9999-01-01", "--reason", "typo"],
     "the year 9999 is out of range"),
    (["event", "add", "P-1", "--description", "sore", "--administration", "nope"],
     "--administration: no current administration 'nope' for patient 'P-1'"),
]  # fmt: skip


@pytest.mark.parametrize(("argv", "says"), OUT_OF_RANGE, ids=lambda v: str(v))
def test_numbers_dates_and_ids_out_of_range_are_input_errors(
    db_url: str, argv: list[str], says: str
) -> None:
    _course(db_url)
    before = _links(db_url)
    code, out, err = _b12(db_url, *argv)
    assert (code, out) == (2, "") and says in err and "Traceback" not in err, err
    assert _links(db_url) == before


# --- the record cannot be opened: one line, no password; a missing file is not created ------

#: Every command that opens the record but `db upgrade`.
RECORD_COMMANDS = [
    ["patient", "list"], ["patient", "add", "P-1"], ["patient", "show", "P-1"], ["give", "P-1"],
    ["missed", "P-1", "--reason", "in hospital"], ["status", "P-1"], ["due"],
    ["lab", "add", "P-1", "hb=9.1g/dL"], ["event", "add", "P-1", "--description", "sore arm"],
    ["audit-log", "verify"], ["prescribe", "P-1", "--stop", "--reason", "remission"],
    ["correct", "lab", "P-1", "x", "taken_on=2026-01-05", "--reason", "wrong day"],
]  # fmt: skip


@pytest.mark.parametrize("argv", RECORD_COMMANDS, ids=" ".join)
def test_a_missing_sqlite_record_is_never_created_but_by_db_upgrade(
    tmp_path: Path, argv: list[str]
) -> None:
    path = tmp_path / "mistyped.db"
    code, out, err = run_main([*argv, "--db", str(path)])
    assert (code, out) == (1, "")
    assert err == f"b12: no record at {path}: run `b12 db upgrade --db {path}` to create one\n"
    assert not path.exists()


def test_db_upgrade_creates_the_file_but_not_its_folder(tmp_path: Path) -> None:
    nowhere = tmp_path / "no" / "record.db"
    code, _, err = run_main(["db", "upgrade", "--db", str(nowhere)])
    assert (code, err) == (
        1,
        f"b12: cannot create the record {nowhere}: the folder {nowhere.parent} does not exist; "
        "create it, or give a path in an existing folder\n",
    )
    path = tmp_path / "record.db"
    assert run_main(["db", "upgrade", "--db", str(path)])[0] == 0 and path.exists()


@pytest.mark.parametrize(
    ("url", "code", "says"),
    [
        ("postgres://nurse:s3cret@127.0.0.1/b12", 2,
         "b12: the record's URL postgres://nurse:***@127.0.0.1/b12: `postgres://` is not a scheme "
         "SQLAlchemy reads; write postgresql://..."),
        ("mysql://nurse:s3cret@127.0.0.1/b12", 2,
         "b12: the record's URL mysql://nurse:***@127.0.0.1/b12: b12 cannot open a 'mysql' "
         "database; write a file path, sqlite:///PATH or postgresql://USER@HOST:PORT/DATABASE"),
        ("postgresql://nurse:s3cret@127.0.0.1:1/b12", 1,
         'b12: cannot open the record postgresql+psycopg://nurse:***@127.0.0.1:1/b12: connection '
         'to server at "127.0.0.1", port 1 failed: Connection refused'),
    ],
    ids=["postgres-scheme", "unknown-kind", "wrong-port"],
)  # fmt: skip
def test_a_record_that_cannot_be_opened_is_one_line_without_the_password(
    url: str, code: int, says: str
) -> None:
    for argv in (["patient", "list"], ["db", "upgrade"]):
        done = run_main([*argv, "--db", url])
        assert done == (code, "", says + "\n")


@pytest.mark.postgres
def test_a_postgresql_database_that_does_not_exist_is_one_line(pg_server: str) -> None:
    url = pg_server.rsplit("/", 1)[0].replace("postgres@", "postgres:s3cret@") + "/b12_nothing"
    code, out, err = run_main(["due", "--db", url])
    assert (code, out) == (1, "") and err.count("\n") == 1
    assert 'database "b12_nothing" does not exist' in err and "s3cret" not in err


def test_a_file_that_is_no_database_is_one_line(tmp_path: Path) -> None:
    path = tmp_path / "notes.db"
    path.write_text("not a database " * 100)
    code, out, err = run_main(["due", "--db", str(path)])
    assert (code, out, err) == (
        1, "", f"b12: cannot open the record sqlite:///{path}: file is not a database\n"
    )  # fmt: skip


# --- output only after the commit; a closed pipe never makes a saved record look unsaved ------


class _ClosedPipe(io.StringIO):
    def write(self, text: str) -> int:
        raise BrokenPipeError(32, "Broken pipe")


@pytest.mark.parametrize("as_json", [False, True], ids=["human", "json"])
@pytest.mark.parametrize(
    "argv",
    [["patient", "add", "P-2", "--age-years", "50"],
     ["give", "P-1", "--at", "2026-01-05T09:00", "--lot", "L1"],
     ["missed", "P-1", "--at", "2026-01-05", "--reason", "in hospital"],
     ["lab", "add", "P-1", "hb=9.1g/dL", "--at", "2026-01-06"],
     ["event", "add", "P-1", "--description", "sore arm"]],
    ids=lambda a: " ".join(a[:2]),
)  # fmt: skip
def test_a_closed_pipe_after_the_commit_still_exits_0(
    sqlite_url: str, argv: list[str], as_json: bool
) -> None:
    from b12.adapters.cli import main

    _course(sqlite_url)
    before = _links(sqlite_url)
    with redirect_stdout(_ClosedPipe()), pytest.raises(SystemExit) as done:
        main([*argv, "--db", sqlite_url, *(["--json"] if as_json else [])])
    assert done.value.code == 0
    assert _links(sqlite_url) > before  # saved, and said so by the exit code


def test_a_reader_that_stops_reading_leaves_exit_0_and_no_traceback(sqlite_url: str) -> None:
    _course(sqlite_url)
    script = "import sys; from b12.adapters.cli import main; main(sys.argv[1:])"
    argv = [sys.executable, "-c", script, "patient", "list", "--db", sqlite_url]
    for i in range(30):  # a long list, so that the output outlasts the pipe's buffer
        run_main(["patient", "add", f"P-{i:03d}-" + "x" * 50, "--db", sqlite_url])
    process = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert process.stdout is not None and process.stderr is not None
    process.stdout.close()  # the reader is gone before b12 writes
    err = process.stderr.read().decode()
    assert (process.wait(), err) == (0, "")
