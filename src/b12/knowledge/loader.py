"""The one loader of the knowledge files: read, verify, validate, cross-check, freeze.

Nothing else in b12 parses a knowledge file (``base`` checks the files' hashes against the manifest;
``snapshot`` copies what this loader validated). ``load_knowledge()`` returns the same frozen
``Knowledge`` for the same folder, so callers may load freely.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from types import MappingProxyType
from typing import Any, TypeVar, cast

from pydantic import BaseModel, ValidationError

from b12.errors import KnowledgeReferenceError, KnowledgeSchemaError
from b12.knowledge import cache
from b12.knowledge import schema as s
from b12.knowledge.base import (
    DEFAULT_PATH,
    MANIFEST,
    Knowledge,
    content_hash,
    read_manifest,
    verified_files,
)
from b12.knowledge.refs import iter_refs

__all__ = [
    "DEFAULT_PATH",
    "FILES",
    "MANIFEST",
    "MODELS",
    "Knowledge",
    "content_hash",
    "load_knowledge",
    "read_manifest",
]

INVENTORY_DIR = "inventory"

#: Each knowledge file and the sections (collections) it holds. Any file may also hold
#: ``facts`` and ``conflicts`` sections, so a disagreement can sit beside the claims it is about.
FILES: dict[str, tuple[str, ...]] = {
    "sources.yaml": ("sources",),
    "substances.yaml": ("substances", "allergens"),
    "conditions.yaml": ("conditions",),
    "medicines.yaml": ("medicine-classes", "medicines"),
    "products.yaml": ("products",),
    "indications.yaml": ("indications",),
    "regimens.yaml": ("regimens",),
    "cautions.yaml": ("cautions",),
    "interactions.yaml": ("interactions", "incompatibilities"),
    "adverse-effects.yaml": ("adverse-effects", "overdose"),
    "requirements.yaml": ("requirements", "foods"),
    "monitoring.yaml": ("monitoring",),
    "technique.yaml": ("sites", "needles", "technique-steps"),
    "laboratory.yaml": ("analytes",),
    "facts.yaml": ("facts",),
    "conflicts.yaml": ("conflicts",),
    "screening.yaml": ("rules",),
}
SHARED_SECTIONS = ("facts", "conflicts")
MODELS: dict[str, type[BaseModel]] = {
    "sources": s.Source,
    "substances": s.Substance,
    "allergens": s.Allergen,
    "conditions": s.Condition,
    "medicine-classes": s.MedicineClass,
    "medicines": s.Medicine,
    "products": s.Product,
    "indications": s.Indication,
    "regimens": s.Regimen,
    "cautions": s.Caution,
    "interactions": s.Interaction,
    "incompatibilities": s.Incompatibility,
    "adverse-effects": s.AdverseEffect,
    "overdose": s.OverdoseClaim,
    "requirements": s.RequirementTable,
    "foods": s.Food,
    "monitoring": s.MonitoringRule,
    "sites": s.InjectionSite,
    "needles": s.Needle,
    "technique-steps": s.TechniqueStep,
    "analytes": s.Analyte,
    "facts": s.Fact,
    "conflicts": s.Conflict,
    "rules": s.ScreeningRule,
}

E = TypeVar("E", bound=BaseModel)


def load_knowledge(path: str | Path | None = None) -> Knowledge:
    """Load and check the knowledge base in ``path`` (default: the one shipped with b12)."""
    root = Path(path).resolve() if path is not None else DEFAULT_PATH
    try:
        stamp = (root / MANIFEST).read_bytes()
    except FileNotFoundError:
        raise KnowledgeSchemaError(
            str(root / MANIFEST), "-", "-", "no manifest in this folder"
        ) from None
    return _load(root, stamp)


@lru_cache(maxsize=8)
def _load(root: Path, stamp: bytes) -> Knowledge:
    """Loads once per folder and manifest: a reviewed edit (new manifest) is seen at once."""
    manifest, raw, digest = verified_files(root)
    missing = sorted(set(FILES) - set(raw))
    if missing:
        raise KnowledgeSchemaError(MANIFEST, "files", "files", f"missing knowledge files {missing}")
    built = cache.read(digest)
    if built is None:
        built = _build(root, raw, str(manifest["version"]), digest)
        cache.write(digest, built)
    collections, inventory = built
    return Knowledge.frozen(str(manifest["version"]), digest, root, collections, inventory)


def _build(
    root: Path, raw: Mapping[str, bytes], version: str, digest: str
) -> tuple[dict[str, dict[str, Any]], dict[str, tuple[s.InventoryItem, ...]]]:
    """Parse, validate and cross-check every file: the collections and the seed inventory."""
    collections: dict[str, dict[str, Any]] = {name: {} for name in MODELS}
    homes: dict[tuple[str, str], str] = {}
    for file, sections in FILES.items():
        allowed = (*sections, *SHARED_SECTIONS)
        for key, entries in _parse(file, raw[file]).items():
            if key not in allowed:
                raise KnowledgeSchemaError(
                    file, key, key, f"unknown section; expected {list(allowed)}"
                )
            for entry_id, entry in _validate_entries(file, key, entries, MODELS[key]).items():
                if entry_id in collections[key]:
                    raise KnowledgeSchemaError(file, entry_id, "id", f"duplicate id in {key}")
                collections[key][entry_id] = entry
                homes[key, entry_id] = file

    frozen = {k: MappingProxyType(v) for k, v in collections.items()}
    inventory = _load_inventory(root, raw, frozen)
    knowledge = Knowledge.frozen(version, digest, root, collections, inventory)
    _check_references(knowledge, homes)
    _check_conflict_defaults(knowledge, homes)
    from b12.knowledge.rule_checks import check_rules

    check_rules(knowledge, homes)
    return collections, inventory


@lru_cache(maxsize=1)
def _yaml_loader() -> Any:
    """A YAML reader that keeps decimals exact (no binary float ever reaches a dose).

    Imported on first use: a start served from the cache needs no YAML at all.
    """
    import yaml

    base = yaml.CSafeLoader if hasattr(yaml, "CSafeLoader") else yaml.SafeLoader

    class Loader(base):  # type: ignore[misc,valid-type]
        """The C (or pure) safe loader, with its own constructors (the base's stay untouched)."""

    def decimal(loader: Any, node: Any) -> Decimal:
        return Decimal(str(loader.construct_scalar(node)).replace("_", ""))

    Loader.add_constructor("tag:yaml.org,2002:float", decimal)
    return Loader


def _parse(file: str, data: bytes) -> dict[str, Any]:
    import yaml

    try:
        document = yaml.load(data, Loader=_yaml_loader())
    except yaml.YAMLError as exc:
        raise KnowledgeSchemaError(file, "-", "-", f"not valid YAML: {exc}") from None
    if document is None:
        return {}
    if not isinstance(document, dict):
        raise KnowledgeSchemaError(file, "-", "-", "the top level must be a mapping of sections")
    return document


def _validate_entries(file: str, key: str, entries: Any, model: type[E]) -> dict[str, E]:
    if not isinstance(entries, list):
        raise KnowledgeSchemaError(file, key, key, "a section must be a list of entries")
    out: dict[str, E] = {}
    for index, entry in enumerate(entries):
        label = entry.get("id", f"#{index + 1}") if isinstance(entry, dict) else f"#{index + 1}"
        try:
            item = model.model_validate(entry)
        except ValidationError as exc:
            error = exc.errors()[0]
            where = ".".join(str(p) for p in error["loc"]) or "-"
            raise KnowledgeSchemaError(file, str(label), where, error["msg"]) from None
        entry_id = cast(str, item.__dict__["id"])  # every entry model has an id field
        if entry_id in out:
            raise KnowledgeSchemaError(file, entry_id, "id", f"duplicate id in {key}")
        out[entry_id] = item
    return out


def _load_inventory(
    root: Path, raw: Mapping[str, bytes], collections: Mapping[str, Mapping[str, Any]]
) -> dict[str, tuple[s.InventoryItem, ...]]:
    items: dict[str, list[s.InventoryItem]] = {}
    for name in sorted(n for n in raw if n.startswith(f"{INVENTORY_DIR}/")):
        document = _parse(name, raw[name])
        for seed, facts in document.items():
            if seed not in collections["sources"]:
                known = [k for k, v in collections["sources"].items() if v.file]
                raise KnowledgeReferenceError(name, str(seed), "seed", str(seed), known)
            if not isinstance(facts, list):
                raise KnowledgeSchemaError(name, str(seed), seed, "a list of facts is expected")
            for index, fact in enumerate(facts):
                try:
                    item = s.InventoryItem.model_validate(fact)
                except ValidationError as exc:
                    error = exc.errors()[0]
                    where = ".".join(str(p) for p in error["loc"]) or "-"
                    raise KnowledgeSchemaError(
                        name, f"{seed}#{index + 1}", where, error["msg"]
                    ) from None
                _check_entry_ref(collections, name, f"{seed}#{index + 1}", "ref", item.ref)
                items.setdefault(str(seed), []).append(item)
    return {seed: tuple(found) for seed, found in items.items()}


def _check_entry_ref(
    collections: Mapping[str, Mapping[str, Any]], file: str, entry: str, where: str, ref: str
) -> None:
    collection, _, entry_id = ref.partition(":")
    if collection not in collections:
        raise KnowledgeReferenceError(file, entry, where, ref, sorted(collections))
    if entry_id not in collections[collection]:
        close = difflib.get_close_matches(entry_id, list(collections[collection]), n=3)
        raise KnowledgeReferenceError(file, entry, where, ref, [f"{collection}:{c}" for c in close])


def _check_references(knowledge: Knowledge, homes: Mapping[tuple[str, str], str]) -> None:
    for collection, entries in knowledge.collections.items():
        for entry_id, entry in entries.items():
            file = homes[collection, entry_id]
            for where, targets, value in iter_refs(entry):
                if any(value in knowledge.collections[t] for t in targets):
                    continue
                pool = [i for t in targets for i in knowledge.collections[t]]
                close = difflib.get_close_matches(value, pool, n=3)
                raise KnowledgeReferenceError(file, entry_id, where, value, close)
            if isinstance(entry, s.Conflict):
                for position in entry.positions:
                    for ref in position.entries:
                        _check_entry_ref(
                            knowledge.collections, file, entry_id, "positions.entries", ref
                        )


def _check_conflict_defaults(knowledge: Knowledge, homes: Mapping[tuple[str, str], str]) -> None:
    """The position followed by default must be the most trusted one."""
    for conflict in knowledge.conflicts.values():
        trust = {p.id: knowledge.trust(p.sources) for p in conflict.positions}
        best = max(trust.values())
        if trust[conflict.default] < best:
            top = [p for p, t in trust.items() if t == best]
            raise KnowledgeSchemaError(
                homes["conflicts", conflict.id],
                conflict.id,
                "default",
                f"default {conflict.default!r} is less trusted than {top}; follow the most trusted",
            )
