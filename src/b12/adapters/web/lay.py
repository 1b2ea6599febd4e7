"""Words for a patient or a carer: the record's terms said plainly, findings without their codes.

The pages for patients and carers show the record and the prescriber's plan; they never add advice.
A stop is never explained as something to work around: it says not to inject and to call the
prescriber. A finding without words of its own here is shown by its message (a warning), as a call to the
prescriber (a stop), or not at all (a note for staff); never with its code.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from b12.domain.findings import Finding

ROUTES = {
    "IM": "into a muscle (intramuscular)",
    "SC": "under the skin (subcutaneous)",
    "deep-SC": "deep under the skin (deep subcutaneous)",
}
SITES = {
    "deltoid": "upper arm (deltoid muscle)",
    "vastus-lateralis": "outer thigh (vastus lateralis muscle)",
    "ventrogluteal": "side of the hip (ventrogluteal muscle)",
    "dorsogluteal": "upper outer buttock (dorsogluteal muscle)",
    "upper-arm-subcutaneous": "back of the upper arm, under the skin",
}
PHASES = {
    "loading": "starting doses (loading)",
    "consolidation": "follow-on doses (consolidation)",
    "maintenance": "long-term doses (maintenance)",
}
SEVERITIES = {
    "mild": "mild: it bothered me a little and went away",
    "moderate": "moderate: it bothered me a lot or needed a medicine",
    "severe": "severe: I needed urgent help",
}
CALL = "Do not inject this dose. Call your prescriber (the doctor or nurse who prescribed it)."
#: What a stop or warning means for the person at home, by finding code.
SAYS = {
    "RECORD_ALREADY_GIVEN_TODAY": "A dose is already recorded for today. Never inject a second "
    "dose on the same day.",
    "RECORD_DOSE_HOURS_APART": "A dose was recorded only a few hours ago. Never inject a second "
    "dose so soon.",
    "RECORD_REACTION_STOP": "A reaction after an injection was reported. Your prescriber must "
    "look at it before the next dose.",
    "RECORD_NO_PRESCRIPTION": "There is no active prescription for you.",
    "RECORD_DOSE_DIFFERS": "This is not the dose your prescription says.",
    "RECORD_WRONG_PRODUCT": "This is not the medicine your prescription names.",
    "RECORD_PRODUCT_SUBSTITUTED": "This is another brand than the one prescribed, with the same "
    "vitamin B12.",
    "PRODUCT_EXPIRED": "The pack is past its expiry date.",
    "RECORD_COURSE_COMPLETE": "Every dose of your prescription has been given.",
    "RECORD_LATE": "This dose is later than planned. The next doses move on from today.",
    "RECORD_TOO_EARLY": "This dose is earlier than planned.",
    "RECORD_ROUTE_DIFFERS": "This is not the way of injecting your prescription says.",
    "RECORD_SITE_NOT_ROTATED": "The last injection went into the same place: use another one.",
}
UNSAID_STOP = "Something about this dose needs your prescriber's check before it is given."
#: Findings that speak to staff only (how to proceed past a stop, what the plan suggests).
NOT_SHOWN = frozenset({"RECORD_NOT_RECORDED", "RECORD_SITE_SUGGESTED"})


@dataclass(frozen=True)
class Said:
    level: str  # stop, warning, info
    text: str


def route(route_id: str | None) -> str:
    return "" if route_id is None else ROUTES.get(route_id, route_id)


def site(name: str | None) -> str:
    """'left deltoid' -> 'left upper arm (deltoid muscle)'."""
    if not name:
        return ""
    side, _, site_id = name.partition(" ")
    if not site_id:
        return SITES.get(side, side)
    return f"{side} {SITES.get(site_id, site_id)}"


def phase(kind: str | None) -> str:
    return "" if not kind else PHASES.get(kind, kind)


def findings(found: Iterable[Finding]) -> list[Said]:
    """The findings in plain words, stops first; no code, no basis, no suggestion."""
    out: list[Said] = []
    for f in found:
        code, level, message = f.code, f.level.value, f.message
        if code in NOT_SHOWN:
            continue
        text = SAYS.get(code)
        if text is None and level == "info":
            continue  # a note for staff (a rounded volume, a source's remark)
        if text is None:
            text = UNSAID_STOP if level == "stop" else message
        if all(s.text != text for s in out):
            out.append(Said(level, text))
    rank = {"stop": 0, "warning": 1, "info": 2}
    return sorted(out, key=lambda s: rank.get(s.level, 3))
