"""Follow-up commands: `b12 lab add`, `b12 status`, `b12 due`, `b12 event add`, `b12 audit-log verify`."""

from __future__ import annotations

from typing import Any

from b12.adapters.cli.app import open_app
from b12.adapters.cli.output import EXIT_CODE, console, emit_json, show_findings, table
from b12.adapters.cli.record_options import when, who
from b12.domain.findings import outcome
from b12.domain.jsonable import to_json


def lab_add(
    *,
    code: str,
    results: list[str],
    at: str | None = None,
    lab_range: list[str] | None = None,
    db: str | None = None,
    by: str | None = None,
    kb: str | None = None,
    as_json: bool = False,
) -> int:
    """Add results (normalised to each test's canonical unit, with their LOINC code), judged."""
    from b12.adapters.cli import read
    from b12.services.record import add_labs

    b12 = open_app(db, kb)
    moment = when(at, b12)
    readings, ranges = read.labs(b12.knowledge, results, lab_range or ())
    done = add_labs(
        b12.unit_of_work, b12.knowledge, code, readings, moment.date(), who(by, b12), moment,
        ranges,
    )  # fmt: skip
    if as_json:
        emit_json(done.to_dict())
        return 0
    rows = [
        (
            r.analyte,
            r.loinc or "",
            f"{r.value} {r.unit}",
            f"{r.normalised_value} {r.normalised_unit}",
            judged["band"],
            judged["range_used"]["text"],
        )
        for r, judged in zip(done.results, done.judged, strict=True)
    ]
    c = console()
    c.print(
        table(
            f"Results of {code} on {moment.date().isoformat()}",
            ("test", "LOINC", "as written", "normalised", "band", "range used"),
            rows,
        )
    )
    show_findings(c, done.findings)
    return 0


def status(
    *,
    code: str,
    at: str | None = None,
    plot: str | None = None,
    lab_range: list[str] | None = None,
    db: str | None = None,
    kb: str | None = None,
    as_json: bool = False,
) -> int:
    """Timeline of planned, given and missed doses and results; due, overdue; every result judged."""
    from b12.adapters.cli import read
    from b12.services.follow_up import patient_status

    b12 = open_app(db, kb)
    ranges = read.lab_ranges(b12.knowledge, lab_range or ())
    found = patient_status(b12.unit_of_work, code, when(at, b12).date(), b12.knowledge, ranges)
    written = None
    if plot:
        from b12.adapters.cli.output import writing
        from b12.adapters.plot import plot_trends

        with writing("plot", plot, (".png", ".svg")):
            written = plot_trends(plot, found)
    stopped = EXIT_CODE[outcome(found.findings)]
    if as_json:
        emit_json({**found.to_dict(), "plot": written})
        return stopped
    c = console()
    d = found.to_dict()
    c.print("[bold]Patient {code}[/bold] on {date}: {given} of {planned} doses given; next due "
            "{next}.", code=code, date=d["date"], given=d["given"], planned=d["planned"],
            next=d["next_due"] or "none")  # fmt: skip
    if d["replaced"]:
        shown = "; ".join(f"{o['id']} ({o['regimen']}, from {o['start']})" for o in d["replaced"])
        c.print(
            f"Replaces prescription(s) {shown}: {d['carried_over']} dose(s) given under them "
            "count toward this one."
        )
    rows = [
        (e.on.isoformat(), e.kind, e.says)
        for e in found.timeline
        if e.kind != "planned" or e.on <= found.on
    ]
    upcoming = [e for e in found.timeline if e.kind == "planned" and e.on > found.on][:3]
    rows += [(e.on.isoformat(), e.kind, e.says) for e in upcoming]
    c.print(
        table(
            "Timeline", ("date", "what", "details"), rows, caption="the next 3 planned doses shown"
        )
    )
    if found.results:
        c.print(
            table(
                "Results, each judged",
                ("date", "test", "value", "band", "range used"),
                [
                    (
                        r["date"],
                        r["analyte"],
                        f"{r['value']} {r['unit']}".strip(),
                        r["band"],
                        r["range_used"]["text"],
                    )
                    for r in found.results
                ],
            )
        )
    show_findings(c, found.findings)
    if written:
        c.print("Plot written to {path}", path=written)
    return stopped


def due(
    *,
    at: str | None = None,
    db: str | None = None,
    as_json: bool = False,
) -> int:
    """Everyone due or overdue for a dose on a day."""
    from b12.services.record import due_on

    b12 = open_app(db)
    day = when(at, b12, "--date").date()
    listed = due_on(b12.unit_of_work, day)
    stopped = EXIT_CODE[outcome(f for d in listed for f in d.stops)]
    if as_json:
        emit_json({"date": day.isoformat(), "due": [d.to_dict() for d in listed]})
        return stopped
    rows = [
        (x["patient"], str(x["dose_number"]), x["due"], _due_state(x), str(x["overdue_days"]))
        for x in (d.to_dict() for d in listed)
    ]
    c = console()
    c.print(
        table(
            f"Due on {day.isoformat()}", ("patient", "dose", "due", "state", "days overdue"), rows
        )
    )
    for d in listed:
        for f in d.stops:
            c.print("[bold red]STOP[/bold red] {patient}: {code}", patient=d.patient, code=f.code)
    return stopped


def _due_state(due: dict[str, Any]) -> str:
    """The state, and for a stop what stops it (a reaction after an injection)."""
    if not due["stops"]:
        return str(due["state"])
    return "STOP: " + "; ".join(
        f"{s['code']} ({s['basis']['values']['date']})" for s in due["stops"]
    )


def event_add(
    *,
    code: str,
    description: str,
    severity: str = "mild",
    neurological: bool = False,
    administration: str | None = None,
    at: str | None = None,
    db: str | None = None,
    by: str | None = None,
    as_json: bool = False,
) -> int:
    """Record an adverse event (linked to that day's injection when there was one)."""
    from b12.services.record import add_event

    b12 = open_app(db)
    moment = when(at, b12)
    event = add_event(b12.unit_of_work, code, moment.date(), description, severity, who(by, b12),
                      moment, neurological=neurological, administration_id=administration)  # fmt: skip
    if as_json:
        emit_json({"event": to_json(vars(event))})
    else:
        console().print(f"Event recorded ({event.id}).")
    return 0


def audit_verify(
    *,
    db: str | None = None,
    as_json: bool = False,
) -> int:
    """Walk the hash chain; report the first broken link (exit 3 when broken)."""
    from b12.services.record import verify_audit

    check = verify_audit(open_app(db).unit_of_work)
    if as_json:
        emit_json(check.to_dict())
    elif check.intact:
        console().print(f"Audit trail intact: {check.links} links, head {check.head[:16]}.")
    else:
        console().print("[bold red]Audit trail broken at seq {seq}[/bold red]: {problem}.",
                        seq=check.broken_seq, problem=check.problem)  # fmt: skip
    return 0 if check.intact else 3
