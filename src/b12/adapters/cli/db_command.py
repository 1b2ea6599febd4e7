"""`b12 db upgrade`: the explicit migration step (every other command refuses an older record)."""

from __future__ import annotations

from b12.adapters.cli.output import console, emit_json


def db_upgrade(
    *,
    db: str | None = None,
    as_json: bool = False,
) -> int:
    """Create the record's tables, or bring them to the revision this b12 needs (safe to repeat)."""
    from b12.bootstrap import Settings, upgrade

    done = upgrade(Settings.read(database_url=db))
    if as_json:
        emit_json({"database": done.url, "before": done.before, "after": done.after})
    elif done.before == done.after:
        console().print(
            "Record {url} is up to date (revision {after}).", url=done.url, after=done.after
        )
    else:
        was = "empty" if done.before is None else f"at revision {done.before}"
        console().print(
            "Record {url} upgraded: was {was}, now at revision {after}.",
            url=done.url,
            was=was,
            after=done.after,
        )
    return 0
