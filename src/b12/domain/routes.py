"""Routes of administration as the knowledge writes them, and how people type them."""

from __future__ import annotations

from b12.errors import InputError

ROUTES = ("IM", "SC", "deep-SC", "IV", "intrathecal", "oral", "sublingual", "nasal")
#: Routes that go through a needle: a syringe, a site and a volume limit apply.
INJECTED = frozenset({"IM", "SC", "deep-SC", "IV", "intrathecal"})
_WORDS = {
    "intramuscular": "IM",
    "subcutaneous": "SC",
    "deep subcutaneous": "deep-SC",
    "intravenous": "IV",
    "intralumbar": "intrathecal",
    "by mouth": "oral",
}


def parse_route(text: str) -> str:
    """'im', 'Intramuscular', 'deep sc' -> the route as the knowledge writes it."""
    key = text.strip().lower().replace("_", "-")
    for route in ROUTES:
        if key in (route.lower(), route.lower().replace("-", " ")):
            return route
    if key in _WORDS:
        return _WORDS[key]
    raise InputError(f"unknown route {text!r}: write one of {', '.join(ROUTES)}")


def route_id(route: str) -> str:
    """``route`` when it is a route id as the knowledge writes it ('IM', 'deep-SC'), else the
    error ``parse_route`` gives: a typed order carries an id, not text to read."""
    if route in ROUTES:
        return route
    raise InputError(f"unknown route {route!r}: write one of {', '.join(ROUTES)}")
