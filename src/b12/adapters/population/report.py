"""The audit's report: an HTML page with its plots, and the findings as Parquet and CSV.

The page is rendered by Jinja2 with autoescaping on: every text from the record (wards, ids) is
escaped. The plots are matplotlib PNGs (Agg, no display) with titles, units and the trusted ranges.
"""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow.csv as pcsv
import pyarrow.parquet as pq

from b12.adapters.population.audit import AuditResult, by_month, by_ward
from b12.adapters.population.parquet import LOCAL

PER_RULE = 3
TEMPLATE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>Population audit of B12 injections</title>
<style>
body { font-family: system-ui, sans-serif; margin: 2rem auto; max-width: 1100px; color: #1d2433; }
h1 { font-size: 1.6rem; margin-bottom: .2rem; } h2 { margin-top: 2rem; border-bottom: 1px solid #ccd; }
.summary { font-size: 1.1rem; background: #f3f5fa; padding: .8rem 1rem; border-radius: 6px; }
table { border-collapse: collapse; width: 100%; font-size: .9rem; }
th, td { text-align: left; padding: .3rem .5rem; border-bottom: 1px solid #e2e5ee; vertical-align: top; }
th { background: #eef1f7; } td.n { text-align: right; font-variant-numeric: tabular-nums; }
.stop { color: #a11; font-weight: 600; } .warning { color: #a60; } .info { color: #357; }
img { max-width: 100%; border: 1px solid #e2e5ee; margin: .5rem 0; }
.muted { color: #667; font-size: .85rem; }
</style></head><body>
<h1>Population audit of B12 injections</h1>
<p class="muted">Knowledge {{ fingerprint }} &middot; engine {{ engine }} &middot; audit up to {{ as_of }} UTC
&middot; rules run in {{ seconds }} s</p>
<p class="summary">{{ summary }}</p>

<h2>Findings per rule</h2>
<table><tr><th>Rule</th><th>Level</th><th>What it checks</th><th>Sources</th><th class="n">Findings</th></tr>
{% for r in rules %}<tr><td>{{ r.code }}</td><td class="{{ r.level }}">{{ r.level }}</td><td>{{ r.checks }}</td>
<td>{{ r.sources }}</td><td class="n">{{ r.count }}</td></tr>{% endfor %}
</table>

{% if score %}<h2>Against the injected errors</h2>
<table><tr><th>Rule</th><th class="n">Injected</th><th class="n">Found</th><th class="n">True</th>
<th class="n">False</th><th class="n">Missed</th><th class="n">Precision</th><th class="n">Recall</th></tr>
{% for code, s in score %}<tr><td>{{ code }}</td><td class="n">{{ s.injected }}</td><td class="n">{{ s.found }}</td>
<td class="n">{{ s.true }}</td><td class="n">{{ s.false }}</td><td class="n">{{ s.missed }}</td>
<td class="n">{{ "%.1f"|format(100 * s.precision) }}%</td><td class="n">{{ "%.1f"|format(100 * s.recall) }}%</td></tr>{% endfor %}
</table>{% endif %}

<h2>Findings over time</h2>
<img src="plots/findings_over_time.png" alt="Findings per month and rule">

<h2>Worst cases</h2>
<p class="muted">The three furthest from their limit for each rule, stop-level rules first; value and limit in the unit the basis names.</p>
<table><tr><th>Rule</th><th>Administration</th><th>Patient</th><th>Ward</th><th>Given (UTC)</th>
<th class="n">Value</th><th class="n">Limit</th><th>Basis</th></tr>
{% for f in worst %}<tr><td class="{{ f.level }}">{{ f.rule }}</td><td>{{ f.administration_id }}</td><td>{{ f.patient_id }}</td>
<td>{{ f.ward }}</td><td>{{ f.at }}</td><td class="n">{{ f.value }}</td><td class="n">{{ f.limit }}</td><td>{{ f.basis }}</td></tr>{% endfor %}
</table>

<h2>Per site and ward</h2>
<table><tr><th>Site / ward</th><th class="n">Findings</th></tr>
{% for w in wards %}<tr><td>{{ w.ward }}</td><td class="n">{{ w.rule_count }}</td></tr>{% endfor %}
</table>

<h2>Per month</h2>
<table><tr><th>Month</th>{% for code in month_rules %}<th class="n">{{ code }}</th>{% endfor %}</tr>
{% for month, row in months %}<tr><td>{{ month }}</td>{% for code in month_rules %}<td class="n">{{ row.get(code, "") }}</td>{% endfor %}</tr>{% endfor %}
</table>

<h2>Doses against the trusted ranges</h2>
<img src="plots/doses_by_indication.png" alt="Doses per indication against the trusted ranges">
<h2>Intervals between doses</h2>
<img src="plots/intervals.png" alt="Histogram of intervals between doses">
<p class="muted">Findings: findings.parquet and findings.csv beside this page.</p>
</body></html>
"""


def _number(value: float | None) -> str:
    if value is None:
        return ""
    return f"{value:,.1f}" if abs(value - round(value)) > 1e-9 else f"{value:,.0f}"


def summary_line(result: AuditResult) -> str:
    total = result.findings.num_rows
    rules = len(result.counts)
    line = (
        f"{total:,} finding{'s' if total != 1 else ''} ({result.stops:,} stop) in "
        f"{result.administrations:,} administrations by {rules} of {len(result.thresholds.rules)} "
        f"rules, on {result.engine} in {result.seconds:.2f} s"
    )
    if result.score is not None:
        s = result.score["all"]
        line += f"; precision {100 * s['precision']:.1f}%, recall {100 * s['recall']:.1f}%"
    return line + "."


def worst(result: AuditResult) -> list[dict[str, Any]]:
    """The worst findings of each rule (``PER_RULE``), stop-level rules first: the furthest from
    their limit first within a rule."""
    by_rule: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for f in result.findings.to_pylist():
        by_rule[f["rule"]].append(f)

    def distance(f: dict[str, Any]) -> float:
        value, limit = float(f["value"] or 0.0), float(f["limit"] or 0.0)
        return -abs(value - limit) / (abs(limit) or 1.0)

    out = []
    levels = {r.code: r.level for r in result.thresholds.rules}
    for code in sorted(by_rule, key=lambda c: (levels.get(c) != "stop", c)):
        for f in sorted(by_rule[code], key=lambda f: (distance(f), f["administration_id"]))[
            :PER_RULE
        ]:
            out.append(
                {
                    **f,
                    "value": _number(f["value"]),
                    "limit": _number(f["limit"]),
                    "ward": f["ward"] or "(not recorded)",
                    "at": f["at"].isoformat(sep=" ", timespec="minutes") if f["at"] else "",
                }
            )
    return out


def write(result: AuditResult, folder: Path) -> Path:
    """The report in ``folder``: report.html, plots/, findings.parquet, findings.csv."""
    import jinja2

    from b12.adapters.population import plots

    folder.mkdir(parents=True, exist_ok=True)
    pq.write_table(result.findings, str((folder / "findings.parquet").absolute()), filesystem=LOCAL)
    with (folder / "findings.csv").open("wb") as csv:
        pcsv.write_csv(result.findings, csv)
    plots.findings_over_time(result.findings, folder / "plots" / "findings_over_time.png")
    plots.doses_by_indication(result, folder / "plots" / "doses_by_indication.png")
    plots.intervals(result, folder / "plots" / "intervals.png")
    months: dict[str, dict[str, int]] = defaultdict(dict)
    for row in by_month(result.findings).to_pylist():
        months[row["month"]][row["rule"]] = row["rule_count"]
    t = result.thresholds
    env = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined)
    page = env.from_string(TEMPLATE).render(
        fingerprint=t.fingerprint,
        engine=result.engine,
        as_of=result.as_of.isoformat(sep=" "),
        seconds=f"{result.seconds:.2f}",
        summary=summary_line(result),
        rules=[
            {
                "code": r.code,
                "level": r.level,
                "checks": r.checks,
                "sources": ", ".join(r.sources),
                "count": result.counts.get(r.code, 0),
            }
            for r in t.rules
        ],
        score=None if result.score is None else list(result.score.items()),
        worst=worst(result),
        wards=by_ward(result.findings).to_pylist(),
        months=sorted(months.items()),
        month_rules=sorted(result.counts),
    )
    path = folder / "report.html"
    path.write_text(page, encoding="utf-8")
    return path


def ranges_for(
    result: AuditResult, indication: str, route: str = "IM"
) -> list[tuple[Decimal, Decimal]]:
    for r in result.thresholds.ranges:
        if (r.indication, r.route, r.age_group) == (indication, route, "adult"):
            return list(r.ranges)
    return []
