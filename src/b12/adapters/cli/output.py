"""How the command line prints: one JSON object with --json, Rich tables for people.

Nothing here imports Rich until it is used: the fast dose path prints with it too.
"""

from __future__ import annotations

import json
import os
import re
import sys
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from decimal import Decimal
from typing import Any

from b12.adapters.cli.fields import options_for
from b12.domain.findings import Outcome
from b12.errors import B12Error, InputError, status_of
from b12.knowledge.behaviour import Entry

#: The exit code of a command that ran: 3 when a finding stops the order as it is.
EXIT_CODE: Mapping[Outcome, int] = {Outcome.DONE: 0, Outcome.STOPPED: 3}


def jsonable(value: Any) -> Any:
    """Plain JSON data; a Decimal becomes a JSON number written exactly as the Decimal reads."""
    if isinstance(value, Entry):  # a knowledge entry: its fields, as written
        return jsonable(value.as_dict())
    if isinstance(value, Decimal):
        if value == value.to_integral_value():
            return int(value)
        as_float = float(value)
        # A float is only a vehicle for the JSON literal; refuse it when it would change the digits.
        return as_float if Decimal(repr(as_float)) == value else str(value)
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [jsonable(v) for v in value]
    if hasattr(value, "value") and type(value).__module__.startswith("b12"):
        return value.value  # enums
    if hasattr(value, "to_dict"):
        return jsonable(value.to_dict())
    return value


def emit_json(obj: Mapping[str, Any]) -> None:
    sys.stdout.write(json.dumps(jsonable(obj), ensure_ascii=False, indent=2) + "\n")


def console() -> Any:
    from rich.console import Console

    return Console(highlight=False, soft_wrap=False)


def table(
    title: str, columns: Sequence[str], rows: Iterable[Sequence[str]], caption: str | None = None
) -> Any:
    from rich.table import Table

    out = Table(title=title, caption=caption, show_lines=False, title_justify="left", expand=False)
    for column in columns:
        out.add_column(column, overflow="fold")
    for row in rows:
        out.add_row(*row)
    return out


def fail(message: str, code: int = 2) -> int:
    sys.stderr.write(f"b12: {message}\n")
    return code


def guarded(
    func: Callable[..., int | None],
    *args: Any,
    offered: Collection[str] | None = None,
    **kwargs: Any,
) -> int:
    """Run a command body: its exit code, or the error's message and exit code (``ERROR_STATUS``:
    2 input not understood, 1 any other b12 error). ``offered``: the command's options (default:
    those ``func`` declares, when it is a Typer command)."""
    try:
        return int(func(*args, **kwargs) or 0)
    except B12Error as exc:
        return report(exc, offered if offered is not None else declared_options(func))


def report(exc: B12Error, offered: Collection[str] | None = None) -> int:
    """Print ``exc`` on stderr, an input error led by the options that set its fields (those of
    ``offered`` only, when known); its exit code."""
    message = str(exc)
    if isinstance(exc, InputError):
        named = options_for(exc.fields, offered)
        if named:
            message = f"{' or '.join(named)}: {message}"
    return fail(message, status_of(exc).exit_code)


def declared_options(func: Callable[..., Any]) -> set[str] | None:
    """The options and arguments a Typer command function declares (``Annotated[...,
    typer.Option(...)]``; an argument by its name in capitals, as Typer shows it); None when it
    declares none (not a command: what it takes is unknown)."""
    import inspect
    from typing import get_args

    out: set[str] = set()
    for name, param in inspect.signature(func).parameters.items():
        for info in get_args(param.annotation)[1:]:
            if type(info).__name__ == "ArgumentInfo":
                out.add(name.upper())
            if type(info).__name__ != "OptionInfo":
                continue
            # In ``Annotated``, typer.Option("--json") keeps its first declaration as the default.
            first = [info.default] if isinstance(info.default, str) else []
            declared = [d for decl in (*first, *(info.param_decls or ())) for d in decl.split("/")]
            out.update(d.strip() for d in declared if d.strip().startswith("-"))
            if not declared:
                out.add("--" + name.replace("_", "-"))
    return out or None


#: The Rich marks b12 prints, as terminal (SGR) codes for ``PlainConsole``.
ANSI = {
    "bold": "1",
    "dim": "2",
    "green": "32",
    "cyan": "36",
    "bold yellow": "1;33",
    "bold white on red": "1;37;41",
}
_MARK = re.compile(r"\[(/?)(" + "|".join(re.escape(k) for k in ANSI) + r")?\]")


class PlainConsole:
    """Prints the few Rich marks b12 uses ([bold], [dim], the level styles ...) as terminal styles
    on a terminal and as plain text elsewhere (NO_COLOR and TERM=dumb respected); any other text in
    brackets is printed as it is. No Rich import: the fast dose path prints with it."""

    def print(self, markup: str = "") -> None:
        stream = sys.stdout
        styled = (
            stream.isatty() and "NO_COLOR" not in os.environ and os.environ.get("TERM") != "dumb"
        )
        open_styles: list[str] = []

        def mark(match: re.Match[str]) -> str:
            closing, name = match.group(1), match.group(2)
            if name is None and not closing:
                return match.group(0)  # "[]" is text
            if closing:
                if open_styles:
                    open_styles.pop()
                return "\x1b[0m" + "".join(f"\x1b[{c}m" for c in open_styles) if styled else ""
            open_styles.append(ANSI[name])
            return f"\x1b[{ANSI[name]}m" if styled else ""

        stream.write(_MARK.sub(mark, markup) + ("\x1b[0m" if styled and open_styles else "") + "\n")


LEVEL_STYLE = {"stop": "bold white on red", "warning": "bold yellow", "info": "cyan"}


def show_findings(out: Any, findings: Iterable[Any]) -> None:
    """Each finding: level, code, message, then its basis (sources and the values used)."""
    listed = list(findings)
    if not listed:
        out.print("[green]No findings.[/green]")
        return
    out.print("[bold]FINDINGS[/bold]")
    for f in listed:
        level = f.level.value
        out.print(
            f" [{LEVEL_STYLE[level]}]{level.upper():<7}[/{LEVEL_STYLE[level]}] {f.code}: {f.message}"
        )
        basis = ", ".join(f.basis.sources) or "b12's own check"
        values = "; ".join(f"{k}: {v}" for k, v in f.basis.values.items())
        out.print(f"          [dim]basis: {basis}" + (f"; {values}" if values else "") + "[/dim]")
        if f.conflict:
            out.print(f"          [dim]sources disagree: see `b12 conflicts` ({f.conflict})[/dim]")
