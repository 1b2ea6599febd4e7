"""Which regimen a plan follows, and why; the other regimens and the conflicts that touch it.

The default for an indication, in order:
  1. the indication's own regimens, ranked: the product's substance, the patient's population and
     neurological involvement must not contradict the regimen; then the most trusted source; then an
     exact match on neurological involvement and population; then a conflict's default position.
  2. when no own regimen comes from a guideline or regulator, the default positions of the
     conflicts about the indication's regimens join the candidates (funicular myelosis -> the UK
     regimen with neurological involvement that conflict-funicular-myelosis-regimen follows).
  3. when there is still no candidate, the default of a related indication of the same category
     (``RELATED``): a malabsorption cause -> B12 deficiency; a neurological one -> megaloblastic
     anaemia with neurological involvement.
  4. for B12 deficiency and its causes, the regimens written for the patient's group join
     (patient_groups.py): with neurological involvement the authorities' regimens written for it,
     for a child the children's regimen. With involvement, a regimen written for it of the
     product's substance ranks first, then one of another substance (never a lower-dose regimen
     that is silent on it); when the substance has none the plan says so.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from b12.domain.findings import Finding, Level, finding
from b12.domain.patient import Patient
from b12.errors import InputError, about
from b12.knowledge.base import Knowledge
from b12.knowledge.entries import Conflict, Indication, Product, Regimen
from b12.services.patient_groups import (
    CHILDREN,
    GUIDELINE_TRUST,
    group_regimens,
    population_fits,
    population_of,
    treats_deficiency,
    written_for_neuro,
)

#: Indication category -> (related indication, neurological involvement implied).
RELATED: dict[str, tuple[str, bool]] = {
    "deficiency": ("b12-deficiency", False),
    "neurological": ("megaloblastic-anaemia", True),
    "haematological": ("megaloblastic-anaemia", False),
}


@dataclass(frozen=True)
class Choice:
    regimen: Regimen
    indication: Indication
    how: str  # asked | default | conflict-default | related-indication | patient-group
    why: str
    candidates: tuple[Regimen, ...]
    findings: tuple[Finding, ...]
    conflicts: tuple[Conflict, ...] = ()


def substance_of(product: Product | None) -> str | None:
    if product is None:
        return None
    return next(
        (i.substance for i in product.ingredients if i.substance.endswith("cobalamin")), None
    )


def choose_regimen(
    kb: Knowledge,
    indication: str | None,
    regimen: str | None,
    *,
    neuro: bool,
    patient: Patient,
    product: Product | None,
) -> Choice:
    population, substance = population_of(patient), substance_of(product)
    if regimen is not None:
        with about("regimen"):
            chosen: Regimen = kb.lookup("regimens", regimen, "regimen")
        with about("indication"):
            asked: Indication = kb.lookup(
                "indications", indication or chosen.indication, "indication"
            )
        neuro = neuro or asked.category == "neurological"
        own = kb.regimens_for(asked.id)
        found = _fit(kb, chosen, neuro, population, substance)
        return Choice(
            chosen,
            asked,
            "asked",
            f"the regimen asked for, {chosen.id}",
            own,
            (*found, *_weak(kb, chosen)),
            touching(kb, asked.id, (chosen, *own)),
        )
    if not indication:
        raise InputError(
            "name an indication or a regimen",
            field="indication",
            alternatives=("regimen",),
            listed="indications",
        )
    with about("indication"):
        asked = kb.lookup("indications", indication, "indication")
    neuro = neuro or asked.category == "neurological"
    own = kb.regimens_for(asked.id)
    candidates, how, note = list(own), "default", ""
    if not any(kb.trust(r.sources) >= GUIDELINE_TRUST for r in own):
        borrowed = _conflict_defaults(kb, own)
        if borrowed:
            candidates += [r for r in borrowed if r not in candidates]
            how = "conflict-default"
    if not candidates and asked.category in RELATED:
        related_id, implied = RELATED[asked.category]
        related = kb.indications[related_id]
        candidates, how = list(kb.regimens_for(related_id)), "related-indication"
        neuro = neuro or implied
        note = f"{asked.name} has no regimen of its own; the default of the related indication {related.name} ({related_id}) is used"
    borrowed = (
        [r for r in group_regimens(kb, neuro, population) if r not in candidates]
        if treats_deficiency(kb, asked)
        else []
    )
    candidates += borrowed
    if not candidates:
        raise InputError(
            f"no regimen in the knowledge base for {asked.id}; name a regimen",
            field="regimen",
            listed="regimens",
        )
    followed = _followed(kb, tuple(candidates))
    ranked = sorted(
        candidates, key=lambda r: _rank(kb, followed, r, asked.id, neuro, population, product)
    )
    chosen = ranked[0]
    source = kb.sources[max(chosen.sources, key=lambda s: kb.sources[s].trust)]
    why = note or (
        f"the most trusted regimen for {asked.name} ({source.kind}: {source.title})"
        if chosen.indication == asked.id
        else f"{asked.name} has no regimen from a guideline or regulator; {chosen.id} is the default position of the conflict about it"
    )
    if chosen in borrowed:
        group = "neurological involvement" if chosen.neuro is True else "children"
        why = (
            f"the regimens filed under {asked.name} leave out {group}; {chosen.id} is the most trusted "
            f"regimen written for {group} ({source.kind}: {source.title}), filed under "
            f"{kb.indications[chosen.indication].name}"
        )
        how = "patient-group" if how == "default" else how
    found = list(_fit(kb, chosen, neuro, population, substance))
    if how not in ("default", "patient-group"):
        found.append(
            finding(
                "PLAN_REGIMEN_FALLBACK",
                Level.WARNING,
                f"No authoritative regimen is filed under {asked.name}: {why}. Check that it fits the patient.",
                chosen.sources,
                {"indication": asked.id, "regimen": chosen.id},
            )
        )
    return Choice(
        chosen,
        asked,
        how,
        why,
        tuple(ranked),
        (*found, *_weak(kb, chosen)),
        touching(kb, asked.id, (chosen, *own)),
    )


def _rank(
    kb: Knowledge,
    followed: frozenset[str],
    r: Regimen,
    indication: str,
    neuro: bool,
    population: str | None,
    product: Product | None,
) -> tuple[Any, ...]:
    substance = substance_of(product)
    for_neuro = neuro and written_for_neuro(kb, r)
    return (
        product is not None and not set(r.routes) & set(product.routes),  # oral from a vial
        not population_fits(r.population, population),
        r.neuro is (not neuro),  # the opposite of what the patient has
        # With involvement: written for it, of the product's substance, then of another one.
        neuro and not (for_neuro and substance in (None, r.substance)),
        neuro and not for_neuro,
        -kb.trust(r.sources),
        substance is not None and r.substance != substance,
        r.indication != indication,
        neuro and r.neuro is not True,  # without involvement, "not said" and "without" rank alike
        r.population != population,
        r.id not in followed,
        r.id,
    )


def _followed(kb: Knowledge, own: tuple[Regimen, ...]) -> frozenset[str]:
    """Regimens in the default position of the dosing conflicts the indication's regimens are filed under."""
    filed = {r.conflict for r in own if r.conflict}
    return frozenset(
        ref.partition(":")[2]
        for c in kb.conflicts.values()
        if c.id in filed and c.topic == "regimens"
        for p in c.positions
        if p.id == c.default
        for ref in p.entries
        if ref.startswith("regimens:")
    )


def touching(kb: Knowledge, indication: str, regimens: tuple[Regimen, ...]) -> tuple[Conflict, ...]:
    """Conflicts naming the indication or the first regimen, or filed by any of the regimens."""
    refs = {f"regimens:{regimens[0].id}", f"indications:{indication}"} if regimens else set()
    filed = {r.conflict for r in regimens if r.conflict}
    return tuple(
        c
        for c in kb.conflicts.values()
        if c.id in filed or any(ref in refs for p in c.positions for ref in p.entries)
    )


def _conflict_defaults(kb: Knowledge, own: tuple[Regimen, ...]) -> list[Regimen]:
    out: list[Regimen] = []
    # Only the conflicts the indication's own regimens are filed under: those are about its dosing.
    for conflict in (kb.conflicts[c] for c in dict.fromkeys(r.conflict for r in own if r.conflict)):
        position = next(p for p in conflict.positions if p.id == conflict.default)
        for ref in position.entries:
            kind, _, entry_id = ref.partition(":")
            regimen = kb.regimens.get(entry_id) if kind == "regimens" else None
            diagnostic = regimen is not None and all(
                ph.kind == "diagnostic" for ph in regimen.phases
            )
            if regimen is not None and not diagnostic and regimen not in out:
                out.append(regimen)
    return out


def _fit(
    kb: Knowledge, r: Regimen, neuro: bool, population: str | None, substance: str | None
) -> list[Finding]:
    out = []
    if substance is not None and r.substance != substance:
        out.append(
            finding(
                "PLAN_SUBSTANCE_DIFFERS",
                Level.WARNING,
                f"The regimen is written for {r.substance}, the product holds {substance}: the doses and intervals may not carry over.",
                r.sources,
                {"regimen": r.id, "product substance": substance},
            )
        )
    if not population_fits(r.population, population):
        out.append(
            finding(
                "PLAN_POPULATION_DIFFERS",
                Level.WARNING,
                f"The regimen is for the {r.population} population; the patient is {population}.",
                r.sources,
                {"regimen": r.id, "patient": population},
            )
        )
    if neuro:
        out += _neuro_fit(kb, r, population, substance)
    return out


def _neuro_fit(
    kb: Knowledge, r: Regimen, population: str | None, substance: str | None
) -> list[Finding]:
    """With neurological involvement: say when the product's substance has no regimen written for
    it, or when the plan's regimen is not one."""
    group = (
        f" for {'an infant' if population == 'infant' else 'a child'}"
        if population in CHILDREN
        else ""
    )
    written = [
        x
        for x in group_regimens(kb, True, None)
        if written_for_neuro(kb, x) and population_fits(x.population, population)
    ]
    mine = [x for x in written if substance in (None, x.substance)]
    values = {"regimen": r.id, "neurological involvement": "yes"}
    follows = (
        f"written for it with {r.substance}"
        if r.neuro is True
        else (
            "which is for patients without it" if r.neuro is False else "which does not speak to it"
        )
    )
    if substance is not None and not mine:
        other = (
            f" The most trusted regimen written for it is regimens:{written[0].id} ({written[0].substance})."
            if written and written[0].id != r.id
            else ""
        )
        return [
            finding(
                "PLAN_NEURO_NO_SUBSTANCE_REGIMEN",
                Level.WARNING,
                f"Neurological involvement was given, but no {substance} regimen in the knowledge base "
                f"is written for it{group}. This plan follows regimens:{r.id}, {follows}.{other}",
                tuple(dict.fromkeys((*r.sources, *(s for x in written[:1] for s in x.sources)))),
                {**values, "product substance": substance},
            )
        ]
    if r.neuro is True:
        return []
    hint = (
        f" The {substance + ' ' if substance else ''}regimen written for it is regimens:{mine[0].id}."
        if mine
        else f" No regimen in the knowledge base is written for it{group}."
    )
    return [
        finding(
            "PLAN_NEURO_NOT_ADDRESSED",
            Level.WARNING,
            "Neurological involvement was given, but this regimen "
            + ("is for patients without it." if r.neuro is False else "does not speak to it.")
            + hint,
            r.sources,
            values,
        )
    ]


def _weak(kb: Knowledge, r: Regimen) -> list[Finding]:
    if r.status == "supported" or r.conflict is None:
        return []
    conflict = kb.conflicts[r.conflict]
    default = next(p for p in conflict.positions if p.id == conflict.default)
    return [
        finding(
            "PLAN_REGIMEN_NOT_DEFAULT",
            Level.WARNING,
            f"This regimen is {r.status}: {conflict.claim} The knowledge base follows '{default.says}' ({conflict.reason.strip()})",
            r.sources,
            {"regimen": r.id, "status": r.status},
            conflict=conflict.id,
        )
    ]
