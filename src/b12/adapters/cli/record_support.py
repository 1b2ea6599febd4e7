"""What the record commands share: --db, --who, --at, opening the record, registering sub-commands."""
# No `from __future__ import annotations` in command modules: Typer reads the annotations at run time.

import getpass
import os
from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Any, TypeVar

import typer

from b12.errors import InputError

DbOption = Annotated[
    str | None,
    typer.Option(
        "--db",
        help="SQLAlchemy URL or SQLite file of the record (default: b12.db in the user data folder).",
        envvar="B12_DATABASE_URL",
    ),
]
WhoOption = Annotated[
    str | None,
    typer.Option("--who", help="Who records this (default: $B12_USER, else the login name)."),
]

F = TypeVar("F", bound=Callable[..., Any])


def on(group: typer.Typer, name: str) -> Callable[[F], F]:
    """Register ``func`` on ``group`` with b12's error mapping (2 input, 1 other, 3 stop)."""
    from b12.adapters.cli.app import command

    return command(name, group)


def who(given: str | None) -> str:
    if given:
        return given.strip()
    env = os.environ.get("B12_USER")
    if env:
        return env
    try:
        return getpass.getuser()
    except (OSError, KeyError):
        return "unknown"


def when(text: str | None, option: str = "--at") -> datetime:
    """A date or date-time as written (YYYY-MM-DD[THH:MM]); now when not given."""
    if text is None:
        return datetime.now().replace(microsecond=0)
    try:
        return datetime.fromisoformat(text.strip())
    except ValueError:
        raise InputError(
            f"{option} {text!r} is not a date or time; write YYYY-MM-DD or YYYY-MM-DDTHH:MM, "
            "e.g. 2026-01-05T09:30"
        ) from None


def open_db(db: str | None) -> Any:
    from b12.bootstrap import open_record

    return open_record(db)


def knowledge(kb: str | None) -> Any:
    from b12.knowledge import load_knowledge

    return load_knowledge(kb)
