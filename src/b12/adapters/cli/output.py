"""How the command line prints: one JSON object with --json, Rich tables for people.

Nothing here imports Rich until it is used: the fast dose path prints with it too.

Text that came from a user (a patient code, a lot, a reason, a path ...) is printed as written and
never acts on the screen: every printer here shows control characters (C0 but newline and tab,
DEL, C1, ESC) as escapes (``visible``), and the console's ``print(template, **values)`` escapes
the values' markup (``shown``), as do ``table`` (every cell) and ``show_findings``. A reader that
stops reading (a closed pipe) ends the printing, never the command: what was saved stays saved
and the exit code says so.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import sys
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
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


#: What a terminal would act on rather than show: C0 controls but newline and tab, DEL, C1 (ESC is
#: C0); and lone surrogates (the undecodable bytes of an argument), which no stream can encode.
_UNPRINTABLE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff]")
#: What JSON itself leaves raw in a string although a terminal acts on it: DEL, C1, surrogates.
_JSON_UNPRINTABLE = re.compile("[\x7f-\x9f\ud800-\udfff]")
#: A Rich markup tag, as rich.markup reads it (with the backslashes that escape it).
_TAG = re.compile(r"(\\*)(\[[a-z#/@][^[]*?])")


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def visible(text: str) -> str:
    """``text`` with each control character written as an escape ('\\x1b'), never sent as is."""
    return _UNPRINTABLE.sub(_escape, text)


def shown(value: object) -> str:
    """A value as markup that prints exactly as written: controls escaped, then Rich's escaping
    of tags (rich.markup.escape, without importing Rich), which ``PlainConsole`` reads too."""
    text = _TAG.sub(lambda m: f"{m.group(1)}{m.group(1)}\\{m.group(2)}", visible(str(value)))
    return text + "\\" if text.endswith("\\") and not text.endswith("\\\\") else text


def render(template: str, values: Mapping[str, Any]) -> str:
    """b12's markup ``template`` with the ``values`` filled in, each escaped (numbers as they are)."""
    if not values:
        return visible(template)
    filled = {k: v if isinstance(v, int | float | Decimal) else shown(v) for k, v in values.items()}
    return visible(template.format_map(filled))


def reader_gone() -> None:
    """The reader of stdout stopped reading (EPIPE): print nothing more, fail nothing."""
    try:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):  # not a file (a test's buffer): drop it
        sys.stdout = _Discard()


class _Discard(io.TextIOBase):
    def write(self, text: str) -> int:
        return len(text)


def write_out(text: str) -> None:
    """Write ``text`` on stdout now; a closed pipe ends the output, not the command."""
    try:
        sys.stdout.write(text)
        flush = getattr(sys.stdout, "flush", None)  # a test's stand-in may only write
        if flush is not None:
            flush()
    except BrokenPipeError:
        reader_gone()


def emit_json(obj: Mapping[str, Any]) -> None:
    text = json.dumps(jsonable(obj), ensure_ascii=False, indent=2)
    write_out(_JSON_UNPRINTABLE.sub(lambda m: f"\\u{ord(m.group()):04x}", text) + "\n")


class RichScreen:
    """Rich's console behind b12's ``print(template, **values)``; tables and other renderables
    print as they are (their text escaped when built)."""

    def __init__(self) -> None:
        from rich.console import Console

        class _Console(Console):
            def on_broken_pipe(self) -> None:  # Rich would exit 1: a saved record stays saved
                self.quiet = True
                reader_gone()

        self.console = _Console(highlight=False, soft_wrap=False, emoji=False)

    def print(self, template: Any = "", **values: Any) -> None:
        shown_ = render(template, values) if isinstance(template, str) else template
        self.console.print(shown_)


def console() -> Any:
    return RichScreen()


def table(
    title: str, columns: Sequence[str], rows: Iterable[Sequence[str]], caption: str | None = None
) -> Any:
    """A Rich table; every title, cell and caption is text, never markup."""
    from rich.table import Table

    out = Table(
        title=shown(title),
        caption=None if caption is None else shown(caption),
        show_lines=False,
        title_justify="left",
        expand=False,
    )
    for column in columns:
        out.add_column(shown(column), overflow="fold")
    for row in rows:
        out.add_row(*(shown(cell) for cell in row))
    return out


@contextlib.contextmanager
def writing(field: str, path: str, suffixes: Collection[str]) -> Iterator[None]:
    """Write the file ``path`` for ``field``: a suffix it may have, into a folder that exists; the
    system's refusal (permission, a folder of that name ...) is an input error, not a traceback."""
    from pathlib import Path

    where = Path(path)
    if where.suffix.lower() not in suffixes:
        raise InputError(
            f"{field} file {path!r}: write a name ending in {' or '.join(sorted(suffixes))}",
            field=field,
        )
    if not where.parent.is_dir():
        raise InputError(
            f"{field} file {path!r}: the folder {str(where.parent)!r} does not exist", field=field
        )
    try:
        yield
    except OSError as exc:
        raise InputError(
            f"{field} file {path!r} cannot be written: {exc.strerror or exc}", field=field
        ) from None


def fail(message: str, code: int = 2) -> int:
    with contextlib.suppress(BrokenPipeError):
        sys.stderr.write(f"b12: {visible(message)}\n")
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
    "bold red": "1;31",
}


class PlainConsole:
    """Prints the few Rich marks b12 uses ([bold], [dim], the level styles ...) as terminal styles
    on a terminal and as plain text elsewhere (NO_COLOR and TERM=dumb respected); any other text in
    brackets is printed as it is, and a tag escaped as Rich escapes it (``shown``) is text. No Rich
    import: the fast dose path prints with it."""

    def print(self, template: str = "", **values: Any) -> None:
        stream = sys.stdout
        styled = (
            stream.isatty() and "NO_COLOR" not in os.environ and os.environ.get("TERM") != "dumb"
        )
        open_styles: list[str] = []

        def mark(match: re.Match[str]) -> str:
            escapes, tag = match.group(1), match.group(2)
            backslashes, escaped = divmod(len(escapes), 2)
            out = "\\" * backslashes
            name = tag[1:-1]
            closing = name.startswith("/")
            if escaped or (name.removeprefix("/") not in ANSI and name != "/"):
                return out + tag  # an escaped tag, or brackets that are no mark of b12's
            if closing:
                if open_styles:
                    open_styles.pop()
                reset = "\x1b[0m" + "".join(f"\x1b[{c}m" for c in open_styles)
                return out + reset if styled else out
            open_styles.append(ANSI[name])
            return out + (f"\x1b[{ANSI[name]}m" if styled else "")

        text = _TAG.sub(mark, render(template, values))
        write_out(text + ("\x1b[0m" if styled and open_styles else "") + "\n")


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
        style = LEVEL_STYLE[level]
        out.print(
            f" [{style}]{{level:<7}}[/{style}] {{code}}: {{message}}",
            level=level.upper(),
            code=f.code,
            message=f.message,
        )
        basis = ", ".join(f.basis.sources) or "b12's own check"
        values = "; ".join(f"{k}: {v}" for k, v in f.basis.values.items())
        out.print(
            "          [dim]basis: {basis}[/dim]", basis=basis + (f"; {values}" if values else "")
        )
        if f.conflict:
            out.print(
                "          [dim]sources disagree: see `b12 conflicts` ({conflict})[/dim]",
                conflict=f.conflict,
            )
