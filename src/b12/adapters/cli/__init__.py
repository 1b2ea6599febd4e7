"""The `b12` command line. Exit codes: 0 done, 2 input not understood, 3 done with a `stop` finding.

A dose order (`b12 dose 500mcg --concentration 1000mcg/mL`, with any of its options) is served by
``fast_dose`` from the knowledge's generated artifact, without importing Typer, Rich or pydantic: a
clinician waits on that start. Everything else (other commands, --help, input the fast path cannot
read) goes to the Typer application (``b12.adapters.cli.app``).
"""

from __future__ import annotations

import os
import sys


def main() -> None:
    argv = sys.argv[1:]
    try:
        from b12.adapters.cli.fast_dose import run

        code = run(argv)
        if code is None:
            from b12.adapters.cli import app

            app.main(argv)
    except BrokenPipeError:
        # The reader (`| head`) stopped reading: not an error of b12's; say nothing more.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        code = 1
    sys.exit(code)
