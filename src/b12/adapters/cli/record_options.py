"""What the record commands share: who records, and when."""

from __future__ import annotations

import getpass
from datetime import datetime

from b12.bootstrap import App
from b12.domain.dates import in_range, on_wall_clock
from b12.errors import InputError


def who(given: str | None, app: App) -> str:
    """--who, else the settings' user (B12_USER), else the login name."""
    if given:
        return given.strip()
    if app.settings.user:
        return app.settings.user
    try:
        return getpass.getuser()
    except (OSError, KeyError):
        return "unknown"


def when(text: str | None, app: App, option: str = "--at", *, future: bool = False) -> datetime:
    """A date or date-time as written (YYYY-MM-DD[THH:MM][+HH:MM]), without an offset the
    clinic's wall clock; the clinic's time now when not given. Always aware. Unless ``future``
    (a day asked about, not a time recorded), a time after the clock's is refused: a record says
    when something happened."""
    now = app.clock.now().replace(microsecond=0)
    if text is None:
        return now
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise InputError(
            f"{option} {text!r} is not a date or time; write YYYY-MM-DD or YYYY-MM-DDTHH:MM, "
            "e.g. 2026-01-05T09:30"
        ) from None
    read = in_clinic(in_range(moment, option.removeprefix("--")), app)
    from b12.services.administering import CLOCK_SKEW  # the clock difference give allows

    if not future and read > now + CLOCK_SKEW:
        raise InputError(
            f"{option} {text.strip()}: after the clock's time ({now.isoformat(timespec='minutes')});"
            " a record says when something happened: write that time",
            field=option.removeprefix("--"),
        )
    return read


def in_clinic(moment: datetime, app: App) -> datetime:
    """``moment``; without a zone, read as the clinic's wall clock (B12_TIMEZONE, else the
    clock's zone, else the machine's)."""
    if moment.tzinfo is not None:
        return moment
    from zoneinfo import ZoneInfo

    zone = app.settings.zone
    if zone is None:
        clock_zone = app.clock.now().tzinfo
        zone = clock_zone if isinstance(clock_zone, ZoneInfo) else None
    return moment.astimezone() if zone is None else on_wall_clock(moment, zone)
