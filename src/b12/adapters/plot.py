"""A picture of the laboratory trends against the injection dates (matplotlib, loaded lazily)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from pathlib import Path

from b12.domain.records import LabResult

SHOWN = ("haemoglobin", "rbc", "reticulocytes", "haematocrit", "b12", "potassium", "mcv")


def plot_trends(
    path: str, patient: str, labs: Sequence[LabResult], injections: Sequence[date]
) -> str:
    """Write a PNG (or SVG, by the file's suffix) with one panel per analyte; return the path."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    analytes = [a for a in SHOWN if any(lab.analyte == a for lab in labs)]
    analytes += sorted({lab.analyte for lab in labs} - set(analytes))
    rows = max(len(analytes), 1)
    figure, axes = plt.subplots(rows, 1, figsize=(8, 2.2 * rows + 0.6), sharex=True, squeeze=False)
    for axis, analyte in zip(axes[:, 0], analytes or ["no results"], strict=False):
        points = sorted(
            (lab.taken_on, lab.normalised_value if lab.normalised_value is not None else lab.value)
            for lab in labs
            if lab.analyte == analyte
        )
        unit = next((lab.normalised_unit or lab.unit for lab in labs if lab.analyte == analyte), "")
        if points:
            # float only to place points on a picture; the record keeps the exact Decimals
            axis.plot([d for d, _ in points], [float(v) for _, v in points], marker="o")
        for day in injections:
            axis.axvline(day, color="tab:red", alpha=0.25, linewidth=1)
        axis.set_ylabel(f"{analyte}\n{unit}", fontsize=8)
    axes[0, 0].set_title(f"Patient {patient}: results (lines) and injections (red)")
    figure.autofmt_xdate()
    figure.tight_layout()
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path)
    plt.close(figure)
    return str(Path(path).resolve())
