"""The report's plots (matplotlib, Agg): findings per month, doses against the trusted ranges,
intervals between doses. Each has a title, axis labels with units, and its ranges drawn."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from b12.adapters.population.audit import by_month

if TYPE_CHECKING:
    from b12.adapters.population.audit import AuditResult


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(fig: Any, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    _pyplot().close(fig)


def findings_over_time(findings: pa.Table, path: Path) -> None:
    plt = _pyplot()
    per: dict[str, dict[str, int]] = defaultdict(dict)
    for row in by_month(findings).to_pylist():
        per[row["rule"]][row["month"]] = row["rule_count"]
    months = sorted({m for counts in per.values() for m in counts})
    fig, ax = plt.subplots(figsize=(10, 4.2))
    bottom = [0] * len(months)
    colours = plt.get_cmap("tab20").colors  # 11 rules: the default cycle repeats after 10
    for i, rule in enumerate(sorted(per)):
        heights = [per[rule].get(m, 0) for m in months]
        ax.bar(months, heights, bottom=bottom, label=rule, color=colours[(2 * i) % 20 + (i >= 10)])
        bottom = [b + h for b, h in zip(bottom, heights, strict=True)]
    ax.set_title("Findings per month of administration, by rule")
    ax.set_xlabel("month of the dose (UTC)")
    ax.set_ylabel("findings (count)")
    if months:
        step = max(1, len(months) // 12)
        ax.set_xticks(range(0, len(months), step), months[::step], rotation=45, ha="right")
        ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    else:
        ax.text(0.5, 0.5, "no findings", ha="center", va="center", transform=ax.transAxes)
    _save(fig, path)


def doses_by_indication(result: AuditResult, path: Path) -> None:
    """Every recorded dose value per indication (dot area: how often), on a log scale, over the
    adult IM trusted ranges (green bands)."""
    from b12.adapters.population.report import ranges_for

    plt = _pyplot()
    rows = [
        r
        for r in ([] if result.doses is None else result.doses.to_pylist())
        if r["route"] == "IM" and r["age_group"] == "adult"
    ]
    totals: dict[str, int] = defaultdict(int)
    for r in rows:
        totals[r["indication_id"] or "(none)"] += r["n"]
    shown = sorted(totals, key=lambda k: -totals[k])[:8]
    fig, ax = plt.subplots(figsize=(10, 0.7 * max(len(shown), 1) + 1.6))
    for y, indication in enumerate(shown):
        for lo, hi in ranges_for(result, indication):
            width = max(float(hi) - float(lo), float(lo) * 0.04)
            ax.barh(
                y,
                width,
                left=float(lo) - (width - (float(hi) - float(lo))) / 2,
                height=0.6,
                color="#b9e3c6",
                edgecolor="#4a9b63",
                zorder=1,
            )
        points = [
            (r["dose"], r["n"])
            for r in rows
            if (r["indication_id"] or "(none)") == indication and r["dose"]
        ]
        if points:
            xs, ns = zip(*points, strict=True)
            biggest = max(ns)
            ax.scatter(
                xs,
                [y] * len(xs),
                s=[12 + 300 * n / biggest for n in ns],
                color="#2e5a9c",
                alpha=0.7,
                zorder=2,
            )
    ax.set_xscale("log")
    ax.set_yticks(range(len(shown)), shown)
    ax.set_xlabel("dose recorded (mcg, log scale)")
    ax.set_ylabel("indication of the course")
    ax.set_title(
        "Adult IM doses per indication (dot area: how many) against the trusted ranges (green)"
    )
    ax.invert_yaxis()
    _save(fig, path)


def intervals(result: AuditResult, path: Path) -> None:
    plt = _pyplot()
    rows = [] if result.intervals is None else result.intervals.to_pylist()
    fig, ax = plt.subplots(figsize=(10, 4))
    for maintained, label, colour in (
        (False, "loading and consolidation", "#c2703d"),
        (True, "maintenance and prophylaxis", "#2e5a9c"),
    ):
        counts: dict[int, int] = defaultdict(int)
        for r in rows:
            if bool(r["maintained"]) == maintained and r["days"] is not None:
                counts[min(int(r["days"]), 200)] += r["n"]
        if counts:
            days = sorted(counts)
            ax.bar(
                days, [counts[d] for d in days], width=0.9, alpha=0.75, label=label, color=colour
            )
    t = result.thresholds
    limits = sorted(
        {
            float(r["longest_days"]) * float(t.lapse_factor)
            for r in rows
            if r["maintained"] and r["longest_days"]
        }
    )
    top = ax.get_ylim()[1]
    for lapse in limits:
        ax.axvline(lapse, color="#a11", linestyle="--", linewidth=0.8)
        ax.text(lapse, top * 0.6, f" {lapse:g}", color="#a11", fontsize=7, va="top")
    if limits:
        ax.plot(
            [],
            [],
            color="#a11",
            linestyle="--",
            linewidth=0.8,
            label=f"lapse limits (days): longest maintenance interval x {t.lapse_factor}",
        )
    ax.set_yscale("log")
    ax.set_xlim(0, 201)
    ax.set_title("Intervals between consecutive doses of a course (200+ days in the last bar)")
    ax.set_xlabel("interval (days, rounded)")
    ax.set_ylabel("doses (count, log scale)")
    ax.legend(frameon=False)
    _save(fig, path)
