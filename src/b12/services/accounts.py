"""Accounts, roles and sessions: who may do what to which patient's record.

A door (the web app) authenticates a person with these use cases and then acts in their name: who
did something is the account's username, taken from the session, never from a form. Passwords are
hashed by a ``PasswordHasher`` the composition root provides (argon2id); sessions are server-side
rows found by the sha256 of their token (the token itself is only in the person's cookie).

Roles and what each may do (``PERMISSIONS``):
  prescriber   read every patient; prescribe, stop, correct, bypass a stop with a reason; give
               (the one who may lift a give's stop with a reason gives that dose)
  nurse        read every patient; give, hold, refuse, miss; labs and events
  pharmacist   read every patient; review overrides; the audit trail
  patient      their own record; record their own dose and a missed one when the active
               prescription says self-injection; report a reaction; link and unlink their carers
  caregiver    the patients linked to the account; report a reaction; record a dose (and a
               missed one) when the prescription says self-injection and the link says this
               carer injects

Who may inject at home is the prescriber's decision, kept with the prescription
(``Prescription.self_injection``). The link's own mark (``PatientLink.self_injects``) is read on a
caregiver's link only: it says which of the patient's carers is the one who injects (a parent, not
the grandparent who only follows the schedule); only a prescriber sets it. A link that ends (the
prescriber or the patient unlinks) ends the carer's access on their very next request: the
session reads the account's live links every time.
Supply at home: nurses and pharmacists dispense; they, the patient and a caregiver record waste.
Everyone who may see a patient may make or revoke the patient's calendar feed.

A patient or caregiver asking for a patient they are not linked to is told exactly what they would
be told about a patient who does not exist (``UnknownPatientError``): a foreign id and an absent
one cannot be told apart.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any, Literal, Protocol, TypeVar, get_args

from b12.domain.jsonable import to_json
from b12.errors import InputError
from b12.services.ports import AuditTrail, Clock, UnitOfWork
from b12.services.record import UnknownPatientError, find_patient, new_id

Role = Literal["prescriber", "nurse", "pharmacist", "patient", "caregiver"]
ROLES: tuple[Role, ...] = get_args(Role)
STAFF: frozenset[Role] = frozenset({"prescriber", "nurse", "pharmacist"})
Permission = Literal[
    "read", "prescribe", "stop", "correct", "bypass", "give", "missed", "labs", "events",
    "review", "audit", "dispense", "waste", "calendar", "link",
]  # fmt: skip

#: What each role may do. "read" is checked against the patient too (``can_see``); a patient's or
#: caregiver's "give" and "missed" also need a self-injection prescription (checked by the use
#: case, under the patient's lock), and a caregiver's the link's mark that this carer injects.
PERMISSIONS: dict[Role, frozenset[Permission]] = {
    "prescriber": frozenset(
        {"read", "prescribe", "stop", "correct", "bypass", "give", "calendar", "link"}
    ),
    "nurse": frozenset(
        {"read", "give", "missed", "labs", "events", "dispense", "waste", "calendar"}
    ),
    "pharmacist": frozenset({"read", "review", "audit", "dispense", "waste", "calendar"}),
    "patient": frozenset({"read", "give", "missed", "events", "link", "waste", "calendar"}),
    "caregiver": frozenset({"read", "give", "missed", "events", "waste", "calendar"}),
}
#: The acts of a patient or a carer that need the prescription's self-injection mark.
AT_HOME: frozenset[Permission] = frozenset({"give", "missed"})

#: Staff sessions end after 15 minutes without a request; patients' and caregivers' after 12 hours
#: (nobody else reaches another patient's record from their device).
IDLE = {
    "prescriber": timedelta(minutes=15),
    "nurse": timedelta(minutes=15),
    "pharmacist": timedelta(minutes=15),
    "patient": timedelta(hours=12),
    "caregiver": timedelta(hours=12),
}
#: Login throttling: after this many failures in a row the account waits LOCKOUT before the next try.
MAX_FAILURES = 5
LOCKOUT = timedelta(minutes=15)
#: A session's last use is written at most this often (a write per request would queue every
#: reader behind the record's write lock); the idle time then ends up to this much early, never late.
TOUCH_EVERY = timedelta(seconds=60)
USERNAME_MAX = 64
MIN_PASSWORD = 10


class PasswordHasher(Protocol):
    """argon2id in the running system (bootstrap), lighter parameters in tests."""

    def hash(self, password: str) -> str: ...
    def verify(self, password: str, hashed: str) -> bool: ...


@dataclass(frozen=True)
class Account:
    id: str
    username: str
    password_hash: str
    role: Role
    disabled: bool
    failed_logins: int
    locked_until: datetime | None  # an instant (aware)
    created_at: datetime
    created_by: str


@dataclass(frozen=True)
class PatientLink:
    account_id: str
    patient_code: str
    self_injects: bool  # a caregiver's link: this carer injects (a patient's own: not read)
    ended_at: datetime | None = None  # the link ended (None: live)


@dataclass(frozen=True)
class WebSession:
    id: str  # sha256 of the token
    account_id: str
    csrf: str
    created_at: datetime
    last_seen: datetime
    ended: bool


class AccountStore(Protocol):
    def add(self, account: Account) -> None: ...
    def get(self, account_id: str) -> Account | None: ...
    def named(self, username: str) -> Account | None: ...
    def all(self) -> list[Account]: ...
    def update(self, account: Account) -> None: ...
    def link(self, link: PatientLink) -> None: ...
    def links(self, account_id: str) -> list[PatientLink]: ...
    def linked_to(self, patient_code: str) -> list[PatientLink]: ...
    def end_link(self, account_id: str, patient_code: str, at: datetime) -> None: ...
    def add_session(self, session: WebSession) -> None: ...
    def session(self, session_id: str) -> WebSession | None: ...
    def touch_session(self, session_id: str, at: datetime) -> None: ...
    def end_sessions(self, account_id: str, session_id: str | None = None) -> None: ...


class AccountsUnitOfWork(UnitOfWork, Protocol):
    """A unit of work on the record that also reaches the accounts (the SQL one does)."""

    @property
    def accounts(self) -> AccountStore: ...


AccountsFactory = Callable[[], AccountsUnitOfWork]
T = TypeVar("T")


class AccountError(InputError):
    """An account cannot be made or changed as asked (a taken name, a short password ...)."""


class LoginError(InputError):
    """Wrong name or password, a disabled or a throttled account: one message for all of them."""

    def __init__(self) -> None:
        super().__init__(
            "the username or password is wrong, or the account is locked for a while after "
            "too many tries; try again, or ask an administrator",
            field="password",
        )


class SessionExpiredError(InputError):
    """No session, an ended one, or one idle for too long: log in again."""

    def __init__(self) -> None:
        super().__init__("your session has ended: log in again", field="session")


class ForbiddenError(InputError):
    """The role may not do this (the patient is one the account may see)."""

    def __init__(self, role: str, permission: str) -> None:
        self.role = role
        self.permission = permission
        who = "a colleague whose role may" if role in STAFF else "the prescriber"
        super().__init__(
            f"a {role} account may not {permission.replace('_', ' ')}; ask {who}", field="role"
        )


@dataclass(frozen=True)
class Actor:
    """Who acts, as a session says: the account and the patients it is linked to."""

    account_id: str
    username: str
    role: Role
    links: tuple[PatientLink, ...] = ()
    session_id: str = ""
    csrf: str = ""

    @property
    def staff(self) -> bool:
        return self.role in STAFF

    def may(self, permission: Permission) -> bool:
        return permission in PERMISSIONS[self.role]

    def can_see(self, code: str) -> bool:
        return self.staff or any(link.patient_code == code for link in self.links)

    def self_injects(self, code: str) -> bool:
        """A patient's own record, or a carer linked to inject: may record a dose given at home
        (when the prescription says self-injection)."""
        if self.role == "patient":
            return self.can_see(code)
        return any(link.patient_code == code and link.self_injects for link in self.links)


def _utc(clock: Clock) -> datetime:
    return clock.now().astimezone(UTC)


def token_id(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def _check_username(username: str) -> str:
    name = username.strip()
    if not name or len(name) > USERNAME_MAX or any(not (c.isalnum() or c in "._-@") for c in name):
        raise AccountError(
            f"username {username!r}: write 1-{USERNAME_MAX} letters, digits or . _ - @, "
            "e.g. n.martin",
            field="username",
        )
    return name


def _check_password(password: str) -> str:
    if len(password) < MIN_PASSWORD or "\x00" in password:
        raise AccountError(
            f"a password needs at least {MIN_PASSWORD} characters (no NUL); a passphrase of "
            "three or four words is easy to type and hard to guess",
            field="password",
        )
    return password


def _check_role(role: str) -> Role:
    for known in ROLES:
        if role == known:
            return known
    raise AccountError(f"role {role!r}: write one of {', '.join(ROLES)}", field="role")


def _audit(audit: AuditTrail, who: str, action: str, account: Account, **extra: Any) -> None:
    payload = {"username": account.username, "role": account.role, **extra}
    audit.append(who, action, "Account", account.id, None, to_json(payload))


def add_account(
    factory: AccountsFactory,
    hasher: PasswordHasher,
    username: str,
    password: str,
    role: str,
    who: str,
    clock: Clock,
    *,
    patients: tuple[str, ...] = (),
    self_injects: bool = False,
) -> Account:
    """A new account; a patient's or caregiver's is linked to the patients named (who must exist)."""
    name, kind = _check_username(username), _check_role(role)
    _check_password(password)
    if kind in STAFF and patients:
        raise AccountError(
            f"a {kind} sees every patient: link patients only to a patient's or a caregiver's "
            "account",
            field="patient",
        )
    if kind == "patient" and len(patients) != 1:
        raise AccountError("a patient's account is linked to exactly one patient", field="patient")
    if kind == "caregiver" and not patients:
        raise AccountError("name the patients this caregiver cares for", field="patient")
    if kind != "caregiver" and self_injects:
        raise AccountError(
            "only a caregiver's link says who injects; a patient injects their own dose when the "
            "prescription says self-injection (prescribe with it)",
            field="injects",
        )
    with factory() as uow:
        if uow.accounts.named(name) is not None:
            raise AccountError(f"username {name!r} is taken; choose another", field="username")
        for code in patients:
            find_patient(uow, code)
        account = Account(
            new_id(), name, hasher.hash(password), kind, False, 0, None, _utc(clock), who
        )
        uow.accounts.add(account)
        for code in dict.fromkeys(c.strip() for c in patients):
            uow.accounts.link(PatientLink(account.id, code, self_injects))
        _audit(uow.audit, who, "account-add", account, patients=list(patients))
        uow.commit()
        return account


def _named(uow: AccountsUnitOfWork, username: str) -> Account:
    account = uow.accounts.named(username.strip())
    if account is None:
        raise AccountError(
            f"no account {username!r}: write the username of an existing account (an "
            "administrator adds accounts)",
            field="username",
        )
    return account


def disable_account(factory: AccountsFactory, username: str, who: str) -> Account:
    """The account can no longer log in, and its open sessions end now."""
    with factory() as uow:
        account = replace(_named(uow, username), disabled=True)
        uow.accounts.update(account)
        uow.accounts.end_sessions(account.id)
        _audit(uow.audit, who, "account-disable", account)
        uow.commit()
        return account


def set_password(
    factory: AccountsFactory, hasher: PasswordHasher, username: str, password: str, who: str
) -> Account:
    """A new password (the lock-out is lifted, open sessions end)."""
    _check_password(password)
    with factory() as uow:
        account = replace(
            _named(uow, username),
            password_hash=hasher.hash(password),
            failed_logins=0,
            locked_until=None,
        )
        uow.accounts.update(account)
        uow.accounts.end_sessions(account.id)
        _audit(uow.audit, who, "account-password", account)
        uow.commit()
        return account


def list_accounts(factory: AccountsFactory) -> list[Account]:
    with factory() as uow:
        return uow.accounts.all()


@dataclass(frozen=True)
class AccountShown:
    """An account as an administrator reviews it: never its password hash."""

    username: str
    role: Role
    disabled: bool
    locked_until: datetime | None  # throttled after failed logins, until then
    created_at: datetime
    created_by: str
    patients: tuple[tuple[str, bool], ...]  # live links: (patient code, this carer injects)


def review_accounts(factory: AccountsFactory) -> list[AccountShown]:
    """Every account by username, with its live links to patients."""
    with factory() as uow:
        out = []
        for a in sorted(uow.accounts.all(), key=lambda a: a.username):
            links = sorted(
                (link.patient_code, link.self_injects)
                for link in uow.accounts.links(a.id)
                if link.ended_at is None
            )
            out.append(
                AccountShown(
                    a.username, a.role, a.disabled, a.locked_until, a.created_at, a.created_by,
                    tuple(links),
                )
            )  # fmt: skip
        return out


# --- carers: links between accounts and patients --------------------------------------------------


@dataclass(frozen=True)
class Carer:
    """An account linked to a patient, as the patient's page lists it."""

    username: str
    role: Role
    injects: bool  # a caregiver linked as the one who injects


class _said_alike:
    """Every refusal of the username said in one message (``precise`` False: a caller who is not
    staff), so that a patient or a carer cannot learn from it which accounts exist, their roles or
    whom they are linked to; staff get the precise reason."""

    __slots__ = ("message", "precise")

    def __init__(self, precise: bool, message: str) -> None:
        self.precise, self.message = precise, message

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: object, error: BaseException | None, trace: object) -> None:
        if self.precise or not isinstance(error, AccountError) or error.field != "username":
            return
        raise AccountError(self.message, field="username") from None


def _linkable(uow: AccountsUnitOfWork, username: str, code: str) -> tuple[Account, Any]:
    record = find_patient(uow, code)  # the patient first: an absent one is told as such
    account = _named(uow, username)
    if account.role in STAFF:
        raise AccountError(
            f"{account.username} is a {account.role}: staff see every patient without a link",
            field="username",
        )
    return account, record


def link_patient(
    factory: AccountsFactory, username: str, code: str, who: str, clock: Clock, *,
    injects: bool = False, precise: bool = True,
) -> PatientLink:  # fmt: skip
    """Link the patient or caregiver account ``username`` to patient ``code`` (again, after an
    unlink); ``injects``: a caregiver who gives the injections. Audited in the patient's stream.
    ``precise`` False (the caller is not staff): every refusal of the name is one message."""
    alike = _said_alike(
        precise,
        f"no carer account {username.strip()[:USERNAME_MAX]!r} can be linked to {code.strip()}: "
        "check the username with the carer, or ask the prescriber",
    )
    with factory() as uow, alike:
        account, record = _linkable(uow, username, code)
        if injects and account.role != "caregiver":
            raise AccountError(
                "only a caregiver's link says who injects; a patient injects their own dose when "
                "the prescription says self-injection",
                field="injects",
            )
        live = [x for x in uow.accounts.links(account.id) if x.patient_code != record.code]
        if account.role == "patient" and live:
            raise AccountError(
                f"{account.username} is a patient's account, linked to {live[0].patient_code}: "
                "a patient's account is linked to exactly one patient",
                field="username",
            )
        link = PatientLink(account.id, record.code, injects)
        uow.accounts.link(link)
        payload = {"username": account.username, "role": account.role, "patient": record.code,
                   "injects": injects}  # fmt: skip
        uow.audit.append(who, "account-link", "Account", account.id, record.id, to_json(payload))
        uow.commit()
        return link


def unlink_patient(
    factory: AccountsFactory, username: str, code: str, who: str, clock: Clock, *,
    precise: bool = True,
) -> None:  # fmt: skip
    """End the link: the account's next request no longer reaches the patient (the row is kept,
    marked ended; the audit says who ended it). ``precise`` as for link_patient."""
    alike = _said_alike(
        precise,
        f"no carer account {username.strip()[:USERNAME_MAX]!r} is linked to {code.strip()}: "
        "the patient's page lists the carers linked",
    )
    with factory() as uow, alike:
        account, record = _linkable(uow, username, code)
        if not any(x.patient_code == record.code for x in uow.accounts.links(account.id)):
            raise AccountError(
                f"{account.username} is not linked to {record.code}: nothing to unlink",
                field="username",
            )
        uow.accounts.end_link(account.id, record.code, _utc(clock))
        payload = {"username": account.username, "role": account.role, "patient": record.code}
        uow.audit.append(who, "account-unlink", "Account", account.id, record.id, to_json(payload))
        uow.commit()


def carers_of(factory: AccountsFactory, code: str) -> list[Carer]:
    """The accounts linked to patient ``code`` now (the patient's own and its carers'), by name."""
    with factory() as uow:
        out = []
        for link in uow.accounts.linked_to(code.strip()):
            account = uow.accounts.get(link.account_id)
            if account is not None:
                out.append(Carer(account.username, account.role, link.self_injects))
        return sorted(out, key=lambda c: (c.role != "patient", c.username))


@dataclass(frozen=True)
class LoggedIn:
    token: str  # for the cookie; kept nowhere else
    actor: Actor


def log_in(
    factory: AccountsFactory, hasher: PasswordHasher, username: str, password: str, clock: Clock
) -> LoggedIn:
    """A new session for the right name and password; after MAX_FAILURES wrong tries in a row the
    account refuses every try for LOCKOUT. Every answer but success is the same LoginError."""
    now = _utc(clock)
    with factory() as uow:
        account = uow.accounts.named(username.strip()) if len(username) <= USERNAME_MAX else None
        if account is None:
            hasher.hash(password[:256])  # the same work as a real check: no timing oracle
            raise LoginError()
        if account.locked_until is not None and account.locked_until > now:
            raise LoginError()
        if account.disabled or not hasher.verify(password, account.password_hash):
            failures = account.failed_logins + 1
            locked = now + LOCKOUT if failures >= MAX_FAILURES else None
            uow.accounts.update(
                replace(account, failed_logins=0 if locked else failures, locked_until=locked)
            )
            _audit(uow.audit, account.username, "login-failed", account, locked=locked is not None)
            uow.commit()
            raise LoginError()
        token = secrets.token_urlsafe(32)
        session = WebSession(
            token_id(token), account.id, secrets.token_urlsafe(32), now, now, False
        )
        uow.accounts.update(replace(account, failed_logins=0, locked_until=None))
        uow.accounts.add_session(session)
        _audit(uow.audit, account.username, "login", account)
        uow.commit()
        links = tuple(uow.accounts.links(account.id))
        actor = Actor(account.id, account.username, account.role, links, session.id, session.csrf)
        return LoggedIn(token, actor)


def session_actor(factory: AccountsFactory, token: str, clock: Clock) -> Actor:
    """Who the session with ``token`` is; its idle time starts again. SessionExpiredError when
    there is none, it ended, its account is disabled, or it was idle longer than its role allows."""
    if not token or len(token) > 256:
        raise SessionExpiredError()
    now = _utc(clock)
    with factory() as uow:
        session = uow.accounts.session(token_id(token))
        account = None if session is None else uow.accounts.get(session.account_id)
        if session is None or account is None or session.ended or account.disabled:
            raise SessionExpiredError()
        if now - session.last_seen > IDLE[account.role]:
            uow.accounts.end_sessions(account.id, session.id)
            uow.commit()
            raise SessionExpiredError()
        if now - session.last_seen >= TOUCH_EVERY:
            uow.accounts.touch_session(session.id, now)
            uow.commit()
        links = tuple(uow.accounts.links(account.id))
        return Actor(account.id, account.username, account.role, links, session.id, session.csrf)


def log_out(factory: AccountsFactory, actor: Actor) -> None:
    with factory() as uow:
        uow.accounts.end_sessions(actor.account_id, actor.session_id)
        uow.commit()


# --- access to a patient's record ---------------------------------------------------------------


def require(actor: Actor, code: str, permission: Permission) -> None:
    """The actor may ``permission`` on patient ``code``: a patient it may not see is "unknown"
    (UnknownPatientError, as for one that does not exist), a forbidden act is ForbiddenError."""
    if not actor.can_see(code.strip()):
        raise UnknownPatientError(code)
    if not actor.may(permission):
        raise ForbiddenError(actor.role, permission)
    if permission in AT_HOME and not actor.staff and not actor.self_injects(code.strip()):
        raise ForbiddenError(
            actor.role, "record this patient's doses: the prescriber has not linked this carer "
            "as the one who injects",
        )  # fmt: skip


#: How long before the clock a patient or a carer may say their dose was given: their door records
#: a dose as it is given (the web takes the time of sending); a late entry is the care team's.
AT_HOME_LATE = timedelta(hours=1)


def require_may_give(
    actor: Actor, code: str, *, override: bool, at: datetime | None, now: datetime
) -> None:
    """The actor may record a dose given to patient ``code`` with what the request carries, the
    same for every door (the web's give, ``/fhir/r4/MedicationAdministration``): the "give"
    permission (``require``), and the parts of a give that only staff may use: an override
    reason (a stop shown at home is for the prescriber to resolve: no reason lifts it from
    there) and a time of giving more than AT_HOME_LATE before ``now`` (a late entry). ``at``
    None: the dose is recorded at ``now``."""
    require(actor, code, "give")
    if actor.staff:
        return
    if override:
        raise ForbiddenError(actor.role, "give a reason to record past a finding")
    if at is not None:
        now = now if now.tzinfo is not None else now.astimezone()
        when = at if at.tzinfo is not None else at.replace(tzinfo=now.tzinfo)
        if when < now - AT_HOME_LATE:
            hours = int(AT_HOME_LATE.total_seconds() // 3600)
            raise ForbiddenError(
                actor.role,
                f"record a dose given more than {hours} hour{'s' if hours != 1 else ''} ago "
                "(a late entry is for the care team to record)",
            )


def require_role(actor: Actor, permission: Permission) -> None:
    if not actor.may(permission):
        raise ForbiddenError(actor.role, permission)


def audited_read(
    factory: Callable[[], UnitOfWork],
    actor: Actor,
    code: str,
    action: str,
    read: Callable[[UnitOfWork], T],
) -> T:
    """``read`` on one unit of work for patient ``code`` the actor may see, with the audit entry
    of the read in the same transaction (committed with it)."""
    require(actor, code, "read")
    with factory() as uow:
        record = find_patient(uow, code)
        value = read(uow)
        uow.audit.append(actor.username, action, "PatientRecord", record.id, record.id, {})
        uow.commit()
        return value


def audited_list(
    factory: Callable[[], UnitOfWork],
    actor: Actor,
    action: str,
    read: Callable[[UnitOfWork], T],
    patients: Callable[[T], list[str]],
) -> T:
    """A read across patients (the MAR): one audit entry naming every patient it showed."""
    with factory() as uow:
        value = read(uow)
        codes = patients(value)
        uow.audit.append(actor.username, action, "PatientList", "-", None, {"patients": codes})
        uow.commit()
        return value


def entries_of(factory: Callable[[], UnitOfWork]) -> Iterator[Any]:
    with factory() as uow:
        yield from uow.audit.entries()
