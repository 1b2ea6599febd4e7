"""`b12 dose` for a plain order, started without Typer, Rich or pydantic.

A clinician types `b12 dose 500mcg --concentration 1000mcg/mL` and waits: importing Typer, Rich
and pydantic costs more than the whole answer (see the README's decisions and `make bench`). This
path reads every option of the Typer command (tests compare the two option by option and output
by output), from the knowledge as every command loads it (the generated artifact, no pydantic),
and prints with the same view (``dose_view``). --help, and anything it cannot read, go to the Typer command, which gives
the full help and the error messages.
"""

from __future__ import annotations

import argparse
from typing import Any, NoReturn

#: The options this path reads, as the Typer command has them: (flag, what it takes).
OPTIONS: tuple[tuple[str, str], ...] = (
    ("--product", "value"),
    ("--concentration", "value"),
    ("--route", "value"),
    ("--substance", "value"),
    ("--site", "value"),
    ("--indication", "value"),
    ("--expiry", "value"),
    ("--kb", "value"),
    ("--age-years", "value"),
    ("--age-months", "value"),
    ("--weight-kg", "value"),
    ("--sex", "value"),
    ("--condition", "values"),
    ("--medication", "values"),
    ("--allergy", "values"),
    ("--mix", "values"),
    ("--pregnant", "flag"),
    ("--breastfeeding", "flag"),
    ("--assume-iu-is-mcg", "flag"),
    ("--json", "flag"),
)
ACTIONS = {"value": "store", "values": "append", "flag": "store_true"}


class _NotMine(Exception):
    """The arguments are not a plain order this path serves."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise _NotMine(message)


def _parser() -> _Parser:
    parser = _Parser(prog="b12 dose", add_help=False, allow_abbrev=False, exit_on_error=False)
    parser.add_argument("dose")
    for flag, takes in OPTIONS:
        # dest as the Typer command names its parameter (--json is `as_json` there)
        dest = "as_json" if flag == "--json" else flag[2:].replace("-", "_")
        parser.add_argument(flag, action=ACTIONS[takes], dest=dest)
    return parser


def parse(argv: list[str]) -> dict[str, Any] | None:
    """The options of a plain `b12 dose` order, or None when it is not one."""
    if not argv or argv[0] != "dose":
        return None
    try:
        options, rest = _parser().parse_known_args(argv[1:])
    except (_NotMine, argparse.ArgumentError):
        return None
    if rest:
        return None
    return vars(options)


def run(argv: list[str]) -> int | None:
    """Serve ``argv`` and return its exit code, or None to leave it to the Typer command."""
    options = parse(argv)
    if options is None:
        return None
    from b12.adapters.cli.output import guarded

    return guarded(_dose, options, offered={"DOSE", *(flag for flag, _ in OPTIONS)})


def _dose(options: dict[str, Any]) -> int:
    from b12.adapters.cli import dose_view
    from b12.bootstrap import Settings
    from b12.knowledge.loader import load_knowledge

    # the settings as the Typer command reads them (an unknown B12_TIMEZONE is an input error)
    options["kb"] = Settings.read(knowledge_dir=options["kb"]).knowledge_dir

    return dose_view.run(load_knowledge, **options)
