"""What the CDS Hooks door keeps: the tokens it accepted, the cards it issued, the feedback on them.

A call (discovery, a hook, feedback) is accepted once per token: the token's (issuer, jti) is
claimed in the same transaction as the cards issued and the call's audit entry, so that every
worker sharing the record refuses a replay. A card's uuid maps back to the finding it came from;
the feedback on it (accepted, or overridden with a reason) counts in the override rates.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, Protocol

from b12.errors import InputError
from b12.services.ports import UnitOfWork

Outcome = Literal["accepted", "overridden"]
OUTCOMES: tuple[Outcome, ...] = ("accepted", "overridden")


@dataclass(frozen=True)
class IssuedCard:
    """A card as issued: its uuid, and the finding, patient and user it was about."""

    uuid: str
    service: str
    hook_instance: str
    finding_code: str
    level: str
    patient: str
    user_id: str
    issuer: str
    fingerprint: str
    issued_at: datetime


@dataclass(frozen=True)
class CardFeedback:
    """What the prescriber did with a card (CDS Hooks feedback)."""

    card_uuid: str
    outcome: Outcome
    accepted: tuple[str, ...]
    reason_system: str | None
    reason_code: str | None
    reason_display: str | None
    comment: str | None
    outcome_at: datetime
    received_at: datetime
    issuer: str


class CdsStore(Protocol):
    def claim_token(self, issuer: str, jti: str, expires_at: datetime, now: datetime) -> bool:
        """Keep (issuer, jti); False when it was kept before (a replay)."""
        ...

    def add_card(self, card: IssuedCard) -> None: ...
    def card(self, uuid: str) -> IssuedCard | None: ...
    def add_feedback(self, feedback: CardFeedback) -> bool:
        """Keep the feedback; False when this card's outcome was kept before (a duplicate)."""
        ...

    def cards(self) -> list[IssuedCard]: ...
    def feedback(self) -> list[CardFeedback]: ...


class CdsUnitOfWork(UnitOfWork, Protocol):
    """A unit of work on the record that also reaches the CDS tables (the SQL one does)."""

    @property
    def cds(self) -> CdsStore: ...


CdsFactory = Callable[[], CdsUnitOfWork]


class ReplayedTokenError(InputError):
    """The token was used before: a CDS client signs a new token (a new jti) for every call."""

    def __init__(self) -> None:
        super().__init__(
            "this token (its jti) was used before: sign a new token for every call",
            field="authorization",
        )


class UnknownCardError(InputError):
    def __init__(self, uuid: str) -> None:
        super().__init__(
            f"no card {uuid[:64]!r} was issued by this service: send feedback on the uuid of a "
            "card it returned",
            field="card",
        )


@dataclass(frozen=True)
class Caller:
    """Who calls, as the verified token says: the issuer, the token's jti and expiry; the EHR's
    user as the request's context names it (None for discovery and feedback)."""

    issuer: str
    jti: str
    expires_at: datetime
    user_id: str | None = None


@dataclass(frozen=True)
class Call:
    """A call to keep: the caller (its token), what it was, and the cards it issued."""

    caller: Caller
    action: str  # cds-discovery, cds-call, cds-refused
    service: str
    at: datetime
    cards: tuple[IssuedCard, ...] = ()
    details: tuple[tuple[str, Any], ...] = ()


def accept_calls(factory: CdsFactory, calls: Sequence[Call]) -> list[bool]:
    """Claim each call's token, keep its cards and audit it (who: the issuer and the user), all in
    one transaction (a group commit); for each call, False when its token was used before (that
    call keeps nothing)."""
    done = []
    with factory() as uow:
        for call in calls:
            caller = call.caller
            if not uow.cds.claim_token(caller.issuer, caller.jti, caller.expires_at, call.at):
                done.append(False)
                continue
            for card in call.cards:
                uow.cds.add_card(card)
            who = f"{caller.issuer} {caller.user_id}" if caller.user_id else caller.issuer
            payload = {
                "issuer": caller.issuer,
                "user": caller.user_id,
                "service": call.service,
                "cards": [{"uuid": c.uuid, "code": c.finding_code} for c in call.cards],
                **dict(call.details),
            }
            uow.audit.append(who[:120], call.action, "CdsCall", caller.jti[:80], None, payload)
            done.append(True)
        uow.commit()
    return done


def accept_call(factory: CdsFactory, call: Call) -> None:
    """One call kept (accept_calls); ReplayedTokenError, nothing kept, when its token was used."""
    if not accept_calls(factory, [call])[0]:
        raise ReplayedTokenError()


def record_feedback(
    factory: CdsFactory,
    caller: Caller,
    service: str,
    items: Sequence[CardFeedback],
    now: datetime,
) -> int:
    """Keep each feedback (a duplicate of one kept is tolerated and not kept twice), with the
    token's claim and an audit entry, in one transaction; the number newly kept."""
    with factory() as uow:
        if not uow.cds.claim_token(caller.issuer, caller.jti, caller.expires_at, now):
            raise ReplayedTokenError()
        kept = 0
        for item in items:
            card = uow.cds.card(item.card_uuid)
            if card is None or card.service != service:
                raise UnknownCardError(item.card_uuid)
            kept += uow.cds.add_feedback(item)
        payload = {
            "issuer": caller.issuer,
            "service": service,
            "feedback": [{"card": i.card_uuid, "outcome": i.outcome} for i in items],
            "kept": kept,
        }
        uow.audit.append(caller.issuer[:120], "cds-feedback", "CdsCall", caller.jti[:80], None,
                         payload)  # fmt: skip
        uow.commit()
        return kept


@dataclass(frozen=True)
class CardOutcomes:
    """Per finding code: cards issued, overridden, and the override reasons given."""

    code: str
    level: str
    issued: int
    overridden: int
    reasons: dict[str, int]


def card_outcomes(uow: UnitOfWork) -> list[CardOutcomes]:
    """The cards issued and overridden, per finding code (none when the record has no CDS tables,
    as a fake unit of work)."""
    store: CdsStore | None = getattr(uow, "cds", None)
    if store is None:
        return []
    cards = {c.uuid: c for c in store.cards()}
    issued: dict[tuple[str, str], int] = {}
    for c in cards.values():
        issued[c.finding_code, c.level] = issued.get((c.finding_code, c.level), 0) + 1
    overridden: dict[tuple[str, str], set[str]] = {}
    reasons: dict[tuple[str, str], dict[str, int]] = {}
    for f in store.feedback():
        card = cards.get(f.card_uuid)
        if card is None or f.outcome != "overridden":
            continue
        key = (card.finding_code, card.level)
        overridden.setdefault(key, set()).add(card.uuid)
        said = f.reason_display or f.reason_code or f.comment
        if said:
            shown = f"{said}: {f.comment}" if f.comment and said != f.comment else said
            reasons.setdefault(key, {})[shown] = reasons.get(key, {}).get(shown, 0) + 1
    return [
        CardOutcomes(code, level, n, len(overridden.get((code, level), ())),
                     reasons.get((code, level), {}))
        for (code, level), n in sorted(issued.items())
    ]  # fmt: skip
