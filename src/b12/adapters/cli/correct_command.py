"""`b12 correct`: replace a recorded administration, result or event; the old record is kept."""
# No `from __future__ import annotations` in command modules: Typer reads the annotations at run time.

from datetime import date, datetime
from typing import Annotated, Any

import typer

from b12.adapters.cli.app import JsonOption, KbOption, command, open_app
from b12.adapters.cli.output import console, emit_json
from b12.adapters.cli.record_options import DbOption, WhoOption, in_clinic, when, who
from b12.errors import InputError


@command("correct")
def correct_command(
    kind: Annotated[str, typer.Argument(help="administration, lab or event.")],
    code: Annotated[str, typer.Argument(help="The patient's pseudonymous identifier.")],
    record_id: Annotated[
        str, typer.Argument(help="The record's id (see `b12 status CODE --json`).")
    ],
    changes: Annotated[
        list[str],
        typer.Argument(
            help="FIELD=VALUE, e.g. dose_mcg=100 site='left deltoid'; for a lab: reading=hb=11.2g/dL."
        ),
    ],
    reason: Annotated[
        str, typer.Option(help="Why the record is corrected (kept in the audit trail).")
    ],
    db: DbOption = None,
    by: WhoOption = None,
    kb: KbOption = None,
    as_json: JsonOption = False,
) -> int:
    """Correct a record: a new record replaces it and points at it; nothing is changed or deleted."""
    from b12.adapters.cli import read
    from b12.services.corrections import correct, lab_changes, parse_change

    b12 = open_app(db, kb)
    moment = when(None, b12)
    parsed: dict[str, Any] = {}
    reading = None
    for change in changes:
        field, sep, value = change.partition("=")
        if not sep or not field.strip():
            raise InputError(f"{change!r}: write FIELD=VALUE, e.g. dose_mcg=100")
        if kind == "lab" and field.strip() == "reading":
            reading = read.reading(b12.knowledge, value.strip())
        else:
            parsed[field.strip()] = parse_change(field.strip(), value.strip())
            if isinstance(parsed[field.strip()], datetime):
                parsed[field.strip()] = in_clinic(parsed[field.strip()], b12)
    if reading is not None:
        taken_on = parsed.get("taken_on")
        on = taken_on if isinstance(taken_on, date) else moment.date()
        parsed = {**lab_changes(b12.knowledge, b12.unit_of_work, code, reading, on), **parsed}
    done = correct(b12.unit_of_work, code, kind, record_id, parsed, reason, who(by, b12), moment)
    if as_json:
        emit_json(done.to_dict())
    else:
        console().print(
            "{kind} {old} corrected by {new} ({reason}); the old record is kept and no longer counts.",
            kind=kind.capitalize(),
            old=done.old.id,
            new=done.new.id,
            reason=done.reason,
        )
    return 0
