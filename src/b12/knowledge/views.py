"""The knowledge base as listings and monograph sections: plain data for JSON, tables and the API."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from b12.errors import UnknownNameError
from b12.knowledge import entries as s
from b12.knowledge.base import Knowledge
from b12.knowledge.behaviour import Entry

LISTS = ("sources", "products", "indications", "regimens", "conflicts")


def dump(entry: Entry) -> dict[str, Any]:
    """An entry as plain data, leaving out empty optional fields."""
    data = entry.as_dict()
    return {k: v for k, v in data.items() if v != () and v != []}


def source_item(source: s.Source) -> dict[str, Any]:
    item = dump(source)
    item["trust"] = source.trust
    return item


def conflict_item(kb: Knowledge, conflict: s.Conflict) -> dict[str, Any]:
    default = next(p for p in conflict.positions if p.id == conflict.default)
    return {
        "id": conflict.id,
        "topic": conflict.topic,
        "claim": conflict.claim,
        "positions": [
            {**dump(p), "trust": kb.trust(p.sources), "default": p.id == conflict.default}
            for p in conflict.positions
        ],
        "default": {
            "position": default.id,
            "says": default.says,
            "sources": list(default.sources),
            "reason": conflict.reason,
        },
        "sources": sorted({src for p in conflict.positions for src in p.sources}),
    }


def list_items(kb: Knowledge, what: str, indication: str | None = None) -> list[dict[str, Any]]:
    """The items of one list command, each with its id and sources."""
    if what == "sources":
        return [source_item(src) for src in kb.sources.values()]
    if what == "conflicts":
        return [conflict_item(kb, c) for c in kb.conflicts.values()]
    if what == "regimens" and indication is not None:
        found = kb.lookup("indications", indication, "indication")
        return [dump(r) for r in kb.regimens_for(found.id)]
    if what in ("products", "indications", "regimens"):
        return [dump(e) for e in kb.all(what).values()]
    raise UnknownNameError("list", what, LISTS)


def _storage_items(kb: Knowledge) -> list[dict[str, Any]]:
    items = [
        {
            "id": p.id,
            "name": p.name,
            "storage": [dump(st) for st in p.storage],
            "sources": list(p.sources),
        }
        for p in kb.products.values()
        if p.storage
    ]
    items += [dump(f) for f in kb.all("facts").values() if f.topic == "storage"]
    return items


def _facts(*topics: str) -> Callable[[Knowledge], list[dict[str, Any]]]:
    return lambda kb: [dump(f) for f in kb.all("facts").values() if f.topic in topics]


def _collection(name: str) -> Callable[[Knowledge], list[dict[str, Any]]]:
    return lambda kb: [dump(e) for e in kb.all(name).values()]


def _cautions(kind: str) -> Callable[[Knowledge], list[dict[str, Any]]]:
    return lambda kb: [dump(c) for c in kb.all("cautions").values() if c.kind == kind]


#: Each `b12 info` topic: its sections, each a title and how to list its items.
TOPICS: dict[str, tuple[tuple[str, Callable[[Knowledge], list[dict[str, Any]]]], ...]] = {
    "indications": (("Indications", _collection("indications")),),
    "contraindications": (
        ("Contraindications", _cautions("contraindication")),
        ("Warnings", _cautions("warning")),
        ("Precautions", _cautions("precaution")),
        ("Cautions", _cautions("caution")),
        ("Information", _cautions("information")),
    ),
    "interactions": (
        ("Interactions", _collection("interactions")),
        ("Not in the same syringe", _collection("incompatibilities")),
    ),
    "adverse-effects": (("Adverse effects", _collection("adverse-effects")),),
    "overdose": (("Overdose", _collection("overdose")),),
    "storage": (("Storage", _storage_items),),
    "technique": (
        ("Injection sites", _collection("sites")),
        ("Needles and angles", _collection("needles")),
        ("Steps and supplies", _collection("technique-steps")),
        ("Administration", _facts("administration")),
    ),
    "requirements": (("Daily requirement", _collection("requirements")),),
    "foods": (("B12 content of foods", _collection("foods")),),
    "monitoring": (("Monitoring", _collection("monitoring")), ("Response", _facts("response"))),
    "products": (("Products", _collection("products")), ("Forms", _facts("forms"))),
    "laboratory": (
        ("Laboratory tests", _collection("analytes")),
        ("Diagnosis", _facts("diagnosis")),
    ),
    "pharmacology": (
        ("Pharmacology", _facts("pharmacology", "pharmacokinetics")),
        ("Urinary loss after an injection", _collection("retention")),
    ),
    "deficiency": (("Deficiency", _facts("deficiency", "diet")),),
}


def info(kb: Knowledge, topic: str) -> dict[str, Any]:
    """One monograph topic: its sections, and every conflict that touches an item in it."""
    if topic not in TOPICS:
        raise UnknownNameError("topic", topic, sorted(TOPICS), kb_suggest(topic, TOPICS))
    listed = [(title, items(kb)) for title, items in TOPICS[topic]]
    sections = [{"title": title, "items": items} for title, items in listed]
    ids = {item["id"] for _, items in listed for item in items}
    named = {item["conflict"] for _, items in listed for item in items if "conflict" in item}
    touching = [
        conflict_item(kb, c)
        for c in kb.conflicts.values()
        if c.id in named
        or any(ref.split(":", 1)[1] in ids for p in c.positions for ref in p.entries)
    ]
    return {"topic": topic, "sections": sections, "conflicts": touching}


def kb_suggest(name: str, choices: Any) -> tuple[str, ...]:
    import difflib

    return tuple(difflib.get_close_matches(name, list(choices), n=3, cutoff=0.5))
