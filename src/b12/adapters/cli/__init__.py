"""The `b12` command line. Exit codes: 0 done, 2 input not understood, 3 done with a `stop` finding.

Every command is declared once (``commands``) and read with argparse (``parser``); its handler
module is imported only when it runs, so a knowledge command starts without SQLAlchemy, Rich or
pydantic, and JSON never imports Rich.

Every argument is text b12 can keep: one that is not valid UTF-8 (Python hands its bytes over as
lone surrogates) or holds a NUL is refused before any command runs, naming the option it was given
to. A reader that stops reading (``| head``) ends the output, never the command's exit code.
"""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> None:
    """Run the command ``argv`` names (default: the process's arguments); exits with its code."""
    from b12.adapters.cli.output import fail, reader_gone

    args = sys.argv[1:] if argv is None else list(argv)
    problem = unreadable_argument(args)
    if problem is not None:
        sys.exit(fail(problem))
    try:
        code = run(args)
    except BrokenPipeError:  # a printer outside b12's own: say nothing more
        reader_gone()
        code = 0
    try:
        sys.stdout.flush()  # now, so that a closed pipe cannot fail the exit (status 120)
    except BrokenPipeError:
        reader_gone()
    sys.exit(code)


def run(args: list[str]) -> int:
    """The exit code of the command ``args`` names, its output printed."""
    from importlib import import_module

    from b12.adapters.cli import parser
    from b12.adapters.cli.output import fail, guarded, report
    from b12.errors import B12Error

    asked = parser.wants_help(args)
    if asked is not None:
        parser.print_help(asked)
        return 0
    try:
        command, rest = parser.find(args)
        values = parser.parse(command, rest)
    except parser.HelpShown:
        return 0
    except parser.UsageError as exc:
        return fail(str(exc))
    except B12Error as exc:  # a value read while parsing (a whole number)
        return report(exc, command.offered)
    module, _, name = command.handler.partition(":")
    handler = getattr(import_module(f"b12.adapters.cli.{module}"), name)
    return guarded(handler, offered=command.offered, **values)


def unreadable_argument(args: list[str]) -> str | None:
    """Why an argument cannot be read (invalid UTF-8, a NUL), and where; None when all can."""
    for i, arg in enumerate(args):
        if arg.startswith("--") and "=" in arg:
            where = arg.partition("=")[0] + ": "
        elif i > 0 and args[i - 1].startswith("-"):
            where = f"the argument after {args[i - 1].partition('=')[0]}: "
        else:
            where = f"argument {i + 1}: "
        if "\x00" in arg:
            return f"{where}the text holds a NUL character (\\x00); remove it"
        if any("\ud800" <= ch <= "\udfff" for ch in arg):
            try:
                raw = ascii(arg.encode("utf-8", "surrogateescape"))[1:]
            except UnicodeEncodeError:
                return f"{where}the text holds a lone surrogate, which is not text; write UTF-8"
            return (
                f"{where}the text {raw} is not valid UTF-8; write it in UTF-8 (check the "
                "terminal's or the file's encoding)"
            )
    return None
