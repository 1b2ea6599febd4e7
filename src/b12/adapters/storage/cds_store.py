"""The CDS Hooks tables (revision 0010) behind ``services.decision_support.CdsStore``."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Table, select
from sqlalchemy.dialects import postgresql, sqlite

from b12.adapters.storage import tables as t
from b12.adapters.storage.limits import check_text
from b12.services.decision_support import CardFeedback, IssuedCard


def _insert_once(connection: Connection, table: Table, values: dict[str, Any]) -> bool:
    """INSERT unless a row with the same key exists (ON CONFLICT DO NOTHING: no error aborts the
    transaction, on SQLite or PostgreSQL); True when the row was inserted."""
    dialect = postgresql if connection.dialect.name == "postgresql" else sqlite
    key = next(iter(table.primary_key.columns))
    statement = dialect.insert(table).values(**values).on_conflict_do_nothing().returning(key)
    # RETURNING, not rowcount: psycopg reports no rowcount for INSERT ... ON CONFLICT here
    return connection.execute(statement).first() is not None


class SqlCdsStore:
    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    def claim_token(self, issuer: str, jti: str, expires_at: datetime, now: datetime) -> bool:
        check_text("iss", issuer, 255)
        check_text("jti", jti, 255)
        return _insert_once(
            self._connection, t.cds_tokens,
            {"issuer": issuer, "jti": jti, "expires_at": expires_at, "used_at": now},
        )  # fmt: skip

    def add_card(self, card: IssuedCard) -> None:
        for name in ("patient", "user_id", "issuer"):
            check_text(name, getattr(card, name), 255)
        self._connection.execute(t.cds_cards.insert(), vars(card))

    def card(self, uuid: str) -> IssuedCard | None:
        row = self._connection.execute(
            select(t.cds_cards).where(t.cds_cards.c.uuid == uuid[:36])
        ).first()
        return None if row is None else IssuedCard(**row._mapping)

    def add_feedback(self, feedback: CardFeedback) -> bool:
        values = vars(feedback) | {"accepted": list(feedback.accepted)}
        limits = {"reason_system": 255, "reason_code": 64, "reason_display": 255, "comment": 4000}
        for name, limit in limits.items():
            if values[name] is not None:
                check_text(name, values[name], limit)
        return _insert_once(self._connection, t.cds_feedback, values)

    def cards(self) -> list[IssuedCard]:
        query = select(t.cds_cards).order_by(t.cds_cards.c.issued_at)
        return [IssuedCard(**row._mapping) for row in self._connection.execute(query)]

    def feedback(self) -> list[CardFeedback]:
        query = select(t.cds_feedback).order_by(t.cds_feedback.c.received_at)
        return [
            CardFeedback(**{**row._mapping, "accepted": tuple(row.accepted)})
            for row in self._connection.execute(query)
        ]
