"""Where to inject: rotate away from recent sites, within the site's volume limit for the age."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from b12.domain.patient import ADULT_MONTHS, Patient
from b12.errors import InputError, about
from b12.knowledge.base import Knowledge
from b12.services.dose_checks import site_limit

SIDES = ("left", "right")


def read_site(kb: Knowledge, text: str) -> str:
    """'Left deltoid' -> 'left deltoid'; 'deltoid' -> 'deltoid'; an unknown site is an error."""
    words = text.strip().lower().split(maxsplit=1)
    side = words[0] if words and words[0] in SIDES else None
    name = words[1] if side and len(words) > 1 else text.strip()
    if side and len(words) == 1:
        raise InputError(
            f"site {text!r}: write the side and the site, e.g. 'left deltoid'", field="site"
        )
    with about("site"):
        site = kb.lookup("sites", name, "injection site")
    return f"{side} {site.id}" if side else str(site.id)


def choose_site(
    kb: Knowledge, route: str, volume_ml: Decimal, patient: Patient, recent: Sequence[str]
) -> str | None:
    """The side and site, among those that take the volume, used least recently (never first)."""
    age = patient.age_months if patient.age_months is not None else ADULT_MONTHS
    candidates = []
    for site in kb.all("sites").values():
        limit = site_limit(kb, site, age)
        if site.avoid or route not in site.routes or limit is None or volume_ml > limit[0]:
            continue
        candidates += [f"{side} {site.id}" for side in SIDES]
    if not candidates:
        return None
    last_use = {site: i for i, site in enumerate(recent)}
    return min(candidates, key=lambda c: (last_use.get(c, -1), candidates.index(c)))
