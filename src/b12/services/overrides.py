"""How often each finding was proceeded past with a reason: a pharmacist's review of overrides.

Read from the audit trail, which holds every recorded dose and prescription with its findings and
reason, and every refused give with its findings. A finding "raised" once per record or attempt
that carried it; "overridden" when that record was kept with a reason (a dose given, a plan
signed). Stops and warnings only: an information finding asks for nothing. The cards the CDS Hooks
service issued count too, per the finding each came from: a card is "overridden" when the EHR's
feedback says so (services.decision_support), with the reason it gave.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from b12.services.decision_support import card_outcomes
from b12.services.ports import UnitOfWork, opens_unit_of_work

LEVELS = ("stop", "warning")
#: Coded reasons offered beside the free text wherever a warning or a stop is proceeded past (the
#: web's forms, the CDS Hooks cards' overrideReasons); the record keeps "CODE: free text" in the
#: use case's reason field.
OVERRIDE_CODES: dict[str, str] = {
    "benefit-outweighs-risk": "benefit outweighs the risk",
    "prescriber-confirmed": "prescriber confirmed the order",
    "patient-informed": "patient informed and agrees",
    "known-tolerated": "given before and tolerated",
    "other": "other (say why)",
}


@dataclass(frozen=True)
class OverrideRate:
    code: str
    level: str
    raised: int
    overridden: int
    reasons: tuple[tuple[str, int], ...]  # the reasons given, most frequent first
    cds_cards: int = 0  # cards the CDS Hooks service issued for the finding
    cds_overridden: int = 0  # of those, overridden in the EHR (its feedback)

    @property
    def rate(self) -> Decimal:
        """Overridden out of raised, the record's and the CDS cards' together."""
        shown = self.raised + self.cds_cards
        done = self.overridden + self.cds_overridden
        return Decimal(done) / Decimal(shown) if shown else Decimal(0)

    def to_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "level": self.level,
            "raised": self.raised,
            "overridden": self.overridden,
            "cds_cards": self.cds_cards,
            "cds_overridden": self.cds_overridden,
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
    cds = {(c.code, c.level): c for c in card_outcomes(uow)}
    for key, c in cds.items():
        raised.setdefault(key, 0)
        for reason, n in c.reasons.items():
            reasons.setdefault(key, Counter())[reason] += n
    uow.audit.append(who, "read-override-rates", "OverrideRates", "-", None, {})
    uow.commit()
    rates = [
        OverrideRate(code, level, raised[(code, level)], overridden[(code, level)],
                     tuple(reasons.get((code, level), Counter()).most_common(5)),
                     cds[code, level].issued if (code, level) in cds else 0,
                     cds[code, level].overridden if (code, level) in cds else 0)
        for code, level in raised
    ]  # fmt: skip
    return sorted(rates, key=lambda r: (-r.rate, r.code, r.level))
