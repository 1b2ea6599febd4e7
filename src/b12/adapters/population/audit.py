"""Run the population audit on a layout folder, and score it against injected errors' truth."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from b12.adapters.population import engines, rules
from b12.adapters.population.layout import FINDINGS
from b12.adapters.population.parquet import LOCAL
from b12.errors import InputError
from b12.knowledge.base import Knowledge
from b12.services.audit_thresholds import AuditThresholds, audit_thresholds

META = "audit.json"  # beside the tables: {"as_of": ISO time (UTC)} when the writer knew it
TRUTH = "truth.parquet"
Progress = Callable[[str], None]


@dataclass
class AuditResult:
    engine: str
    as_of: datetime
    administrations: int
    findings: pa.Table  # layout.FINDINGS, sorted by rule then administration
    seconds: float
    thresholds: AuditThresholds
    doses: pa.Table | None = (
        None  # indication, route, age group, dose, count (for the report's plots)
    )
    intervals: pa.Table | None = None  # maintained, longest interval, gap in days, count
    score: dict[str, dict[str, Any]] | None = None
    counts: dict[str, int] = field(default_factory=dict)
    cpu_seconds: float = 0.0  # this process's CPU time over ``seconds`` (every engine thread;
    # on a shared machine the figure that does not grow with the other work on it)

    @property
    def stops(self) -> int:
        return sum(
            n for code, n in self.counts.items() if self.thresholds.rule(code).level == "stop"
        )


def write_meta(directory: Path, as_of: datetime) -> None:
    (directory / META).write_text(json.dumps({"as_of": as_of.isoformat()}) + "\n")


def read_as_of(directory: Path) -> datetime | None:
    try:
        return datetime.fromisoformat(json.loads((directory / META).read_text())["as_of"])
    except (FileNotFoundError, KeyError, ValueError):
        return None


def run(
    kb: Knowledge,
    directory: Path,
    engine: str = "duckdb",
    spark_master: str | None = None,
    as_of: datetime | None = None,
    charts: bool = False,
    progress: Progress | None = None,
) -> AuditResult:
    """Every rule over the layout in ``directory`` on ``engine``; with ``charts``, the dose and
    interval distributions the report plots."""
    say = progress or (lambda _: None)
    thresholds = audit_thresholds(kb)
    say(f"connecting to {engine}")
    con = engines.connect(engine, spark_master)
    tables = engines.read_tables(con, directory)
    admin = tables["administrations"]
    say("counting administrations")
    count, latest = (
        admin.aggregate(n=admin.count(), latest=admin.given_at.max())
        .to_pyarrow()
        .to_pylist()[0]
        .values()
    )
    if as_of is None:
        as_of = read_as_of(directory)
    if as_of is None:
        base = latest or datetime(1970, 1, 1)
        as_of = datetime.combine(base.date() + timedelta(days=1), datetime.min.time())
    say("running the rules")
    started, cpu = time.perf_counter(), time.process_time()
    held = engines.Held(con)
    try:
        found = rules.audit(tables, thresholds, as_of, keep=held).to_pyarrow()
    finally:
        held.drop()
    seconds = time.perf_counter() - started
    cpu = time.process_time() - cpu
    found = sort_findings(found.select(FINDINGS.names).cast(FINDINGS))
    result = AuditResult(engine, as_of, int(count), found, seconds, thresholds, cpu_seconds=cpu)
    result.counts = counts(found)
    if charts:
        say("measuring dose and interval distributions")
        e = rules.enriched(tables, thresholds)
        result.doses = (
            e.group_by(
                ["indication_id", "route", "age_group", e.dose_mcg.cast("float64").name("dose")]
            )
            .aggregate(n=e.count())
            .to_pyarrow()
        )
        gaps = e.filter(e.prev_s.notnull())
        gaps = gaps.mutate(
            kind=gaps.phase.cast("string").fill_null("unplanned"),
            days=((gaps.t_s - gaps.prev_s) / rules.DAY).round().cast("int64"),
            maintained=gaps.maintained.fill_null(False),
        )
        result.intervals = (
            gaps.group_by(["maintained", "longest_days", "days"])
            .aggregate(n=gaps.count())
            .to_pyarrow()
        )
    truth = directory / TRUTH
    if truth.exists():
        result.score = score(
            found, pq.read_table(str(truth.absolute()), filesystem=LOCAL), thresholds
        )
    return result


def sort_findings(table: pa.Table) -> pa.Table:
    return table.sort_by([("rule", "ascending"), ("administration_id", "ascending")])


def counts(findings: pa.Table) -> dict[str, int]:
    if findings.num_rows == 0:
        return {}
    grouped = findings.group_by("rule").aggregate([("rule", "count")]).to_pylist()
    return {row["rule"]: row["rule_count"] for row in sorted(grouped, key=lambda r: r["rule"])}


def score(findings: pa.Table, truth: pa.Table, t: AuditThresholds) -> dict[str, dict[str, Any]]:
    """Per rule and in all: injected, found, true and false findings, missed, precision, recall."""
    got = set(
        zip(findings["rule"].to_pylist(), findings["administration_id"].to_pylist(), strict=True)
    )
    want = set(zip(truth["rule"].to_pylist(), truth["administration_id"].to_pylist(), strict=True))
    out: dict[str, dict[str, Any]] = {}
    for code in [r.code for r in t.rules] + ["all"]:
        g = got if code == "all" else {f for f in got if f[0] == code}
        w = want if code == "all" else {f for f in want if f[0] == code}
        true = len(g & w)
        out[code] = {
            "injected": len(w),
            "found": len(g),
            "true": true,
            "false": len(g - w),
            "missed": len(w - g),
            "precision": true / len(g) if g else 1.0,
            "recall": true / len(w) if w else 1.0,
        }
    return out


def check_directory(directory: Path) -> Path:
    if not directory.is_dir():
        raise InputError(
            f"{directory} is not a folder; give the folder `b12 export parquet` or "
            "`b12 audit synth` wrote, or --db URL",
            field="directory",
        )
    return directory


def by_month(findings: pa.Table) -> pa.Table:
    month = pc.strftime(findings["at"], format="%Y-%m")
    return (
        pa.table({"month": month, "rule": findings["rule"]})
        .group_by(["month", "rule"])
        .aggregate([("rule", "count")])
        .sort_by([("month", "ascending"), ("rule", "ascending")])
    )


def by_ward(findings: pa.Table) -> pa.Table:
    ward = pc.fill_null(findings["ward"], "(not recorded)")
    return (
        pa.table({"ward": ward, "rule": findings["rule"]})
        .group_by(["ward"])
        .aggregate([("rule", "count")])
        .sort_by([("rule_count", "descending"), ("ward", "ascending")])
    )
