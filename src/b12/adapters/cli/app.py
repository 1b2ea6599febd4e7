"""The Typer application behind `b12`: every command, its help and its errors.

Exit codes: 0 done, 2 input not understood, 3 done with a `stop` finding.
"""

from __future__ import annotations

import inspect
import os
import sys
from collections.abc import Callable
from typing import Annotated, Any, TypeVar

import typer

from b12.bootstrap import App, Settings, build

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    help="Plan, check and record vitamin B12 injection therapy. Decision support: every result shows its basis.",
)


@app.callback()
def _root() -> None:
    """Plan, check and record vitamin B12 injection therapy. Decision support: every result shows its basis."""
    # A callback keeps `b12` a group of commands even when only the one a call needs is registered.


JsonOption = Annotated[bool, typer.Option("--json", help="Print one JSON object on stdout.")]
KbOption = Annotated[
    str | None,
    typer.Option(
        "--kb",
        help="Folder of an alternative knowledge base (default: $B12_KB, else the one shipped).",
    ),
]

F = TypeVar("F", bound=Callable[..., Any])


def open_app(db: str | None = None, kb: str | None = None) -> App:
    """The App of a command's options (arguments > environment > defaults), built once per call."""
    return build(Settings.read(database_url=db, knowledge_dir=kb))


def command(name: str | None = None, group: typer.Typer | None = None) -> Callable[[F], F]:
    """Register a command (on ``group``, default the top level) whose B12 errors become clear
    messages and exit codes: 2 input not understood, 1 any other b12 error, else what it returns."""

    def register(func: F) -> F:
        def run(*args: Any, **kwargs: Any) -> None:
            from b12.adapters.cli.output import guarded

            raise typer.Exit(guarded(func, *args, **kwargs))

        run.__name__ = func.__name__
        run.__doc__ = func.__doc__
        run.__signature__ = inspect.signature(func)  # type: ignore[attr-defined]
        (group or app).command(name)(run)
        return func

    return register


#: Which module registers each command. main() imports only the one a call needs, so a clinician's
#: `b12 dose ...` does not pay for building every other command (tested: the table is complete).
COMMAND_MODULES: dict[str, str] = {
    **dict.fromkeys(
        ("sources", "products", "indications", "regimens", "conflicts", "info"),
        "knowledge_commands",
    ),
    "dose": "dose_command",
    "check": "check_command",
    "plan": "plan_command",
    **dict.fromkeys(("labs", "requirement", "intake"), "labs_command"),
    **dict.fromkeys(("patient", "prescribe", "give", "missed"), "record_commands"),
    "db": "db_command",
    **dict.fromkeys(("lab", "event", "audit-log", "status", "due"), "follow_commands"),
    "correct": "correct_command",
    "example": "example_command",
    **dict.fromkeys(("serve", "user"), "web_commands"),
}


def register(argv: list[str]) -> None:
    """Import the command module ``argv`` names, or every one (for --help or a name b12 lacks)."""
    from importlib import import_module

    name = next((a for a in argv if not a.startswith("-")), None)
    wanted = {COMMAND_MODULES[name]} if name in COMMAND_MODULES else set(COMMAND_MODULES.values())
    for module in sorted(wanted):
        import_module(f"b12.adapters.cli.{module}")


def main(argv: list[str]) -> None:
    """Run the command ``argv`` names (exits with its code)."""
    # pydantic scans every installed distribution for plugins on first use; b12 uses none.
    os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "1")
    register(argv)
    sys.exit(run_typer(argv))


def run_typer(argv: list[str]) -> int:
    """The Typer application's exit code for ``argv``; its usage errors printed as Typer prints
    them, with what the user typed shown, never sent to the terminal as is (``visible``)."""
    from typer import _click
    from typer.exceptions import Abort

    from b12.adapters.cli.output import visible

    try:
        done = _click_command().main(argv, prog_name="b12", standalone_mode=False)
    except _click.exceptions.ClickException as exc:
        exc.message = visible(exc.message)
        from typer import rich_utils

        rich_utils.rich_format_error(exc)
        return exc.exit_code
    except Abort:
        return 1
    return done if isinstance(done, int) else 0


_BUILT: dict[frozenset[str], Any] = {}


def _click_command() -> Any:
    """The Click command of the commands registered so far (built once for each set of them: a
    process that runs many calls, a test or a server, does not rebuild it each time)."""
    loaded = frozenset(m for m in sys.modules if m.startswith("b12.adapters.cli."))
    if loaded not in _BUILT:
        _BUILT[loaded] = typer.main.get_command(app)
    return _BUILT[loaded]
