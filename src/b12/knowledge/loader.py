"""The one loader of the knowledge files: read, verify, validate, cross-check, freeze.

Nothing else in b12 opens a knowledge file. ``load_knowledge()`` returns the same frozen
``Knowledge`` for the same folder, so callers may load freely.
"""

from __future__ import annotations

import difflib
import hashlib
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from types import MappingProxyType
from typing import Any, TypeVar, cast

from pydantic import BaseModel, ValidationError

from b12.errors import (
    KnowledgeIntegrityError,
    KnowledgeReferenceError,
    KnowledgeSchemaError,
    UnknownNameError,
)
from b12.knowledge import cache
from b12.knowledge import schema as s
from b12.knowledge.names import NameIndex
from b12.knowledge.refs import iter_refs

DEFAULT_PATH = Path(__file__).resolve().parent.parent / "kb"
MANIFEST = "manifest.toml"
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


@dataclass(frozen=True, eq=False)
class Knowledge:
    """The whole knowledge base, frozen. Use the accessors; every entry names its sources."""

    version: str
    content_hash: str
    path: Path
    collections: Mapping[str, Mapping[str, Any]]
    inventory: Mapping[str, tuple[s.InventoryItem, ...]]
    _names: dict[str, NameIndex] = field(default_factory=dict, repr=False, compare=False)

    @property
    def fingerprint(self) -> str:
        """What every output carries so it can be traced to this exact knowledge."""
        return f"{self.version}+{self.content_hash[:12]}"

    def all(self, collection: str) -> Mapping[str, Any]:
        try:
            return self.collections[collection]
        except KeyError:
            raise UnknownNameError("collection", collection, sorted(self.collections)) from None

    def get(self, collection: str, entry_id: str) -> Any:
        entries = self.all(collection)
        if entry_id in entries:
            return entries[entry_id]
        close = difflib.get_close_matches(entry_id, list(entries), n=3, cutoff=0.6)
        raise UnknownNameError(collection.rstrip("s"), entry_id, sorted(entries), close)

    def resolve(self, ref: str) -> Any:
        """'products:milgamma-2ml' -> that product."""
        collection, _, entry_id = ref.partition(":")
        return self.get(collection, entry_id)

    def match(self, collection: str, name: str) -> Any | None:
        """An entry by id, name or synonym (case, apostrophes and hyphens ignored), or None."""
        return self._index(collection).match(name)

    def suggest(self, collection: str, name: str) -> tuple[str, ...]:
        return self._index(collection).suggest(name)

    def lookup(self, collection: str, name: str, kind: str | None = None) -> Any:
        """Like ``match``, but an unknown name is an error listing close names."""
        found = self.match(collection, name)
        if found is None:
            raise UnknownNameError(
                kind or collection.rstrip("s"),
                name,
                sorted(self.all(collection)),
                self.suggest(collection, name),
            )
        return found

    def _index(self, collection: str) -> NameIndex:
        if collection not in self._names:
            self._names[collection] = NameIndex(self.all(collection).values())
        return self._names[collection]

    # Typed accessors for the collections every capability reads.
    @property
    def sources(self) -> Mapping[str, s.Source]:
        return cast(Mapping[str, s.Source], self.collections["sources"])

    @property
    def products(self) -> Mapping[str, s.Product]:
        return cast(Mapping[str, s.Product], self.collections["products"])

    @property
    def indications(self) -> Mapping[str, s.Indication]:
        return cast(Mapping[str, s.Indication], self.collections["indications"])

    @property
    def regimens(self) -> Mapping[str, s.Regimen]:
        return cast(Mapping[str, s.Regimen], self.collections["regimens"])

    @property
    def conflicts(self) -> Mapping[str, s.Conflict]:
        return cast(Mapping[str, s.Conflict], self.collections["conflicts"])

    def trust(self, source_ids: tuple[str, ...]) -> int:
        """The trust of the most trusted of ``source_ids``."""
        return max((self.sources[i].trust for i in source_ids), default=0)

    def regimens_for(self, indication_id: str) -> tuple[s.Regimen, ...]:
        """Regimens for an indication: most trusted first; among equals, a conflict's default first."""
        followed = {
            ref.partition(":")[2]
            for c in self.conflicts.values()
            for p in c.positions
            if p.id == c.default
            for ref in p.entries
        }
        found = [r for r in self.regimens.values() if r.indication == indication_id]
        return tuple(
            sorted(found, key=lambda r: (-self.trust(r.sources), r.id not in followed, r.id))
        )


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
    manifest = read_manifest(root)
    raw = {name: _verified_bytes(root, name, manifest["files"]) for name in manifest["files"]}
    missing = sorted(set(FILES) - set(raw))
    if missing:
        raise KnowledgeSchemaError(MANIFEST, "files", "files", f"missing knowledge files {missing}")
    digest = content_hash(raw)
    if digest != manifest["content_hash"]:
        raise KnowledgeIntegrityError(MANIFEST, str(manifest["content_hash"]), digest)
    built = cache.read(digest)
    if built is None:
        built = _build(root, raw, str(manifest["version"]), digest)
        cache.write(digest, built)
    collections, inventory = built
    return Knowledge(
        version=str(manifest["version"]),
        content_hash=digest,
        path=root,
        collections=MappingProxyType({k: MappingProxyType(v) for k, v in collections.items()}),
        inventory=MappingProxyType(inventory),
    )


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
    knowledge = Knowledge(
        version=version,
        content_hash=digest,
        path=root,
        collections=MappingProxyType(frozen),
        inventory=MappingProxyType(inventory),
    )
    _check_references(knowledge, homes)
    _check_conflict_defaults(knowledge, homes)
    from b12.knowledge.rule_checks import check_rules

    check_rules(knowledge, homes)
    return collections, inventory


def read_manifest(root: Path) -> dict[str, Any]:
    try:
        manifest = tomllib.loads((root / MANIFEST).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise KnowledgeSchemaError(
            str(root / MANIFEST), "-", "-", "no manifest in this folder"
        ) from None
    for key in ("version", "content_hash", "files"):
        if key not in manifest:
            raise KnowledgeSchemaError(MANIFEST, "-", key, "required")
    return manifest


def content_hash(raw: Mapping[str, bytes]) -> str:
    """One hash over every knowledge file, by name, in name order."""
    digest = hashlib.sha256()
    for name in sorted(raw):
        digest.update(name.encode())
        digest.update(b"\0")
        digest.update(hashlib.sha256(raw[name]).hexdigest().encode())
        digest.update(b"\n")
    return digest.hexdigest()


def _verified_bytes(root: Path, name: str, hashes: Mapping[str, str]) -> bytes:
    try:
        data = (root / name).read_bytes()
    except FileNotFoundError:
        raise KnowledgeSchemaError(MANIFEST, name, "files", "listed but not found") from None
    actual = hashlib.sha256(data).hexdigest()
    if actual != hashes[name]:
        raise KnowledgeIntegrityError(name, hashes[name], actual)
    return data


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
