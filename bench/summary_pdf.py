"""The course summary's PDF: WeasyPrint's import (a fresh process, beside `python -c pass` and the
Jinja2 import) and the render of one demo patient's summary in process, split into its parts (the
record read, the two charts by matplotlib, the HTML, the PDF layout), beside WeasyPrint laying out
a one-line page in the same run (its floor). docs/summary.md keeps the figures and the choice."""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from bench.run import report, wall


def _timed(func: Callable[[], object], runs: int) -> list[float]:
    func()  # fonts, templates and caches warm, as in a running server
    out = []
    for _ in range(runs):
        start = time.perf_counter()
        func()
        out.append(time.perf_counter() - start)
    return out


def summary_pdf() -> bool:
    try:
        import weasyprint
    except (ImportError, OSError) as missing:
        print(f"summary PDF: skipped (WeasyPrint unavailable: {missing})")
        return True
    python = sys.executable
    report("python -c pass (start floor)", wall([python, "-c", "pass"], runs=7), None, "ms")
    report(
        "import jinja2 (fresh process)", wall([python, "-c", "import jinja2"], runs=7), None, "ms"
    )
    report("import weasyprint (fresh process)", wall([python, "-c", "import weasyprint"], runs=7),
           None, "ms")  # fmt: skip

    import b12
    from b12.adapters.passwords import argon2id
    from b12.adapters.summary import charts, render_html, render_pdf
    from b12.adapters.web import demo
    from b12.services.summary import course_summary

    with tempfile.TemporaryDirectory(prefix="b12-bench-summary-") as folder:
        path = Path(folder) / "clinic.db"
        settings = b12.Settings.read(database_url=str(path), time_zone="UTC", environ={})
        b12.upgrade(settings)
        app = b12.build(settings, passwords=argon2id(light=True))
        try:
            demo.seed(app)
            now = app.clock.now().replace(microsecond=0)

            def read() -> object:
                return course_summary(app.unit_of_work, "P-0001", now, app.knowledge)

            found = course_summary(app.unit_of_work, "P-0001", now, app.knowledge)
            drawn = charts(found)
            runs = 5
            report("summary: read the record + estimate", _timed(read, runs), None, "ms")
            report("summary: two charts (matplotlib SVG)", _timed(lambda: charts(found), runs),
                   None, "ms")  # fmt: skip
            report("summary: HTML (Jinja2)", _timed(lambda: render_html(found, drawn=drawn), runs),
                   None, "ms")  # fmt: skip
            layout = _timed(lambda: render_pdf(found, drawn=drawn), runs)
            report("summary: PDF layout (WeasyPrint)", layout, None, "ms")
            floor = _timed(lambda: weasyprint.HTML(string="<p>b12</p>").write_pdf(), runs)
            report("bare WeasyPrint, a one-line page", floor, None, "ms")
            whole = _timed(lambda: render_pdf(read()), 3)  # type: ignore[arg-type]
            report("summary: whole PDF (read, charts, layout)", whole, None, "ms")
            pages = render_pdf(found, drawn=drawn).count(b"/Type /Page\n")
            print(f"summary PDF layout / bare page: {statistics.median(layout) / statistics.median(floor):.1f}x"
                  f" ({pages or 'several'} pages)")  # fmt: skip
        finally:
            app.close()
    return True


if __name__ == "__main__":
    summary_pdf()
