"""The command line read with the standard library's argparse, from the one declaration
(``commands``): only the parser of the command typed is built, and only its handler imported.

A word or an option b12 does not know is answered as an unknown name is (``did you mean``), with
exit code 2; ``--help`` prints the command's declaration.
"""

from __future__ import annotations

import argparse
import difflib
from collections.abc import Iterable, Sequence
from typing import Any, NoReturn

from b12.adapters.cli.commands import ABOUT, COMMANDS, GROUPS, Arg, Command, Opt


class UsageError(Exception):
    """The words or options typed are not a command b12 declares (exit 2)."""

    def __init__(self, message: str, command: str = "") -> None:
        super().__init__(message)
        self.command = command

    def __str__(self) -> str:
        see = f"b12 {self.command} --help" if self.command else "b12 --help"
        return f"{self.command + ': ' if self.command else ''}{self.args[0]} (see `{see}`)"


class HelpShown(Exception):
    """--help was asked for and printed."""


def close(word: str, choices: Iterable[str], cutoff: float = 0.6) -> list[str]:
    """The choices closest to ``word`` (difflib, as b12's names are suggested), best first."""
    listed = list(choices)
    found = difflib.get_close_matches(word, listed, n=3, cutoff=cutoff)
    return found or [c for c in listed if len(word) >= 3 and c.startswith(word)][:3]


def unknown(kind: str, word: str, choices: Iterable[str]) -> str:
    """An unknown word or option, and the close ones (options: only the very close)."""
    listed = list(choices)
    near = close(word, listed, 0.8 if kind == "option" else 0.6)
    hint = f"did you mean {', '.join(near)}?" if near else f"write one of: {', '.join(listed)}"
    return f"unknown {kind} {word!r}: {hint}"


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise UsageError(message, self.prog.removeprefix("b12 "))

    def exit(self, status: int = 0, message: str | None = None) -> NoReturn:
        if message:
            raise UsageError(message.strip(), self.prog.removeprefix("b12 "))
        raise HelpShown


def _escaped(text: str) -> str:
    return text.replace("%", "%%")  # argparse formats help with %


def build(command: Command) -> argparse.ArgumentParser:
    """The argparse parser of one command, from its declaration."""
    parser = _Parser(
        prog=f"b12 {command.words}",
        usage=" ".join(
            ["b12", command.words]
            + [p.metavar + (" ..." if p.many else "") for p in command.params if isinstance(p, Arg)]
            + ["[OPTIONS]"]
        ),
        description=_escaped(command.help),
        allow_abbrev=False,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    for param in command.params:
        if isinstance(param, Arg):
            parser.add_argument(
                param.dest,
                metavar=param.metavar,
                nargs="+" if param.many else None,
                help=_escaped(param.help),
            )
            continue
        extra: dict[str, Any] = {"dest": param.name, "help": _escaped(param.help)}
        if param.takes == "flag":
            parser.add_argument(param.flag, action="store_true", **extra)
            continue
        metavar = param.name.upper() if param.takes != "count" else "N"
        parser.add_argument(
            param.flag,
            action="append" if param.takes == "texts" else "store",
            required=param.required,
            default=param.default,
            metavar=metavar,
            **extra,
        )
    return parser


def find(argv: Sequence[str]) -> tuple[Command, list[str]]:
    """The command the first words name, and the rest of the arguments."""
    declared = {c.words: c for c in COMMANDS}
    tops = list(dict.fromkeys(c.words.split()[0] for c in COMMANDS))
    if not argv:
        raise UsageError(f"name a command: {', '.join(tops)}")
    first = argv[0]
    if first in declared:
        return declared[first], list(argv[1:])
    if first not in GROUPS:
        if first.startswith("-"):
            raise UsageError(unknown("option", first, ["--help"]))
        raise UsageError(unknown("command", first, tops))
    subs = [c.words.split()[1] for c in COMMANDS if c.words.split()[0] == first]
    if len(argv) < 2 or argv[1].startswith("-"):
        raise UsageError(f"name one of its commands: {', '.join(subs)}", first)
    words = f"{first} {argv[1]}"
    if words not in declared:
        raise UsageError(unknown("command", argv[1], subs), first)
    return declared[words], list(argv[2:])


def parse(command: Command, args: list[str]) -> dict[str, Any]:
    """The handler's keywords for ``args``; a usage error names an unknown option's close ones."""
    slip = unknown_option(command, args)
    if slip is not None:
        flags = [p.flag for p in command.params if isinstance(p, Opt)]
        raise UsageError(unknown("option", slip, flags), command.words)
    parser = build(command)
    namespace, rest = parser.parse_known_intermixed_args(args)
    if rest:
        raise UsageError(f"unexpected argument {rest[0]!r}", command.words)
    values = vars(namespace)
    for param in command.params:
        if isinstance(param, Opt) and param.takes == "count":
            values[param.name] = _count(param, values[param.name])
    return values


def unknown_option(command: Command, args: Sequence[str]) -> str | None:
    """The first option ``args`` give that ``command`` lacks (before any other complaint: a
    slip explains what follows it), skipping the values of its options and what follows `--`."""
    takes = {p.flag: p.takes != "flag" for p in command.params if isinstance(p, Opt)}
    takes.update({"-h": False, "--help": False})
    words = iter(args)
    for word in words:
        if word == "--":
            return None
        if not word.startswith("-") or len(word) < 2 or word[1].isdigit() or word[1] == ".":
            continue  # a value, or a negative number
        name, equals, _ = word.partition("=")
        if name not in takes:
            return name
        if takes[name] and not equals:
            next(words, None)
    return None


def _count(option: Opt, value: object) -> int | None:
    if value is None or isinstance(value, int):
        return value
    text = str(value).strip()
    low = option.minimum
    try:
        number = int(text)
    except ValueError:
        number = None
    if number is None or (low is not None and number < low):
        from b12.errors import InputError

        floor = "" if low is None else f" from {low}"
        raise InputError(
            f"{option.flag} {value!r}: write a whole number{floor}, e.g. {option.flag} "
            f"{option.default if option.default is not None else 2}"
        )
    return number


def help_text(group: str | None = None) -> str:
    """The list of commands (of one group), each with its one-line help."""
    shown = [c for c in COMMANDS if group is None or c.words.split()[0] == group]
    width = max(len(c.words) for c in shown) + 2
    lines = [
        f"usage: b12 {group + ' ' if group else ''}COMMAND [ARGUMENTS] [OPTIONS]",
        "",
        GROUPS[group] if group else ABOUT,
        "",
        "commands:",
    ]
    lines += [f"  {c.words:<{width}}{c.help}" for c in shown]
    lines += ["", "Every command takes --help; `b12 COMMAND --help` lists its options."]
    return "\n".join(lines) + "\n"


def wants_help(argv: Sequence[str]) -> str | None:
    """The help asked for before a command is named (`b12`, `b12 --help`, `b12 patient -h`)."""
    if not argv or argv[0] in ("-h", "--help"):
        return help_text()
    if argv[0] in GROUPS and (len(argv) == 1 or argv[1] in ("-h", "--help")):
        return help_text(argv[0])
    return None


def print_help(text: str) -> None:
    from b12.adapters.cli.output import write_out

    write_out(text)
