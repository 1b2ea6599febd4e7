"""`make bench`: the population audit on 10 M administrations, beside its two baselines.

* the Ibis rules on DuckDB over the cached 10 M Parquet folder (budget: < 2 s on 2 cores);
* the same eleven rules as one hand-written DuckDB SQL query over the same files (within 2x);
* the same rules as a per-row Python loop over a 100 k sample, scaled up to 10 M (>= 100x);
* the Ibis rules on Spark local[2] over the 1 M base (printed; not budgeted).

Run alone: ``python bench/population.py [--no-spark]``.
"""

from __future__ import annotations

import bisect
import os
import statistics
import sys
import time
from collections import defaultdict
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DAY, HOUR = 86_400, 3_600


def _thresholds() -> Any:
    from b12.knowledge import load_knowledge
    from b12.services.audit_thresholds import audit_thresholds

    return audit_thresholds(load_knowledge())


def ibis_duckdb(folder: Path, runs: int = 2) -> tuple[list[float], list[float], int, int]:
    """Wall and CPU seconds of each run (the machine is shared: CPU time is the steadier)."""
    from b12.adapters.population.audit import run
    from b12.knowledge import load_knowledge

    kb = load_knowledge()
    figures, cpu, found, rows = [], [], 0, 0
    for _ in range(runs):
        result = run(kb, folder)
        figures.append(result.seconds)
        cpu.append(result.cpu_seconds)
        found, rows = result.findings.num_rows, result.administrations
    return figures, cpu, found, rows


def _params(con: Any, t: Any) -> None:
    import pyarrow as pa

    width = max(len(r.ranges) for r in t.ranges)
    ranges = [
        {
            "indication": r.indication,
            "route": r.route,
            "age_group": r.age_group,
            **{
                f"lo{i}": float(r.ranges[i][0]) if i < len(r.ranges) else -1.0 for i in range(width)
            },
            **{
                f"hi{i}": float(r.ranges[i][1]) if i < len(r.ranges) else -1.0 for i in range(width)
            },
        }
        for r in t.ranges
    ]
    con.register("p_ranges", pa.Table.from_pylist(ranges))
    con.register(
        "p_phases",
        pa.Table.from_pylist(
            [
                {
                    "regimen": p.regimen,
                    "phase": p.phase,
                    "min_days": None if p.min_interval_days is None else float(p.min_interval_days),
                    "longest_days": None
                    if p.longest_interval_days is None
                    else float(p.longest_interval_days),
                    "maintained": p.maintained,
                }
                for p in t.phases
            ]
        ),
    )
    con.register(
        "p_products",
        pa.Table.from_pylist(
            [
                {"product": p.product, "amount": float(p.amount_mcg), "per_ml": float(p.per_ml)}
                for p in t.products
                if p.amount_mcg is not None and p.per_ml is not None
            ]
        ),
    )
    con.register(
        "p_avoid",
        pa.Table.from_pylist(
            [{"product": p.product, "route": r} for p in t.products for r in p.avoid_routes]
        ),
    )
    return None


def hand_sql(folder: Path, t: Any, as_of: datetime) -> str:
    """The eleven rules written by hand in DuckDB SQL (the same thresholds, the same semantics,
    the same integer keys, the findings named by their ids as the Ibis rules name them)."""
    width = max(len(r.ranges) for r in t.ranges)
    inside = " OR ".join(f"(e.dose_mcg BETWEEN r.lo{i} AND r.hi{i})" for i in range(width))
    top = float(t.largest_injected_dose_mcg)
    slip = f"(e.dose_mcg >= {float(t.slip_factor) * top} AND e.dose_mcg / 1000 BETWEEN 1 AND {top})"
    end = int(as_of.timestamp())
    tol = float(t.interval_tolerance_hours) * HOUR
    k_ind = ", ".join(f"'{i}'" for i in t.potassium_indications)
    r_ind = ", ".join(f"'{i}'" for i in t.reticulocytes_indications)
    src = lambda name: f"read_parquet('{folder}/{name}/**/*.parquet', hive_partitioning=false)"  # noqa: E731
    return f"""
WITH a AS (
  SELECT administration_key, patient_key, prescription_key, phase, given_at, dose_mcg,
         volume_ml, product_id, route, expiry, bypass_reason IS NULL AS unbypassed,
         epoch(date_trunc('second', given_at))::BIGINT AS t_s, dose_mcg::DOUBLE AS d
  FROM {src("administrations")}
), e AS (
  SELECT a.*, rx.regimen_id, rx.indication_id, rx.end_date, p.birth_date,
         f.min_days, f.longest_days, f.maintained, a.t_s - a.t_s % {DAY} AS day_s, a.d AS dose,
         CASE WHEN p.birth_date IS NULL THEN 'unknown'
              WHEN m.months < 12 THEN 'infant' WHEN m.months < 216 THEN 'child' ELSE 'adult' END AS age_group
  FROM a
  LEFT JOIN {src("prescriptions")} rx USING (prescription_key)
  LEFT JOIN {src("patients")} p ON p.patient_key = a.patient_key
  LEFT JOIN p_phases f ON f.regimen = rx.regimen_id AND f.phase = a.phase,
  LATERAL (SELECT (year(a.given_at) - year(p.birth_date)) * 12 + month(a.given_at) - month(p.birth_date)
                  - (day(a.given_at) < day(p.birth_date))::INT AS months) m
), c AS (
  SELECT administration_key, patient_key, indication_id, end_date, t_s, day_s, dose_mcg, min_days,
    longest_days, maintained,
    lag(t_s) OVER w AS prev_s, lag(day_s) OVER w AS prev_day, lag(dose_mcg) OVER w AS prev_dose,
    lag(min_days) OVER w AS prev_min, lead(t_s) OVER w AS next_s, row_number() OVER w AS rank
  FROM e WINDOW w AS (PARTITION BY prescription_key ORDER BY t_s, administration_key)
), firsts AS (SELECT * FROM c WHERE rank = 1),
res AS (SELECT patient_key, analyte, epoch(date_trunc('second', taken_at))::BIGINT AS r_s FROM {src("results")}),
hyper AS (SELECT patient_key, min(epoch(date_trunc('second', recorded_at))::BIGINT) AS h_s FROM {src("reactions")} WHERE kind = 'hypersensitivity' GROUP BY 1),
found AS (
SELECT 'DOSE_OUTSIDE_RANGE' AS rule, administration_key FROM e JOIN p_ranges r
  ON r.indication = e.indication_id AND r.route = e.route AND r.age_group = e.age_group
  WHERE NOT ({inside}) AND NOT {slip.replace("e.dose_mcg", "e.dose")}
UNION ALL SELECT 'INTERVAL_BELOW_MINIMUM', administration_key FROM c
  WHERE prev_s IS NOT NULL AND least(coalesce(min_days, prev_min), coalesce(prev_min, min_days)) IS NOT NULL
  AND t_s - prev_s < least(coalesce(min_days, prev_min), coalesce(prev_min, min_days)) * {DAY} - {tol}
  AND NOT (prev_day = day_s AND prev_dose = dose_mcg)
UNION ALL SELECT 'DOSE_UNIT_SLIP', administration_key FROM e WHERE {slip.replace("e.dose_mcg", "dose")}
UNION ALL SELECT 'VOLUME_DOSE_MISMATCH', administration_key FROM e JOIN p_products c ON c.product = e.product_id
  WHERE e.volume_ml IS NOT NULL AND e.volume_ml * c.amount::DECIMAL(18,6) <> e.dose_mcg * c.per_ml::DECIMAL(18,6)
  AND NOT {slip.replace("e.dose_mcg", "e.dose")}
UNION ALL SELECT 'DUPLICATE_SAME_DAY', administration_key FROM (
  SELECT administration_key, row_number() OVER (PARTITION BY patient_key, day_s, dose_mcg ORDER BY t_s, administration_key) AS n FROM e) WHERE n > 1
UNION ALL SELECT 'EXPIRED_LOT', administration_key FROM e WHERE expiry IS NOT NULL AND given_at::DATE > expiry
UNION ALL SELECT 'ROUTE_ADVISED_AGAINST', administration_key FROM e JOIN p_avoid v ON v.product = e.product_id AND v.route = e.route
UNION ALL SELECT 'NO_POTASSIUM_48H', administration_key FROM firsts f WHERE indication_id IN ({k_ind})
  AND NOT EXISTS (SELECT 1 FROM res WHERE res.patient_key = f.patient_key AND res.analyte = 'potassium'
                  AND res.r_s >= f.day_s AND res.r_s <= f.t_s + {float(t.potassium_hours) * HOUR})
UNION ALL SELECT 'NO_RETICULOCYTES_DAY_10', administration_key FROM firsts f WHERE indication_id IN ({r_ind})
  AND f.day_s + {(t.reticulocytes_to_day + 1) * DAY} <= {end}
  AND NOT EXISTS (SELECT 1 FROM res WHERE res.patient_key = f.patient_key AND res.analyte = 'reticulocytes'
                  AND res.r_s >= f.day_s + {t.reticulocytes_from_day * DAY} AND res.r_s < f.day_s + {(t.reticulocytes_to_day + 1) * DAY})
UNION ALL SELECT 'MAINTENANCE_LAPSED', administration_key FROM c WHERE coalesce(maintained, false)
  AND coalesce(next_s, CASE WHEN end_date IS NOT NULL AND epoch(end_date::TIMESTAMP) + {DAY} < {end}
                            THEN epoch(end_date::TIMESTAMP)::BIGINT + {DAY} ELSE {end} END) - t_s > longest_days * {float(t.lapse_factor)} * {DAY}
UNION ALL SELECT 'DOSE_AFTER_HYPERSENSITIVITY', administration_key FROM e JOIN hyper h USING (patient_key)
  WHERE e.t_s > h.h_s AND e.unbypassed
)
SELECT found.rule, n.administration_id, n.patient_id, n.prescription_id, n.ward, n.given_at AS at
FROM found JOIN {src("administrations")} n USING (administration_key)
"""


def duckdb_sql(
    folder: Path, t: Any, as_of: datetime, runs: int = 2
) -> tuple[list[float], list[float], int]:
    import duckdb

    figures, cpu, found = [], [], 0
    for _ in range(runs):
        con = duckdb.connect()
        con.execute("SET preserve_insertion_order = false")  # as the audit's own connection
        _params(con, t)
        start, used = time.perf_counter(), time.process_time()
        found = con.sql(hand_sql(folder, t, as_of)).arrow().read_all().num_rows
        figures.append(time.perf_counter() - start)
        cpu.append(time.process_time() - used)
        con.close()
    return figures, cpu, found


def python_loop(folder: Path, t: Any, as_of: datetime) -> tuple[float, float, int, int]:
    """The rules row by row in plain Python over the sample; seconds of the loop alone."""
    from bench.population_data import read

    tables = {
        n: read(folder, n).to_pylist()
        for n in ("patients", "prescriptions", "administrations", "results", "reactions")
    }
    start, used = time.perf_counter(), time.process_time()
    found = _loop(tables, t, as_of)
    wall, cpu = time.perf_counter() - start, time.process_time() - used
    return wall, cpu, found, len(tables["administrations"])


def _loop(tables: dict[str, list[dict[str, Any]]], t: Any, as_of: datetime) -> int:
    rx = {r["prescription_id"]: r for r in tables["prescriptions"]}
    birth = {p["patient_id"]: p["birth_date"] for p in tables["patients"]}
    phases = {(p.regimen, p.phase): p for p in t.phases}
    ranges = {(r.indication, r.route, r.age_group): r.ranges for r in t.ranges}
    products = {p.product: p for p in t.products}
    hyper: dict[str, datetime] = {}
    for x in tables["reactions"]:
        if x["kind"] == "hypersensitivity":
            hyper[x["patient_id"]] = min(
                hyper.get(x["patient_id"], x["recorded_at"]), x["recorded_at"]
            )
    results: dict[tuple[str, str], list[float]] = defaultdict(list)
    for r in tables["results"]:
        results[r["patient_id"], r["analyte"]].append(r["taken_at"].timestamp())
    for times in results.values():
        times.sort()
    top = t.largest_injected_dose_mcg
    tol = float(t.interval_tolerance_hours) * HOUR
    end = as_of.timestamp()
    found = 0
    courses: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for a in tables["administrations"]:
        courses[a["prescription_id"]].append(a)
    seen: dict[tuple[str, float, Decimal], int] = defaultdict(int)

    def any_in(times: list[float], lo: float, hi: float) -> bool:
        i = bisect.bisect_left(times, lo)
        return i < len(times) and times[i] <= hi

    for rx_id, course in courses.items():
        course.sort(key=lambda a: (a["given_at"], a["administration_id"]))
        p = rx[rx_id]
        prev: dict[str, Any] | None = None
        prev_rhythm = None
        for rank, a in enumerate(course):
            given = a["given_at"]
            t_s = given.timestamp()
            day_s = t_s - t_s % DAY
            dose = a["dose_mcg"]
            rhythm = phases.get((p["regimen_id"], a["phase"]))
            b = birth.get(a["patient_id"])
            if b is None:
                group = "unknown"
            else:
                months = (given.year - b.year) * 12 + given.month - b.month - (given.day < b.day)
                group = "infant" if months < 12 else "child" if months < 216 else "adult"
            is_slip = dose >= t.slip_factor * top and 1 <= dose / 1000 <= top
            found += is_slip
            key = (p["indication_id"], a["route"], group)
            if (
                key in ranges
                and not is_slip
                and not any(lo <= dose <= hi for lo, hi in ranges[key])
            ):
                found += 1
            mins = [
                r.min_interval_days
                for r in (rhythm, prev_rhythm)
                if r is not None and r.min_interval_days is not None
            ]
            if prev is not None and mins:
                same = prev["day_s"] == day_s and prev["dose_mcg"] == dose
                if t_s - prev["t_s"] < float(min(mins)) * DAY - tol and not same:
                    found += 1
            facts = products.get(a["product_id"])
            if facts is not None:
                if a["volume_ml"] is not None and facts.amount_mcg is not None and not is_slip:
                    found += a["volume_ml"] * facts.amount_mcg != dose * facts.per_ml
                found += a["route"] in facts.avoid_routes
            seen[a["patient_id"], day_s, dose] += 1
            found += seen[a["patient_id"], day_s, dose] > 1
            found += a["expiry"] is not None and given.date() > a["expiry"]
            h = hyper.get(a["patient_id"])
            found += h is not None and given > h and a["bypass_reason"] is None
            if rhythm is not None and rhythm.maintained:
                after = course[rank + 1]["given_at"].timestamp() if rank + 1 < len(course) else end
                found += after - t_s > float(rhythm.longest_interval_days * t.lapse_factor) * DAY
            if rank == 0:
                pid = a["patient_id"]
                if p["indication_id"] in t.potassium_indications:
                    found += not any_in(
                        results[pid, "potassium"], day_s, t_s + float(t.potassium_hours) * HOUR
                    )
                due = day_s + (t.reticulocytes_to_day + 1) * DAY
                if p["indication_id"] in t.reticulocytes_indications and due <= end:
                    lo = day_s + t.reticulocytes_from_day * DAY
                    found += not any_in(results[pid, "reticulocytes"], lo, due - 1)
            a["t_s"], a["day_s"] = t_s, day_s
            prev, prev_rhythm = a, rhythm
    return found


def spark(folder: Path) -> tuple[float, float, int]:
    from b12.adapters.population.audit import run
    from b12.adapters.population.engines import spark_session
    from b12.knowledge import load_knowledge

    start = time.perf_counter()
    session = spark_session("local[2]")
    started = time.perf_counter() - start
    result = run(load_knowledge(), folder, engine="spark", spark_master="local[2]")
    session.stop()
    return started, result.seconds, result.findings.num_rows


def population_audit(with_spark: bool = True) -> bool:
    from b12.adapters.population.audit import read_as_of
    from bench.population_data import ensure

    folders = ensure()
    t = _thresholds()
    as_of = read_as_of(folders["10m"]) or datetime(2026, 1, 1)
    load = [f"{os.getloadavg()[0]:.1f}"]  # the machine is shared: its load beside each figure
    ibis_s, ibis_c, found, rows = ibis_duckdb(folders["10m"])
    load.append(f"{os.getloadavg()[0]:.1f}")
    sql_s, sql_c, sql_found = duckdb_sql(folders["10m"], t, as_of)
    load.append(f"{os.getloadavg()[0]:.1f}")
    loop_s, loop_c, loop_found, sample_rows = python_loop(folders["sample"], t, as_of)
    load.append(f"{os.getloadavg()[0]:.1f}")
    ibis_m, sql_m = statistics.median(ibis_s), statistics.median(sql_s)
    ibis_cm, sql_cm = statistics.median(ibis_c), statistics.median(sql_c)
    scaled, scaled_c = loop_s * rows / sample_rows, loop_c * rows / sample_rows
    runs = lambda xs: ", ".join(f"{x:.2f}" for x in xs)  # noqa: E731
    print(f"population audit, {rows:,} administrations, 11 rules, {found:,} findings")
    print(f"  1-minute load average before, between and after: {' -> '.join(load)}")
    print(
        f"  Ibis on DuckDB          median {ibis_m:7.2f} s wall (runs {runs(ibis_s)}), {ibis_cm:.2f} s CPU (runs {runs(ibis_c)})  budget < 2 s: {'met' if ibis_m < 2 else 'MISSED'}"
    )
    print(
        f"  hand-written DuckDB SQL median {sql_m:7.2f} s wall, {sql_cm:.2f} s CPU ({sql_found:,} findings)  Ibis / SQL = {ibis_m / sql_m:.2f} wall, {ibis_cm / sql_cm:.2f} CPU (within 2x: {'yes' if ibis_m <= 2 * sql_m else 'NO'})"
    )
    print(
        f"  Python per-row loop     {loop_s:7.2f} s wall, {loop_c:.2f} s CPU on {sample_rows:,} rows ({loop_found:,} findings), scaled to {rows:,}: {scaled:.0f} s wall, {scaled_c:.0f} s CPU; Ibis is {scaled / ibis_m:.0f}x faster by wall, {scaled_c / ibis_cm:.0f}x by CPU (>= 100x: {'yes' if scaled >= 100 * ibis_m else 'NO'})"
    )
    if with_spark:
        start, seconds, spark_found = spark(folders["base"])
        print(
            f"  Ibis on Spark local[2]  {seconds:7.2f} s on the 1 M base ({spark_found:,} findings), session start {start:.1f} s"
        )
    return ibis_m < 2 and ibis_m <= 2 * sql_m and scaled >= 100 * ibis_m


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    population_audit(with_spark="--no-spark" not in sys.argv)
