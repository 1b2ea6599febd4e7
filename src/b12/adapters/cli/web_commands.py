"""`b12 serve` and `b12 user add|disable|passwd`: the web door's start and its first accounts.

One small module, so that the command line's parser can declare the same commands again; the web
stack (FastAPI, uvicorn) is imported inside `serve` only, never when the command line starts.
"""
# No `from __future__ import annotations` in command modules: Typer reads the annotations at run time.

import getpass
import os
import sys
from typing import Annotated

import typer

from b12.adapters.cli.app import JsonOption, app, open_app
from b12.adapters.cli.output import console, emit_json
from b12.adapters.cli.record_options import DbOption, on
from b12.errors import InputError

user_app = typer.Typer(
    no_args_is_help=True, help="Accounts of the web app (staff, patients, caregivers)."
)
app.add_typer(user_app, name="user")

PASSWORD_ENV = "B12_PASSWORD"
Username = Annotated[str, typer.Argument(help="The account's username, e.g. n.martin.")]


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


@on(app, "serve")
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.", min=1, max=65535)] = 8000,
    db: DbOption = None,
) -> int:
    """Run the web app and its JSON API (needs `pip install 'b12[web]'`)."""
    try:
        from b12.adapters.web import serve as run
    except ImportError as missing:
        raise InputError(
            f"the web app needs the 'web' extra ({missing.name} is missing): pip install 'b12[web]'"
        ) from None
    from b12.bootstrap import Settings

    console().print(f"b12 web app on http://{host}:{port}/ (Ctrl+C stops it)")
    run(Settings.read(database_url=db), host, port)
    return 0


@on(user_app, "add")
def user_add(
    username: Username,
    role: Annotated[str, typer.Option(help="prescriber, nurse, pharmacist, patient or caregiver.")],
    patient: Annotated[
        list[str] | None,
        typer.Option(help="The patient code a patient's or caregiver's account may see (repeat)."),
    ] = None,
    self_injects: Annotated[
        bool, typer.Option("--self-injects", help="The patient or caregiver records the doses.")
    ] = False,
    db: DbOption = None,
    as_json: JsonOption = False,
) -> int:
    """Add an account (the password from $B12_PASSWORD or asked twice)."""
    from b12.services.accounts import add_account

    b12 = open_app(db)
    account = add_account(
        b12.accounts, b12.passwords, username, _password(), role, _admin(), b12.clock,
        patients=tuple(patient or ()), self_injects=self_injects,
    )  # fmt: skip
    if as_json:
        emit_json({"username": account.username, "role": account.role, "id": account.id})
    else:
        console().print("Account {name} ({role}) added.", name=account.username, role=account.role)
    return 0


@on(user_app, "disable")
def user_disable(username: Username, db: DbOption = None, as_json: JsonOption = False) -> int:
    """Disable an account: it can no longer log in, its sessions end now."""
    from b12.services.accounts import disable_account

    account = disable_account(open_app(db).accounts, username, _admin())
    if as_json:
        emit_json({"username": account.username, "disabled": True})
    else:
        console().print("Account {name} disabled.", name=account.username)
    return 0


@on(user_app, "passwd")
def user_passwd(username: Username, db: DbOption = None, as_json: JsonOption = False) -> int:
    """Set a new password (from $B12_PASSWORD or asked twice); the account's sessions end."""
    from b12.services.accounts import set_password

    b12 = open_app(db)
    account = set_password(b12.accounts, b12.passwords, username, _password(), _admin())
    if as_json:
        emit_json({"username": account.username, "password": "changed"})
    else:
        console().print("Password of {name} changed.", name=account.username)
    return 0
