"""Checks on screening rules that need the whole knowledge base: claims exist, levels are earned.

A rule's level may be no louder than its most trusted claim allows: a claim only seeds make
(contradicted or unsupported) allows `info`; a statement of information allows `info`; any other
supported claim allows `warning`; only a regulatory contraindication allows `stop`, and only for
a listed hard stop with a bypass. An order the engine lists as never ordinary (ORDER_STOPS: B12 into
the spinal canal) is a stop whatever its claims earn: no label gives the route, so none can say so. The rule cites the most trusted claim's best source, and no
source its claims do not name; where a claim belongs to a conflict, the rule names that conflict.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from b12.domain.screening import HARD_STOPS, LEVEL_RANK, ORDER_STOPS
from b12.errors import KnowledgeReferenceError, KnowledgeSchemaError
from b12.knowledge import entries as s
from b12.knowledge.behaviour import TRUST_BY_KIND

if TYPE_CHECKING:
    from b12.knowledge.loader import Knowledge

#: The collections a rule's claims may point into.
CLAIM_COLLECTIONS = (
    "cautions",
    "interactions",
    "incompatibilities",
    "adverse-effects",
    "facts",
    "conflicts",
)
SEED_ONLY = ("contradicted", "unsupported")


def claim_sources(kb: Knowledge, ref: str) -> tuple[str, ...]:
    """The sources of a claim; for a conflict, those of the position b12 follows."""
    entry = kb.resolve(ref)
    if isinstance(entry, s.Conflict):
        return next(p.sources for p in entry.positions if p.id == entry.default)
    return tuple(entry.sources)


def claim_ceiling(kb: Knowledge, ref: str) -> str:
    """The loudest level a claim can earn a rule."""
    entry = kb.resolve(ref)
    if isinstance(entry, s.Conflict):
        return "warning"  # the position b12 follows, which is the most trusted one
    if entry.status in SEED_ONLY:
        return "info"
    if isinstance(entry, s.Caution):
        if entry.kind == "information":
            return "info"
        regulatory = kb.trust(entry.sources) == TRUST_BY_KIND["regulatory"]
        return "stop" if entry.kind == "contraindication" and regulatory else "warning"
    if isinstance(entry, s.Incompatibility) and entry.evidence == "unconfirmed":
        return "info"
    return "warning"


def most_trusted_claim(kb: Knowledge, rule: s.ScreeningRule) -> str:
    """The claim with the most trusted source; among equals, a supported one first."""

    def weight(ref: str) -> tuple[int, int]:
        entry = kb.resolve(ref)
        supported = isinstance(entry, s.Conflict) or entry.status not in SEED_ONLY
        return kb.trust(claim_sources(kb, ref)), int(supported)

    return max(rule.claims, key=weight)


def check_rules(kb: Knowledge, homes: Mapping[tuple[str, str], str]) -> None:
    """Raise KnowledgeSchemaError (or ReferenceError) for the first rule that breaks a check."""
    rules: Mapping[str, s.ScreeningRule] = kb.all("rules")
    for rule in rules.values():
        file = homes["rules", rule.id]
        for ref in rule.claims:
            _check_claim_ref(kb.collections, file, rule.id, ref)

        def fail(field: str, problem: str, rule: s.ScreeningRule = rule, file: str = file) -> None:
            raise KnowledgeSchemaError(file, rule.id, field, problem)

        top = most_trusted_claim(kb, rule)
        ceiling = claim_ceiling(kb, top)
        if LEVEL_RANK[rule.level] > LEVEL_RANK[ceiling] and rule.code not in ORDER_STOPS:
            fail(
                "level",
                f"{rule.level!r} is louder than its most trusted claim {top} allows ({ceiling!r})",
            )
        if rule.level == "stop" and rule.code not in HARD_STOPS:
            fail("level", f"{rule.code} is not a listed hard stop {sorted(HARD_STOPS)}")
        if kb.trust(rule.sources) != kb.trust(claim_sources(kb, top)):
            fail("sources", f"cite the most trusted source of {top}: {claim_sources(kb, top)}")
        cited = {i for ref in rule.claims for i in _all_sources(kb, ref)}
        extra = sorted(set(rule.sources) - cited)
        if extra:
            fail("sources", f"{extra} are not sources of the rule's claims")
        conflicts = {c for ref in rule.claims if (c := _conflict_of(kb, ref)) is not None}
        if conflicts and rule.conflict not in conflicts:
            fail("conflict", f"the claims belong to {sorted(conflicts)}; name one of them")


def _all_sources(kb: Knowledge, ref: str) -> tuple[str, ...]:
    entry = kb.resolve(ref)
    if isinstance(entry, s.Conflict):
        return tuple(i for p in entry.positions for i in p.sources)
    return tuple(entry.sources)


def _conflict_of(kb: Knowledge, ref: str) -> str | None:
    entry = kb.resolve(ref)
    if isinstance(entry, s.Conflict):
        return entry.id
    conflict: str | None = entry.conflict
    return conflict


def _check_claim_ref(
    collections: Mapping[str, Mapping[str, Any]], file: str, entry: str, ref: str
) -> None:
    collection, _, entry_id = ref.partition(":")
    if collection not in CLAIM_COLLECTIONS:
        raise KnowledgeReferenceError(file, entry, "claims", ref, list(CLAIM_COLLECTIONS))
    if entry_id not in collections[collection]:
        close = difflib.get_close_matches(entry_id, list(collections[collection]), n=3)
        raise KnowledgeReferenceError(
            file, entry, "claims", ref, [f"{collection}:{c}" for c in close]
        )
