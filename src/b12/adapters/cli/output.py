"""How the command line prints: one JSON object with --json; for people, Rich on a terminal and
plain aligned text on a pipe or in a file.

Nothing here imports Rich: only ``RichScreen`` does, when it prints to a terminal; JSON never does.

Text that came from a user (a patient code, a lot, a reason, a path ...) is printed as written and
never acts on the screen: every printer here shows control characters (C0 but newline and tab,
DEL, C1, ESC) as escapes (``visible``), and the console's ``print(template, **values)`` fills the
values in as text, never as markup (``segments``: only the template's own marks style), as do
``table`` (every cell) and ``show_findings``. A reader that
stops reading (a closed pipe) ends the printing, never the command: what was saved stays saved
and the exit code says so.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import string
import sys
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from b12.adapters.cli.fields import LISTED_BY, options_for
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


#: A template's pieces: (text, False), printed as it stands; (MARK, True), one of its marks
#: ("bold", "/bold", "/").
Segment = tuple[str, bool]
_FORMATTER = string.Formatter()


def segments(template: str, values: Mapping[str, Any]) -> list[Segment]:
    """b12's markup ``template`` cut into its text and its marks, the ``values`` filled in as text
    (numbers formatted, never read as markup). A mark is a tag of ANSI (closed by name or by
    ``[/]``); other text in brackets, and a tag the template escapes as Rich does (``\\[bold]``),
    is text. Controls in any text are made visible."""
    pieces = [(template, None, None, None)] if not values else list(_FORMATTER.parse(template))
    out: list[Segment] = []
    for literal, name, spec, conversion in pieces:
        position = 0
        for match in _TAG.finditer(literal):
            escapes, tag = match.group(1), match.group(2)
            backslashes, escaped = divmod(len(escapes), 2)
            out.append((literal[position : match.start()] + "\\" * backslashes, False))
            mark = tag[1:-1]
            if escaped or (mark.removeprefix("/") not in ANSI and mark != "/"):
                out.append((tag, False))
            else:
                out.append((mark, True))
            position = match.end()
        out.append((literal[position:], False))
        if name is not None:
            value = _FORMATTER.convert_field(_FORMATTER.get_field(name, (), values)[0], conversion)
            text = value if isinstance(value, int | float | Decimal) else str(value)
            out.append((format(text, spec or ""), False))
    return [(text if is_mark else visible(text), is_mark) for text, is_mark in out if text]


def render(template: str, values: Mapping[str, Any]) -> str:
    """The text ``template`` prints, with ``values`` filled in and its marks left out."""
    return "".join(text for text, is_mark in segments(template, values) if not is_mark)


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


@dataclass(frozen=True, slots=True)
class Table:
    """A table as text: printed by Rich on a terminal, as aligned plain columns elsewhere. Cells
    are kept as written; each printer escapes them. ``keep``: the columns never wrapped (ids,
    codes, dates), which a long id must not be broken in."""

    title: str
    columns: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    caption: str | None = None
    keep: frozenset[int] = frozenset({0})

    def lines(self) -> list[str]:
        """The table as plain aligned lines (no wrapping: a pipe or a file has no width)."""
        cells = [self.columns, *self.rows]
        widths = [max(len(visible(row[i])) for row in cells) for i in range(len(self.columns))]

        def line(row: Sequence[str]) -> str:
            return "  ".join(visible(c).ljust(w) for c, w in zip(row, widths, strict=True)).rstrip()

        out = [visible(self.title), line(self.columns), line(["-" * w for w in widths])]
        out += [line(row) for row in self.rows]
        if not self.rows:
            out.append("(none)")
        if self.caption:
            out.append(visible(self.caption))
        return out

    def rich(self) -> Any:
        """The same table for Rich, every title, cell and caption as text (never markup)."""
        from rich.table import Table as RichTable
        from rich.text import Text

        def shown(value: str) -> Text:
            return Text(visible(value))

        out = RichTable(
            title=shown(self.title),
            caption=None if self.caption is None else shown(self.caption),
            show_lines=False,
            title_justify="left",
            expand=False,
        )
        for i, column in enumerate(self.columns):
            if i in self.keep:  # an id is read whole: never folded mid-word
                out.add_column(shown(column), no_wrap=True)
            else:
                out.add_column(shown(column), overflow="fold")
        for row in self.rows:
            out.add_row(*(shown(cell) for cell in row))
        return out


class RichScreen:
    """Rich's console behind b12's ``print(template, **values)``, for a terminal; a ``Table``
    prints as a Rich table."""

    def __init__(self) -> None:
        from rich.console import Console

        class _Console(Console):
            def on_broken_pipe(self) -> None:  # Rich would exit 1: a saved record stays saved
                self.quiet = True
                reader_gone()

        self.console = _Console(highlight=False, soft_wrap=False, emoji=False)

    def print(self, template: Any = "", **values: Any) -> None:
        if isinstance(template, Table):
            self.console.print(template.rich())
            return
        if not isinstance(template, str):
            self.console.print(template)
            return
        from rich.text import Text

        line = Text()
        styles: list[str] = []
        for text, is_mark in segments(template, values):
            if not is_mark:
                line.append(text, style=" ".join(styles) or None)
            elif text.startswith("/"):
                if styles:
                    styles.pop()
            else:
                styles.append(text)
        self.console.print(line)


def on_terminal() -> bool:
    isatty = getattr(sys.stdout, "isatty", None)
    return bool(isatty and isatty())


def console() -> RichScreen | PlainConsole:
    """Rich on a terminal; plain text (no Rich import) when printing to a pipe or a file."""
    return RichScreen() if on_terminal() else PlainConsole()


def table(
    title: str,
    columns: Sequence[str],
    rows: Iterable[Sequence[str]],
    caption: str | None = None,
    keep: Iterable[int] = (0,),
) -> Table:
    """A table of text (never markup); ``keep``: the columns never wrapped (default: the first)."""
    return Table(
        str(title),
        tuple(map(str, columns)),
        tuple(tuple(str(c) for c in row) for row in rows),
        caption,
        frozenset(keep),
    )


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
    2 input not understood, 1 any other b12 error). ``offered``: the command's options and
    arguments (``Command.offered``), which an error may name."""
    try:
        return int(func(*args, **kwargs) or 0)
    except B12Error as exc:
        return report(exc, offered)


def report(exc: B12Error, offered: Collection[str] | None = None) -> int:
    """Print ``exc`` on stderr, an input error led by the options that set its fields (those of
    ``offered`` only, when known); its exit code."""
    message = str(exc)
    if isinstance(exc, InputError):
        named = options_for(exc.fields, offered)
        if named:
            message = f"{' or '.join(named)}: {message}"
        hint = LISTED_BY.get(exc.listed or "")
        if hint:
            message += f" ({hint})"
    return fail(message, status_of(exc).exit_code)


#: The Rich marks b12 prints, as terminal (SGR) codes for ``PlainConsole``.
ANSI = {
    "bold": "1",
    "dim": "2",
    "italic": "3",
    "red": "31",
    "green": "32",
    "yellow": "33",
    "cyan": "36",
    "bold yellow": "1;33",
    "bold white on red": "1;37;41",
    "bold red": "1;31",
}


class PlainConsole:
    """Prints the few Rich marks b12 uses ([bold], [dim], the level styles ...) as terminal styles
    on a terminal and as plain text elsewhere (NO_COLOR and TERM=dumb respected); any other text in
    brackets is printed as it is, and so is a tag the template escapes as Rich does. No Rich
    import."""

    def print(self, template: str | Table = "", **values: Any) -> None:
        if isinstance(template, Table):
            write_out("\n".join(template.lines()) + "\n")
            return
        stream = sys.stdout
        styled = (
            stream.isatty() and "NO_COLOR" not in os.environ and os.environ.get("TERM") != "dumb"
        )
        open_styles: list[str] = []
        parts: list[str] = []
        for text, is_mark in segments(template, values):
            if not is_mark:
                parts.append(text)
            elif text.startswith("/"):
                if open_styles:
                    open_styles.pop()
                if styled:
                    parts.append("\x1b[0m" + "".join(f"\x1b[{c}m" for c in open_styles))
            else:
                open_styles.append(ANSI[text])
                if styled:
                    parts.append(f"\x1b[{ANSI[text]}m")
        write_out("".join(parts) + ("\x1b[0m" if styled and open_styles else "") + "\n")


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
