"""Screening benchmarks: the false-alarm count over ordinary adults, and one screening's time."""

from __future__ import annotations

from itertools import cycle
from pathlib import Path
from typing import Any

import yaml
from tests.profiles import patient_of

from bench.run import per_call, report

PROFILES = Path(__file__).resolve().parent.parent / "tests" / "golden" / "ordinary_profiles.yaml"


def screening_false_alarms() -> bool:
    """Warnings raised over ordinary adult profiles with common conditions and medicines (aim: 0)."""
    from b12 import load_knowledge
    from b12.domain.findings import Level
    from b12.services.screening import screen_patient

    kb = load_knowledge()
    profiles: list[dict[str, Any]] = yaml.safe_load(PROFILES.read_text(encoding="utf-8"))[
        "profiles"
    ]
    patients = [patient_of(p) for p in profiles]
    product = "cyanocobalamin-us-1000mcg-ml-1ml-vial"
    results = [screen_patient(kb, p, product=product) for p in patients]
    warnings = sum(1 for r in results for f in r.findings if f.level is not Level.INFO)
    infos = sum(1 for r in results for f in r.findings if f.level is Level.INFO)
    flagged = sum(1 for r in results if any(f.level is not Level.INFO for f in r.findings))
    older = sum(1 for p in profiles if p["age_years"] >= 65 and p.get("conditions"))
    print(
        f"screening false alarms: {warnings} warnings/stops over {len(patients)} ordinary adult "
        f"profiles, {older} of them aged 65-90 with common conditions ({flagged} profiles "
        f"flagged; {infos} information findings)"
    )
    queue = cycle(patients)
    ok = report(
        "one patient screening in process",
        per_call(lambda: screen_patient(kb, next(queue), product=product)),
        None,
        "us",
    )
    return ok and warnings == 0
