"""The `b12` command line. Exit codes: 0 done, 2 input not understood, 3 done with a `stop` finding."""

from __future__ import annotations

import inspect
import os
import sys
from collections.abc import Callable
from typing import Annotated, Any, TypeVar

import typer

from b12.errors import B12Error, InputError

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    help="Plan, check and record vitamin B12 injection therapy. Decision support: every result shows its basis.",
)

JsonOption = Annotated[bool, typer.Option("--json", help="Print one JSON object on stdout.")]
KbOption = Annotated[
    str | None,
    typer.Option(
        "--kb",
        help="Folder of an alternative knowledge base (default: the one shipped).",
        envvar="B12_KB",
    ),
]

F = TypeVar("F", bound=Callable[..., Any])


def command(name: str | None = None, group: typer.Typer | None = None) -> Callable[[F], F]:
    """Register a command (on ``group``, default the top level) whose B12 errors become clear
    messages and exit codes: 2 input not understood, 1 any other b12 error, else what it returns."""

    def register(func: F) -> F:
        def run(*args: Any, **kwargs: Any) -> None:
            from b12.adapters.cli.output import fail

            try:
                code = func(*args, **kwargs)
            except InputError as exc:
                raise typer.Exit(fail(str(exc), 2)) from None
            except B12Error as exc:
                raise typer.Exit(fail(str(exc), 1)) from None
            raise typer.Exit(int(code or 0))

        run.__name__ = func.__name__
        run.__doc__ = func.__doc__
        run.__signature__ = inspect.signature(func)  # type: ignore[attr-defined]
        (group or app).command(name)(run)
        return func

    return register


def main() -> None:
    # pydantic scans every installed distribution for plugins on first use (~15 ms of a 300 ms
    # start budget); b12 uses none.
    os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "1")
    # Importing the command modules registers them; kept here so `import b12` stays light.
    from b12.adapters.cli import (  # noqa: F401
        check_command,
        correct_command,
        dose_command,
        example_command,
        follow_commands,
        knowledge_commands,
        labs_command,
        plan_command,
        record_commands,
    )

    sys.exit(app())
