"""What the record commands share: who records, and when."""

from __future__ import annotations

import getpass
from datetime import datetime

from b12.bootstrap import App
from b12.domain.dates import in_range
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


def when(text: str | None, app: App, option: str = "--at") -> datetime:
    """A date or date-time as written (YYYY-MM-DD[THH:MM]); the clinic's time now when not given."""
    if text is None:
        return app.clock.now().replace(microsecond=0, tzinfo=None)
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise InputError(
            f"{option} {text!r} is not a date or time; write YYYY-MM-DD or YYYY-MM-DDTHH:MM, "
            "e.g. 2026-01-05T09:30"
        ) from None
    return in_range(moment, option.removeprefix("--"))
