"""Cold start of every command, each a fresh process, beside the bare interpreter and SQLAlchemy.

Every command the parser declares has a sample call here (a test keeps the two in step); the
knowledge commands have a 300 ms budget, the record commands 1 s (SQLAlchemy's import alone, shown
as their floor, takes about half of it). The record commands run on a temporary SQLite record
made by `b12 db upgrade` with a patient, a prescription and a dose given.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
from collections.abc import Callable
from datetime import date, timedelta
from itertools import count
from pathlib import Path

from bench.run import BIN, report, wall

RUNS = 11
KNOWLEDGE_BUDGET = 0.300
RECORD_BUDGET = 1.0
PRODUCT = "cyanocobalamin-us-1000mcg-ml-10ml-vial"

#: The knowledge commands (no record), each as a clinician would type it.
KNOWLEDGE: dict[str, list[str]] = {
    "sources": ["sources"],
    "products": ["products"],
    "indications": ["indications"],
    "regimens": ["regimens", "--indication", "Addison-Biermer anaemia"],
    "conflicts": ["conflicts"],
    "info": ["info", "contraindications"],
    "dose": ["dose", "500mcg", "--concentration", "1000mcg/mL"],
    "plan": ["plan", "--indication", "pernicious-anaemia", "--start", "2026-01-05",
             "--product", PRODUCT],
    "check": ["check", "--age-years", "30", "--pregnant", "--medication", "metformin",
              "--product", "milgamma-2ml-ampoule"],
    "labs": ["labs", "b12=150pg/mL", "hb=9.1g/dL", "--sex", "female"],
    "requirement": ["requirement", "--age-years", "30", "--pregnant"],
    "intake": ["intake", "beef liver=100", "milk=250", "--age-years", "40"],
}  # fmt: skip

#: The record commands; ``{n}`` is the run's number (each give, event and patient is a new one).
RECORD: dict[str, list[str]] = {
    "db upgrade": ["db", "upgrade"],
    "db grant": ["db", "grant", "b12_app"],  # PostgreSQL only: on SQLite its refusal (exit 2)
    "patient add": ["patient", "add", "B-{n}", "--age-years", "62", "--sex", "female"],
    "patient list": ["patient", "list"],
    "patient show": ["patient", "show", "P-1"],
    "prescribe": ["prescribe", "B-{n}", "--indication", "pernicious-anaemia", "--start",
                  "2026-01-05", "--product", PRODUCT, "--at", "2026-01-01", "--self-injection"],
    "give": ["give", "P-1", "--lot", "C4471", "--expiry", "2028-09-30", "--at", "{day}T09:00"],
    "missed": ["missed", "P-2", "--reason", "in hospital", "--at", "{day}"],
    "lab add": ["lab", "add", "P-1", "reticulocytes=4.6%", "--at", "2026-01-10"],
    "status": ["status", "P-1", "--at", "2026-01-11"],
    "summary": ["summary", "P-1"],
    "due": ["due", "--date", "2026-01-11"],
    "overrides": ["overrides"],
    "event add": ["event", "add", "P-1", "--description", "sore arm", "--at", "2026-01-06"],
    "supply dispense": ["supply", "dispense", "P-1", "--product", PRODUCT, "--count", "20",
                        "--lot", "H1", "--expiry", "2099-12-31"],
    "supply waste": ["supply", "waste", "P-1", "--lot", "H1", "--count", "1", "--reason",
                     "dropped and broken"],
    "supply show": ["supply", "show", "P-1", "--at", "2026-01-11"],
    "calendar make": ["calendar", "make", "P-1", "--url", "https://b12.clinic.example"],
    "calendar list": ["calendar", "list", "P-1"],
    "calendar revoke": ["calendar", "revoke", "P-1", "no-such-feed"],  # its refusal (exit 2)
    "audit-log verify": ["audit-log", "verify"],
    "audit-log anchor": ["audit-log", "anchor"],
    "correct": ["correct", "administration", "P-3", "{given}", "site=right deltoid",
                "--reason", "side misrecorded"],
    "void": ["void", "administration", "P-4", "{voided}", "--reason",
             "recorded for the wrong patient"],
    "user add": ["user", "add", "u{n}", "--role", "nurse"],
    "user list": ["user", "list"],
    "user disable": ["user", "disable", "u{n}"],
    "user passwd": ["user", "passwd", "bench.nurse"],
    "user link": ["user", "link", "bench.carer", "P-1", "--injects"],  # again: the link renewed
    "user unlink": ["user", "unlink", "bench.carer", "P-2"],  # after the first: nothing to unlink
    # It serves until stopped: timed up to its refusal of a port out of range, which comes after
    # the web stack is imported (the start a clinician waits for, less opening the record).
    "serve": ["serve", "--port", "65536"],
}  # fmt: skip

#: Run on its own: it makes a whole course (a record, doses, results, a plot).
SLOW = {"example": ["example", "--folder", "{folder}"]}

#: The population audit's door (b12[audit]): it loads Arrow and DuckDB, so it has no start budget;
#: its start is timed beside the others on the same record, into and from ``{folder}/audit``.
AUDIT: dict[str, list[str]] = {
    "export parquet": ["export", "parquet", "{folder}/audit"],
    "audit population": ["audit", "population", "{folder}/audit", "--as-of", "2026-02-01"],
    "audit synth": ["audit", "synth", "--patients", "20", "--out", "{folder}/synth"],
}

#: The FHIR door: a patient's Bundle out, then a result in (each run records one more result).
FHIR: dict[str, list[str]] = {
    "fhir export": ["fhir", "export", "P-1", "--out", "{folder}/p-1.json"],
    "fhir import": ["fhir", "import", "{folder}/observation.json"],
}
OBSERVATION = (
    '{"resourceType": "Observation", "status": "final", "code": {"coding": [{"system": '
    '"http://loinc.org", "code": "718-7"}]}, "subject": {"reference": "Patient/P-1"}, '
    '"effectiveDateTime": "2026-01-10", "valueQuantity": {"value": 11.5, "unit": "g/dL", '
    '"system": "http://unitsofmeasure.org", "code": "g/dL"}}'
)


def _b12(argv: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BIN / "b12"), *argv], capture_output=True, text=True, check=False, env=env
    )


def _record(folder: Path) -> tuple[dict[str, str], dict[str, list[str]]]:
    """A record with patients P-1 (one dose given), P-2, P-3 (a dose a day, to correct) and P-4
    (a dose a day, to mark entered in error), all prescribed; its environment and the doses of
    P-3 ("given") and P-4 ("voided")."""
    import json

    env = {**os.environ, "B12_DATABASE_URL": f"sqlite:///{folder / 'b12.db'}"}
    env.update(B12_TIMEZONE="UTC", B12_USER="bench", B12_PASSWORD="bench-password-2026")
    for argv in (
        ["db", "upgrade"],
        ["patient", "add", "P-1", "--age-years", "62", "--sex", "female", "--at", "2026-01-01"],
        ["patient", "add", "P-2", "--age-years", "50", "--at", "2026-01-01"],
        ["prescribe", "P-1", "--indication", "pernicious-anaemia", "--start", "2026-01-05",
         "--product", PRODUCT, "--at", "2026-01-01"],
        ["prescribe", "P-2", "--indication", "pernicious-anaemia", "--start", "2026-01-05",
         "--product", PRODUCT, "--at", "2026-01-01"],
        ["patient", "add", "P-3", "--age-years", "40", "--at", "2026-01-01"],
        ["prescribe", "P-3", "--indication", "pernicious-anaemia", "--start", "2026-01-05",
         "--product", PRODUCT, "--at", "2026-01-01"],
        ["patient", "add", "P-4", "--age-years", "45", "--at", "2026-01-01"],
        ["prescribe", "P-4", "--indication", "pernicious-anaemia", "--start", "2026-01-05",
         "--product", PRODUCT, "--at", "2026-01-01"],
        ["user", "add", "bench.nurse", "--role", "nurse"],
        ["user", "add", "bench.carer", "--role", "caregiver", "--patient", "P-2"],
    ):  # fmt: skip
        done = _b12(argv, env)
        assert done.returncode == 0, (argv, done.stderr)
    _b12(["give", "P-1", "--lot", "C4471", "--at", "2026-01-05T09:00"], env)
    doses: dict[str, list[str]] = {"given": [], "voided": []}
    for day in range(RUNS + 1):
        at = f"{date(2026, 1, 5) + timedelta(days=day)}T09:00"
        for code, to in (("P-3", "given"), ("P-4", "voided")):
            done = _b12(["give", code, "--lot", "C4471", "--at", at, "--json"], env)
            doses[to].append(json.loads(done.stdout)["administration"]["id"])
    return env, doses


def _timed(
    name: str, argv: Callable[[], list[str]], env: dict[str, str], runs: int
) -> tuple[str, list[float]]:
    import time

    subprocess.run([str(BIN / "b12"), *argv()], capture_output=True, check=False, env=env)
    figures, codes = [], set()
    for _ in range(runs):
        args = [str(BIN / "b12"), *argv()]
        start = time.perf_counter()
        done = subprocess.run(args, capture_output=True, check=False, env=env)
        figures.append(time.perf_counter() - start)
        codes.add(done.returncode)
    return f"{name} (exit {','.join(map(str, sorted(codes)))})", figures


def every_command_cold_start() -> bool:
    """Every command's cold start (median, min, max of fresh processes), with the floors."""
    python = str(BIN / "python")
    report("python -c pass (the bare interpreter)", wall([python, "-c", "pass"], runs=RUNS), None, "ms")  # fmt: skip
    report(
        "python -c 'import sqlalchemy' (the record's floor)",
        wall([python, "-c", "import sqlalchemy"], runs=RUNS),
        None,
        "ms",
    )
    ok = True
    env = {**os.environ, "B12_TIMEZONE": "UTC"}
    for words, argv in KNOWLEDGE.items():
        ok &= report(*_timed(f"b12 {words}", lambda a=argv: a, env, RUNS), KNOWLEDGE_BUDGET, "ms")
    with tempfile.TemporaryDirectory() as tmp:
        record_env, doses = _record(Path(tmp))
        for words, argv in RECORD.items():
            numbers = count(1)

            def filled(a: list[str] = argv, n: count[int] = numbers) -> list[str]:
                i = next(n)
                day = (date(2026, 1, 5) + timedelta(days=i)).isoformat()
                ids = {k: v[(i - 1) % len(v)] for k, v in doses.items()}
                return [x.format(n=i, day=day, **ids) for x in a]

            ok &= report(*_timed(f"b12 {words}", filled, record_env, RUNS), RECORD_BUDGET, "ms")
        for words, argv in AUDIT.items():
            filled_in = [x.format(folder=tmp) for x in argv]
            report(*_timed(f"b12 {words}", lambda a=filled_in: a, record_env, 3), None, "ms")
        (Path(tmp) / "observation.json").write_text(OBSERVATION, encoding="utf-8")
        for words, argv in FHIR.items():
            filled_in = [x.format(folder=tmp) for x in argv]
            ok &= report(
                *_timed(f"b12 {words}", lambda a=filled_in: a, record_env, RUNS),
                RECORD_BUDGET,
                "ms",
            )
        example = [x.format(folder=tmp) for x in SLOW["example"]]
        report(*_timed("b12 example, a whole course", lambda: example, env, 3), None, "ms")
    return ok
