"""The frozen knowledge base and the integrity of its files, with no validation library.

``Knowledge`` holds the runtime entries (the generated dataclasses of ``entries.py``) that the
loader read from the artifact or validated from a folder's YAML; this module only reads the
manifest and checks every file's hash, so loading the shipped artifact needs neither YAML nor
pydantic. What is computed from the knowledge and kept is kept on the ``Knowledge`` (``memo``),
never at module level: a reload frees it with the knowledge it came from.
"""

from __future__ import annotations

import difflib
import hashlib
import threading
import tomllib
from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, TypeVar

from b12.errors import KnowledgeIntegrityError, KnowledgeSchemaError, UnknownNameError
from b12.knowledge.names import NameIndex

if TYPE_CHECKING:
    from b12.knowledge import entries as s

DEFAULT_PATH = Path(__file__).resolve().parent.parent / "kb"
MANIFEST = "manifest.toml"
#: The generated, hashed form of the shipped knowledge (``make kb-manifest`` writes it).
ARTIFACT = "knowledge.json"
INVENTORY_DIR = "inventory"
#: How many computed values a ``Knowledge`` keeps (the oldest goes first beyond that).
MEMO_SIZE = 4096

T = TypeVar("T")


@dataclass(frozen=True, eq=False)
class Knowledge:
    """The whole knowledge base, frozen. Use the accessors; every entry names its sources."""

    version: str
    content_hash: str
    path: Path
    collections: Mapping[str, Mapping[str, Any]]
    inventory: Mapping[str, tuple[s.InventoryItem, ...]]
    _names: dict[str, NameIndex] = field(default_factory=dict, repr=False, compare=False)
    _memo: dict[Hashable, Any] = field(default_factory=dict, repr=False, compare=False)
    _memo_lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    @classmethod
    def frozen(
        cls,
        version: str,
        content_hash: str,
        path: Path,
        collections: Mapping[str, Mapping[str, Any]],
        inventory: Mapping[str, tuple[Any, ...]],
    ) -> Knowledge:
        """From the collections and inventory as built (or cached), every mapping made read-only."""
        return cls(
            version=version,
            content_hash=content_hash,
            path=path,
            collections=MappingProxyType({k: MappingProxyType(v) for k, v in collections.items()}),
            inventory=MappingProxyType(dict(inventory)),
        )

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

    def memo(self, key: Hashable, compute: Callable[[], T]) -> T:
        """``compute()``, kept on this knowledge under ``key`` (name the function in the key).

        The one cache of values derived from the knowledge: it lives and dies with this object,
        so a reload (another ``Knowledge``) starts empty and the old values go with the old one.
        """
        try:
            found: T = self._memo[key]
            return found
        except KeyError:
            pass
        value = compute()
        with self._memo_lock:
            if len(self._memo) >= MEMO_SIZE:
                self._memo.pop(next(iter(self._memo)))
            self._memo[key] = value
        return value

    def _index(self, collection: str) -> NameIndex:
        if collection not in self._names:
            self._names[collection] = NameIndex(self.all(collection).values())
        return self._names[collection]

    # Typed accessors for the collections every capability reads.
    @property
    def sources(self) -> Mapping[str, s.Source]:
        return self.collections["sources"]

    @property
    def products(self) -> Mapping[str, s.Product]:
        return self.collections["products"]

    @property
    def indications(self) -> Mapping[str, s.Indication]:
        return self.collections["indications"]

    @property
    def regimens(self) -> Mapping[str, s.Regimen]:
        return self.collections["regimens"]

    @property
    def conflicts(self) -> Mapping[str, s.Conflict]:
        return self.collections["conflicts"]

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


def verified_files(root: Path) -> tuple[dict[str, Any], dict[str, bytes], str]:
    """The manifest, every file it lists (each checked against its hash) and the content hash."""
    manifest = read_manifest(root)
    raw = {name: _verified_bytes(root, name, manifest["files"]) for name in manifest["files"]}
    digest = content_hash(raw)
    if digest != manifest["content_hash"]:
        raise KnowledgeIntegrityError(MANIFEST, str(manifest["content_hash"]), digest)
    return manifest, raw, digest


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
