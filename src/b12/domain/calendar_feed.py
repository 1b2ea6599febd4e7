"""A private calendar subscription of one patient's course: a row per feed made, a row per revocation.

The token is the credential of the feed's address; the record keeps only its sha256 (``token_hash``),
so neither a reader of the database nor its backups can subscribe. A feed is live until a later row
revokes it (``revokes_id``); rows are never changed or deleted.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class CalendarFeed:
    id: str
    patient_id: str
    token_hash: str | None  # None on a revocation row
    created_at: datetime
    created_by: str
    revokes_id: str | None = None


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def live(rows: Iterable[CalendarFeed]) -> list[CalendarFeed]:
    """The feeds made and not revoked, oldest first."""
    listed = list(rows)
    revoked = {r.revokes_id for r in listed if r.revokes_id is not None}
    return [r for r in listed if r.token_hash is not None and r.id not in revoked]
