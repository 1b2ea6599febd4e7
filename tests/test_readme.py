"""The README's promises about the command line: its list of commands is the declaration (and
each command's --help), and every example in it runs, its output checked, as people read it and
as --json."""

from __future__ import annotations

import json
import re
import shlex
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from b12.adapters.cli.commands import COMMANDS, PATIENT, Arg, Opt
from tests.record.helpers import run_main

README = (Path(__file__).resolve().parent.parent / "README.md").read_text()


def _rows() -> dict[str, tuple[str, str, list[str]]]:
    """The README's command table: words -> (arguments, help, options with PATIENT expanded)."""
    table = README.split("<!-- commands:", 1)[1].split("<!-- end of commands -->", 1)[0]
    out = {}
    for line in table.splitlines():
        match = re.fullmatch(
            r"\| `b12 ([a-z -]+?)((?: \[?[A-Z_]+\]?(?: \.\.\.)?)*)` \| (.+) \| (.+) \|", line
        )
        if not match:
            continue
        words, args, said, options = match.groups()
        flags: list[str] = []
        for item in options.split(", "):
            flags += [o.flag for o in PATIENT] if item == "PATIENT" else [item.strip("`")]
        out[words] = (args.strip(), said, flags)
    return out


def test_the_readme_lists_every_command_as_declared() -> None:
    rows = _rows()
    assert list(rows) == [c.words for c in COMMANDS]
    for command in COMMANDS:
        args, said, flags = rows[command.words]
        declared = [p for p in command.params if isinstance(p, Arg)]
        assert args == " ".join(
            (f"[{a.metavar}]" if a.optional else a.metavar) + (" ..." if a.many else "")
            for a in declared
        )
        assert said == command.help
        assert flags == [p.flag for p in command.params if isinstance(p, Opt)], command.words


@pytest.mark.parametrize("words", [c.words for c in COMMANDS])
def test_each_command_help_says_what_the_readme_says(words: str) -> None:
    args, said, flags = _rows()[words]
    code, out, _ = run_main([*words.split(), "--help"])
    flat = "".join(out.split())
    assert code == 0
    assert out.startswith(f"usage: b12 {words}{' ' + args if args else ''} [OPTIONS]")
    assert "".join(said.split()) in flat
    assert all(flag in out for flag in flags)


def examples() -> list[str]:
    """Every `b12 ...` line of the README's shell examples (```sh blocks; the PostgreSQL
    roles recipe, a ```shell block, needs a server and roles and is tested in
    tests/record/test_roles_and_streams.py), a continued line joined."""
    found = []
    for block in re.findall(r"```sh\n(.*?)```", README, re.S):
        for line in block.replace("\\\n", " ").splitlines():
            if line.strip().startswith("b12 "):
                found.append(shlex.join(shlex.split(line, comments=True)))
    return found


Check = Callable[[Any], bool]
#: Each example: its exit code, a line (or part of one) people see, and what its JSON holds.
EXPECTED: dict[str, tuple[int, str, Check]] = {
    "b12 sources": (0, "Sources (", lambda d: any(s["id"] == "nice-ng239" for s in d["sources"])),
    "b12 products": (
        0,
        "cyanocobalamin-us-1000mcg-ml-10ml-vial    cyanocobalamin 1,000 mcg",
        lambda d: all("ingredients" in p and "container" in p for p in d["products"]),
    ),
    "b12 indications": (
        0,
        "pernicious-anaemia",
        lambda d: any(i["id"] == "pernicious-anaemia" for i in d["indications"]),
    ),
    "b12 regimens --indication 'Addison-Biermer anaemia'": (
        0,
        "Regimens (",
        lambda d: {r["indication"] for r in d["regimens"]} == {"pernicious-anaemia"},
    ),
    "b12 conflicts": (0, " conflicts - knowledge ", lambda d: len(d["conflicts"]) >= 7),
    "b12 info contraindications": (
        0,
        "Contraindications (",
        lambda d: d["topic"] == "contraindications",
    ),
    "b12 dose 0.5mg --product cyanocobalamin-500mcg-ml-ampoule": (
        0,
        "DRAW    1 mL of 500 mcg/mL",
        lambda d: d["dose_mcg"] == 500 and d["volume_ml"] == 1,
    ),
    "b12 dose 1000mcg --concentration 1000mcg/mL --site deltoid --age-years 70": (
        0,
        "DRAW    1 mL of 1,000 mcg/mL",
        lambda d: d["dose_mcg"] == 1000,
    ),
    "b12 dose '500 mg' --product cyanocobalamin-500mcg-ml-ampoule": (
        3,
        "STOP    do not draw or give this order",
        lambda d: any(f["code"] == "DOSE_UNIT_SLIP" for f in d["findings"]),
    ),
    "b12 dose 1mg --concentration 1000mcg/mL --substance hydroxocobalamin --route IV": (
        0,
        "WARNING ROUTE_NOT_FOR_SUBSTANCE",
        lambda d: any(f["code"] == "ROUTE_NOT_FOR_SUBSTANCE" for f in d["findings"]),
    ),
    "b12 plan --indication pernicious-anaemia --start 2027-01-04 --product "
    "cyanocobalamin-us-1000mcg-ml-10ml-vial --ics course.ics": (
        0,
        "calendar written to",
        lambda d: d["administrations"][0]["date"] == "2027-01-04" and d["calendar"],
    ),
    "b12 labs b12=150pg/mL hb=9.1g/dL --sex female": (
        0,
        "deficient",
        lambda d: [r["band"] for r in d["results"]] == ["deficient", "low"],
    ),
    "b12 labs k=3.1mmol/L --range k=3.5-5.1mmol/L --day 2": (
        0,
        "lab's own range 3.5-5.1 mmol/L",
        lambda d: d["results"][0]["range_used"]["kind"] == "lab",
    ),
    "b12 requirement --age-years 30 --pregnant": (
        0,
        "REQUIREMENT 2.6 mcg a day (iom-rda)",
        lambda d: d["requirement_mcg_per_day"] == 2.6,
    ),
    "b12 intake 'beef liver=100' milk=250 --age-years 40": (
        0,
        "INTAKE      61 mcg a day",
        lambda d: d["intake_mcg_per_day"] == 61,
    ),
    "b12 check --age-years 30 --pregnant --medication metformin --product milgamma-2ml-ampoule": (
        3,
        "STOP    PRODUCT_CONTRAINDICATED",
        lambda d: any(f["code"] == "PRODUCT_CONTRAINDICATED" for f in d["findings"]),
    ),
    "b12 db upgrade": (0, "now at revision", lambda d: d["before"] is None and d["after"]),
    "b12 patient add P-0042 --age-years 62 --sex female --condition 'pernicious anaemia' "
    "--at 2026-01-02 --ward 'Ward 4'": (
        0,
        "Patient P-0042 recorded",
        lambda d: d["patient"]["code"] == "P-0042" and d["patient"]["ward"] == "Ward 4",
    ),
    "b12 patient add P-0043 --born 1961-04-30 --sex male --at 2026-01-02": (
        0,
        "Patient P-0043 recorded",
        lambda d: d["patient"]["born"] == "1961-04-30" and d["patient"]["age_months"] is None,
    ),
    "b12 patient list --limit 50 --after P-0042": (
        0,
        "P-0043",
        lambda d: [p["code"] for p in d["patients"]] == ["P-0043"] and d["next"] is None,
    ),
    "b12 prescribe P-0042 --indication pernicious-anaemia --start 2026-01-05 --product "
    "cyanocobalamin-us-1000mcg-ml-10ml-vial --at 2026-01-02": (
        0,
        "Prescribed us-label-pernicious-anaemia from 2026-01-05: 31 doses",
        lambda d: d["prescription"]["start"] == "2026-01-05",
    ),
    "b12 supply dispense P-0042 --product cyanocobalamin-us-1000mcg-ml-10ml-vial --count 1 "
    "--lot C4471 --expiry 2027-09-30 --at 2026-01-02": (
        0,
        "Dispensed to P-0042: 1 x cyanocobalamin-us-1000mcg-ml-10ml-vial, lot C4471",
        lambda d: d["dispensed"]["containers"] == 1 and d["dispensed"]["lot"] == "C4471",
    ),
    "b12 give P-0042 --lot C4471 --expiry 2027-09-30 --at 2026-01-05T09:30": (
        0,
        "Draw 0.1 mL for 100 mcg IM, left deltoid",
        lambda d: d["administration"]["lot"] == "C4471",
    ),
    "b12 missed P-0042 --reason 'in hospital' --at 2026-01-06": (
        0,
        "Recorded: dose 2 missed",
        lambda d: any(f["code"] == "RECORD_MISSED_REVIEW" for f in d["findings"]),
    ),
    "b12 supply waste P-0042 --lot C4471 --volume 0.1 --reason 'drawn up, not injected' "
    "--at 2026-01-07": (
        0,
        "Waste recorded for P-0042: lot C4471, 0 container(s) and 0.1 mL",
        lambda d: d["waste"]["volume_ml"] == "0.1",
    ),
    "b12 supply show P-0042 --at 2026-01-11": (
        0,
        "1 container(s) left, 9.8 mL",
        lambda d: d["volume_left_ml"] == "9.8" and d["runs_out_on"] is None,
    ),
    "b12 lab add P-0042 reticulocytes=4.6% --at 2026-01-10": (
        0,
        "reticulocytes  17849-1  4.6 %",
        lambda d: d["results"][0]["band"] == "high",
    ),
    "b12 patient show P-0042": (
        0,
        "(given as 62 years on 2026-01-02)",  # the age today, derived from the age given
        lambda d: d["prescriptions"][0]["doses"] == 31,
    ),
    "b12 status P-0042 --at 2026-01-11 --plot trends.png": (
        0,
        "Patient P-0042 on 2026-01-11: 1 of 31 doses given; next due 2026-01-07.",
        lambda d: d["given"] == 1 and d["plot"].endswith("trends.png"),
    ),
    "b12 summary P-0042 --pdf course.pdf": (
        0,
        "Course summary of patient P-0042",
        lambda d: (
            d["pdf"].endswith("course.pdf")
            and len(d["doses_given"]) == 1
            and d["body_store"]["estimate"] is True
        ),
    ),
    "b12 due --date 2026-01-11": (
        0,
        "P-0042   2     2026-01-07  overdue  4",
        lambda d: d["due"][0]["overdue_days"] == 4,
    ),
    "b12 due --date 2026-01-11 --ward 'ward 4'": (
        0,
        "P-0042   2     2026-01-07  overdue  4",
        lambda d: [(x["patient"], x["ward"]) for x in d["due"]] == [("P-0042", "Ward 4")],
    ),
    "b12 correct administration P-0042 ID 'site=right deltoid' --reason 'side misrecorded'": (
        0,
        "corrected by",
        lambda d: d["record"]["site"] == "right deltoid" and d["corrects"],
    ),
    "b12 audit-log verify": (0, "Audit trail intact", lambda d: d["intact"]),
    "b12 audit-log anchor --out anchor-2027-01-11.json": (
        0,
        "Anchor written: anchor-2027-01-11.json (2 streams",
        lambda d: d["anchor_file"] == "anchor-2027-01-11.json" and d["streams"] == 2,
    ),
    "b12 audit-log verify --anchor anchor-2027-01-11.json": (
        0,
        "Audit trail intact",
        lambda d: d["intact"] and d["problems"] == [],
    ),
    "b12 export parquet audit-2026": (
        0,
        "Exported to audit-2026: patients 2, prescriptions 1, planned_doses 31, administrations 1",
        lambda d: d["rows"]["planned_doses"] == 31 and d["rows"]["administrations"] == 1,
    ),
    "b12 audit population audit-2026 --as-of 2026-01-12": (
        0,
        "1 finding (0 stop) in 1 administrations by 1 of 11 rules, on duckdb",
        lambda d: d["administrations"] == 1 and d["by_rule"] == {"NO_POTASSIUM_48H": 1},
    ),
    "b12 fhir export P-0042 --out p-0042.json": (
        0,
        "Exported P-0042 to p-0042.json: Patient 1, MedicationRequest 1, MedicationAdministration 1",
        lambda d: (
            d["resources"]["MedicationAdministration"] == 1 and d["resources"]["Observation"] == 1
        ),
    ),
    "b12 db upgrade --db copy.db": (0, "now at revision", lambda d: d["before"] is None),
    "b12 fhir import p-0042.json --db copy.db": (
        0,
        "MedicationAdministration (Bundle.entry[3]): recorded",
        lambda d: (
            [i["outcome"] for i in d["imported"] if i["resource"] != "DetectedIssue"]
            == ["recorded"] * 4
        ),
    ),
}


def test_every_readme_example_has_its_expected_output() -> None:
    assert examples() == list(EXPECTED)


@pytest.mark.parametrize("as_json", [False, True], ids=["people", "json"])
def test_every_readme_example_runs_and_says_what_it_promises(
    as_json: bool, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """In order, on a fresh record (the record examples build on each other)."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("B12_DATABASE_URL", f"sqlite:///{tmp_path / 'b12.db'}")
    monkeypatch.setenv("B12_TIMEZONE", "UTC")
    monkeypatch.setenv("B12_USER", "nurse")
    given = ""
    for example in examples():
        argv = shlex.split(example)[1:]
        argv = [given if word == "ID" else word for word in argv]
        code, out, err = run_main([*argv, *(["--json"] if as_json else [])])
        exit_code, line, check = EXPECTED[example]
        assert code == exit_code, (example, err)
        if as_json:
            assert check(json.loads(out)), (example, out)
        else:
            assert line in out, (example, out)
        if argv[0] == "give":
            _, said, _ = run_main(["status", "P-0042", "--json"])
            given = next(e["id"] for e in json.loads(said)["timeline"] if e["kind"] == "given")
    assert (tmp_path / "trends.png").exists() and (tmp_path / "course.ics").exists()
    assert (tmp_path / "course.pdf").read_bytes().startswith(b"%PDF-")
