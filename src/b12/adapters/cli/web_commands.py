"""`b12 serve` and `b12 user add|list|disable|passwd|link|unlink`: the web door's start and its accounts.

The web stack (FastAPI, uvicorn) is imported inside `serve` only, never when the command line
starts.
"""

from __future__ import annotations

import getpass
import os
import sys
from typing import Any

from b12.adapters.cli.app import open_app
from b12.adapters.cli.output import console, emit_json, table
from b12.domain.display import format_instant
from b12.errors import InputError

PASSWORD_ENV = "B12_PASSWORD"
#: The highest TCP port.
TOP_PORT = 65535
#: The most worker processes `serve` starts (each holds its own App and connections to the record).
MOST_WORKERS = 64


def _password() -> str:
    """The new password: $B12_PASSWORD (scripts), else asked twice on the terminal."""
    given = os.environ.get(PASSWORD_ENV)
    if given:
        return given
    if not sys.stdin.isatty():
        raise InputError(
            f"no terminal to ask the password on: set {PASSWORD_ENV} for a script", field="password"
        )
    first = getpass.getpass("New password: ")
    if getpass.getpass("Again: ") != first:
        raise InputError("the two passwords differ: type the same one twice", field="password")
    return first


def _admin() -> str:
    try:
        return f"cli:{getpass.getuser()}"
    except (OSError, KeyError):
        return "cli"


def serve(
    *, host: str = "127.0.0.1", port: int = 8000, workers: int = 1, db: str | None = None
) -> int:
    """Run the web app and its JSON API (needs `pip install 'b12[web]'`)."""
    try:
        from b12.adapters.web import serve as run
    except ImportError as missing:
        raise InputError(
            f"the web app needs the 'web' extra ({missing.name} is missing): pip install 'b12[web]'"
        ) from None
    if port > TOP_PORT:
        raise InputError(
            f"--port {port}: write a port from 1 to {TOP_PORT}, e.g. --port 8000", field="port"
        )
    if workers > MOST_WORKERS:
        raise InputError(
            f"--workers {workers}: write from 1 to {MOST_WORKERS} processes, e.g. --workers 2 "
            "(one per core)",
            field="workers",
        )
    from b12.bootstrap import Settings

    console().print("b12 web app on http://{host}:{port}/ (Ctrl+C stops it)", host=host, port=port)
    run(Settings.read(database_url=db), host, port, workers)
    return 0


def user_add(
    *,
    username: str,
    role: str,
    patient: list[str] | None = None,
    injects: bool = False,
    db: str | None = None,
    as_json: bool = False,
) -> int:
    """Add an account (the password from $B12_PASSWORD or asked twice)."""
    from b12.services.accounts import add_account

    b12 = open_app(db)
    account = add_account(
        b12.accounts, b12.passwords, username, _password(), role, _admin(), b12.clock,
        patients=tuple(patient or ()), self_injects=injects,
    )  # fmt: skip
    if as_json:
        emit_json({"username": account.username, "role": account.role, "id": account.id})
    else:
        console().print("Account {name} ({role}) added.", name=account.username, role=account.role)
    return 0


def user_list(*, db: str | None = None, as_json: bool = False) -> int:
    """Every account of the web app: role, state, the patients it is linked to (never a password)."""
    from b12.services.accounts import review_accounts

    b12 = open_app(db)
    accounts = review_accounts(b12.accounts)
    zone = b12.settings.zone
    if as_json:
        emit_json({
            "accounts": [
                {
                    "username": a.username, "role": a.role, "disabled": a.disabled,
                    "locked_until": None if a.locked_until is None else a.locked_until.isoformat(),
                    "created_at": a.created_at.isoformat(), "created_by": a.created_by,
                    "patients": [{"code": c, "injects": i} for c, i in a.patients],
                }
                for a in accounts
            ]
        })  # fmt: skip
        return 0

    def state(a: Any) -> str:
        if a.disabled:
            return "disabled"
        if a.locked_until is not None and a.locked_until > b12.clock.now():
            return f"locked until {format_instant(a.locked_until, zone)}"
        return "active"

    rows = [
        (a.username, a.role, state(a),
         ", ".join(c + (" (injects)" if i else "") for c, i in a.patients),
         f"{format_instant(a.created_at, zone)} by {a.created_by}")
        for a in accounts
    ]  # fmt: skip
    console().print(table("Accounts", ("username", "role", "state", "patients", "added"), rows))
    return 0


def user_disable(*, username: str, db: str | None = None, as_json: bool = False) -> int:
    """Disable an account: it can no longer log in, its sessions end now."""
    from b12.services.accounts import disable_account

    account = disable_account(open_app(db).accounts, username, _admin())
    if as_json:
        emit_json({"username": account.username, "disabled": True})
    else:
        console().print("Account {name} disabled.", name=account.username)
    return 0


def user_passwd(*, username: str, db: str | None = None, as_json: bool = False) -> int:
    """Set a new password (from $B12_PASSWORD or asked twice); the account's sessions end."""
    from b12.services.accounts import set_password

    b12 = open_app(db)
    account = set_password(b12.accounts, b12.passwords, username, _password(), _admin())
    if as_json:
        emit_json({"username": account.username, "password": "changed"})
    else:
        console().print("Password of {name} changed.", name=account.username)
    return 0


def user_link(
    *, username: str, code: str, injects: bool = False, db: str | None = None,
    as_json: bool = False,
) -> int:  # fmt: skip
    """Link a patient's or a carer's account to a patient (again after an unlink)."""
    from b12.services.accounts import link_patient

    b12 = open_app(db)
    link = link_patient(b12.accounts, username, code, _admin(), b12.clock, injects=injects)
    if as_json:
        emit_json({"username": username.strip(), "patient": link.patient_code, "injects": injects})
    else:
        console().print(
            "{name} linked to {code}" + (", as the carer who injects." if injects else "."),
            name=username.strip(), code=link.patient_code,
        )  # fmt: skip
    return 0


def user_unlink(*, username: str, code: str, db: str | None = None, as_json: bool = False) -> int:
    """End an account's link to a patient: its next request no longer reaches the patient."""
    from b12.services.accounts import unlink_patient

    b12 = open_app(db)
    unlink_patient(b12.accounts, username, code, _admin(), b12.clock)
    if as_json:
        emit_json({"username": username.strip(), "patient": code.strip(), "linked": False})
    else:
        console().print("{name} unlinked from {code}.", name=username.strip(), code=code.strip())
    return 0
