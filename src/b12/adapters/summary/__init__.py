"""The course summary as a document: one HTML (Jinja2) for the web page and for the PDF.

The PDF is that same HTML laid out by WeasyPrint (the 'pdf' extra) with the same stylesheet, whose
``@media print`` and ``@page`` rules give the printed page; so the page and the PDF cannot show
different data. The charts are embedded as SVG data (matplotlib), so the document stands alone.
Jinja2, matplotlib and WeasyPrint are imported only when a document is made.
"""

from __future__ import annotations

import base64
import tempfile
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

from b12.domain.display import format_mass, format_number
from b12.errors import InputError
from b12.services.body_store import LEFT_OUT, MARKED

if TYPE_CHECKING:
    from b12.services.summary import CourseSummary

HERE = Path(__file__).resolve().parent
STYLESHEET = HERE / "summary.css"


def stylesheet() -> str:
    return STYLESHEET.read_text(encoding="utf-8")


def _svg(draw: Callable[[str], object]) -> str:
    with tempfile.TemporaryDirectory(prefix="b12-summary-") as folder:
        path = Path(folder) / "chart.svg"
        draw(str(path))
        data = base64.b64encode(path.read_bytes()).decode("ascii")
    return f"data:image/svg+xml;base64,{data}"


def charts(summary: CourseSummary) -> dict[str, str]:
    """The results chart (reference bands, doses) and the body-store estimate, as data URIs."""
    from b12.adapters.plot import plot_store, plot_trends

    return {
        "results": _svg(lambda path: plot_trends(path, summary.status)),
        "store": _svg(lambda path: plot_store(path, summary.store, summary.code)),
    }


def _span(low: Decimal, high: Decimal, unit: str) -> str:
    if low == high:
        return f"{format_number(low)}{unit}"
    return f"{format_number(low)}-{format_number(high)}{unit}"


def render_html(
    summary: CourseSummary,
    *,
    stylesheet_href: str | None = None,
    back_href: str | None = None,
    pdf_href: str | None = None,
    drawn: dict[str, str] | None = None,
    lay: bool = False,
) -> str:
    """The summary page; links back and to the PDF only on screen (the web page passes them).
    ``lay``: for the patient or a carer: findings in words without their codes, and no body-store
    estimate (an estimate for the prescriber, beside the labs)."""
    try:
        import jinja2
    except ImportError as missing:
        raise InputError(
            f"the summary page needs Jinja2 ({missing.name} is missing): pip install 'b12[pdf]'"
        ) from None
    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(HERE / "templates")),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
    )
    context: dict[str, Any] = {
        "s": summary,
        "charts": charts(summary) if drawn is None else drawn,
        "stylesheet_href": stylesheet_href,
        "back_href": back_href,
        "pdf_href": pdf_href,
        "lay": lay,
        "store_says": MARKED,
        "store_left_out": LEFT_OUT,
        "mass": format_mass,
        "span": _span,
    }
    return environment.get_template("summary.html").render(context)


def render_pdf(
    summary: CourseSummary, drawn: dict[str, str] | None = None, *, lay: bool = False
) -> bytes:
    """The summary as PDF (A4): the page's HTML and stylesheet, laid out for print."""
    try:
        import weasyprint
    except ImportError as missing:
        raise InputError(
            f"the PDF needs the 'pdf' extra ({missing.name} is missing): pip install 'b12[pdf]'"
        ) from None
    except OSError as missing:  # WeasyPrint found, the system's Pango not
        raise InputError(
            f"the PDF needs the Pango library of the system ({missing}): install pango "
            "(Debian: apt-get install libpango-1.0-0 libpangoft2-1.0-0)"
        ) from None
    html = render_html(summary, drawn=drawn, lay=lay)
    # Only the embedded charts are fetched: never a file or an address, whatever the text says.
    fetcher = weasyprint.URLFetcher(allowed_protocols={"data"})
    document = weasyprint.HTML(string=html, base_url=str(HERE), url_fetcher=fetcher)
    pdf: bytes = document.write_pdf(stylesheets=[weasyprint.CSS(string=stylesheet())])
    return pdf
