"""The course on one page: the web page and its PDF hold the same data (the record's doses with
site and lot, missed doses, results with their ranges, findings, the body-store estimate, the
knowledge fingerprint, the moment printed); the PDF opens (poppler's pdftoppm renders it to PNG,
kept under $B12_SCREENSHOTS to look at); the CLI writes the same PDF. Off CI without poppler the
PDF checks skip; with CI=true they fail (`make test` installs poppler-utils as root)."""

from __future__ import annotations

import html
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from b12.services.summary import course_summary
from tests.web.conftest import NOW, Web

SHOTS = Path(os.environ.get("B12_SCREENSHOTS", "/tmp/b12-screenshots"))


def _poppler(tool: str) -> str:
    found = shutil.which(tool)
    if found is None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI=true and {tool} is missing: apt-get install poppler-utils")
        pytest.skip(f"{tool} is missing (apt-get install poppler-utils)")
    return found


def _pdf_support() -> None:
    if os.environ.get("CI") == "true":
        import weasyprint  # noqa: F401
    else:
        pytest.importorskip("weasyprint")


def _flat(text: str) -> str:
    """Text with every run of whitespace gone: a PDF breaks lines inside table cells."""
    return re.sub(r"\s+", "", text)


def _page_text(markup: str) -> str:
    return html.unescape(re.sub(r"<[^>]+>", " ", markup))


def _data(summary: dict[str, Any]) -> list[str]:
    """What the page and the PDF must both show, from the summary's own data."""
    out = [f"patient{summary['patient']}", summary["fingerprint"], summary["printed_at"]]
    out += [summary["regimen"]["name"], summary["indication"]["name"]]
    out += summary["regimen"]["sources"]
    for d in summary["doses_given"]:
        out += [d["given_at"], d["dose"], d["site"], d["lot"], d["expiry"]]
    for m in summary["doses_missed"]:
        out += [m["on"], m["reason"]]
    for r in summary["results"]:
        out += [r["date"], f"{r['value']} {r['unit']}", r["range_used"]["text"]]
    out += [f["code"] for f in summary["findings"]]
    out += [c["id"] for c in summary["conflicts"]] + [c["followed"] for c in summary["conflicts"]]
    out += [summary["body_store"]["says"], summary["body_store"]["shown"]]
    out += summary["body_store"]["sources"]
    return [_flat(x) for x in out if x]


def test_the_page_and_the_pdf_show_the_same_data(web: Web, tmp_path: Path) -> None:
    _pdf_support()
    pdftotext, pdftoppm = _poppler("pdftotext"), _poppler("pdftoppm")
    client, _ = web.as_role("nurse")
    # the web app's clock is fixed at NOW: the page and the PDF print that moment
    expected = course_summary(web.app.unit_of_work, "P-0001", NOW, web.app.knowledge).to_dict()
    page = client.get("/patients/P-0001/summary")
    assert page.status_code == 200
    assert 'href="/summary.css"' in page.text and 'href="/patients/P-0001/summary.pdf"' in page.text
    document = client.get("/patients/P-0001/summary.pdf")
    assert document.status_code == 200
    assert document.headers["content-type"] == "application/pdf"
    assert document.content.startswith(b"%PDF-")
    pdf = tmp_path / "summary.pdf"
    pdf.write_bytes(document.content)
    text = subprocess.run([pdftotext, str(pdf), "-"], capture_output=True, text=True, check=True)
    page_text, pdf_text = _flat(_page_text(page.text)), _flat(text.stdout)
    data = _data(expected)
    assert len(data) > 30
    # the disagreement over the regimen followed is shown with the position followed
    assert "conflict-pernicious-anaemia-regimen" in [c["id"] for c in expected["conflicts"]]
    assert [x for x in data if x not in page_text] == []
    assert [x for x in data if x not in pdf_text] == []
    SHOTS.mkdir(parents=True, exist_ok=True)
    subprocess.run([pdftoppm, "-png", "-r", "70", str(pdf), str(SHOTS / "summary-P-0001")],
                   check=True)  # fmt: skip
    pages = sorted(SHOTS.glob("summary-P-0001-*.png"))
    assert pages and all(p.stat().st_size > 5_000 for p in pages)


def test_the_stylesheet_lays_out_a_printed_page(web: Web) -> None:
    client, _ = web.as_role("patient")
    css = client.get("/summary.css")
    assert css.status_code == 200 and css.headers["content-type"].startswith("text/css")
    assert "@media print" in css.text and "@page" in css.text
    assert ".screen-only { display: none; }" in css.text


def test_the_page_marks_the_estimate_and_embeds_both_charts(web: Web) -> None:
    client, _ = web.as_role("prescriber")
    page = client.get("/patients/P-0004/summary").text
    assert "Body store: an estimate" in page and "not a dose advice" in page
    assert page.count('src="data:image/svg+xml;base64,') == 2


CODE = re.compile(r"\b[A-Z]{3,}(?:_[A-Z]+)+\b")  # a finding code, DOSE_UNIT_SLIP say


def test_a_patients_or_carers_summary_has_no_finding_code_and_no_estimate(web: Web) -> None:
    for role, code in (("patient", "P-0003"), ("caregiver", "P-0004")):
        staff, _ = web.as_role("prescriber")
        theirs = staff.get(f"/patients/{code}/summary").text
        assert "Body store: an estimate" in theirs and CODE.search(theirs), code
        client, _ = web.as_role(role)
        page = client.get(f"/patients/{code}/summary").text
        assert "Body store" not in page and not CODE.search(_page_text(page)), role
        assert page.count('src="data:image/svg+xml;base64,') == 1  # the results, not the store


def test_staff_see_the_estimate_beside_the_results_and_patients_do_not(web: Web) -> None:
    for role in ("prescriber", "nurse", "pharmacist"):
        client, _ = web.as_role(role)
        page = client.get("/patients/P-0001").text
        assert 'id="body-store"' in page and "/patients/P-0001/store.svg" in page, role
        assert page.index("<h2>Results</h2>") < page.index('id="body-store"')
    for role, code in (("patient", "P-0003"), ("caregiver", "P-0004")):
        client, _ = web.as_role(role)
        page = client.get(f"/patients/{code}").text
        assert 'id="body-store"' not in page, role
        assert f"/patients/{code}/summary" in page, role


def test_the_store_chart_is_marked_as_an_estimate(web: Web) -> None:
    client, _ = web.as_role("prescriber")
    svg = client.get("/patients/P-0001/store.svg")
    assert svg.headers["content-type"].startswith("image/svg+xml")
    assert "ESTIMATE, not a measurement" in svg.text and 'id="store-band"' in svg.text


def test_the_results_chart_has_a_reference_band_for_every_test_shown(web: Web) -> None:
    client, _ = web.as_role("nurse")
    status = client.get("/api/v1/patients/P-0001").json()
    analytes = {r["analyte"] for r in status["results"]}
    svg = client.get("/patients/P-0001/chart.svg").text
    assert analytes
    for analyte in analytes:
        assert re.search(rf'id="band-{analyte}(-[a-z]+)?"', svg), analyte


def test_the_cli_writes_the_same_pdf(web: Web, tmp_path: Path, clinic_db: Path) -> None:
    _pdf_support()
    pdftotext = _poppler("pdftotext")
    from tests.record.helpers import run_main

    out = tmp_path / "p1.pdf"
    code, stdout, stderr = run_main(
        ["summary", "P-0001", "--pdf", str(out), "--db", str(clinic_db), "--json"]
    )
    assert code == 0, stderr
    import json

    shown = json.loads(stdout)
    assert shown["pdf"] == str(out.resolve())
    text = subprocess.run([pdftotext, str(out), "-"], capture_output=True, text=True, check=True)
    # printed now (the command line's clock), from the same record
    data = _data(shown)
    assert [x for x in data if x not in _flat(text.stdout)] == []


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        (["summary", "P-0001", "--pdf", "x.png"], "pdf file 'x.png': write a name ending in .pdf"),
        (["summary", "P-0001", "--pdf", "/no/such/folder/x.pdf"], "the folder '/no/such/folder' does not exist"),
        (["summary", "P-9999"], "no patient 'P-9999' in the record"),
    ],
)  # fmt: skip
def test_the_cli_refuses_what_it_cannot_write_or_find(
    clinic_db: Path, argv: list[str], says: str
) -> None:
    from tests.record.helpers import run_main

    code, _, stderr = run_main([*argv, "--db", str(clinic_db)])
    assert code == 2 and says in stderr


def test_the_summary_in_the_terminal_loads_no_document_library(clinic_db: Path) -> None:
    """Without --pdf the command never imports Jinja2, matplotlib, WeasyPrint or the web stack."""
    import sys

    script = (
        "import sys\n"
        "from b12.adapters.cli import main\n"
        "try:\n"
        f"    main(['summary', 'P-0001', '--db', {str(clinic_db)!r}])\n"
        "except SystemExit:\n"
        "    pass\n"
        "heavy = ('jinja2', 'matplotlib', 'weasyprint', 'fastapi', 'b12.adapters.summary')\n"
        "print('LOADED', sorted(m for m in heavy if m in sys.modules))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    )
    assert "Course summary of patient P-0001" in done.stdout
    assert done.stdout.strip().endswith("LOADED []"), done.stdout[-300:]


def test_each_summary_read_leaves_an_audit_entry_with_the_sessions_name(web: Web) -> None:
    _pdf_support()
    client, _ = web.as_role("caregiver")
    with web.app.unit_of_work() as uow:
        start = sum(1 for _ in uow.audit.entries())
    for path in ("summary", "summary.pdf", "store.svg"):
        assert client.get(f"/patients/P-0004/{path}").status_code == 200
    with web.app.unit_of_work() as uow:
        new = list(uow.audit.entries())[start:]
    assert [(e.who, e.action) for e in new] == [("carer.dee", "read-summary")] * 3
