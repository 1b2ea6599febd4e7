"""Patient screening: contraindications, cautions, interactions, syringe partners and route.

Names as people type them are resolved to knowledge ids (a medicine stands for its classes and
their parents; an allergy to a cobalamin also for the allergens that include it); the rules of
screening.yaml are matched by the engine in ``b12.domain.screening``. An unknown name is never
dropped: it becomes a NOT_SCREENED warning with the closest known names.

Finding codes raised here (level; the rules in screening.yaml set the level of rule codes):
  COBALAMIN_HYPERSENSITIVITY (stop)      allergy to cobalt or B12: the one hard stop (bypassable)
  STOP_BYPASSED (warning)                a hard stop was bypassed; the reason is recorded
  NOT_SCREENED (warning)                 a name the knowledge base does not know, with close names;
                                         something a door was given and could not read (not_read)
  PRODUCT_COMPONENT_ALLERGY (warning)    allergy to another component of the product
  THIAMINE_ALLERGY_SEED_CLAIM (info)     the seeds' claim that B12 worsens a B1 allergy
  LEBERS_DISEASE (warning|info)          cyanocobalamin in Leber's disease (info for other forms)
  POTASSIUM_SEVERE_MEGALOBLASTIC (warning) hypokalaemia and sudden death in intensive treatment
  POTASSIUM_MONITORING (info)            check potassium in the first 48 h
  POLYCYTHAEMIA_VERA (warning)           treatment can unmask polycythaemia vera
  FOLATE_DEFICIENCY_MASKED (warning)     B12 can hide folate deficiency
  FOLIC_ACID_MASKS_B12_DEFICIENCY (info) folic acid is no substitute for B12
  IRON_FOLATE_BEFORE_TREATMENT (info)    iron or folate lack blunts the response
  DEFICIENCY_TREAT_WITHOUT_DELAY (info)  > 3 months of deficiency can leave spinal cord lesions
  MEGALOBLASTIC_ANAEMIA_OF_PREGNANCY (warning) only when B12 deficiency is shown
  ALUMINIUM_RENAL_IMPAIRMENT (warning|info) aluminium with impaired kidney function
  KIDNEY_DISEASE_SEED_CLAIM, LIVER_DISEASE_SEED_CLAIM (info)   seed contraindications, contradicted
  EXCIPIENT_NEONATE (warning|info)       benzyl alcohol in premature infants and newborns
  PREGNANCY, BREASTFEEDING (info)        not contraindicated; the seeds' contrary claims shown
  CHILD_SEED_CLAIM (info)                seed 002's "not for children", contradicted
  PRODUCT_PREGNANCY, PRODUCT_BREASTFEEDING, PRODUCT_CARDIAC_CONDUCTION, PRODUCT_AGE_LIMIT,
  PRODUCT_INTERACTION (warning|info)     product-specific (Milgamma N, Neurobion, Vitagamma)
  ERYTHROCYTOSIS_SEED_CLAIM, THROMBOEMBOLISM_SEED_CLAIM, THROMBOSIS_TENDENCY_SEED_CLAIM,
  ANGINA_SEED_CLAIM, NEOPLASM_SEED_CLAIM, GI_SURGERY_PLANNED, COLD_OR_ALLERGY_SEED_CLAIM,
  INFECTION_SEED_CLAIM, VISION_PROBLEMS_SEED_CLAIM, NEUROLOGICAL_CONDITION_SEED_CLAIM,
  BONE_MARROW_MEDICINE_SEED_CLAIM, CLOTTING_SEED_CLAIM, POTASSIUM_SUPPLEMENT_SEED_CLAIM,
  VITAMIN_C_SEED_CLAIM (info)            the seeds' cautions no authority supports
  CHLORAMPHENICOL_BLUNTS_RESPONSE (warning) the response to B12 may be blunted
  ABSORPTION_INTERACTION (info|warning)  less absorbed from the gut: info for injections
  MEDICINE_CAUSES_DEFICIENCY (info)      metformin, PPIs, H2 blockers, nitrous oxide, antiepileptics
  SERUM_LEVEL_LOWERED (info)             oral contraceptives
  ASSAY_INTERFERENCE (info)              antibiotics, methotrexate, pyrimethamine, antimetabolites
  B_VITAMINS_TOGETHER (info)             B1 and B6 in the same course (not in one syringe)
  SYRINGE_INCOMPATIBLE (warning|info)    not in one syringe (info when only the seeds say so)
  MIX_NO_COMPATIBILITY_DATA (info)       a syringe partner with no compatibility data
  ROUTE_ORAL_NOT_DEPENDABLE (warning|info) oral B12 in pernicious anaemia or ileal disease
  ROUTE_AVOID (warning)                  IV cyanocobalamin
  ROUTE_SPECIALIST_ONLY (warning)        intrathecal
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from b12.domain.findings import Finding, Level, finding, suggest
from b12.domain.patient import Patient
from b12.domain.reasons import meaningful_reason
from b12.domain.routes import route_id
from b12.domain.screening import HARD_STOPS, NO_BYPASS, Named, Profile, ScreeningPolicy, screen
from b12.errors import InputError, about
from b12.knowledge.base import Knowledge
from b12.knowledge.names import allergy_subject, normalise

if TYPE_CHECKING:
    from b12.knowledge.entries import Product, ScreeningRule

#: Where each kind of name is looked up, in order.
LOOKUPS = {
    "condition": ("conditions", "indications"),
    "medicine": ("medicines", "medicine-classes"),
    "allergy": ("allergens", "substances", "medicines", "medicine-classes"),
    "mix": ("substances", "medicines", "medicine-classes"),
}
#: The field of the patient or order each kind of name is written in.
FIELD_OF_KIND = {
    "condition": "conditions",
    "medicine": "medications",
    "allergy": "allergies",
    "mix": "mix",
}


@dataclass(frozen=True)
class Screening:
    """The findings for one patient and order; ``interrupts`` are those the policy stops on."""

    findings: tuple[Finding, ...]
    interrupts: tuple[Finding, ...]
    not_screened: tuple[str, ...]
    bypassed: Mapping[str, str]
    route: str
    product: str | None
    fingerprint: str

    @property
    def stops(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.level is Level.STOP)

    def to_dict(self) -> dict[str, Any]:
        return {
            "product": self.product,
            "route": self.route,
            "findings": [f.to_dict() for f in self.findings],
            "interrupts": [f.code for f in self.interrupts],
            "not_screened": list(self.not_screened),
            "bypassed": [{"code": c, "reason": r} for c, r in self.bypassed.items()],
            "fingerprint": self.fingerprint,
        }


def screen_patient(
    kb: Knowledge,
    patient: Patient,
    *,
    product: str | None = None,
    route: str | None = None,
    mix: Iterable[str] = (),
    policy: ScreeningPolicy | None = None,
    bypass: Mapping[str, str] | None = None,
    substance: str | None = None,
    form: str | None = None,
    indication: str | None = None,
) -> Screening:
    """Screen a patient and the order against the rules.

    The order is its product (ingredients and excipients from the label) or, without one, its
    ``substance`` (a regimen's cobalamin, or the one given with a bare strength) and ``form``
    ("injection" for a strength in mcg/mL); its route id ('IM', 'deep-SC': an adapter reads
    text); its syringe partners; and the ``indication`` it treats, screened like a condition
    the patient has.
    """
    policy = policy or ScreeningPolicy()
    reasons = _checked_bypass(bypass or {})
    with about("product"):
        chosen: Product | None = kb.lookup("products", product, "product") if product else None
    with about("route"):
        planned = route_id(route) if route else (chosen.routes[0] if chosen else "IM")
    unknown: list[Finding] = []
    unresolved: list[str] = []
    named: dict[str, tuple[Named, ...]] = {}
    given = {
        "condition": patient.conditions,
        "medicine": patient.medications,
        "allergy": patient.allergies,
        "mix": tuple(mix),
    }
    for kind, names in given.items():
        resolved_names: list[Named] = []
        for name in names:
            resolved = _resolve(kb, kind, name)
            if resolved is None:
                unknown.append(_not_screened(kb, kind, name))
                unresolved.append(name)
            else:
                resolved_names.append(resolved)
        named[kind] = tuple(resolved_names)
    treated = _indication(kb, indication)
    if treated is not None and not any(treated.ids & n.ids for n in named["condition"]):
        named["condition"] = (*named["condition"], treated)
    profile = Profile(
        age_months=patient.age_months,
        age_shown=patient.describe_age(),
        pregnant=patient.pregnant,
        breastfeeding=patient.breastfeeding,
        conditions=named["condition"],
        medicines=named["medicine"],
        allergies=named["allergy"],
        mix=named["mix"],
        **_order(kb, chosen, planned, substance, form),
    )
    rules: Mapping[str, ScreeningRule] = kb.all("rules")
    found = _one_per_fact(kb, screen(rules.values(), profile, _conflict_notes(kb)))
    found += _mix_without_data(kb, rules.values(), profile.mix)
    bypassed = {
        code: reason for code, reason in reasons.items() if any(f.code == code for f in found)
    }
    found += [_bypass_finding(f, bypassed[f.code]) for f in found if f.code in bypassed]
    findings = tuple(sorted([*found, *unknown], key=lambda f: (-f.level.rank, f.code)))
    interrupts = tuple(
        f
        for f in findings
        if policy.interrupts(f) and not (f.level is Level.STOP and f.code in bypassed)
    )
    return Screening(
        findings=findings,
        interrupts=interrupts,
        not_screened=tuple(unresolved),
        bypassed=bypassed,
        route=planned,
        product=profile.product,
        fingerprint=kb.fingerprint,
    )


def _one_per_fact(kb: Knowledge, found: list[Finding]) -> list[Finding]:
    """One finding for one code about one subject (the same medicine, condition, route...):
    where two rules say the same kind of thing about it (neomycin, and the seeds' aminoglycosides),
    the loudest and then the most trusted speaks. Input order is kept otherwise."""
    kept: dict[tuple[str, tuple[tuple[str, str], ...]], Finding] = {}
    for f in found:
        key = (f.code, tuple(sorted(f.basis.values.items())))
        old = kept.get(key)
        if old is None or (f.level.rank, kb.trust(f.basis.sources)) > (
            old.level.rank,
            kb.trust(old.basis.sources),
        ):
            kept[key] = f
    return [f for f in found if kept[(f.code, tuple(sorted(f.basis.values.items())))] is f]


def order_findings(
    kb: Knowledge,
    route: str,
    *,
    product: str | None = None,
    substance: str | None = None,
    form: str | None = None,
) -> tuple[Finding, ...]:
    """The findings of the order alone (route, substance, excipients, form): what every dose,
    plan and administration raises whether or not a patient detail is given."""
    return kb.memo(
        (order_findings, route, product, substance, form),
        lambda: _order_findings(kb, route, product, substance, form),
    )


def _order_findings(
    kb: Knowledge, route: str, product: str | None, substance: str | None, form: str | None
) -> tuple[Finding, ...]:
    chosen: Product | None = kb.lookup("products", product, "product") if product else None
    rules = [r for r in kb.all("rules").values() if _order_only(r.trigger)]
    profile = Profile(**_order(kb, chosen, route, substance, form))
    return tuple(screen(rules, profile, _conflict_notes(kb)))


def _order_only(trigger: Any) -> bool:
    """A trigger about the order alone: nothing of the patient in it."""
    return not (
        trigger.conditions
        or trigger.medicines
        or trigger.allergies
        or trigger.mix
        or trigger.pregnancy is not None
        or trigger.breastfeeding is not None
        or trigger.age_below_years is not None
        or trigger.age_below_months is not None
    )


def _order(
    kb: Knowledge, product: Product | None, route: str, substance: str | None, form: str | None
) -> dict[str, Any]:
    """The order's part of a screening profile."""
    if product is not None:
        if substance is not None:
            raise InputError(
                f"the product {product.id} fixes the substance: give the product or the "
                "substance, not both",
                field="product",
                alternatives=("substance",),
            )
        return {
            "route": route,
            "product": product.id,
            "product_name": product.name,
            "ingredients": frozenset(i.substance for i in product.ingredients),
            "excipients": frozenset(e.substance for e in product.excipients),
            "form": product.form,
        }
    ingredients: frozenset[str] = frozenset()
    if substance is not None:
        with about("substance"):
            entry = kb.lookup("substances", substance, "substance")
        if entry.role != "cobalamin":
            cobalamins = [i for i, e in kb.all("substances").items() if e.role == "cobalamin"]
            raise InputError(
                f"{entry.name} is not a form of vitamin B12: write one of {', '.join(cobalamins)}",
                field="substance",
            )
        ingredients = frozenset({entry.id})
    return {"route": route, "ingredients": ingredients, "form": form}


def _indication(kb: Knowledge, name: str | None) -> Named | None:
    if name is None:
        return None
    with about("indication"):
        entry = kb.lookup("indications", name, "indication")
    return Named(entry.name, entry.name, frozenset({entry.id}))


def check(
    patient: Patient,
    product: str | None = None,
    *,
    route: str | None = None,
    mix: Iterable[str] = (),
    policy: ScreeningPolicy | None = None,
    bypass: Mapping[str, str] | None = None,
    kb: Knowledge | None = None,
) -> Screening:
    """Screen ``patient`` for ``product`` (id or name) with the shipped knowledge base."""
    from b12.knowledge.loader import load_knowledge

    return screen_patient(
        kb or load_knowledge(),
        patient,
        product=product,
        route=route,
        mix=mix,
        policy=policy,
        bypass=bypass,
    )


def _checked_bypass(bypass: Mapping[str, str]) -> dict[str, str]:
    out = {}
    for code, reason in bypass.items():
        code = code.strip().upper()
        if code in NO_BYPASS:
            raise InputError(
                f"{code} cannot be bypassed: no reason lifts this stop; change the order",
                field="bypass",
            )
        if code not in HARD_STOPS:
            raise InputError(
                f"{code} cannot be bypassed: only a hard stop can be bypassed "
                f"({', '.join(sorted(HARD_STOPS))})",
                field="bypass",
            )
        out[code] = meaningful_reason(
            reason, "bypass", f"the bypass of {code}", "allergist cleared"
        )
    return out


#: How people write a combination of medicines in one name: "carbidopa/levodopa", "a + b".
_COMBINED = re.compile(r"\s*(?:/|\+|&|\band\b|\bwith\b|,)\s*", re.IGNORECASE)


def _resolve(kb: Knowledge, kind: str, name: str) -> Named | None:
    """A name as the knowledge ids it stands for; a combination written as one name stands for
    each of its parts (None when any part is unknown, so it is reported, never half-screened)."""
    single = _resolve_one(kb, kind, name)
    if single is not None or kind != "medicine":
        return single
    parts = [p for p in _COMBINED.split(name) if p.strip()]
    if len(parts) < 2:
        return None
    resolved = [_resolve_one(kb, kind, p) for p in parts]
    if any(r is None for r in resolved):
        return None
    ids = frozenset(i for r in resolved if r is not None for i in r.ids)
    shown = " + ".join(r.shown for r in resolved if r is not None)
    return Named(name, shown if shown != name else name, ids)


def _resolve_one(kb: Knowledge, kind: str, name: str) -> Named | None:
    keys = [name]
    subject = allergy_subject(name) if kind == "allergy" else None
    if subject:  # "Allergy to cobalt", "cobalt allergy": the allergy is to cobalt
        keys.append(subject)
    for key in keys:
        for collection in LOOKUPS[kind]:
            entry = kb.match(collection, key)
            if entry is not None:
                known = normalise(name) in normalise(entry.name) or normalise(name) == entry.id
                shown = name if known else f"{name} ({entry.name})"
                return Named(name, shown, frozenset(_stands_for(kb, collection, entry)))
    return None


def _stands_for(kb: Knowledge, collection: str, entry: Any) -> set[str]:
    """The ids a name stands for: itself, its classes and their parents, what an allergy covers."""
    ids = {entry.id}
    medicines = kb.all("medicines")
    for part in getattr(entry, "contains", ()):
        ids |= _stands_for(kb, "medicines", medicines[part])
    if collection == "allergens":
        ids |= set(entry.includes)
    if collection == "substances":
        ids |= {a.id for a in kb.all("allergens").values() if entry.id in a.includes}
    pending = list(getattr(entry, "classes", ())) + list(getattr(entry, "parents", ()))
    classes = kb.all("medicine-classes")
    while pending:
        class_id = pending.pop()
        if class_id not in ids:
            ids.add(class_id)
            pending += classes[class_id].parents
    return ids


def _not_screened(kb: Knowledge, kind: str, name: str) -> Finding:
    close: list[str] = []
    for collection in LOOKUPS[kind]:
        close += [c for c in kb.suggest(collection, name) if c not in close]
    hint = f" Close known names: {', '.join(close[:5])}." if close else ""
    return finding(
        "NOT_SCREENED",
        Level.WARNING,
        f"{kind.capitalize()} '{name}' is not in the knowledge base and was NOT screened; check it "
        f"by hand.{hint}",
        (),
        {kind: name},
        suggestion=suggest(
            f"write one of the close known names: {', '.join(close[:5])}",
            field=FIELD_OF_KIND[kind],
            replace=name,
            with_one_of=tuple(close[:5]),
        )
        if close
        else None,
    )


def not_read(what: str, why: str) -> Finding:
    """NOT_SCREENED for something a door was given and could not read (a reference it cannot
    resolve, a result in a unit its code does not measure): named, never dropped."""
    return finding(
        "NOT_SCREENED",
        Level.WARNING,
        f"Not screened: {why}; check it by hand ({what}).",
        (),
        {"not read": what, "why": why},
    )


def _conflict_notes(kb: Knowledge) -> dict[str, str]:
    """Each conflict's other positions, as a finding's message names them (computed once per
    knowledge: every screening needs them)."""
    return kb.memo(("screening._conflict_notes",), lambda: _notes_of_conflicts(kb))


def _notes_of_conflicts(kb: Knowledge) -> dict[str, str]:
    notes = {}
    for conflict in kb.conflicts.values():
        others = [p for p in conflict.positions if p.id != conflict.default]
        shown = "; ".join(f"{', '.join(p.sources)}: {p.says.rstrip('.')}" for p in others)
        notes[conflict.id] = f"Other positions ({conflict.id}): {shown}."
    return notes


def _mix_without_data(
    kb: Knowledge, rules: Iterable[ScreeningRule], mix: tuple[Named, ...]
) -> list[Finding]:
    covered = {s for rule in rules for s in rule.trigger.mix}
    return [
        finding(
            "MIX_NO_COMPATIBILITY_DATA",
            Level.INFO,
            f"No compatibility data for {n.shown} with B12 in one syringe; without data, give it "
            "separately.",
            ("compatibility-references",),
            {"mix": n.shown},
        )
        for n in mix
        if not n.ids & covered
    ]


def _bypass_finding(stop: Finding, reason: str) -> Finding:
    return finding(
        "STOP_BYPASSED",
        Level.WARNING,
        f"The stop {stop.code} was bypassed: {reason}",
        stop.basis.sources,
        {"bypassed": stop.code, "reason": reason},
    )
