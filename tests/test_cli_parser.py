"""The one parser: every declared command, its help, its slips, and what its start imports."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from bench.cli_starts import AUDIT, FHIR, KNOWLEDGE, RECORD, SLOW

from b12.adapters.cli.commands import COMMANDS, GROUPS, Arg, Command, Opt
from b12.adapters.cli.parser import build
from tests.record.helpers import run_main

OPTIONS = [(c, p) for c in COMMANDS for p in c.params if isinstance(p, Opt)]
#: What a knowledge command's start must not import (each costs tens to hundreds of ms).
HEAVY = ("typer", "click", "rich", "sqlalchemy", "alembic", "pydantic", "yaml", "matplotlib",
         "icalendar", "psycopg", "platformdirs")  # fmt: skip


def _words(command: Command) -> list[str]:
    return command.words.split()


def test_every_command_is_declared_once_with_unique_options() -> None:
    words = [c.words for c in COMMANDS]
    assert len(words) == len(set(words))
    for command in COMMANDS:
        flags = [p.flag for p in command.params if isinstance(p, Opt)]
        dests = [p.name if isinstance(p, Opt) else p.dest for p in command.params]
        assert len(flags) == len(set(flags)), command.words
        assert len(dests) == len(set(dests)), command.words
        assert command.help.endswith("."), command.words
        build(command)  # argparse accepts the declaration
    assert {c.words.split()[0] for c in COMMANDS if " " in c.words} == set(GROUPS)


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: c.words)
def test_help_of_every_command_shows_each_argument_and_option_with_its_help(
    command: Command,
) -> None:
    code, out, err = run_main([*_words(command), "--help"])
    assert (code, err) == (0, "")
    assert out.startswith(f"usage: b12 {command.words}")
    flat = "".join(out.split())  # argparse wraps lines, at spaces and after hyphens
    assert "".join(command.help.split()) in flat
    for param in command.params:
        name = param.flag if isinstance(param, Opt) else param.metavar
        assert name in flat, (command.words, name)
        assert "".join(param.help.split()) in flat, (command.words, name)


def test_the_top_help_and_each_group_help_list_their_commands() -> None:
    code, out, _ = run_main(["--help"])
    assert code == 0 and run_main([]) == (0, out, "")
    for command in COMMANDS:
        assert f"  {command.words} " in out
    for group in GROUPS:
        code, said, _ = run_main([group])
        assert code == 0 and GROUPS[group] in said
        assert all(c.words in said for c in COMMANDS if c.words.split()[0] == group)
        assert all(c.words not in said for c in COMMANDS if c.words.split()[0] != group)


def _typo(flag: str) -> str:
    """The flag with two letters swapped in its middle (--conecntration)."""
    i = len(flag) // 2
    return flag[:i] + flag[i + 1] + flag[i] + flag[i + 2 :]


@pytest.mark.parametrize(
    ("command", "option"), OPTIONS, ids=lambda x: x.words if isinstance(x, Command) else x.flag
)
def test_a_mistyped_option_is_refused_with_the_option_meant(command: Command, option: Opt) -> None:
    slip = _typo(option.flag)
    if slip == option.flag or len(option.flag) < 6:
        slip = option.flag + "s"
    args = [a.metavar.lower() for a in command.params if isinstance(a, Arg)]
    code, out, err = run_main([*_words(command), *args, slip, "x"])
    assert (code, out) == (2, "")
    assert f"unknown option '{slip}': did you mean " in err
    assert option.flag in err.split("did you mean ", 1)[1].split("?")[0].split(", ")
    assert f"(see `b12 {command.words} --help`)" in err


@pytest.mark.parametrize(
    ("typed", "said"),
    [
        (["dos", "1mg"], "b12: unknown command 'dos': did you mean dose? (see `b12 --help`)\n"),
        (["patient", "ad", "P-1"],
         "b12: patient: unknown command 'ad': did you mean add? (see `b12 patient --help`)\n"),
        (["--jsn"], "b12: unknown option '--jsn': write one of: --help (see `b12 --help`)\n"),
        (["plan", "--indication", "pernicious-anaemia"],
         "b12: plan: the following arguments are required: --start (see `b12 plan --help`)\n"),
        (["dose"], "b12: dose: the following arguments are required: DOSE "
                   "(see `b12 dose --help`)\n"),
        (["sources", "extra"], "b12: sources: unexpected argument 'extra' (see `b12 sources --help`)\n"),
        (["labs", "hb=9g/dL", "--day", "-1"],
         "b12: --day '-1': write a whole number from 0, e.g. --day 2\n"),
        (["plan", "--start", "2027-01-04", "--months", "twelve"],
         "b12: --months 'twelve': write a whole number, e.g. --months 12\n"),
        (["dose", "1mg", "--product"],
         "b12: dose: argument --product: expected one argument (see `b12 dose --help`)\n"),
    ],
)  # fmt: skip
def test_words_the_parser_cannot_read_exit_2_saying_what_to_write(
    typed: list[str], said: str
) -> None:
    assert run_main(typed) == (2, "", said)


def test_every_command_has_a_benchmark() -> None:
    benched = set(KNOWLEDGE) | set(RECORD) | set(SLOW) | set(AUDIT) | set(FHIR)
    assert benched == {c.words for c in COMMANDS}


def _imported(argv: list[str]) -> tuple[int, list[str]]:
    """Run ``argv`` in a fresh interpreter; its exit code and the heavy packages it imported."""
    script = (
        "import sys, json\n"
        "from b12.adapters.cli import main\n"
        "try:\n    main(sys.argv[1:])\n"
        "except SystemExit as done:\n    code = done.code\n"
        f"heavy = sorted({{m.split('.')[0] for m in sys.modules}} & set({HEAVY!r}))\n"
        "sys.stderr.write(json.dumps([code, heavy]))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script, *argv], capture_output=True, text=True, timeout=120
    )
    code, heavy = json.loads(done.stderr.strip().splitlines()[-1])
    return code, heavy


@pytest.mark.parametrize("words", sorted(KNOWLEDGE))
@pytest.mark.parametrize("as_json", [False, True])
def test_a_knowledge_command_imports_no_heavy_package(words: str, as_json: bool) -> None:
    """Not a timing: the modules a knowledge command's start loads (stdout is a pipe here)."""
    code, heavy = _imported([*KNOWLEDGE[words], *(["--json"] if as_json else [])])
    assert code in (0, 3)  # 3: the check's sample is a pregnant patient and Milgamma (a stop)
    assert heavy == []


def test_the_help_and_a_slip_import_no_handler() -> None:
    for argv in (["--help"], ["dose", "--help"], ["dose", "1mg", "--concentraton", "x"]):
        code, heavy = _imported(argv)
        assert code in (0, 2) and heavy == []


@pytest.mark.parametrize("words", ["status", "due", "patient list", "audit-log verify"])
def test_a_record_command_reads_the_revision_without_importing_alembic(
    words: str, tmp_path: Path
) -> None:
    url = f"sqlite:///{tmp_path / 'r.db'}"
    assert run_main(["db", "upgrade", "--db", url])[0] == 0
    run_main(["patient", "add", "P-1", "--db", url])
    argv = [*words.split(), *(["P-1"] if words == "status" else []), "--db", url]
    script = (
        "import sys\nfrom b12.adapters.cli import main\n"
        "try:\n    main(sys.argv[1:])\nexcept SystemExit as done:\n    code = done.code\n"
        "sys.stderr.write(repr((code, 'alembic' in sys.modules, 'sqlalchemy' in sys.modules)))\n"
    )
    done = subprocess.run([sys.executable, "-c", script, *argv], capture_output=True, text=True)
    assert done.stderr.strip().splitlines()[-1] == "(0, False, True)"
