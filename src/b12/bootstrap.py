"""The composition root: settings are read once, here, and become the App every door uses.

    Settings.read(arguments)  arguments > environment > defaults
      -> build(settings) -> App(knowledge, unit_of_work, clock, settings)
      -> a door (the command line; web, FHIR, CDS Hooks, audit next) calls use cases with it

Nothing happens at import, and little at build: the knowledge loads on first use and the database
engine opens on the first unit of work, so a knowledge command never imports SQLAlchemy. Migrations
are an explicit step (``upgrade``, `b12 db upgrade`); a record at another revision is refused.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import tzinfo
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

from b12.errors import InputError

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from b12.knowledge.base import Knowledge
    from b12.services.accounts import AccountsUnitOfWork, PasswordHasher
    from b12.services.ports import Clock, UnitOfWork

#: Each setting and the environment variable that gives it when no argument does.
ENVIRONMENT = {
    "database_url": "B12_DATABASE_URL",
    "knowledge_dir": "B12_KB",
    "time_zone": "B12_TIMEZONE",
    "user": "B12_USER",
    "audit_key_file": "B12_AUDIT_KEY_FILE",
    "supply_lead_days": "B12_SUPPLY_LEAD_DAYS",
    "cds_issuers": "B12_CDS_ISSUERS",
}


@dataclass(frozen=True)
class Settings:
    """Everything b12 reads from outside its arguments; None means the default."""

    database_url: str | None = None  # SQLAlchemy URL or SQLite file; default b12.db in user data
    knowledge_dir: str | None = None  # a folder of knowledge files; default the shipped one
    time_zone: str | None = None  # the clinic's IANA zone, e.g. Europe/Paris; default the machine's
    user: str | None = None  # who records when nobody is named; default the login name
    audit_key_file: str | None = (
        None  # the audit chain's HMAC key; default audit.key in user config
    )
    # policy, not a clinical fact: days before the supply at home runs out to ask for a new
    # prescription by; default services.home_supply.LEAD_DAYS
    supply_lead_days: str | None = None
    cds_issuers: str | None = None  # a JSON file: the CDS clients trusted and their keys; none

    @classmethod
    def read(
        cls,
        *,
        database_url: str | None = None,
        knowledge_dir: str | None = None,
        time_zone: str | None = None,
        user: str | None = None,
        audit_key_file: str | None = None,
        supply_lead_days: str | None = None,
        cds_issuers: str | None = None,
        environ: Mapping[str, str] | None = None,
    ) -> Settings:
        """Arguments first, then the environment (ENVIRONMENT), then the defaults."""
        env = os.environ if environ is None else environ
        given = {
            "database_url": database_url,
            "knowledge_dir": knowledge_dir,
            "time_zone": time_zone,
            "user": user,
            "audit_key_file": audit_key_file,
            "supply_lead_days": supply_lead_days,
            "cds_issuers": cds_issuers,
        }
        values = {k: (v or env.get(ENVIRONMENT[k]) or None) for k, v in given.items()}
        settings = cls(**values)
        settings.zone  # noqa: B018 - an unknown zone is refused when read, not at first use
        if settings.supply_lead_days is not None:
            settings.lead_days  # noqa: B018 - and so is a lead time that is not a number of days
        return settings

    @property
    def lead_days(self) -> int:
        """Days before the supply at home runs out to ask for a new prescription by (policy)."""
        if self.supply_lead_days is None:
            from b12.services.home_supply import LEAD_DAYS

            return LEAD_DAYS
        text = self.supply_lead_days.strip()
        if not text.isdigit() or not 0 <= int(text) <= 365:
            raise InputError(
                f"supply lead time {self.supply_lead_days!r} ({ENVIRONMENT['supply_lead_days']}) "
                "is not a number of days: write a whole number from 0 to 365, e.g. 14",
                field="lead_days",
            )
        return int(text)

    @property
    def zone(self) -> tzinfo | None:
        """The clinic's time zone; None for the machine's local zone."""
        if self.time_zone is None:
            return None
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            return ZoneInfo(self.time_zone)
        except (ZoneInfoNotFoundError, ValueError):
            raise InputError(
                f"time zone {self.time_zone!r} ({ENVIRONMENT['time_zone']}) is not known; "
                "write an IANA name such as Europe/Paris or UTC"
            ) from None

    def resolved_database_url(self) -> str:
        """The URL of the record: a bare path is an SQLite file; nothing is b12.db in user data."""
        if self.database_url is None:
            from b12.adapters.storage.database import default_url

            return default_url()
        if "://" not in self.database_url:
            return f"sqlite:///{os.path.abspath(self.database_url)}"
        return self.database_url

    def resolved_audit_key_file(self) -> Path:
        """The file of the audit key: kept outside the database (see adapters/storage/audit_key)."""
        if self.audit_key_file is None:
            from b12.adapters.storage.audit_key import default_key_file

            return default_key_file()
        return Path(self.audit_key_file).expanduser().absolute()

    def audit_key(self) -> bytes:
        """The audit key (AuditKeyError when absent, malformed or open to other users)."""
        from b12.adapters.storage.audit_key import read_key

        return read_key(self.resolved_audit_key_file())


class App:
    """What every door uses: the knowledge, units of work on the record, the clock, the settings."""

    def __init__(
        self,
        settings: Settings,
        *,
        knowledge: Knowledge | None = None,
        uow_factory: Callable[[], UnitOfWork] | None = None,
        clock: Clock | None = None,
        passwords: PasswordHasher | None = None,
    ) -> None:
        from b12.adapters.clock import SystemClock

        self.settings = settings
        self.clock: Clock = clock or SystemClock(settings.zone)
        self._passwords = passwords
        self._knowledge = knowledge
        self._uow_factory = uow_factory
        self._engine: Engine | None = None

    @property
    def knowledge(self) -> Knowledge:
        """The knowledge base of the settings (loaded on first use, then kept)."""
        if self._knowledge is None:
            from b12.knowledge import load_knowledge

            self._knowledge = load_knowledge(self.settings.knowledge_dir)
        return self._knowledge

    @property
    def passwords(self) -> PasswordHasher:
        """argon2id password hashes (the web extra), made on first use."""
        if self._passwords is None:
            from b12.adapters.passwords import argon2id

            self._passwords = argon2id()
        return self._passwords

    def accounts(self) -> AccountsUnitOfWork:
        """A new unit of work on the record that reaches the accounts too (the SQL one does)."""
        return self.unit_of_work()  # type: ignore[return-value]

    def unit_of_work(self) -> UnitOfWork:
        """A new unit of work on the record (the engine opens, and its revision is checked, once)."""
        if self._uow_factory is None:
            self._uow_factory = self._open_record()
        return self._uow_factory()

    def _open_record(self) -> Callable[[], UnitOfWork]:
        from b12.adapters.storage.database import make_engine, reached, require_head
        from b12.adapters.storage.unit_of_work import SqlUnitOfWork

        # Only `b12 db upgrade` (``upgrade``) creates a record: a mistyped path is refused here.
        engine = make_engine(self.settings.resolved_database_url(), existing=True)
        try:
            with reached(engine):
                require_head(engine)
        except BaseException:
            engine.dispose()
            raise
        self._engine = engine
        zone = self.settings.zone
        key = cache(self.settings.audit_key)  # read when a link is first written or verified
        return lambda: SqlUnitOfWork(engine, zone, key)

    def close(self) -> None:
        """Release the database connections (the App may open them again)."""
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None
            self._uow_factory = None


def build(
    settings: Settings,
    *,
    knowledge: Knowledge | None = None,
    uow_factory: Callable[[], UnitOfWork] | None = None,
    clock: Clock | None = None,
    passwords: PasswordHasher | None = None,
) -> App:
    """The App for ``settings``; tests may hand in a knowledge, a fake unit of work, a fixed clock,
    a lighter password hasher."""
    return App(
        settings, knowledge=knowledge, uow_factory=uow_factory, clock=clock, passwords=passwords
    )


@dataclass(frozen=True)
class Upgraded:
    """What `b12 db upgrade` did: the record, the revision it was at (None: empty) and is now at."""

    url: str
    before: str | None
    after: str
    key_file: str | None = None  # the audit key's file
    key_created: bool = False  # the key was created by this upgrade


def upgrade(settings: Settings) -> Upgraded:
    """Bring the record of ``settings`` to the head revision (creating its tables when empty, and
    its SQLite file when there is none, in an existing folder), and create the audit key (mode
    0600) when there is none."""
    from b12.adapters.storage.audit_key import ensure_key, read_key
    from b12.adapters.storage.database import (
        head_revision,
        make_engine,
        migrate,
        reached,
        shown_url,
    )

    key_file = settings.resolved_audit_key_file()
    engine = make_engine(settings.resolved_database_url())
    try:
        created = ensure_key(key_file)
        with reached(engine):
            before = migrate(engine, zone=settings.zone, audit_key=read_key(key_file))
        return Upgraded(shown_url(engine), before, head_revision(), str(key_file), created)
    finally:
        engine.dispose()


def grant(settings: Settings, role: str) -> str:
    """Give the PostgreSQL role ``role`` what the application needs and nothing more: SELECT and
    INSERT on every b12 table, the audit sequence, SELECT on the revision table. Run it as the
    role that owns the tables (the one `b12 db upgrade` ran as); returns the record's URL."""
    from b12.adapters.storage.database import grant_app_role, make_engine, reached, shown_url

    engine = make_engine(settings.resolved_database_url(), existing=True)
    try:
        with reached(engine):
            grant_app_role(engine, role)
        return shown_url(engine)
    finally:
        engine.dispose()


def readable_record(settings: Settings) -> str:
    """The URL of the record of ``settings``, once it is known to exist at the head revision (for
    a door that reads the record in bulk, such as the population audit's export): a missing file,
    an unknown database or an older revision is refused with b12's own message."""
    from b12.adapters.storage.database import make_engine, reached, require_head

    url = settings.resolved_database_url()
    engine = make_engine(url, existing=True)
    try:
        with reached(engine):
            require_head(engine)
    finally:
        engine.dispose()
    return url
