"""`b12 summary PATIENT [--pdf FILE]`: the course on one page, in the terminal or as a PDF.

The PDF is the web page's document (adapters/summary), imported only when --pdf is given.
"""

from __future__ import annotations

from b12.adapters.cli.app import open_app
from b12.adapters.cli.output import EXIT_CODE, console, emit_json, show_findings, table
from b12.domain.display import format_mass
from b12.domain.findings import outcome


def summary(
    *,
    code: str,
    pdf: str | None = None,
    db: str | None = None,
    kb: str | None = None,
    as_json: bool = False,
) -> int:
    """The course on one page: regimen and source, doses, missed, results, findings, estimate."""
    from b12.services.summary import course_summary

    b12 = open_app(db, kb)
    now = b12.clock.now().replace(microsecond=0)
    found = course_summary(b12.unit_of_work, code, now, b12.knowledge)
    written = None
    if pdf:
        from pathlib import Path

        from b12.adapters.cli.output import writing
        from b12.adapters.summary import render_pdf

        with writing("pdf", pdf, (".pdf",)):
            document = render_pdf(found)
            Path(pdf).write_bytes(document)
            written = str(Path(pdf).resolve())
    stopped = EXIT_CODE[outcome(found.findings)]
    if as_json:
        emit_json({**found.to_dict(), "pdf": written})
        return stopped
    d = found.to_dict()
    c = console()
    c.print("[bold]Course summary of patient {code}[/bold], printed {at}; knowledge {fp}.",
            code=code, at=d["printed_at"], fp=d["fingerprint"])  # fmt: skip
    named = [
        ("indication", (d["indication"] or {}).get("name") or "not recorded"),
        ("regimen", (d["regimen"] or {}).get("name") or "none"),
        ("regimen source", "; ".join((d["regimen"] or {}).get("sources") or []) or "none"),
        ("product", (d["product"] or {}).get("name") or "not named"),
        ("prescription", d["prescribed"]),
        ("doses", f"{len(d['doses_given'])} of {d['planned']} given; next due "
                  f"{d['next_due'] or 'none'}"),
    ]  # fmt: skip
    c.print(table("Course", ("what", "details"), named))
    c.print(
        table(
            "Doses given",
            ("#", "given", "dose", "volume", "route", "site", "lot", "expiry", "by"),
            [
                (
                    str(x["number"] or ""),
                    x["given_at"],
                    x["dose"],
                    x["volume"],
                    x["route"],
                    x["site"],
                    x["lot"],
                    x["expiry"],
                    x["given_by"],
                )
                for x in d["doses_given"]
            ],
        )
    )
    if d["doses_missed"]:
        c.print(
            table(
                "Missed doses",
                ("#", "date", "what", "reason"),
                [(str(m["number"]), m["on"], m["kind"], m["reason"]) for m in d["doses_missed"]],
            )
        )
    if d["results"]:
        c.print(
            table(
                "Results",
                ("date", "test", "value", "band", "range used"),
                [
                    (
                        r["date"],
                        r["analyte"],
                        f"{r['value']} {r['unit']}".strip(),
                        r["band"] or "",
                        r["range_used"]["text"],
                    )
                    for r in d["results"]
                ],
            )
        )
    store = found.store
    c.print(
        "Body store, an ESTIMATE (never a dose advice): {low} to {high} kept from {n} dose(s); "
        "sources: {sources}.",
        low=format_mass(store.low_mcg), high=format_mass(store.high_mcg), n=store.doses_counted,
        sources=", ".join(store.sources) or "none",
    )  # fmt: skip
    for n in store.estimate.not_estimated:
        c.print("  not estimated: {at} {dose}: {why}", at=n.injection.at.isoformat(),
                dose=format_mass(n.injection.dose_mcg), why=n.why)  # fmt: skip
    for conflict in d["conflicts"]:
        c.print("Conflict {id}: {claim} Followed: {followed}", **conflict)
    show_findings(c, found.findings)
    if written:
        c.print("PDF written to {path}", path=written)
    return stopped
