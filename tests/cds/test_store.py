"""The CDS Hooks tables on SQLite and PostgreSQL: a token once whoever claims it, cards issued,
feedback once per card and outcome, and the rows append-only."""

from __future__ import annotations

import threading
import uuid
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from b12.bootstrap import Settings, build
from b12.services import decision_support as ds
from tests.record.conftest import db_url, empty_db_url, pg_server  # noqa: F401

NOW = datetime(2027, 3, 10, 10, 0, tzinfo=UTC)
ISSUER = "https://ehr.example.org"


def _caller(jti: str, user: str | None = "Practitioner/1") -> ds.Caller:
    return ds.Caller(ISSUER, jti, NOW + timedelta(minutes=4), user)


def _card(code: str = "DOSE_UNIT_SLIP") -> ds.IssuedCard:
    return ds.IssuedCard(str(uuid.uuid4()), "order-sign", str(uuid.uuid4()), code, "stop",
                         "Patient/1", "Practitioner/1", ISSUER, "fp", NOW)  # fmt: skip


def _feedback(card: ds.IssuedCard, outcome: ds.Outcome = "overridden") -> ds.CardFeedback:
    return ds.CardFeedback(card.uuid, outcome, (), "sys", "other", "other (say why)", "because",
                           NOW, NOW, ISSUER)  # fmt: skip


def test_a_group_commit_keeps_each_call_and_refuses_each_replay(db_url: str) -> None:  # noqa: F811
    app = build(Settings(database_url=db_url, time_zone="UTC"))
    card = _card()
    calls = [
        ds.Call(_caller("a"), "cds-call", "order-sign", NOW, (card,)),
        ds.Call(_caller("b"), "cds-discovery", "-", NOW),
        ds.Call(_caller("a"), "cds-call", "order-sign", NOW, (_card(),)),  # a replay in the batch
    ]
    assert ds.accept_calls(app.unit_of_work, calls) == [True, True, False]  # type: ignore[arg-type]
    with pytest.raises(ds.ReplayedTokenError):
        ds.accept_call(app.unit_of_work, ds.Call(_caller("b"), "cds-discovery", "-", NOW))  # type: ignore[arg-type]
    with app.unit_of_work() as uow:
        assert [c.uuid for c in uow.cds.cards()] == [card.uuid]  # type: ignore[attr-defined]
        audited = [e for e in uow.audit.entries() if e.entity == "CdsCall"]
    assert [(e.action, e.who) for e in audited] == [
        ("cds-call", f"{ISSUER} Practitioner/1"), ("cds-discovery", f"{ISSUER} Practitioner/1")
    ]  # fmt: skip
    app.close()


def test_the_same_token_claimed_at_once_by_many_is_kept_once(db_url: str) -> None:  # noqa: F811
    app = build(Settings(database_url=db_url, time_zone="UTC"))
    results: list[bool] = []
    barrier = threading.Barrier(6)

    def claim() -> None:
        barrier.wait()
        call = ds.Call(_caller("same"), "cds-discovery", "-", NOW)
        results.extend(ds.accept_calls(app.unit_of_work, [call]))  # type: ignore[arg-type]

    threads = [threading.Thread(target=claim) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == [False] * 5 + [True]
    app.close()


def test_feedback_is_kept_once_per_card_and_outcome_and_counted(db_url: str) -> None:  # noqa: F811
    app = build(Settings(database_url=db_url, time_zone="UTC"))
    first, second = _card(), _card()
    ds.accept_calls(app.unit_of_work, [ds.Call(_caller("c"), "cds-call", "order-sign", NOW,  # type: ignore[arg-type]
                                               (first, second))])  # fmt: skip
    kept = ds.record_feedback(
        app.unit_of_work, _caller("d", None), "order-sign",  # type: ignore[arg-type]
        [_feedback(first), _feedback(first), _feedback(second, "accepted")], NOW,
    )  # fmt: skip
    assert kept == 2
    with app.unit_of_work() as uow:
        (slip,) = ds.card_outcomes(uow)
        assert (slip.code, slip.issued, slip.overridden) == ("DOSE_UNIT_SLIP", 2, 1)
        assert slip.reasons == {"other (say why): because": 1}
    with pytest.raises(ds.UnknownCardError):
        ds.record_feedback(app.unit_of_work, _caller("e"), "order-sign",  # type: ignore[arg-type]
                           [_feedback(_card())], NOW)  # fmt: skip
    app.close()


@pytest.mark.parametrize("table", ["cds_tokens", "cds_cards", "cds_feedback"])
def test_the_cds_tables_are_append_only(db_url: str, table: str) -> None:  # noqa: F811
    app = build(Settings(database_url=db_url, time_zone="UTC"))
    first = _card()
    ds.accept_calls(app.unit_of_work, [ds.Call(_caller("f"), "cds-call", "order-sign", NOW,  # type: ignore[arg-type]
                                               (first,))])  # fmt: skip
    ds.record_feedback(app.unit_of_work, _caller("g"), "order-sign", [_feedback(first)], NOW)  # type: ignore[arg-type]
    engine = sa.create_engine(db_url)
    for statement in (f"UPDATE {table} SET issuer = issuer", f"DELETE FROM {table}"):
        with pytest.raises(sa.exc.DBAPIError, match="append-only"), engine.begin() as c:
            c.execute(sa.text(statement))
    engine.dispose()
    app.close()
