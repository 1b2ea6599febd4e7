"""The command line's side of the web door: its start never loads the web stack; `b12 user`
makes, disables and re-keys accounts; a scanned GS1 string reads back what was encoded."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import b12
from b12.adapters.web.scan import read_scan
from b12.errors import InputError

WEB_STACK = ("fastapi", "starlette", "uvicorn", "jinja2", "pwdlib", "argon2", "biip", "multipart")


@pytest.mark.parametrize(
    "argv",
    [
        ["dose", "1000mcg", "--concentration", "1000mcg/mL"],  # the fast path
        ["sources"],  # a Typer command
        ["--help"],  # every command registered, serve and user included
        ["user", "--help"],
        ["serve", "--help"],
    ],
)
def test_the_command_lines_start_never_imports_the_web_stack(argv: list[str]) -> None:
    code = (
        "import sys\n"
        "from b12.adapters.cli import main\n"
        "try:\n    main(sys.argv[1:])\n"
        "except SystemExit:\n    pass\n"
        "print('LOADED', *sorted({m.split('.')[0] for m in sys.modules}), file=sys.stderr)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, *argv], capture_output=True, text=True, timeout=120,
        env={**os.environ, "COLUMNS": "120"},
    )  # fmt: skip
    loaded = done.stderr.rpartition("LOADED")[2].split()
    assert loaded, done.stderr
    assert sorted(set(loaded) & set(WEB_STACK)) == []


def _b12(*args: str, password: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "B12_PASSWORD"}
    if password is not None:
        env["B12_PASSWORD"] = password
    return subprocess.run(
        [sys.executable, "-m", "b12", *args], capture_output=True, text=True, timeout=120,
        env=env, stdin=subprocess.DEVNULL,
    )  # fmt: skip


def test_user_add_disable_and_passwd_from_the_command_line(tmp_path: Path) -> None:
    from b12.services import accounts as acc

    db = str(tmp_path / "r.db")
    b12.upgrade(b12.Settings.read(database_url=db, environ={}))
    added = _b12("user", "add", "n.martin", "--role", "nurse", "--db", db, "--json",
                 password="correct horse battery")  # fmt: skip
    assert added.returncode == 0, added.stderr
    assert json.loads(added.stdout)["role"] == "nurse"
    app = b12.build(b12.Settings.read(database_url=db, environ={}))
    assert acc.log_in(app.accounts, app.passwords, "n.martin", "correct horse battery", app.clock)
    assert acc.list_accounts(app.accounts)[0].password_hash.startswith(
        "$argon2id$v=19$m=65536,t=3,p=4$"
    )
    twice = _b12(
        "user", "add", "n.martin", "--role", "nurse", "--db", db, password="another one here"
    )
    assert twice.returncode == 2 and "is taken" in twice.stderr
    short = _b12("user", "add", "x", "--role", "nurse", "--db", db, password="short")
    assert short.returncode == 2 and "at least 10 characters" in short.stderr
    role = _b12("user", "add", "y", "--role", "admin", "--db", db, password="long enough pass")
    assert role.returncode == 2 and "write one of prescriber" in role.stderr
    nobody = _b12("user", "add", "z", "--role", "nurse", "--db", db)
    assert nobody.returncode == 2 and "B12_PASSWORD" in nobody.stderr
    assert (
        _b12("user", "passwd", "n.martin", "--db", db, password="a new passphrase").returncode == 0
    )
    with pytest.raises(acc.LoginError):
        acc.log_in(app.accounts, app.passwords, "n.martin", "correct horse battery", app.clock)
    assert acc.log_in(app.accounts, app.passwords, "n.martin", "a new passphrase", app.clock)
    assert _b12("user", "disable", "n.martin", "--db", db).returncode == 0
    with pytest.raises(acc.LoginError):
        acc.log_in(app.accounts, app.passwords, "n.martin", "a new passphrase", app.clock)
    app.close()


# --- GS1 scans ------------------------------------------------------------------------------------


def _check_digit(body: str) -> str:
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(body)))
    return str((10 - total % 10) % 10)


gtins = st.text("0123456789", min_size=13, max_size=13).map(lambda b: b + _check_digit(b))
lots = st.text("ABCDEFGHJKLMNPQRSTUVWXYZ0123456789-", min_size=1, max_size=20)
days = st.dates(date(2000, 1, 1), date(2049, 12, 31))


@settings(max_examples=300, deadline=None)
@given(gtin=gtins, expiry=days, lot=lots, separator=st.sampled_from(["\x1d", "<GS>", "|"]),
       human=st.booleans())  # fmt: skip
def test_a_scan_reads_back_the_gtin_expiry_and_lot_it_carries(
    gtin: str, expiry: date, lot: str, separator: str, human: bool
) -> None:
    yymmdd = expiry.strftime("%y%m%d")
    if human:
        text = f"(01){gtin}(17){yymmdd}(10){lot}(21)S1"
    else:
        text = f"01{gtin}17{yymmdd}10{lot}{separator}21S1"
    pack = read_scan(text)
    assert (pack.gtin, pack.expiry, pack.lot, pack.serial) == (gtin, expiry, lot, "S1")


def test_day_00_is_the_last_day_of_the_month() -> None:
    assert read_scan("(01)09501101530003(17)280200(10)A1").expiry == date(2028, 2, 29)


@settings(max_examples=500, deadline=None)
@given(st.text(max_size=300))
def test_any_other_text_is_an_input_error_about_the_scan(text: str) -> None:
    try:
        read_scan(text)
    except InputError as error:
        assert error.field == "scan"


def test_b12_serve_serves_the_record_until_it_is_stopped(tmp_path: Path) -> None:
    import signal
    import socket
    import time

    import httpx

    db = str(tmp_path / "r.db")
    b12.upgrade(b12.Settings.read(database_url=db, environ={}))
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen(
        [sys.executable, "-m", "b12", "serve", "--port", str(port), "--db", db],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        deadline, answer = time.monotonic() + 60, None
        while answer is None and time.monotonic() < deadline and proc.poll() is None:
            try:
                answer = httpx.get(f"http://127.0.0.1:{port}/login", timeout=2)
            except httpx.TransportError:
                time.sleep(0.2)
        assert answer is not None and answer.status_code == 200, proc.stderr
        assert 'name="login_token"' in answer.text
    finally:
        proc.send_signal(signal.SIGINT)
        out, _err = proc.communicate(timeout=30)
    assert f"http://127.0.0.1:{port}/" in out


@pytest.mark.parametrize(
    ("args", "code", "said"),
    [
        (["--db", "/nonexistent/folder/r.db"], 1, "no record at"),
        (["--port", "0"], 2, "port"),
        (["--port", "70000"], 2, "port"),
    ],
)
def test_b12_serve_refuses_a_record_or_port_it_cannot_use_at_once(
    args: list[str], code: int, said: str
) -> None:
    done = _b12("serve", *args)
    assert done.returncode == code and said in done.stderr
    assert "Traceback" not in done.stderr
