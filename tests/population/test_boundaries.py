"""Each rule on both sides of its boundary, on a one-course record built by hand.

The course is the US label's pernicious anaemia regimen (phases: daily, alternate days, every 3-4
days, monthly for life) with the 1000 mcg/mL cyanocobalamin vial; its monitoring results are there
unless a case takes them away, so a case's findings are the case's own.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

T0 = datetime(2025, 3, 3, 9, 0)  # the course's first dose
SECOND = timedelta(seconds=1)
DAY = timedelta(days=1)
VIAL = "cyanocobalamin-us-1000mcg-ml-1ml-vial"


@dataclass(frozen=True)
class Dose:
    at: datetime
    phase: int = 0
    dose: str = "100"
    volume: str | None = "0.1"
    product: str = VIAL
    route: str = "IM"
    expiry: date | None = None
    bypass: str | None = None


@dataclass(frozen=True)
class Case:
    doses: tuple[Dose, ...]
    expected: frozenset[tuple[str, int]]  # (rule, index of the dose in `doses`)
    results: tuple[tuple[str, datetime], ...] = (
        ("potassium", T0 + 20 * timedelta(hours=1)),
        ("reticulocytes", T0 + 7 * DAY),
    )
    reactions: tuple[tuple[str, datetime], ...] = ()
    as_of: datetime = T0 + 20 * DAY
    extra: dict[str, Any] = field(default_factory=dict)


def _one(rule: str, index: int) -> frozenset[tuple[str, int]]:
    return frozenset({(rule, index)})


NONE: frozenset[tuple[str, int]] = frozenset()
DAILY = Dose(T0)


def _pair(gap: timedelta, phase: int = 0, **kw: Any) -> tuple[Dose, ...]:
    return (Dose(T0, phase=phase, **kw), Dose(T0 + gap, phase=phase, **kw))


CASES: dict[str, Case] = {
    # interval: daily phase, shortest gap 1 day less the 2 h tolerance
    "interval at the minimum": Case(_pair(timedelta(hours=22)), NONE),
    "interval a second short": Case(
        _pair(timedelta(hours=22) - SECOND), _one("INTERVAL_BELOW_MINIMUM", 1)
    ),
    "alternate days at 46 h": Case(_pair(timedelta(hours=46), phase=1), NONE),
    "alternate days a second short": Case(
        _pair(timedelta(hours=46) - SECOND, phase=1), _one("INTERVAL_BELOW_MINIMUM", 1)
    ),
    # maintenance lapse: monthly, longest 31 days x 1.5 = 46.5 days
    "lapse at the limit": Case(_pair(timedelta(days=46.5), phase=3), NONE, as_of=T0 + 47 * DAY),
    "lapse a second over": Case(
        _pair(timedelta(days=46.5) + SECOND, phase=3),
        _one("MAINTENANCE_LAPSED", 0),
        as_of=T0 + 47 * DAY,
    ),
    "last dose lapsed by the end of the audit": Case(
        (Dose(T0, phase=3),),
        _one("MAINTENANCE_LAPSED", 0),
        as_of=T0 + timedelta(days=46.5) + SECOND,
    ),
    "last dose within the limit at the end of the audit": Case(
        (Dose(T0, phase=3),), NONE, as_of=T0 + timedelta(days=46.5)
    ),
    # potassium: from the start of the first dose's day to 48 h after it
    "potassium at 48 h": Case(
        (DAILY,),
        NONE,
        results=(("potassium", T0 + 48 * timedelta(hours=1)), ("reticulocytes", T0 + 7 * DAY)),
    ),
    "potassium a second after 48 h": Case(
        (DAILY,),
        _one("NO_POTASSIUM_48H", 0),
        results=(
            ("potassium", T0 + 48 * timedelta(hours=1) + SECOND),
            ("reticulocytes", T0 + 7 * DAY),
        ),
    ),
    "potassium at the start of the day": Case(
        (DAILY,),
        NONE,
        results=(("potassium", datetime(2025, 3, 3)), ("reticulocytes", T0 + 7 * DAY)),
    ),
    "potassium the day before": Case(
        (DAILY,),
        _one("NO_POTASSIUM_48H", 0),
        results=(("potassium", datetime(2025, 3, 3) - SECOND), ("reticulocytes", T0 + 7 * DAY)),
    ),
    # reticulocytes: days 5 to 10 after the first dose, once day 10 is over
    "reticulocytes on day 5": Case(
        (DAILY,), NONE, results=(("potassium", T0 + DAY), ("reticulocytes", datetime(2025, 3, 8)))
    ),
    "reticulocytes on day 4": Case(
        (DAILY,),
        _one("NO_RETICULOCYTES_DAY_10", 0),
        results=(("potassium", T0 + DAY), ("reticulocytes", datetime(2025, 3, 8) - SECOND)),
    ),
    "reticulocytes at the end of day 10": Case(
        (DAILY,),
        NONE,
        results=(("potassium", T0 + DAY), ("reticulocytes", datetime(2025, 3, 14) - SECOND)),
    ),
    "reticulocytes on day 11": Case(
        (DAILY,),
        _one("NO_RETICULOCYTES_DAY_10", 0),
        results=(("potassium", T0 + DAY), ("reticulocytes", datetime(2025, 3, 14))),
    ),
    "no reticulocytes, day 10 not over": Case(
        (DAILY,), NONE, results=(("potassium", T0 + DAY),), as_of=datetime(2025, 3, 14) - SECOND
    ),
    # dose range: 100, 250-1000 for an adult's pernicious anaemia, IM
    "dose at the top of the range": Case((Dose(T0, dose="1000", volume=None),), NONE),
    "dose just above the range": Case(
        (Dose(T0, dose="1000.000001", volume=None),), _one("DOSE_OUTSIDE_RANGE", 0)
    ),
    "dose just below 100": Case(
        (Dose(T0, dose="99.999999", volume=None),), _one("DOSE_OUTSIDE_RANGE", 0)
    ),
    # unit slip: 10 x the largest trusted injected dose (1000 mcg)
    "slip at the factor": Case((Dose(T0, dose="10000", volume=None),), _one("DOSE_UNIT_SLIP", 0)),
    "just under the slip factor": Case(
        (Dose(T0, dose="9999.999999", volume=None),), _one("DOSE_OUTSIDE_RANGE", 0)
    ),
    # volume x concentration
    "volume matches": Case((Dose(T0, volume="0.1"),), NONE),
    "volume a millionth off": Case((Dose(T0, volume="0.100001"),), _one("VOLUME_DOSE_MISMATCH", 0)),
    # same dose twice in a day
    "same dose twice in a day": Case(
        _pair(timedelta(hours=14, minutes=59)), _one("DUPLICATE_SAME_DAY", 1)
    ),
    "same dose either side of midnight": Case(
        (Dose(datetime(2025, 3, 3, 23, 59, 59)), Dose(datetime(2025, 3, 4))),
        _one("INTERVAL_BELOW_MINIMUM", 1),
        results=(("potassium", T0 + DAY), ("reticulocytes", T0 + 7 * DAY)),
    ),
    # expiry
    "given on the expiry date": Case((Dose(T0, expiry=T0.date()),), NONE),
    "given the day after expiry": Case((Dose(T0, expiry=T0.date() - DAY),), _one("EXPIRED_LOT", 0)),
    # route advised against
    "cyanocobalamin IV": Case((Dose(T0, route="IV"),), _one("ROUTE_ADVISED_AGAINST", 0)),
    "hydroxocobalamin IV": Case(
        (Dose(T0, route="IV", product="hydroxocobalamin-uk-1mg-ml-ampoule"),), NONE
    ),
    # hypersensitivity
    "dose a second after a hypersensitivity": Case(
        _pair(2 * DAY),
        _one("DOSE_AFTER_HYPERSENSITIVITY", 1),
        reactions=(("hypersensitivity", T0 + 2 * DAY - SECOND),),
    ),
    "dose with a bypass after a hypersensitivity": Case(
        (Dose(T0), Dose(T0 + 2 * DAY, bypass="allergist reviewed")),
        NONE,
        reactions=(("hypersensitivity", T0 + DAY),),
    ),
    "dose after another reaction": Case(_pair(2 * DAY), NONE, reactions=(("other", T0 + DAY),)),
    "hypersensitivity after the last dose": Case(
        _pair(2 * DAY), NONE, reactions=(("hypersensitivity", T0 + 2 * DAY + SECOND),)
    ),
}


def write_case(folder: Path, case: Case) -> list[str]:
    from b12.adapters.population.layout import TABLES, Keys
    from b12.adapters.population.parquet import write_table

    ids = [f"a{i}" for i in range(len(case.doses))]
    rows: dict[str, list[dict[str, Any]]] = {
        "patients": [{"patient_id": "p1", "birth_date": date(1960, 5, 17)}],
        "prescriptions": [
            {
                "prescription_id": "rx1",
                "patient_id": "p1",
                "regimen_id": "us-label-pernicious-anaemia",
                "indication_id": "pernicious-anaemia",
                "product_id": VIAL,
                "start_date": T0.date(),
                "end_date": None,
            }
        ],
        "planned_doses": [
            {
                "prescription_id": "rx1",
                "planned_number": i + 1,
                "phase": d.phase,
                "due_date": d.at.date(),
            }
            for i, d in enumerate(case.doses)
        ],
        "administrations": [
            {
                "administration_id": ids[i],
                "patient_id": "p1",
                "prescription_id": "rx1",
                "planned_number": i + 1,
                "phase": d.phase,
                "given_at": d.at,
                "dose_mcg": Decimal(d.dose),
                "volume_ml": None if d.volume is None else Decimal(d.volume),
                "product_id": d.product,
                "route": d.route,
                "lot": "L1",
                "expiry": d.expiry,
                "ward": "<b>Ward 4</b>",
                "bypass_reason": d.bypass,
            }
            for i, d in enumerate(case.doses)
        ],
        "results": [
            {"result_id": f"r{i}", "patient_id": "p1", "analyte": a, "taken_at": at, "value": 1.0}
            for i, (a, at) in enumerate(case.results)
        ],
        "reactions": [
            {"reaction_id": f"x{i}", "patient_id": "p1", "recorded_at": at, "kind": kind}
            for i, (kind, at) in enumerate(case.reactions)
        ],
    }
    keys = Keys()
    for name, schema in TABLES.items():
        keyed = [keys.fill(name, row) for row in rows[name]]
        write_table(pa.Table.from_pylist(keyed, schema=schema), folder / name, name)
    return ids


@pytest.mark.parametrize("name", sorted(CASES))
def test_each_rule_on_both_sides_of_its_boundary(name: str, tmp_path: Path, kb: Any) -> None:
    from b12.adapters.population.audit import run

    case = CASES[name]
    ids = write_case(tmp_path, case)
    result = run(kb, tmp_path, as_of=case.as_of)
    found = set(
        zip(
            result.findings["rule"].to_pylist(),
            result.findings["administration_id"].to_pylist(),
            strict=True,
        )
    )
    assert found == {(rule, ids[i]) for rule, i in case.expected}


def test_the_cases_cover_every_rule_of_the_knowledge(kb: Any) -> None:
    codes = {r.code for r in kb.all("audit-rules").values()}
    assert {rule for c in CASES.values() for rule, _ in c.expected} == codes


def test_a_case_without_its_monitoring_results_finds_both(tmp_path: Path, kb: Any) -> None:
    from b12.adapters.population.audit import run

    ids = write_case(tmp_path, replace(CASES["volume matches"], results=()))
    result = run(kb, tmp_path, as_of=T0 + 20 * DAY)
    assert set(result.counts) == {"NO_POTASSIUM_48H", "NO_RETICULOCYTES_DAY_10"}
    assert set(result.findings["administration_id"].to_pylist()) == {ids[0]}
