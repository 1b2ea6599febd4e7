"""`make bench`: every benchmark prints its figures against its budget (never a timed unit test)."""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def per_call(func: Callable[[], object], *, repeat: int = 7, number: int = 2000) -> list[float]:
    """Seconds per call, one figure per repeat of `number` calls."""
    func()  # warm caches the way a running process would have them
    figures = []
    for _ in range(repeat):
        start = time.perf_counter()
        for _ in range(number):
            func()
        figures.append((time.perf_counter() - start) / number)
    return figures


def wall(argv: list[str], *, runs: int = 15) -> list[float]:
    """Wall seconds of whole commands, each a fresh process."""
    subprocess.run(argv, capture_output=True, check=False)  # page cache warm, as on a clinic PC
    figures = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(argv, capture_output=True, check=False)
        figures.append(time.perf_counter() - start)
    return figures


def report(name: str, figures: list[float], budget: float | None, unit: str) -> bool:
    scale = {"us": 1e6, "ms": 1e3, "s": 1.0}[unit]
    median = statistics.median(figures)
    low, high = min(figures), max(figures)
    verdict = ""
    ok = True
    if budget is not None:
        ok = median <= budget
        verdict = f"  budget <= {budget * scale:g} {unit}: {'met' if ok else 'MISSED'}"
    print(
        f"{name:<48} median {median * scale:8.2f} {unit}  (min {low * scale:.2f}, max {high * scale:.2f}, "
        f"n={len(figures)}){verdict}"
    )
    return ok


def main() -> int:
    from bench import cases

    results = [case() for case in cases.ALL]
    missed = results.count(False)
    print(f"\n{len(results)} benchmarks, {missed} over budget")
    return 0  # figures are reported, not enforced: shared machines are noisy (see quality.md)


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    sys.exit(main())
