"""The patient groups regimens are written for (children, neurological involvement), and the
regimens of B12 deficiency that serve a group when an indication's own regimens leave it out.

No schema import at run time: a knowledge command's start loads no pydantic.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from b12.domain.patient import ADULT_MONTHS, Patient
from b12.knowledge.base import Knowledge

if TYPE_CHECKING:
    from b12.knowledge.entries import Indication, Regimen

GUIDELINE_TRUST = 4
REFERENCE_TRUST = 3
CHILDREN = frozenset({"child", "infant"})
#: The indications that are B12 deficiency itself. A regimen one of them holds for a patient group
#: (the UK regimen with neurological involvement, the Lexicomp children's regimen) serves them all.
DEFICIENCY = (
    "b12-deficiency",
    "pernicious-anaemia",
    "megaloblastic-anaemia",
    "dietary-b12-deficiency",
)
#: Categories of the indications that lead to B12 deficiency (gi-malabsorption, funicular-myelosis ...).
DEFICIENCY_CATEGORIES = frozenset({"deficiency", "haematological", "neurological"})


def population_of(patient: Patient) -> str | None:
    """infant (under 1 year), child (under 18), adult; None when the age is not given."""
    if patient.age_months is None:
        return None
    if patient.age_months < 12:
        return "infant"
    return "child" if patient.age_months < ADULT_MONTHS else "adult"


def population_fits(regimen: str, patient: str | None) -> bool:
    """Whether a regimen's population takes the patient (a children's regimen takes an infant)."""
    if patient is None or regimen == "any" or regimen == patient:
        return True
    return {regimen, patient} <= CHILDREN


def written_for_neuro(kb: Knowledge, regimen: Regimen) -> bool:
    """A regimen an authority writes for neurological involvement."""
    return (
        regimen.neuro is True
        and regimen.status != "contradicted"
        and kb.trust(regimen.sources) >= GUIDELINE_TRUST
    )


def treats_deficiency(kb: Knowledge, indication: Indication) -> bool:
    """B12 deficiency itself, or a supported cause of it with no authoritative regimen of its own
    (an indication with its own, such as Leber's optic atrophy, keeps to its own)."""
    if indication.id in DEFICIENCY:
        return True
    return (
        indication.status == "supported"
        and indication.category in DEFICIENCY_CATEGORIES
        and not any(kb.trust(r.sources) >= GUIDELINE_TRUST for r in kb.regimens_for(indication.id))
    )


def group_regimens(kb: Knowledge, neuro: bool, population: str | None) -> tuple[Regimen, ...]:
    return kb.memo(
        (group_regimens, neuro, population), lambda: _group_regimens_computed(kb, neuro, population)
    )


def _group_regimens_computed(
    kb: Knowledge, neuro: bool, population: str | None
) -> tuple[Regimen, ...]:
    """The regimens of B12 deficiency written for the patient's group: for neurological
    involvement (when given) and for children (when the patient is one), most trusted first."""
    out: list[Regimen] = []
    for indication in DEFICIENCY:
        for r in kb.regimens_for(indication):
            if r.status == "contradicted" or kb.trust(r.sources) < REFERENCE_TRUST:
                continue
            if all(ph.kind == "diagnostic" for ph in r.phases):
                continue
            if (neuro and written_for_neuro(kb, r)) or (
                population in CHILDREN and r.population in CHILDREN
            ):
                out.append(r)
    return tuple(sorted(out, key=lambda r: (-kb.trust(r.sources), r.id)))
