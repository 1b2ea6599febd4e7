"""Supply at home and calendar feeds on SQLite and PostgreSQL: the same answers as the fake record,
exact volumes back from NUMERIC, a feed found by its token's hash only, every row bound by the
audit chain, and the new tables append-only."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa

from b12.bootstrap import App, Settings, build
from b12.domain.calendar_feed import token_hash
from b12.domain.jsonable import to_json
from b12.knowledge import load_knowledge
from b12.services.home_supply import dispense, home_supply, record_waste
from b12.services.record import verify_audit
from b12.services.reminders import UnknownFeedError, make_feed, read_feed, revoke_feed
from tests.fakes import FixedClock
from tests.record.test_fake_agrees import VARYING
from tests.services import steps

KB = load_knowledge()
NOW = datetime(2026, 1, 4, 12, tzinfo=UTC)
LATER = datetime(2026, 1, 4, 12, 5, tzinfo=UTC)  # two dispensings: one after the other
AMPOULE = "cyanocobalamin-500mcg-ml-ampoule"


#: What an id makes differ between two runs, besides the record's own (VARYING).
SUPPLY_IDS = VARYING | {"dispensing", "dispensing_id"}


def _same_shape(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _same_shape(v) for k, v in value.items() if k not in SUPPLY_IDS}
    if isinstance(value, list):
        return [_same_shape(v) for v in value]
    return value


def _scenario(app: App) -> dict[str, Any]:
    steps.add_patient(app)
    steps.prescribe(app)
    dispense(app.unit_of_work, KB, "P-1", steps.PRODUCT, 2, "C4471", date(2027, 9, 30), "ph", NOW)
    dispense(app.unit_of_work, KB, "P-1", AMPOULE, 3, "A1", date(2026, 1, 20), "ph", LATER)
    app.clock = FixedClock(datetime(2026, 1, 6, 10, tzinfo=UTC))
    steps.give(app, datetime(2026, 1, 6, 9, tzinfo=UTC))  # a day late, from lot C4471
    record_waste(app.unit_of_work, KB, "P-1", "C4471", 0, Decimal("0.333333"), "drawn, not given",
                 date(2026, 1, 6), "pat", datetime(2026, 1, 6, 10, tzinfo=UTC))  # fmt: skip
    shown = home_supply(app.unit_of_work, KB, "P-1", date(2026, 1, 6), 14)
    made = make_feed(app.unit_of_work, "P-1", "pat", NOW)
    other = make_feed(app.unit_of_work, "P-1", "pat", NOW)
    revoke_feed(app.unit_of_work, "P-1", other.feed.id, "pat", NOW)
    feed = read_feed(app.unit_of_work, KB, made.token, NOW)
    with pytest.raises(UnknownFeedError):
        read_feed(app.unit_of_work, KB, other.token, NOW)
    return {
        "supply": _same_shape(to_json(shown.to_dict())),
        "feed": [(c.planned.number, c.due.isoformat(), c.state) for c in feed.course],
        "repeating": None if feed.repeating is None else feed.repeating.name,
        "intact": verify_audit(app.unit_of_work).intact,
    }


def test_supply_and_feeds_answer_the_same_on_the_fake_and_the_database(db_url: str) -> None:
    database = build(Settings(database_url=db_url), knowledge=KB, clock=FixedClock(NOW))
    on_fake, on_database = _scenario(steps.fake_app(KB, NOW)), _scenario(database)
    database.close()
    assert on_database["intact"] is True
    assert on_database["supply"]["volume_left_ml"] == "22.566667"  # 20 - 0.1 - 0.333333, + 3 x 1
    assert on_fake == on_database


def test_the_record_keeps_the_tokens_hash_never_the_token(db_url: str) -> None:
    app = build(Settings(database_url=db_url), knowledge=KB, clock=FixedClock(NOW))
    steps.add_patient(app)
    made = make_feed(app.unit_of_work, "P-1", "pat", NOW)
    with app.unit_of_work() as uow:
        rows = uow.connection.execute(sa.text("SELECT * FROM calendar_feeds")).all()
        audit = uow.connection.execute(sa.text("SELECT payload FROM audit_log")).all()
        assert [r.token_hash for r in rows] == [token_hash(made.token)]
        assert made.token not in str(rows) + str(audit)
        assert [f.id for f in uow.calendar_feeds.with_token(token_hash(made.token))] == [
            made.feed.id
        ]
        assert uow.calendar_feeds.with_token(token_hash("other")) == []
    app.close()


@pytest.mark.parametrize("table", ["dispensings", "wastes", "calendar_feeds"])
def test_the_supply_and_feed_rows_are_append_only(db_url: str, table: str) -> None:
    app = build(Settings(database_url=db_url), knowledge=KB, clock=FixedClock(NOW))
    steps.add_patient(app)
    dispense(app.unit_of_work, KB, "P-1", AMPOULE, 3, "A1", date(2026, 1, 20), "ph", NOW)
    record_waste(app.unit_of_work, KB, "P-1", "A1", 1, None, "dropped it", NOW.date(), "ph", NOW)
    make_feed(app.unit_of_work, "P-1", "pat", NOW)
    for statement in (f"UPDATE {table} SET id = id", f"DELETE FROM {table}"):
        with app.unit_of_work() as uow, pytest.raises(sa.exc.DBAPIError, match="append-only"):
            uow.connection.execute(sa.text(statement))
    app.close()
