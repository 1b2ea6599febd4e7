"""Reactions after an injection that stop the next dose until a prescriber's reasoned bypass.

An adverse event (``b12 event add``) is a reaction that stops the next dose when it followed an
injection (linked to one, or on or after the day of one) and either
* it was recorded with severity ``severe``, or
* its description names a hypersensitivity reaction: one of ``HYPERSENSITIVITY_TERMS`` (the
  label's anaphylaxis and the allergic reactions, urticaria and swelling of adverse-effects.yaml).
The description is free text, so the terms are matched as word beginnings, case-insensitively;
a negated mention ("no urticaria") still stops: a needless stop costs a reason, a missed one a life.

The stop is lifted for that event only by a dose recorded with an override reason while the
stop was shown: the administration keeps the finding (with the event's id) and the reason.

Finding codes raised here (level):
  RECORD_REACTION_STOP (stop)   a hypersensitivity or severe reaction after an injection
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from datetime import date

from b12.domain.findings import Finding, Level, finding, suggest
from b12.domain.records import Administration, AdverseEvent

REACTION_STOP = "RECORD_REACTION_STOP"
SEVERE = "severe"
#: The label's anaphylaxis warning; the allergic reactions the seeds list (adverse-effects.yaml).
REACTION_SOURCES = ("us-label-cyanocobalamin", "seed-002", "seed-003")

#: Word beginnings that name a hypersensitivity reaction, and the adverse effect each stands for.
HYPERSENSITIVITY_TERMS: dict[str, str] = {
    "anaphyla": "anaphylaxis",  # anaphylaxis, anaphylactic (shock), anaphylactoid
    "hypersensitiv": "allergic-reactions",
    "allerg": "allergic-reactions",  # allergy, allergic reaction
    "urticaria": "urticaria",
    "hives": "urticaria",
    "angioedema": "allergic-reactions",
    "angio-oedema": "allergic-reactions",
    "angiooedema": "allergic-reactions",
    "quincke": "allergic-reactions",
    "bronchospasm": "allergic-reactions",
    "swollen throat": "anaphylaxis",
    "throat swelling": "anaphylaxis",
    "swollen tongue": "anaphylaxis",
    "tongue swelling": "anaphylaxis",
    "swollen lips": "anaphylaxis",
    "lip swelling": "anaphylaxis",
    "swollen face": "anaphylaxis",
    "facial swelling": "anaphylaxis",
}
_TERMS = re.compile(
    r"\b((?:"
    + "|".join(re.escape(t) for t in sorted(HYPERSENSITIVITY_TERMS, key=len, reverse=True))
    + r")[\w-]*)",
    re.IGNORECASE,
)


def why_it_stops(event: AdverseEvent) -> str | None:
    """What makes ``event`` a reaction that stops the next dose (None when it does not)."""
    match = _TERMS.search(" ".join(event.description.split()))
    if match is not None:
        return f"hypersensitivity ({match.group(1).lower()})"
    if event.severity == SEVERE:
        return "severity severe"
    return None


def _followed_injection(event: AdverseEvent, given_days: Sequence[date]) -> bool:
    return event.administration_id is not None or any(day <= event.on for day in given_days)


def _bypassed(administrations: Iterable[Administration]) -> set[str]:
    """Ids of the events a dose was recorded over, with an override reason."""
    out: set[str] = set()
    for a in administrations:
        if not a.override_reason:
            continue
        for f in a.findings:
            if f.get("code") == REACTION_STOP:
                event = dict(f.get("basis", {}).get("values", {})).get("event")
                if event:
                    out.add(str(event))
    return out


def open_reactions(
    events: Iterable[AdverseEvent], administrations: Sequence[Administration]
) -> list[tuple[AdverseEvent, str]]:
    """Every reaction after an injection that no dose has yet been recorded over, with why."""
    given_days = [a.given_at.date() for a in administrations]
    bypassed = _bypassed(administrations)
    out = []
    for event in events:
        why = why_it_stops(event)
        if why and event.id not in bypassed and _followed_injection(event, given_days):
            out.append((event, why))
    return out


def reaction_stop(event: AdverseEvent, why: str) -> Finding:
    return finding(
        REACTION_STOP,
        Level.STOP,
        f"A reaction after an injection was recorded on {event.on.isoformat()} "
        f"({event.severity}: {event.description}). Do not give the next dose until a prescriber "
        "has reviewed it; a prescriber records the decision with an override reason.",
        REACTION_SOURCES,
        {"event": event.id, "date": event.on.isoformat(), "why": why},
        suggestion=suggest(
            "a prescriber who has reviewed the reaction records the dose with an override reason",
            set="override_reason",
        ),
    )
