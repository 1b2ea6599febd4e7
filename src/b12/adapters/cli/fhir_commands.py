"""`b12 fhir export PATIENT` and `b12 fhir import FILE`: the record as FHIR R4 (needs b12[fhir]
only to validate; the mapping itself is b12's own and loads when the command runs)."""

from __future__ import annotations

from pathlib import Path

from b12.adapters.cli.app import open_app
from b12.adapters.cli.output import EXIT_CODE, console, emit_json, show_findings, write_out
from b12.adapters.cli.record_options import when, who
from b12.domain.findings import Level, Outcome
from b12.errors import InputError


def fhir_export(
    *,
    code: str,
    out: str | None = None,
    db: str | None = None,
    by: str | None = None,
    kb: str | None = None,
    as_json: bool = False,
) -> int:
    """The patient's record as a FHIR Bundle (type collection): on stdout, or in --out."""
    from b12.adapters.fhir.bundle import bundle, patient_resources
    from b12.adapters.fhir.jsonio import dumps
    from b12.services.exchange import export_records

    the_app = open_app(db, kb)
    now = the_app.clock.now().replace(microsecond=0)
    records = export_records(the_app.unit_of_work, code, who(by, the_app), "fhir-export")
    found = patient_resources(the_app.knowledge, records)
    text = dumps(bundle(found.all(), timestamp=now), indent=2) + "\n"
    counts = {
        "Patient": 1,
        "MedicationRequest": len(found.medication_requests),
        "MedicationAdministration": len(found.administrations),
        "DetectedIssue": len(found.issues),
        "Observation": len(found.observations),
    }
    for resource in found.profile:  # the screening profile: allergies, conditions, weight ...
        kind = resource["resourceType"]
        counts[kind] = counts.get(kind, 0) + 1
    if out is None:
        write_out(text)
        return 0
    try:
        Path(out).write_text(text, encoding="utf-8")
    except OSError as exc:
        raise InputError(
            f"out {out!r} cannot be written: {exc.strerror or exc}; give another file", field="out"
        ) from None
    if as_json:
        emit_json({"out": out, "resources": counts})
    else:
        listed = ", ".join(f"{kind} {n}" for kind, n in counts.items())
        console().print("Exported {code} to {out}: {listed}.", code=code, out=out, listed=listed)
    return 0


def fhir_import(
    *,
    file: str,
    override: str | None = None,
    at: str | None = None,
    db: str | None = None,
    by: str | None = None,
    kb: str | None = None,
    as_json: bool = False,
) -> int:
    """Record a Bundle or one resource through b12's checks; exit 3 when a stop kept one out."""
    from b12.adapters.fhir.bundle import import_resources
    from b12.adapters.fhir.jsonio import loads

    try:
        data = loads(Path(file).read_bytes())
    except OSError as exc:
        raise InputError(
            f"file {file!r} cannot be read: {exc.strerror or exc}; give a FHIR JSON file",
            field="file",
        ) from None
    the_app = open_app(db, kb)
    done = import_resources(the_app, data, who(by, the_app), when(at, the_app), override=override)
    code = EXIT_CODE[Outcome.STOPPED if any(i.outcome == "stopped" for i in done) else Outcome.DONE]
    if as_json:
        emit_json({"imported": [i.to_dict() for i in done]})
        return code
    screen = console()
    for item in done:
        where = f" ({item.path})" if item.path != item.kind else ""
        screen.print(
            "{kind}{where}: {outcome}{id}",
            kind=item.kind,
            where=where,
            outcome=item.outcome,
            id="" if item.id is None else f" {item.id}",
        )
        for note in item.notes:
            screen.print("  note: {note}", note=note)
        shown = [f for f in item.findings if f.level is not Level.INFO or item.outcome == "stopped"]
        if shown:
            show_findings(screen, shown)
    return code
