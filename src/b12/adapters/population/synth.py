"""A synthetic population in the audit's layout, with a seeded, known set of injected errors.

Courses follow the knowledge's regimens (their phases, doses and rhythms), products and monitoring;
patients have ages, wards, late doses and missed doses in the early phases, laboratory follow-up,
and a few reactions (some hypersensitivity, every later dose then carrying a bypass). Every clean
row is within every rule. Then, on patients set apart, one error each of every rule's kind, and the
finding each must produce is written to ``truth.parquet`` (rule, administration), so precision and
recall are measured, not assumed.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa

from b12.adapters.population.layout import TABLES, Keys
from b12.adapters.population.parquet import LOCAL, write_table
from b12.knowledge.base import Knowledge
from b12.services.audit_thresholds import AuditThresholds, audit_thresholds

#: The courses the population is drawn from: regimen, product, route, age group, weight.
COURSES: tuple[tuple[str, str, str, str, int], ...] = (
    ("us-label-pernicious-anaemia", "cyanocobalamin-us-1000mcg-ml-1ml-vial", "IM", "adult", 4),
    ("uk-smpc-hydroxocobalamin-anaemia", "hydroxocobalamin-uk-1mg-ml-ampoule", "IM", "adult", 3),
    ("nhs-scotland-anaemia-without-neuro", "hydroxocobalamin-uk-1mg-ml-ampoule", "IM", "adult", 3),
    ("nhs-scotland-anaemia-with-neuro", "hydroxocobalamin-uk-1mg-ml-ampoule", "IM", "adult", 2),
    ("nhs-scotland-prophylaxis", "hydroxocobalamin-uk-1mg-ml-ampoule", "IM", "adult", 2),
    (
        "us-hydroxocobalamin-deficiency",
        "hydroxocobalamin-us-1000mcg-ml-30ml-vial",
        "IM",
        "adult",
        2,
    ),
    ("us-paediatric-pernicious-anaemia", "cyanocobalamin-us-1000mcg-ml-1ml-vial", "IM", "child", 1),
)
WARDS = tuple(
    f"{site} / {ward}"
    for site in ("North General", "Riverside", "St Anne's")
    for ward in ("Haematology clinic", "Ward 4", "Community nursing", "Day unit")
)
RULES = (
    "DOSE_OUTSIDE_RANGE",
    "INTERVAL_BELOW_MINIMUM",
    "DOSE_UNIT_SLIP",
    "VOLUME_DOSE_MISMATCH",
    "DUPLICATE_SAME_DAY",
    "EXPIRED_LOT",
    "ROUTE_ADVISED_AGAINST",
    "NO_POTASSIUM_48H",
    "NO_RETICULOCYTES_DAY_10",
    "MAINTENANCE_LAPSED",
    "DOSE_AFTER_HYPERSENSITIVITY",
)
UNDEFINED_COUNT = 6  # doses of a phase that ends "until ..." with no count, before the next one
TRUTH = pa.schema(
    [("rule", pa.string()), ("administration_id", pa.string()), ("patient_id", pa.string())]
)


@dataclass
class Dose:
    number: int
    phase: int
    due: date
    at: datetime | None  # None: missed
    dose: Decimal
    maintained: bool
    min_days: Decimal | None
    longest_days: Decimal | None


@dataclass
class Synthesis:
    patients: int
    administrations: int
    injected: dict[str, int] = field(default_factory=dict)


@dataclass
class _Rows:
    tables: dict[str, dict[str, list[Any]]] = field(
        default_factory=lambda: {n: {f.name: [] for f in s} for n, s in TABLES.items()}
    )
    truth: list[dict[str, str]] = field(default_factory=list)
    keys: Keys = field(default_factory=Keys)

    def add(self, table: str, **row: Any) -> None:
        self.keys.fill(table, row)
        columns = self.tables[table]
        for name, values in columns.items():
            values.append(row.get(name))


class _Population:
    def __init__(self, kb: Knowledge, seed: int, as_of: datetime) -> None:
        self.kb = kb
        self.t: AuditThresholds = audit_thresholds(kb)
        self.rng = random.Random(seed)
        self.as_of = as_of
        self.start = as_of - timedelta(days=730)
        self.rows = _Rows()
        self.phases = {(p.regimen, p.phase): p for p in self.t.phases}
        self.products = {p.product: p for p in self.t.products}

    # --- a course as planned and given -------------------------------------------------------

    def gaps(self, regimen: str, index: int) -> Iterator[int]:
        phase = self.kb.regimens[regimen].phases[index]
        rng = self.rng
        if phase.every_days is not None:
            lo, hi = int(phase.every_days.min), int(phase.every_days.max)
            while True:
                yield rng.randint(lo, hi)
        if phase.per_week is not None:
            n = int(phase.per_week.max)
            pattern = {1: [7], 2: [3, 4], 3: [2, 2, 3]}.get(n, [max(1, 7 // n)])
            while True:
                yield from pattern
        while True:  # per_month: calendar months are 28-31 days apart
            yield rng.randint(28, 31)

    def doses_in(self, regimen: str, index: int, dose: Decimal, last: bool) -> int | None:
        phase = self.kb.regimens[regimen].phases[index]
        if phase.doses is not None:
            return int(phase.doses.max)
        if phase.total_mcg is not None:
            return math.ceil(phase.total_mcg.max / dose)
        if phase.duration_days is not None:
            mean = float(self.phases[regimen, index].min_interval_days or 1)
            return max(1, math.ceil(float(phase.duration_days.max) / mean))
        return None if last else UNDEFINED_COUNT

    def course(self, regimen: str, start: datetime, lateness: bool) -> list[Dose]:
        phases = self.kb.regimens[regimen].phases
        out: list[Dose] = []
        day = start.date()
        number = 0
        for index, phase in enumerate(phases):
            dose = (phase.dose_to_mcg or phase.dose_mcg).max
            rhythm = self.phases[regimen, index]
            count = self.doses_in(regimen, index, dose, index == len(phases) - 1)
            gaps = self.gaps(regimen, index)
            given = 0
            while count is None or given < count:
                if number > 0:
                    day = day + timedelta(days=next(gaps))
                    if lateness and self.rng.random() < 0.04:
                        day += timedelta(days=self.rng.randint(1, 5 if rhythm.maintained else 3))
                at = datetime.combine(day, datetime.min.time()) + timedelta(
                    hours=9, seconds=self.rng.randrange(3600)
                )
                if at >= self.as_of:
                    return out
                number += 1
                given += 1
                missed = (
                    lateness and number > 1 and not rhythm.maintained and self.rng.random() < 0.03
                )
                out.append(
                    Dose(
                        number,
                        index,
                        day,
                        None if missed else at,
                        dose,
                        rhythm.maintained,
                        rhythm.min_interval_days,
                        rhythm.longest_interval_days,
                    )
                )
        return out

    # --- one patient -------------------------------------------------------------------------

    def patient(self, n: int, error: str | None) -> None:
        rng = self.rng
        courses = [c for c in COURSES if _suits(c, error, self.t)]
        regimen, product, route, group, _ = rng.choices(courses, weights=[c[4] for c in courses])[0]
        pid, rx = f"p{n:07d}", f"rx{n:07d}"
        latest = self.as_of - timedelta(days=430 if error == "MAINTENANCE_LAPSED" else 90)
        start = self.start + timedelta(
            seconds=rng.randrange(int((latest - self.start).total_seconds()))
        )
        years = rng.randint(2, 15) if group == "child" else rng.randint(18, 90)
        birth = start.date() - timedelta(days=int(years * 365.25) + rng.randint(1, 300))
        known_birth = group == "child" or rng.random() > 0.02
        indication = self.kb.regimens[regimen].indication
        ward = rng.choice(WARDS)
        facts = self.products[product]
        doses = self.course(regimen, start, lateness=error is None)
        given = [d for d in doses if d.at is not None]
        if len(given) < 3:
            return self.patient(n, error)
        self.rows.add("patients", patient_id=pid, birth_date=birth if known_birth else None)
        self.rows.add(
            "prescriptions",
            prescription_id=rx,
            patient_id=pid,
            regimen_id=regimen,
            indication_id=indication,
            product_id=product,
            start_date=start.date(),
            end_date=None,
        )
        for d in doses:
            self.rows.add(
                "planned_doses",
                prescription_id=rx,
                planned_number=d.number,
                phase=d.phase,
                due_date=d.due,
            )
        admins = []
        for d in given:
            assert d.at is not None and facts.amount_mcg is not None and facts.per_ml is not None
            admins.append(
                {
                    "administration_id": f"{pid}-{d.number:03d}",
                    "patient_id": pid,
                    "prescription_id": rx,
                    "planned_number": d.number,
                    "phase": d.phase,
                    "given_at": d.at,
                    "dose_mcg": d.dose,
                    "volume_ml": d.dose * facts.per_ml / facts.amount_mcg,
                    "product_id": product,
                    "route": route,
                    "lot": f"L{rng.randrange(10**6):06d}",
                    "expiry": d.at.date() + timedelta(days=rng.randint(120, 720)),
                    "ward": ward if rng.random() > 0.1 else rng.choice(WARDS),
                    "bypass_reason": None,
                    "_dose": d,
                }
            )
        first = given[0].at
        assert first is not None
        results = []
        if indication in self.t.potassium_indications:
            results.append(("potassium", first + timedelta(hours=rng.randint(6, 30)), 4.1))
        if indication in self.t.reticulocytes_indications:
            day = rng.randint(self.t.reticulocytes_from_day, self.t.reticulocytes_to_day)
            taken = datetime.combine(first.date() + timedelta(days=day), datetime.min.time())
            results.append(("reticulocytes", taken + timedelta(hours=rng.randint(7, 17)), 3.5))
        results.append(("b12", first - timedelta(days=rng.randint(1, 20)), 110.0))
        reactions: list[tuple[datetime, str]] = []
        if error is None and rng.random() < 0.01:
            reactions.append((first + timedelta(days=2), "other"))
        if error is None and rng.random() < 0.005:
            reacted = given[1].at
            assert reacted is not None
            reactions.append((reacted + timedelta(hours=2), "hypersensitivity"))
            for a in admins[2:]:
                a["bypass_reason"] = "allergist reviewed: premedicated, observed 30 minutes"
        if error is not None:
            self.inject(error, pid, admins, results, reactions)
        for a in admins:
            a.pop("_dose")
            self.rows.add("administrations", **a)
        for i, (analyte, at, value) in enumerate(results):
            self.rows.add(
                "results",
                result_id=f"{pid}-r{i}",
                patient_id=pid,
                analyte=analyte,
                taken_at=at,
                value=value,
            )
        for i, (at, kind) in enumerate(reactions):
            self.rows.add(
                "reactions", reaction_id=f"{pid}-x{i}", patient_id=pid, recorded_at=at, kind=kind
            )
        return None

    # --- the injected errors -----------------------------------------------------------------

    def inject(
        self,
        error: str,
        pid: str,
        admins: list[dict[str, Any]],
        results: list[tuple[str, datetime, float]],
        reactions: list[tuple[datetime, str]],
    ) -> None:
        rng = self.rng
        found = admins[0]
        if error == "DOSE_OUTSIDE_RANGE":
            found = rng.choice(admins)
            top = self._top(found)
            found["dose_mcg"] = top * 3
            found["volume_ml"] = found["volume_ml"] * found["dose_mcg"] / found["_dose"].dose
        elif error == "INTERVAL_BELOW_MINIMUM":
            picks = [i for i in range(1, len(admins)) if not admins[i]["_dose"].maintained]
            i = rng.choice(picks)
            found = admins[i]
            found["given_at"] = admins[i - 1]["given_at"] + timedelta(hours=16)
        elif error == "DOSE_UNIT_SLIP":
            found = rng.choice(admins)
            found["dose_mcg"] = found["dose_mcg"] * 1000
        elif error == "VOLUME_DOSE_MISMATCH":
            found = rng.choice(admins)
            found["volume_ml"] = found["volume_ml"] * 2
        elif error == "DUPLICATE_SAME_DAY":
            twin = rng.choice(admins)
            found = {**twin, "administration_id": twin["administration_id"] + "-again"}
            found["given_at"] = twin["given_at"] + timedelta(minutes=20)
            admins.append(found)
        elif error == "EXPIRED_LOT":
            found = rng.choice(admins)
            found["expiry"] = found["given_at"].date() - timedelta(days=rng.randint(1, 60))
        elif error == "ROUTE_ADVISED_AGAINST":
            found = rng.choice(admins)
            found["route"] = "IV"
        elif error == "NO_POTASSIUM_48H":
            results[:] = [r for r in results if r[0] != "potassium"]
        elif error == "NO_RETICULOCYTES_DAY_10":
            results[:] = [r for r in results if r[0] != "reticulocytes"]
        elif error == "MAINTENANCE_LAPSED":
            picks = [
                i
                for i in range(1, len(admins) - 1)
                if admins[i]["_dose"].maintained and admins[i - 1]["_dose"].maintained
            ]
            i = rng.choice(picks)
            found = admins[i - 1]
            longest = found["_dose"].longest_days
            limit = timedelta(days=float(longest * self.t.lapse_factor))
            while i < len(admins) and admins[i]["given_at"] - found["given_at"] <= limit:
                del admins[i]  # missed until the gap is a lapse (a gap to the audit's end counts)
        elif error == "DOSE_AFTER_HYPERSENSITIVITY":
            found = admins[-1]
            before = admins[-2]["given_at"]
            reactions.append((before + (found["given_at"] - before) / 2, "hypersensitivity"))
        self.rows.truth.append(
            {"rule": error, "administration_id": found["administration_id"], "patient_id": pid}
        )

    def _top(self, admin: dict[str, Any]) -> Decimal:
        rx = self.rows.tables["prescriptions"]
        indication = rx["indication_id"][-1]
        group = (
            "child"
            if self.rows.tables["prescriptions"]["regimen_id"][-1].startswith("us-paediatric")
            else "adult"
        )
        if self.rows.tables["patients"]["birth_date"][-1] is None:
            group = "unknown"
        return max(
            hi
            for r in self.t.ranges
            if (r.indication, r.route, r.age_group) == (indication, admin["route"], group)
            for _, hi in r.ranges
        )


def _suits(course: tuple[str, str, str, str, int], error: str | None, t: AuditThresholds) -> bool:
    regimen, product, _, _, _ = course
    if error in ("NO_POTASSIUM_48H", "NO_RETICULOCYTES_DAY_10"):
        return regimen not in ("nhs-scotland-prophylaxis", "us-hydroxocobalamin-deficiency")
    if error == "ROUTE_ADVISED_AGAINST":
        return any(p.product == product and "IV" in p.avoid_routes for p in t.products)
    if error == "INTERVAL_BELOW_MINIMUM":
        return regimen != "nhs-scotland-prophylaxis"
    return True


def synthesize(
    kb: Knowledge,
    out: Path,
    patients: int,
    seed: int = 0,
    errors_per_rule: int | None = None,
    as_of: datetime = datetime(2026, 1, 1),
    progress: Callable[[int], None] | None = None,
) -> Synthesis:
    """Write ``patients`` patients' records to ``out`` in the layout, with ``errors_per_rule``
    injected errors of each rule's kind (default: one per 200 patients, at least one), and the
    findings they must give in ``out/truth.parquet``. ``progress`` hears of every 1,000 patients."""
    per_rule = errors_per_rule if errors_per_rule is not None else max(1, patients // 200)
    if patients < per_rule * len(RULES):
        from b12.errors import InputError

        raise InputError(
            f"{patients} patients cannot carry {per_rule} errors of each of {len(RULES)} rules, "
            f"one patient each; ask for at least {per_rule * len(RULES)} patients",
            field="patients",
        )
    population = _Population(kb, seed, as_of)
    chosen = population.rng.sample(range(patients), per_rule * len(RULES))
    errors = {n: RULES[i % len(RULES)] for i, n in enumerate(chosen)}
    for n in range(patients):
        population.patient(n, errors.get(n))
        if progress is not None and (n + 1) % 1000 == 0:
            progress(1000)
    rows = population.rows
    for name, schema in TABLES.items():
        write_table(pa.Table.from_pydict(rows.tables[name], schema=schema), out / name, name)
    truth = pa.Table.from_pylist(rows.truth, schema=TRUTH)
    import pyarrow.parquet as pq

    pq.write_table(truth, str((out / "truth.parquet").absolute()), filesystem=LOCAL)
    from b12.adapters.population.audit import write_meta

    write_meta(out, as_of)
    injected: dict[str, int] = {}
    for row in rows.truth:
        injected[row["rule"]] = injected.get(row["rule"], 0) + 1
    return Synthesis(patients, len(rows.tables["administrations"]["administration_id"]), injected)
