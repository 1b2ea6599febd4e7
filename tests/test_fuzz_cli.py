"""Every command's arguments, fuzzed through the command line's entry point, in process.

Each example is one call of ``b12.adapters.cli.main(argv)`` on a temporary SQLite record that holds
a patient with a prescription and two doses given: its arguments and options are drawn from the
command's own declaration (so a new option is fuzzed too), each value plausible or hostile
(control characters, Rich markup, huge numbers, odd dates, invalid UTF-8 as the surrogate escapes
Python makes of it, very long text). stdout and stderr are strict UTF-8 streams, as a terminal's.
Whatever the input: the exit code is 0, 2 or 3 (1 only where documented: a record or a knowledge
folder that cannot be used), nothing escapes as an exception, and no raw control character reaches
either stream.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from b12.adapters.cli.commands import COMMANDS as DECLARED
from b12.adapters.cli.commands import Arg, Opt
from tests.record.helpers import run_main

#: Examples per command (about 25 commands: several thousand in all, ~30-60 s on 2 cores);
#: B12_FUZZ_EXAMPLES=N runs more, for a longer search.
EXAMPLES = int(os.environ.get("B12_FUZZ_EXAMPLES", "140"))
#: What a terminal would act on: C0 but newline and tab, DEL, C1 (ESC is C0).
RAW_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")

HOSTILE = [
    "[/]", "[bold]x", "[/bold]", "[red]red", "\\", "x\\", "[link=http://x]a", ":warning:",
    "\x1b[2J", "\x1b]0;title\x07", "\x9b31m", "\x7f", "\x00", "a\x00b", "\r", "\b", "\x85",
    "\udcff", "P-\udc80\udc81", "\ud800", "1e999999", "-1e999999", "1e308", "1e-999999", "nan",
    "-inf", "Infinity", "0", "-1", "9" * 40, "0.0000001", "9999-12-31", "0001-01-01",
    "2026-02-30", "2026-13-01", "9999-12-31T23:59", "0001-01-01T00:00", "2026-01-05T25:00",
    "", " ", "--", "-", "--json", "a" * 5000, "é" * 65, "x" * 121, "P-" + "9" * 63,
]  # fmt: skip


#: Options and words no command declares (each answered "did you mean ...", exit 2).
SLIPS = ["--jsno", "--dbb", "--help", "-h", "--", "-x", "--=", "--json=1", "--age-years=", "dose"]


@dataclass(frozen=True)
class Record:
    folder: Path
    url: str
    administration: str
    #: A second dose, for `b12 void` (the fuzzed `correct` may have replaced the first).
    to_void: str


@pytest.fixture(scope="module")
def record(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Record]:
    folder = tmp_path_factory.mktemp("fuzz")
    url = f"sqlite:///{folder / 'record.db'}"
    saved = {k: os.environ.get(k) for k in ("B12_DATABASE_URL", "B12_TIMEZONE", "B12_USER")}
    os.environ.update(B12_DATABASE_URL=url, B12_TIMEZONE="UTC", B12_USER="fuzz")
    cwd = Path.cwd()
    os.chdir(folder)  # a path argument that slips through writes here, never in the project
    try:
        for argv in (
            ["db", "upgrade"],
            ["patient", "add", "P-1", "--age-years", "60", "--sex", "female"],
            ["prescribe", "P-1", "--indication", "pernicious-anaemia", "--start", "2026-01-05",
             "--product", "cyanocobalamin-us-1000mcg-ml-10ml-vial", "--at", "2026-01-05"],
        ):  # fmt: skip
            assert run_main(argv)[0] == 0, argv
        code, out, _ = run_main(
            ["give", "P-1", "--at", "2026-01-05T09:00", "--lot", "L1", "--json"]
        )
        assert code == 0
        import json

        given_id = json.loads(out)["administration"]["id"]
        code, out, _ = run_main(
            ["give", "P-1", "--at", "2026-01-06T09:00", "--lot", "L1", "--json"]
        )
        assert code == 0
        yield Record(folder, url, given_id, json.loads(out)["administration"]["id"])
    finally:
        os.chdir(cwd)
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


#: Commands that serve until they are stopped: `b12 serve` is started on a free port and stopped
#: by tests/web/test_doors.py; fuzzed here it would serve for ever on a port that happens to be free.
SERVERS = {"serve"}
#: Every command's parameters, from the one declaration (a new option is fuzzed too).
COMMANDS: dict[str, tuple[Arg | Opt, ...]] = {
    c.words: c.params for c in DECLARED if c.words not in SERVERS
}

#: Plausible values by parameter name (the hostile ones are added to every one).
PLAUSIBLE: dict[str, list[str]] = {
    "code": ["P-1", "P-2", "P-[/]"],
    "dose": ["1000mcg", "1 mg", "0.5mg", "500 mg", "5000 iu", "1000"],
    "product": ["cyanocobalamin-us-1000mcg-ml-10ml-vial", "cyanocobalamin-500mcg-ml-ampoule",
                "milgamma-2ml-ampoule", "hydroxo"],
    "concentration": ["1000mcg/mL", "100 mg/2 mL", "1mg/mL"],
    "route": ["IM", "iv", "deep sc", "intrathecal", "oral"],
    "substance": ["cyanocobalamin", "hydroxocobalamin"],
    "site": ["left deltoid", "right thigh", "gluteal"],
    "indication": ["pernicious-anaemia", "Addison-Biermer anaemia", "leber"],
    "regimen": ["uk-bnf-hydroxo-pernicious", "x"],
    "start": ["2026-01-05", "2027-01-04"],
    "at": ["2026-01-06", "2026-01-07T09:00", "2026-01-05", "2025-12-01"],
    "expiry": ["2027-09-30", "2020-01-01"],
    "months": ["12", "1", "60", "0", "61", "99999999999999999999"],
    "age_years": ["60", "2.5", "0", "130", "131"],
    "age_months": ["3", "0", "1560"],
    "weight_kg": ["70", "0.3", "400"],
    "sex": ["female", "male", "x"],
    "condition": ["pernicious anaemia", "hypertension", "leber's optic atrophy"],
    "medication": ["metformin", "carbidopa/levodopa", "sinemet"],
    "allergy": ["cobalt"],
    "mix": ["lidocaine"],
    "bypass": ["CODE=specialist reviewed it", "x"],
    "interrupt_on": ["stop", "warning", "info", "x"],
    "readings": ["b12=150pg/mL", "hb=9.1g/dL", "k=3.1mmol/L", "reticulocytes=4.6%", "x=1"],
    "results": ["b12=150pg/mL", "hb=9.1g/dL", "k=3.0mmol/L", "b12=1e999999pg/mL"],
    "lab_range": ["k=3.5-5.1mmol/L", "k=5-3mmol/L", "hb=1e999-2e999g/dL"],
    "day": ["2", "0", "-1", "99999999999999999999"],
    "foods": ["beef liver=100", "milk=250", "milk=1e999999"],
    "table_id": ["iom", "x"],
    "topic": ["indications", "technique", "x"],
    "b12": ["150pg/mL", "150 pmol/L", "1e999999pg/mL"],
    "reason": ["in hospital", "side misrecorded", "."],
    "override": ["prescriber reviewed the dose", "."],
    "description": ["sore arm", "anaphylaxis after the injection"],
    "severity": ["mild", "moderate", "severe"],
    "kind": ["administration", "lab", "event"],
    "record_id": ["nope"],  # and the real administration's id, drawn in the test
    "changes": ["dose_mcg=100", "site=right deltoid", "expiry=9999-01-01", "given_at=0001-01-01",
                "dose_mcg=1e999999", "reading=hb=11.2g/dL", "lot=L2", "neurological=maybe"],
    "by": ["nurse A"],
    "lot": ["C4471"],
    "role": ["b12_app", "postgres"],
}  # fmt: skip
#: Parameters whose value names a file or folder: only paths under the record's folder (relative:
#: the test runs there), never random text, which would write files where it names.
PATHS: dict[str, list[str]] = {
    "db": ["record.db", "missing.db", "no/folder/record.db", "postgres://u:secret@127.0.0.1/x",
           "mysql://a@b/c", "sqlite:///", "::"],
    "kb": ["no-kb-here", "."],
    "plot": ["trend.png", "trend.svg", "trend.txt", "no/folder/trend.png"],
    "ics": ["course.ics", "no/folder/course.ics", "course.txt"],
    "folder": ["example", "no/folder"],
    "anchor": ["anchor.json", "record.db", "missing.json", "no/folder/anchor.json"],
    "out": ["anchor.json", "no/folder/anchor.json"],
}  # fmt: skip


def _value(name: str) -> st.SearchStrategy[str]:
    if name in PATHS:
        return st.sampled_from(PATHS[name])
    texts = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=12)
    return st.one_of(
        st.sampled_from(PLAUSIBLE.get(name, ["x"])),
        st.sampled_from(HOSTILE),
        texts,
        st.text(st.characters(max_codepoint=0x9F), max_size=6),  # controls and markup
        st.lists(st.sampled_from(HOSTILE), min_size=2, max_size=3).map("".join),
    )


@st.composite
def arguments(draw: st.DrawFn, command: str, administration: str) -> list[str]:
    """``command``'s words, its arguments, then some of its options, each with a drawn value."""
    argv = command.split()
    for param in COMMANDS[command]:
        if isinstance(param, Arg):
            value = _value(param.dest)
            if param.dest == "record_id":
                value = st.one_of(st.just(administration), value)
            count = draw(st.integers(1, 3)) if param.many else 1
            argv += [draw(value) for _ in range(count)]
            continue
        if not draw(st.booleans()):
            continue
        if param.takes == "flag":
            argv.append(param.flag)
        else:
            repeats = draw(st.integers(1, 2)) if param.takes == "texts" else 1
            for _ in range(repeats):
                argv += [param.flag, draw(_value(param.name))]
    if draw(st.integers(0, 9)) == 0:  # a slip: an option the command lacks, or a stray word
        argv.insert(draw(st.integers(0, len(argv))), draw(st.sampled_from(SLIPS)))
    return argv


def _check(argv: list[str], code: int, out: str, err: str) -> None:
    documented = {0, 2, 3} | ({1} if {"--db", "--kb"} & set(argv) else set())
    assert code in documented, (argv, code, err)
    assert "Traceback" not in err, (argv, err)
    assert not RAW_CONTROL.search(out), (argv, out)
    assert not RAW_CONTROL.search(err), (argv, err)


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_any_arguments_give_a_documented_exit_and_print_no_control_character(
    record: Record, command: str
) -> None:
    examples = 8 if command == "example" else EXAMPLES  # the example runs a whole course
    dose = record.to_void if command == "void" else record.administration

    @settings(
        max_examples=examples,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(argv=arguments(command, dose))
    def one(argv: list[str]) -> None:
        _check(argv, *run_main(argv))

    one()
