"""Follow-up commands: `b12 lab add`, `b12 status`, `b12 due`, `b12 event add`, `b12 audit-log verify`
and `b12 audit-log anchor`."""

from __future__ import annotations

from decimal import Decimal
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
    found = patient_status(
        b12.unit_of_work, code, when(at, b12, future=True).date(), b12.knowledge, ranges
    )
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
    ward: str | None = None,
    db: str | None = None,
    as_json: bool = False,
) -> int:
    """Everyone due or overdue for a dose on a day (--ward: on one ward)."""
    from b12.services.record import due_on

    b12 = open_app(db)
    day = when(at, b12, "--date", future=True).date()
    listed = due_on(b12.unit_of_work, day, ward)
    stopped = EXIT_CODE[outcome(f for d in listed for f in d.stops)]
    if as_json:
        extra = {} if ward is None else {"ward": ward.strip()}
        emit_json({"date": day.isoformat(), **extra, "due": [d.to_dict() for d in listed]})
        return stopped
    rows = [
        (x["patient"], str(x["dose_number"]), x["due"], _due_state(x), str(x["overdue_days"]))
        for x in (d.to_dict() for d in listed)
    ]
    shown = None if ward is None else (listed[0].ward if listed else ward.strip())
    title = f"Due on {day.isoformat()}" + ("" if shown is None else f" on ward {shown}")
    c = console()
    c.print(table(title, ("patient", "dose", "due", "state", "days overdue"), rows))
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


def _read_anchor(path: str) -> Any:
    import json

    from b12.errors import InputError

    try:
        with open(path, encoding="utf-8") as kept:
            return json.load(kept)
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise InputError(
            f"anchor {path!r} cannot be read ({exc.__class__.__name__}): give the file "
            "`b12 audit-log anchor --out FILE` wrote",
            field="anchor",
        ) from None


def audit_verify(
    *,
    db: str | None = None,
    anchor: str | None = None,
    as_json: bool = False,
) -> int:
    """Check every audit stream's keyed chain and every record row against its link; with
    --anchor, the heads kept outside the database too (exit 3 when anything does not hold)."""
    from b12.services.record import verify_audit

    kept = None if anchor is None else _read_anchor(anchor)
    check = verify_audit(open_app(db).unit_of_work, kept)
    if as_json:
        emit_json(check.to_dict())
    elif check.intact:
        console().print(
            "Audit trail intact: {links} links in {streams} streams, {rows} record rows bound, "
            "root {head}.",
            links=check.links, streams=len(check.heads), rows=check.rows, head=check.head[:16],
        )  # fmt: skip
    else:
        console().print("[bold red]Audit trail broken[/bold red]: {n} problems.",
                        n=len(check.problems))  # fmt: skip
        for problem in check.problems:
            console().print("  {kind}: {message}", kind=problem.kind, message=problem.message)
    if check.duplicates and not as_json:
        console().print(
            "{n} known old duplicates (kept, marked by revision 0004): {ids}.",
            n=len(check.duplicates),
            ids=", ".join(f"{d.table} {d.id} = {d.duplicate_of}" for d in check.duplicates),
        )
    return 0 if check.intact else 3


def audit_anchor_command(
    *,
    db: str | None = None,
    out: str | None = None,
    as_json: bool = False,
) -> int:
    """Print (or write) the heads of the audit streams and their root, to keep outside the
    database; `verify --anchor FILE` later finds a truncated tail or a rewritten history."""
    import json

    from b12.services.record import audit_anchor

    check, anchor = audit_anchor(open_app(db).unit_of_work)
    if not check.intact:
        console().print("[bold red]Audit trail broken[/bold red]: no anchor written; run "
                        "`b12 audit-log verify` to see why.")  # fmt: skip
        return 3
    if out is None:
        emit_json(anchor)
        return 0
    from b12.errors import InputError

    try:
        with open(out, "x", encoding="utf-8") as kept:
            json.dump(anchor, kept, indent=2, sort_keys=True)
            kept.write("\n")
    except FileExistsError:
        raise InputError(f"{out!r} exists: give a new file for the anchor", field="out") from None
    except (OSError, ValueError) as exc:
        why = getattr(exc, "strerror", None) or "not a file name"
        raise InputError(f"cannot write the anchor to {out!r}: {why}", field="out") from None
    if as_json:
        emit_json({"anchor_file": out, "streams": len(anchor["streams"]), "root": anchor["root"]})
        return 0
    console().print("Anchor written: {out} ({n} streams, root {root}).",
                    out=out, n=len(anchor["streams"]), root=anchor["root"][:16])  # fmt: skip
    return 0


def overrides(*, db: str | None = None, as_json: bool = False) -> int:
    """Override rates per finding: the record's doses and plans, and the CDS Hooks cards."""
    from b12.services.overrides import override_rates

    b12 = open_app(db)
    rates = override_rates(b12.unit_of_work, who(None, b12))
    if as_json:
        emit_json({"rates": [r.to_dict() for r in rates]})
        return 0
    rows = [
        (x["code"], x["level"], str(x["raised"]), str(x["overridden"]), str(x["cds_cards"]),
         str(x["cds_overridden"]), f"{Decimal(x['rate']) * 100:.0f}%",
         "; ".join(f"{r['reason']} ({r['count']})" for r in x["reasons"]))
        for x in (r.to_dict() for r in rates)
    ]  # fmt: skip
    columns = ("finding", "level", "raised", "overridden", "CDS cards", "CDS overridden", "rate",
               "reasons")  # fmt: skip
    caption = None if rows else "No stop or warning has been raised yet."
    console().print(table("Override rates per finding", columns, rows, caption))
    return 0
