"""The machine's clock, in the clinic's time zone."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, tzinfo


@dataclass(frozen=True)
class SystemClock:
    """``now()`` in ``zone``; with no zone, the machine's local zone (its offset on the day)."""

    zone: tzinfo | None = None

    def now(self) -> datetime:
        if self.zone is None:
            return datetime.now().astimezone()
        return datetime.now(self.zone)
