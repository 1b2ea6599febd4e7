"""Reminders: a private calendar subscription of a patient's course, made and revoked by the patient,
a caregiver or staff, and the course it serves.

The feed's token (``secrets.token_urlsafe``, 256 bits) is the credential of its address: it is
shown once, when made, and the record keeps only its sha256. A token no live feed has (never made,
or revoked) is answered exactly as an unknown one (``UnknownFeedError``). The course served is the
active prescription's rows as they stand (``services.record.course_of``): a late or missed dose
re-flows the doses after it, and the feed shows the new dates at its next read. Making, revoking
and every read of a feed are in the patient's audit stream.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from b12.domain.calendar_feed import CalendarFeed, live, token_hash
from b12.domain.course import CourseDose
from b12.domain.records import PatientRecord, Prescription
from b12.errors import InputError
from b12.knowledge.base import Knowledge
from b12.services.ports import UnitOfWork, opens_unit_of_work
from b12.services.record import active_prescription, audit, course_of, find_patient, new_id

TOKEN_BYTES = 32
#: Kinds of the last phase that go on without end (besides a lifelong one): one recurrence.
OPEN_ENDED_KINDS = ("maintenance", "prophylaxis")


class UnknownFeedError(InputError, LookupError):
    """No live calendar feed has this token (never made, or revoked)."""

    def __init__(self) -> None:
        super().__init__("no calendar feed at this address: ask for a new one", field="token")


@dataclass(frozen=True)
class FeedMade:
    feed: CalendarFeed
    token: str  # shown once; the record keeps its sha256 only


@opens_unit_of_work
def make_feed(uow: UnitOfWork, code: str, who: str, now: datetime) -> FeedMade:
    """A new private feed of the patient's course (earlier feeds stay live until revoked)."""
    record = find_patient(uow, code)
    token = secrets.token_urlsafe(TOKEN_BYTES)
    feed = CalendarFeed(new_id(), record.id, token_hash(token), now, who)
    uow.calendar_feeds.add(feed)
    audit(uow, who, "calendar-feed-make", feed, record.id)
    uow.commit()
    return FeedMade(feed, token)


@opens_unit_of_work
def revoke_feed(uow: UnitOfWork, code: str, feed_id: str, who: str, now: datetime) -> CalendarFeed:
    """Revoke a live feed of the patient: its address answers 404 from now on."""
    record = find_patient(uow, code)
    mine = {f.id: f for f in live(uow.calendar_feeds.for_patient(record.id))}
    if feed_id.strip() not in mine:
        raise InputError(
            f"no live calendar feed {feed_id[:40]!r} for {record.code}: write the id of one of "
            "the patient's live feeds",
            field="feed",
        )
    row = CalendarFeed(new_id(), record.id, None, now, who, revokes_id=feed_id.strip())
    uow.calendar_feeds.add(row)
    audit(uow, who, "calendar-feed-revoke", row, record.id)
    uow.commit()
    return row


@opens_unit_of_work
def live_feeds(uow: UnitOfWork, code: str) -> list[CalendarFeed]:
    record = find_patient(uow, code)
    return live(uow.calendar_feeds.for_patient(record.id))


@dataclass(frozen=True)
class FeedCourse:
    """What a feed serves: the patient's code, the active prescription and its re-flowed rows, and
    the last phase when it goes on without end (its knowledge entry, for the recurrence)."""

    patient: PatientRecord
    prescription: Prescription | None
    course: tuple[CourseDose, ...]
    repeating: Any | None  # the regimen's Phase that repeats without end, or None
    read_at: datetime


@opens_unit_of_work
def read_feed(uow: UnitOfWork, kb: Knowledge, token: str, now: datetime) -> FeedCourse:
    """The course behind a live feed's token; an unknown or revoked token is UnknownFeedError."""
    if not token or len(token) > 200:
        raise UnknownFeedError()
    rows = uow.calendar_feeds.with_token(token_hash(token))
    made = [r for r in rows if r.token_hash is not None]
    if not made or any(r.revokes_id == made[0].id for r in rows):
        raise UnknownFeedError()
    feed = made[0]
    patient = uow.patients.get(feed.patient_id)
    if patient is None:
        raise UnknownFeedError()
    patient = find_patient(uow, patient.code)  # the current profile
    rx = active_prescription(uow, patient.id)
    course = () if rx is None else course_of(uow, rx)
    uow.audit.append(
        f"calendar-feed:{feed.id}", "read-calendar-feed", "CalendarFeed", feed.id, patient.id, {}
    )
    uow.commit()
    return FeedCourse(patient, rx, course, _repeating(kb, rx, course), now)


def _repeating(kb: Knowledge, rx: Prescription | None, course: tuple[CourseDose, ...]) -> Any:
    """The regimen's last phase when it goes on without end at one dose (lifelong, or an
    open-ended maintenance or prophylaxis); None otherwise or when the regimen is not known."""
    if rx is None or rx.regimen_id is None or not course:
        return None
    regimens = kb.all("regimens")
    regimen = regimens.get(rx.regimen_id)
    if regimen is None:
        return None
    last = course[-1].planned.phase
    phase = next((p for p in regimen.phases if p.name == last), None)
    if phase is None or not (phase.lifelong or phase.kind in OPEN_ENDED_KINDS):
        return None
    doses = {(c.planned.dose_mcg, c.planned.volume_ml, c.planned.route) for c in course
             if c.planned.phase == last}  # fmt: skip
    return phase if len(doses) == 1 else None
