"""How often each finding was proceeded past with a reason: a pharmacist's review of overrides.

Read from the audit trail, which holds every recorded dose and prescription with its findings and
reason, and every refused give with its findings. A finding "raised" once per record or attempt
that carried it; "overridden" when that record was kept with a reason (a dose given, a plan
signed). Stops and warnings only: an information finding asks for nothing.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from b12.services.ports import UnitOfWork, opens_unit_of_work

LEVELS = ("stop", "warning")


@dataclass(frozen=True)
class OverrideRate:
    code: str
    level: str
    raised: int
    overridden: int
    reasons: tuple[tuple[str, int], ...]  # the reasons given, most frequent first

    @property
    def rate(self) -> Decimal:
        return Decimal(self.overridden) / Decimal(self.raised) if self.raised else Decimal(0)

    def to_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "level": self.level,
            "raised": self.raised,
            "overridden": self.overridden,
            "rate": str(self.rate.quantize(Decimal("0.001"))),
            "reasons": [{"reason": r, "count": n} for r, n in self.reasons],
        }


def _findings(action: str, payload: Mapping[str, Any]) -> tuple[Iterable[Any], str | None]:
    """The findings of one audit entry and the reason its record was kept with (if kept)."""
    if action == "give":
        return payload.get("findings") or (), payload.get("override_reason")
    if action == "give-refused":
        return payload.get("findings") or (), None
    if action == "prescribe":  # the plan's findings; a record older than typed facts: in its plan
        found = payload.get("findings") or (payload.get("plan") or {}).get("findings")
        return found or (), payload.get("reason")
    return (), None


@opens_unit_of_work
def override_rates(uow: UnitOfWork, who: str) -> list[OverrideRate]:
    """Per finding code: raised, overridden, the rate and the reasons; the review is audited."""
    raised: Counter[tuple[str, str]] = Counter()
    overridden: Counter[tuple[str, str]] = Counter()
    reasons: dict[tuple[str, str], Counter[str]] = {}
    for entry in uow.audit.entries():
        found, reason = _findings(entry.action, entry.payload)
        for f in found:
            level = str(f.get("level", ""))
            if level not in LEVELS:
                continue
            key = (str(f.get("code", "")), level)
            raised[key] += 1
            if reason:
                overridden[key] += 1
                reasons.setdefault(key, Counter())[str(reason)] += 1
    uow.audit.append(who, "read-override-rates", "OverrideRates", "-", None, {})
    uow.commit()
    return [
        OverrideRate(code, level, raised[(code, level)], overridden[(code, level)],
                     tuple(reasons.get((code, level), Counter()).most_common(5)))
        for code, level in sorted(raised, key=lambda k: (-overridden[k] / raised[k], k))
    ]  # fmt: skip
