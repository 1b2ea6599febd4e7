"""The `b12` command line. Exit codes: 0 done, 2 input not understood, 3 done with a `stop` finding.

A dose order (`b12 dose 500mcg --concentration 1000mcg/mL`, with any of its options) is served by
``fast_dose`` from the knowledge's generated artifact, without importing Typer, Rich or pydantic: a
clinician waits on that start. Everything else (other commands, --help, input the fast path cannot
read) goes to the Typer application (``b12.adapters.cli.app``).

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
        code = _run(args)
    except BrokenPipeError:  # a printer outside b12's own (--help): say nothing more
        reader_gone()
        code = 0
    try:
        sys.stdout.flush()  # now, so that a closed pipe cannot fail the exit (status 120)
    except BrokenPipeError:
        reader_gone()
    sys.exit(code)


def _run(args: list[str]) -> int:
    from b12.adapters.cli.fast_dose import run

    code = run(args)
    if code is not None:
        return code
    from b12.adapters.cli import app

    try:
        app.main(args)
    except SystemExit as done:
        return done.code if isinstance(done.code, int) else 0 if done.code is None else 1
    return 0


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
