"""A picture of a patient's course a clinician reads: the doses given (with their dose), missed
and adverse events on a strip at the top, then one panel per laboratory test with the reference
range that judged it as a band. Dates carry the year; the time axis covers the course (a result
dated far from it is listed, not plotted, so it cannot squash the rest); shapes and hatching, not
colour, tell things apart, so it reads in greyscale print. PNG or SVG by the file's suffix
(matplotlib, loaded only here; the SVG keeps its text as text).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from b12.services.body_store import BodyStore
    from b12.services.follow_up import Status

#: The tests shown first, in this order; any other stored test follows.
SHOWN = ("haemoglobin", "rbc", "reticulocytes", "haematocrit", "b12", "potassium", "mcv")
#: Days shown before the first dose (the baseline results) and around the ends.
BEFORE = 60
MARGIN = 3


def window(status: Status) -> tuple[date, date]:
    """The days the time axis covers: the course so far (first dose to the status day or the
    last dose given), with the baseline results before it; never a stray distant date."""
    course = [c.due for c in status.course] + [d for d in status.injection_dates]
    results = [date.fromisoformat(r["date"]) for r in status.results]
    if course:
        first = min(course)
        early = [d for d in results if first - timedelta(days=BEFORE) <= d < first]
        start = min([first, *early])
        end = max([*status.injection_dates, status.on, start])  # a course not begun: its start
    elif results:
        start = min(results)
        end = max([d for d in results if d <= status.on] or [start])
    else:
        start = end = status.on
    return start - timedelta(days=MARGIN), end + timedelta(days=MARGIN)


def _number(value: Any) -> float:
    return float(Decimal(str(value)))  # only to place a point; the record keeps the Decimal


def _analytes(results: Sequence[dict[str, Any]]) -> list[str]:
    stored = {r["analyte"] for r in results}
    return [a for a in SHOWN if a in stored] + sorted(stored - set(SHOWN))


def plot_trends(path: str, status: Status) -> str:
    """Write the picture of ``status`` to ``path`` (.png or .svg); return the absolute path."""
    import matplotlib

    matplotlib.use("Agg")
    matplotlib.rcParams["svg.fonttype"] = "none"  # text stays text: searchable, readable back
    import matplotlib.dates as mdates
    import matplotlib.pyplot as plt

    start, end = window(status)
    analytes = _analytes(status.results)
    panels = 1 + max(len(analytes), 1)
    heights = [1.3] + [2.0] * (panels - 1)
    figure, axes = plt.subplots(
        panels,
        1,
        figsize=(9, sum(heights) + 1.4),
        sharex=True,
        squeeze=False,
        gridspec_kw={"height_ratios": heights},
    )
    strip, *lab_axes = list(axes[:, 0])
    _doses(strip, status, start, end)
    outside: list[str] = []
    shown: list[str | None] = [*analytes] or [None]
    for axis, analyte in zip(lab_axes, shown, strict=False):
        if analyte is None:
            axis.text(0.5, 0.5, "no laboratory results recorded", ha="center", va="center",
                      transform=axis.transAxes)  # fmt: skip
            axis.set_yticks([])
            continue
        outside += _results(axis, status, analyte, start, end)
        for day in status.injection_dates:
            axis.axvline(day, color="0.75", linewidth=0.8, linestyle=":", zorder=0)
    last = axes[-1, 0]
    last.set_xlim(start, end)
    step = max(1, -(-(end - start).days // 8))  # at most about 8 dates, evenly spaced
    last.set_xticks([start + timedelta(days=d) for d in range(0, (end - start).days + 1, step)])
    last.xaxis.set_major_formatter(mdates.DateFormatter("%d %b %Y"))  # type: ignore[no-untyped-call]
    for label in last.get_xticklabels():
        label.set_rotation(30)
        label.set_horizontalalignment("right")
    prescription = status.prescription
    course = "" if prescription is None else f", course from {prescription.start.isoformat()}"
    figure.suptitle(
        f"Patient {status.patient.code}: doses and results to {status.on.isoformat()}{course}",
        fontsize=11,
    )
    notes = [
        "Shaded: the reference range (or a guideline's bands) that judged the results, named in "
        "each panel's title; dotted lines: the days a dose was given."
    ]
    if outside:
        notes.append("Not plotted, outside the course: " + "; ".join(outside) + ".")
    figure.text(0.01, 0.005, "\n".join(notes), fontsize=7, va="bottom", wrap=True)
    figure.tight_layout(rect=(0, 0.03 + 0.012 * len(notes), 1, 0.97))
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=120)
    plt.close(figure)
    return str(Path(path).resolve())


def _doses(axis: Any, status: Status, start: date, end: date) -> None:
    """The top strip: each dose given (triangle, its dose), missed (cross), adverse events
    (diamond, what happened)."""
    from b12.domain.display import format_mass

    given = [c for c in status.course if c.given is not None]
    missed = [e for e in status.timeline if e.kind == "missed"]
    days = [c.given.given_at.date() for c in given if c.given is not None]
    axis.scatter(days, [2] * len(days), marker="^", s=46, color="black", label="dose given",
                 gid="doses-given", zorder=3)  # fmt: skip
    previous = None
    for c in given:
        assert c.given is not None
        dose = format_mass(c.given.dose_mcg)
        if dose != previous:  # a dose written once where it starts or changes, not at every mark
            axis.annotate(dose, (c.given.given_at.date(), 2), xytext=(0, 7),
                          textcoords="offset points", ha="center", fontsize=7)  # fmt: skip
        previous = dose
    missed_days = [e.on for e in missed]
    axis.scatter(missed_days, [1] * len(missed_days), marker="x", s=46, color="black",
                 linewidths=1.6, label="dose missed", gid="doses-missed", zorder=3)  # fmt: skip
    for day in missed_days:
        axis.annotate("missed", (day, 1), xytext=(0, -11), textcoords="offset points",
                      ha="center", fontsize=7)  # fmt: skip
    events = [e for e in status.events if start <= e.on <= end]
    axis.scatter([e.on for e in events], [0] * len(events), marker="D", s=36, facecolor="white",
                 edgecolor="black", label="adverse event", gid="adverse-events", zorder=3)  # fmt: skip
    for e in events:
        axis.annotate(f"{e.description} ({e.severity})", (e.on, 0), xytext=(5, -3),
                      textcoords="offset points", fontsize=7)  # fmt: skip
    axis.set_ylim(-0.8, 2.9)
    axis.set_yticks([0, 1, 2], ["events", "missed", "given"], fontsize=8)
    axis.set_title("Injections", fontsize=9, loc="left")
    axis.grid(axis="x", color="0.9")


def _results(axis: Any, status: Status, analyte: str, start: date, end: date) -> list[str]:
    """One test's panel: its reference band, each result (value written beside it); the results
    outside the time axis, as words."""
    rows = [r for r in status.results if r["analyte"] == analyte]
    inside = [r for r in rows if start <= date.fromisoformat(r["date"]) <= end]
    outside = [f"{r['date']} {analyte} {r['value']} {r['unit']}" for r in rows if r not in inside]
    unit = rows[0]["unit"] if rows else ""
    values = [_number(r["value"]) for r in inside]
    judged = inside or rows
    # The range of the latest result; a guideline's bands in this unit when one result was
    # judged in it (NICE gives figures in each unit), else the latest's bands converted.
    used = next(
        (r["range_used"] for r in reversed(judged) if r["range_used"].get("unit") == unit),
        judged[-1]["range_used"],
    )
    if used.get("kind") == "guideline" and used.get("unit") != unit:
        last = judged[-1]
        factor = _number(last["value"]) / _number(used["value_in_unit"] or 1)
        used = {**used, "unit": unit, "bands": [
            {**b, **{k: None if b[k] is None else _number(b[k]) * factor for k in ("low", "high")}}
            for b in used["bands"]
        ]}  # fmt: skip
    bounds = _bands(axis, analyte, used, unit)
    days = [date.fromisoformat(r["date"]) for r in inside]
    axis.plot(days, values, color="black", marker="o", markersize=5, linewidth=1.2,
              gid=f"results-{analyte}", zorder=2)  # fmt: skip
    for day, value in zip(days, values, strict=True):
        axis.annotate(f"{value:g}", (day, value), xytext=(4, 4), textcoords="offset points",
                      fontsize=7)  # fmt: skip
    _scale(axis, values, bounds)
    axis.set_ylabel(f"{analyte}\n{unit}", fontsize=8)
    source = used.get("text", "")
    axis.set_title(
        f"{analyte} ({unit}); range: {source}" if source else analyte, fontsize=8, loc="left"
    )
    return outside


#: How each of a guideline's bands is shaded, lowest first: distinct in greyscale print.
_HATCHES = ("xxx", "...", "", "///")


def _bands(axis: Any, analyte: str, used: dict[str, Any], unit: str) -> tuple[float, float] | None:
    """Draw the range that judged the results; the span it covers, for the y-axis."""
    low, high = used.get("low"), used.get("high")
    if low is not None and high is not None and used.get("unit") == unit:
        axis.axhspan(_number(low), _number(high), facecolor="0.88", edgecolor="0.55",
                     hatch="///", linewidth=0.6, gid=f"band-{analyte}", zorder=0)  # fmt: skip
        axis.annotate("reference range", (1, _number(high)), xycoords=("axes fraction", "data"),
                      xytext=(-4, -10), textcoords="offset points", ha="right", fontsize=7,
                      color="0.3")  # fmt: skip
        return _number(low), _number(high)
    bands = used.get("bands") or []
    edges = [_number(b[k]) for b in bands for k in ("low", "high") if b[k] is not None]
    if not edges:
        return None
    floor, ceiling = min(0.0, min(edges)), max(edges) * 100  # open bands run off the axis
    for i, b in enumerate(bands):
        bottom = floor if b["low"] is None else _number(b["low"])
        top = ceiling if b["high"] is None else _number(b["high"])
        axis.axhspan(bottom, top, facecolor=str(0.95 - 0.05 * i), edgecolor="0.55",
                     hatch=_HATCHES[i % len(_HATCHES)], linewidth=0.6,
                     gid=f"band-{analyte}-{b['name']}", zorder=0)  # fmt: skip
        middle = (
            (bottom + top) / 2
            if b["low"] is not None and b["high"] is not None
            else (bottom * 1.12 if b["high"] is None else top * 0.75)
        )
        axis.annotate(b["name"], (1, middle), xycoords=("axes fraction", "data"),
                      xytext=(-4, 0), textcoords="offset points", ha="right", va="center",
                      fontsize=7, backgroundcolor="white")  # fmt: skip
    return min(edges) * 0.5, max(edges) * 1.25


def _scale(axis: Any, values: list[float], band: tuple[float, float] | None) -> None:
    """A y-axis that shows every value and the band with room around them, and a sensible span
    for one value (never a hair-thin axis around a single point)."""
    shown = [*values, *(band or ())]
    if not shown:
        axis.set_yticks([])
        return
    low, high = min(shown), max(shown)
    span = high - low
    if span == 0:
        span = max(abs(high) * 0.4, 1.0)
        low, high = low - span / 2, high + span / 2
    pad = span * 0.18
    axis.set_ylim(min(0.0, low - pad) if low >= 0 and low - pad < 0 else low - pad, high + pad)


def plot_store(path: str, store: BodyStore, code: str) -> str:
    """Write the body-store estimate of patient ``code`` (.png or .svg): the band from the low to
    the high figure as a hatched step, marked as an estimate with its sources; the absolute path."""
    import matplotlib

    matplotlib.use("Agg")
    matplotlib.rcParams["svg.fonttype"] = "none"
    import matplotlib.dates as mdates
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(9, 3.2))
    axis: Any = axes  # matplotlib types its values as arrays; dates are what it is given here
    steps = store.series
    if steps:
        moments = [m for m, _, _ in steps]
        lows = [_number(lo) for _, lo, _ in steps]
        highs = [_number(hi) for _, _, hi in steps]
        axis.fill_between(moments, lows, highs, step="post", facecolor="0.9", edgecolor="0.45",
                          hatch="///", linewidth=0.6, gid="store-band")  # fmt: skip
        axis.step(moments, highs, where="post", color="black", linewidth=1, label="high")
        axis.step(moments, lows, where="post", color="black", linewidth=1, linestyle="--",
                  label="low")  # fmt: skip
        shots = [k.injection.at for k in store.estimate.kept]
        axis.scatter(shots, [0] * len(shots), marker="^", s=40, color="black", zorder=3,
                     label="dose given", gid="store-doses", clip_on=False)  # fmt: skip
        axis.set_ylim(bottom=0)
        axis.legend(fontsize=7, loc="upper left")
        axis.xaxis.set_major_formatter(mdates.DateFormatter("%d %b %Y"))  # type: ignore[no-untyped-call]
        for label in axis.get_xticklabels():
            label.set_rotation(30)
            label.set_horizontalalignment("right")
    else:
        axis.text(0.5, 0.5, "no dose given with a sourced retention figure", ha="center",
                  va="center", transform=axis.transAxes)  # fmt: skip
        axis.set_yticks([])
    axis.set_ylabel("mcg kept\n(estimate)", fontsize=8)
    axis.set_title(
        f"ESTIMATE, not a measurement: B12 the injections may have added, patient {code}",
        fontsize=9, loc="left",
    )  # fmt: skip
    sources = ", ".join(store.sources) or "none"
    figure.text(0.01, 0.01, f"Low and high from the sourced urinary losses ({sources}); never a "
                "dose advice.", fontsize=7, va="bottom")  # fmt: skip
    figure.tight_layout(rect=(0, 0.05, 1, 1))
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=120)
    plt.close(figure)
    return str(Path(path).resolve())
