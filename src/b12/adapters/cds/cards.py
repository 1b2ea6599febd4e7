"""Findings as CDS Hooks cards: one card per finding that asks something of the prescriber.

A finding at `stop` or `warning` is a card (critical, warning); an `info` finding asks for nothing
and gives none, so an order that is fine gets no card. The card says the finding's message (its
summary cut to the spec's 140 characters at a word), its basis (the sources, the values used) and
any conflict in its detail; its source names the knowledge (the first source and the knowledge
fingerprint) and, as its topic, the finding's code. Where the finding carries a fix b12 knows
(the dose in mcg for a unit slip, with the volume to draw; the indication's regimen with another
cobalamin), the card suggests it as an update of the draft order. Every card and suggestion has
a uuid; the card's maps back to the finding code in the record (services.decision_support).
"""

from __future__ import annotations

import copy
import re
import uuid
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any

from b12.domain.display import format_mass, format_volume
from b12.domain.dose_input import parse_dose
from b12.domain.findings import Finding, Level
from b12.domain.quantity import Mass
from b12.errors import InputError
from b12.knowledge.base import Knowledge

INDICATOR = {Level.STOP: "critical", Level.WARNING: "warning", Level.INFO: "info"}
CARD_LEVELS = frozenset({Level.STOP, Level.WARNING})
SUMMARY_MAX = 139  # "summary: < 140 characters"
FINDING_SYSTEM = "https://b12.invalid/fhir/CodeSystem/finding"
OVERRIDE_SYSTEM = "https://b12.invalid/fhir/CodeSystem/override-reason"
UCUM = "http://unitsofmeasure.org"
SUBSTANCE_SYSTEM = "https://b12.invalid/fhir/CodeSystem/substance"
_MARKDOWN = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~])")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def markdown_text(text: str) -> str:
    """Text shown as written in Markdown: its markup characters escaped, control characters shown
    as escapes (text from an EHR is never markup)."""
    shown = _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", text)
    return _MARKDOWN.sub(r"\\\1", shown)


def summary_of(message: str) -> str:
    """The message's first sentence or clause, cut at a word to fewer than 140 characters."""
    first = re.split(r"(?<=[.;?!])\s", message, maxsplit=1)[0].rstrip(";")
    if len(first) <= SUMMARY_MAX:
        return first
    cut = first[: SUMMARY_MAX - 1].rsplit(" ", 1)[0]
    return cut.rstrip(",;:") + "…"


def override_reasons(codes: Mapping[str, str]) -> list[dict[str, str]]:
    return [{"system": OVERRIDE_SYSTEM, "code": c, "display": d} for c, d in codes.items()]


def _source_label(kb: Knowledge, f: Finding) -> str:
    first = f.basis.sources[0] if f.basis.sources else None
    source = kb.sources.get(first) if first else None
    name = source.title if source is not None else "b12 knowledge"
    label = f"b12: {name} (knowledge {kb.fingerprint})"
    return label if len(label) <= 200 else f"b12 (knowledge {kb.fingerprint})"


def _detail(kb: Knowledge, f: Finding) -> str:
    lines = [markdown_text(f.message), "", "**Basis**"]
    for s in f.basis.sources:
        source = kb.sources.get(s)
        title = source.title if source is not None else s
        lines.append(f"- {markdown_text(title)} (`{s}`)")
    if not f.basis.sources:
        lines.append("- b12's own check (no source needed)")
    for key, value in f.basis.values.items():
        lines.append(f"- {markdown_text(key)}: {markdown_text(value)}")
    if f.conflict is not None:
        conflict = kb.conflicts.get(f.conflict)
        lines += ["", f"**Sources disagree** (`{f.conflict}`)"]
        if conflict is not None:
            for p in conflict.positions:
                followed = " (followed)" if p.id == conflict.default else ""
                lines.append(
                    f"- {', '.join(p.sources)}: {markdown_text(p.says.rstrip('.'))}{followed}"
                )
    lines += ["", f"Finding `{f.code}`; knowledge `{kb.fingerprint}`."]
    return "\n".join(lines)


#: Turns a finding's suggested action into CDS suggestions (None: b12 knows no fix to offer).
Fixer = Callable[[Finding], list[dict[str, Any]]]


def dose_fix(
    draft: Mapping[str, Any], ordered: Mass, volume_for: Callable[[Mass], Decimal | None]
) -> Fixer:
    """The dose as the finding suggests it, in mcg (UCUM ug), with the volume to draw."""

    def fix(f: Finding) -> list[dict[str, Any]]:
        action = f.suggestion.action if f.suggestion else None
        if not action or action.get("set") != "dose" or not isinstance(action.get("to"), str):
            return []
        try:
            dose = parse_dose(str(action["to"])).mass
        except InputError:
            return []
        volume = volume_for(dose)
        label = f"Order {format_mass(dose.mcg)}"
        label += f" (draw {format_volume(volume)})" if volume is not None else ""
        resource = _with_dose(draft, ordered, dose, volume)
        return [_suggestion(label, "update", label, resource)]

    return fix


def regimen_fix(kb: Knowledge, draft: Mapping[str, Any]) -> Fixer:
    """The indication's regimen with another cobalamin (Leber's: hydroxocobalamin)."""

    def fix(f: Finding) -> list[dict[str, Any]]:
        action = f.suggestion.action if f.suggestion else None
        if not action or action.get("set") != "regimen":
            return []
        regimen = kb.regimens.get(str(action.get("to")))
        if regimen is None:
            return []
        label = f"Order {regimen.substance}: {regimen.title}"[:200]
        resource = copy.deepcopy(dict(draft))
        resource["medicationCodeableConcept"] = {
            "coding": [
                {
                    "system": SUBSTANCE_SYSTEM,
                    "code": regimen.substance,
                    "display": regimen.substance,
                }
            ],
            "text": regimen.substance,
        }
        resource["dosageInstruction"] = [{"text": f"{regimen.title} ({regimen.id})"}]
        return [_suggestion(label, "update", f"follow {regimen.title}", resource)]

    return fix


def _suggestion(label: str, kind: str, description: str, resource: Any) -> dict[str, Any]:
    return {
        "label": label,
        "uuid": str(uuid.uuid4()),
        "isRecommended": True,
        "actions": [{"type": kind, "description": description, "resource": resource}],
    }


def _with_dose(
    draft: Mapping[str, Any], ordered: Mass, dose: Mass, volume: Decimal | None
) -> dict[str, Any]:
    """The draft order with every dose equal to ``ordered`` replaced by ``dose`` in mcg."""
    resource = copy.deepcopy(dict(draft))
    for dosage in resource.get("dosageInstruction") or []:
        if not isinstance(dosage, dict):
            continue
        for rate in dosage.get("doseAndRate") or []:
            quantity = rate.get("doseQuantity") if isinstance(rate, dict) else None
            if not isinstance(quantity, dict):
                continue
            try:
                mass = parse_dose(
                    f"{quantity.get('value')} {quantity.get('code') or quantity.get('unit')}"
                ).mass
            except InputError:
                continue
            if mass == ordered:
                rate["doseQuantity"] = {
                    "value": dose.mcg,
                    "unit": "mcg",
                    "system": UCUM,
                    "code": "ug",
                }
                shown = f"{format_mass(dose.mcg)}"
                if volume is not None:
                    shown += f" (draw {format_volume(volume)})"
                dosage["text"] = shown
    return resource


def card(
    kb: Knowledge, f: Finding, fixes: list[Fixer], reasons: Mapping[str, str]
) -> dict[str, Any]:
    """The card of one finding (at stop or warning)."""
    out: dict[str, Any] = {
        "uuid": str(uuid.uuid4()),
        "summary": summary_of(f.message),
        "indicator": INDICATOR[f.level],
        "source": {
            "label": _source_label(kb, f),
            "topic": {"system": FINDING_SYSTEM, "code": f.code, "display": f.code},
        },
        "detail": _detail(kb, f),
    }
    suggestions = [s for fix in fixes for s in fix(f)]
    if suggestions:
        out["suggestions"] = suggestions
        out["selectionBehavior"] = "at-most-one"
    out["overrideReasons"] = override_reasons(reasons)
    return out
