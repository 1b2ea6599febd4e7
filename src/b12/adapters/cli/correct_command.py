"""`b12 correct`: replace a recorded administration, result or event; the old record is kept.
`b12 void`: mark an administration or a result entered in error; it is kept and no longer counts."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from b12.adapters.cli.app import open_app
from b12.adapters.cli.output import console, emit_json
from b12.adapters.cli.record_options import in_clinic, when, who
from b12.errors import InputError


def correct_command(
    *,
    kind: str,
    code: str,
    record_id: str,
    changes: list[str],
    reason: str,
    override: str | None = None,
    db: str | None = None,
    by: str | None = None,
    kb: str | None = None,
    as_json: bool = False,
) -> int:
    """Correct a record: a new record replaces it and points at it; nothing is changed or deleted."""
    from b12.adapters.cli import read
    from b12.services.corrections import READING_FIELDS, correct, lab_changes, parse_change

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
        elif kind == "lab" and field.strip() in READING_FIELDS:
            raise InputError(
                f"{field.strip()}: a result's value is corrected as a whole reading, e.g. "
                "reading=b12=300pg/mL (its unit, normalised value and LOINC code are read from it)"
            )
        else:
            parsed[field.strip()] = parse_change(field.strip(), value.strip())
            if isinstance(parsed[field.strip()], datetime):
                parsed[field.strip()] = in_clinic(parsed[field.strip()], b12)
    if reading is not None:
        taken_on = parsed.get("taken_on")
        on = taken_on if isinstance(taken_on, date) else moment.date()
        parsed = {**lab_changes(b12.knowledge, b12.unit_of_work, code, reading, on), **parsed}
    done = correct(
        b12.unit_of_work, code, kind, record_id, parsed, reason, who(by, b12), moment,
        kb=b12.knowledge, override=override,
    )  # fmt: skip
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


def void_command(
    *,
    kind: str,
    code: str,
    record_id: str,
    reason: str,
    db: str | None = None,
    by: str | None = None,
    as_json: bool = False,
) -> int:
    """Mark a record entered in error: a copy marked void replaces it; neither counts any more,
    and both are kept (the same use case as the web's "Mark entered in error")."""
    from b12.services.corrections import void

    b12 = open_app(db, None)
    moment = when(None, b12)
    done = void(b12.unit_of_work, code.strip(), kind.strip(), record_id.strip(), reason,
                who(by, b12), moment)  # fmt: skip
    if as_json:
        emit_json(done.to_dict())
    else:
        console().print(
            "{kind} {old} marked entered in error by {new} ({reason}); the original is kept and "
            "no longer counts.",
            kind=done.kind.capitalize(),
            old=done.old.id,
            new=done.new.id,
            reason=done.reason,
        )
    return 0
