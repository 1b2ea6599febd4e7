"""`b12 db upgrade`: the explicit migration step (every other command refuses an older record);
`b12 db grant ROLE`: the PostgreSQL role the application connects as may only read and insert."""

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
        emit_json({"database": done.url, "before": done.before, "after": done.after,
                   "audit_key_file": done.key_file, "audit_key_created": done.key_created})  # fmt: skip
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
    if done.key_created and not as_json:
        console().print(
            "Audit key created: {key} (mode 0600; keep a copy apart from the record's backups).",
            key=done.key_file,
        )
    return 0


def db_grant(
    *,
    role: str,
    db: str | None = None,
    as_json: bool = False,
) -> int:
    """Let ROLE read and insert, and nothing more (run as the tables' owner, after upgrade)."""
    from b12.bootstrap import Settings, grant

    url = grant(Settings.read(database_url=db), role)
    if as_json:
        emit_json({"database": url, "role": role, "privileges": ["SELECT", "INSERT"]})
    else:
        console().print(
            "Role {role} may now SELECT and INSERT on {url}; UPDATE, DELETE, TRUNCATE and "
            "schema changes stay with the owner.",
            role=role,
            url=url,
        )
    return 0
