"""Read a knowledge folder's YAML, validate it with the schema, cross-check it, convert it.

The one place a knowledge file is parsed: ``make kb-manifest`` builds the shipped artifact from what
this returns, and ``load_knowledge(DIR)`` (``--kb DIR``, ``B12_KB``) uses it for any other folder.
Each validated pydantic entry becomes the generated runtime dataclass of the same name
(``entries.py``), field for field; a field or model the generated module lacks is an error that
says to run ``make kb-manifest``, never a value silently dropped.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from decimal import Decimal
from functools import cache, lru_cache
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from b12.errors import KnowledgeError, KnowledgeReferenceError, KnowledgeSchemaError
from b12.knowledge import entries
from b12.knowledge import schema as s
from b12.knowledge.base import INVENTORY_DIR, MANIFEST, Knowledge, verified_files
from b12.knowledge.behaviour import Entry
from b12.knowledge.loader import FILES, SHARED_SECTIONS
from b12.knowledge.refs import iter_refs

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
    "retention": s.Retention,
    "conflicts": s.Conflict,
    "rules": s.ScreeningRule,
    "audit-rules": s.AuditRule,
}

E = TypeVar("E", bound=BaseModel)


def load_folder(root: Path) -> Knowledge:
    """The knowledge in ``root``, its files checked against the manifest, validated, converted."""
    manifest, raw, digest = verified_files(root)
    missing = sorted(set(FILES) - set(raw))
    if missing:
        raise KnowledgeSchemaError(MANIFEST, "files", "files", f"missing knowledge files {missing}")
    collections, inventory, homes = validated(root, raw)
    _check_references(collections, homes)
    knowledge = Knowledge.frozen(
        str(manifest["version"]),
        digest,
        root,
        {name: {k: runtime(v) for k, v in found.items()} for name, found in collections.items()},
        {seed: tuple(runtime(i) for i in items) for seed, items in inventory.items()},
    )
    from b12.knowledge.build import schema_hash

    if schema_hash() != entries.SCHEMA_HASH:  # same fields, but a type or default changed
        raise KnowledgeError(
            "the runtime entries (b12/knowledge/entries.py) were generated from another version "
            "of the schema; run `make kb-manifest`"
        )
    _check_conflict_defaults(knowledge, homes)
    from b12.knowledge.rule_checks import check_rules

    check_rules(knowledge, homes)
    return knowledge


Homes = dict[tuple[str, str], str]


def validated(
    root: Path, raw: Mapping[str, bytes]
) -> tuple[dict[str, dict[str, BaseModel]], dict[str, tuple[s.InventoryItem, ...]], Homes]:
    """Every file parsed and validated: the collections (pydantic entries), the seed inventory,
    and the file each entry came from."""
    collections: dict[str, dict[str, BaseModel]] = {name: {} for name in MODELS}
    homes: Homes = {}
    for file, sections in FILES.items():
        allowed = (*sections, *SHARED_SECTIONS)
        for key, found in _parse(file, raw[file]).items():
            if key not in allowed:
                raise KnowledgeSchemaError(
                    file, key, key, f"unknown section; expected {list(allowed)}"
                )
            for entry_id, entry in _validate_entries(file, key, found, MODELS[key]).items():
                if entry_id in collections[key]:
                    raise KnowledgeSchemaError(file, entry_id, "id", f"duplicate id in {key}")
                collections[key][entry_id] = entry
                homes[key, entry_id] = file
    inventory = _load_inventory(root, raw, collections)
    return collections, inventory, homes


def runtime(value: Any) -> Any:
    """A validated value with every pydantic entry in it replaced by its runtime dataclass."""
    if isinstance(value, BaseModel):
        model = type(value)
        cls = _runtime_class(model)
        return cls(**{name: runtime(getattr(value, name)) for name in model.model_fields})
    if isinstance(value, tuple):
        return tuple(runtime(v) for v in value)
    return value


@cache
def _runtime_class(model: type[BaseModel]) -> type[Entry]:
    """The generated class of ``model``, refused unless it has exactly the model's fields."""
    cls = entries.CLASSES.get(model.__name__)
    fields = tuple(getattr(cls, "__dataclass_fields__", ()))
    if cls is None or fields != tuple(model.model_fields):
        raise KnowledgeError(
            f"the runtime entries (b12/knowledge/entries.py) do not match the schema's "
            f"{model.__name__} (fields {list(model.model_fields)}, generated {list(fields)}); "
            "run `make kb-manifest`"
        )
    return cls


@lru_cache(maxsize=1)
def _yaml_loader() -> Any:
    """A YAML reader that keeps decimals exact (no binary float ever reaches a dose).

    Imported on first use: loading the shipped artifact needs no YAML at all.
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


def _validate_entries(file: str, key: str, found: Any, model: type[E]) -> dict[str, E]:
    if not isinstance(found, list):
        raise KnowledgeSchemaError(file, key, key, "a section must be a list of entries")
    out: dict[str, E] = {}
    for index, entry in enumerate(found):
        label = entry.get("id", f"#{index + 1}") if isinstance(entry, dict) else f"#{index + 1}"
        try:
            item = model.model_validate(entry)
        except ValidationError as exc:
            error = exc.errors()[0]
            where = ".".join(str(p) for p in error["loc"]) or "-"
            raise KnowledgeSchemaError(file, str(label), where, error["msg"]) from None
        entry_id = str(item.__dict__["id"])  # every entry model has an id field
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


def _check_references(
    collections: Mapping[str, Mapping[str, BaseModel]], homes: Mapping[tuple[str, str], str]
) -> None:
    """Every ``Ref``-typed value names an entry (read from the schema, so before conversion)."""
    for collection, found in collections.items():
        for entry_id, entry in found.items():
            file = homes[collection, entry_id]
            for where, targets, value in iter_refs(entry):
                if any(value in collections[t] for t in targets):
                    continue
                pool = [i for t in targets for i in collections[t]]
                close = difflib.get_close_matches(value, pool, n=3)
                raise KnowledgeReferenceError(file, entry_id, where, value, close)
            if isinstance(entry, s.Conflict):
                for position in entry.positions:
                    for ref in position.entries:
                        _check_entry_ref(collections, file, entry_id, "positions.entries", ref)


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
