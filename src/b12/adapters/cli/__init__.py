"""The `b12` command line. Exit codes: 0 done, 2 input not understood, 3 done with a `stop` finding.

A plain dose order (`b12 dose 500mcg --concentration 1000mcg/mL`, with a product, route, site,
indication or expiry) is served by ``fast_dose`` from a plain copy of the knowledge, without
importing Typer, Rich or pydantic: a clinician waits on that start. Everything else, and any
input the fast path is not sure of, goes to the Typer application (``b12.adapters.cli.app``).
"""

from __future__ import annotations

import sys


def main() -> None:
    argv = sys.argv[1:]
    from b12.adapters.cli.fast_dose import run

    code = run(argv)
    if code is not None:
        sys.exit(code)
    from b12.adapters.cli import app

    app.main(argv)
