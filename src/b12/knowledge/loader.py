"""The loader of the knowledge: ``load_knowledge()`` for the shipped artifact, ``(DIR)`` for a folder.

With no folder, b12 reads the artifact ``make kb-manifest`` built (``kb/knowledge.json``): it checks
the YAML files and the artifact against the manifest's hashes, reads the JSON and builds the
generated dataclasses (``entries.py``), importing neither pydantic nor YAML (nor pickle: no code runs
from a data file, and no user-writable folder is read). With a folder (``--kb DIR``, ``B12_KB``), it
validates that folder's YAML with the schema (``validation.py``) and converts it to the same
dataclasses. ``load_knowledge()`` returns the same frozen ``Knowledge`` for the same folder and
manifest, so callers may load freely; a new manifest replaces (and frees) the old one.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from b12.errors import KnowledgeIntegrityError, KnowledgeSchemaError
from b12.knowledge.base import (
    ARTIFACT,
    DEFAULT_PATH,
    MANIFEST,
    Knowledge,
    content_hash,
    read_manifest,
    verified_files,
)

__all__ = [
    "ARTIFACT",
    "DEFAULT_PATH",
    "FILES",
    "MANIFEST",
    "Knowledge",
    "content_hash",
    "load_knowledge",
    "read_manifest",
]

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
    "facts.yaml": ("facts", "retention"),
    "conflicts.yaml": ("conflicts",),
    "screening.yaml": ("rules",),
    "audit.yaml": ("audit-rules",),
}
SHARED_SECTIONS = ("facts", "conflicts")

#: The knowledge loaded per folder (None: the shipped artifact), with the manifest it was loaded at.
_LOADED: dict[Path | None, tuple[bytes, Knowledge]] = {}
_KEPT = 8


def load_knowledge(path: str | Path | None = None) -> Knowledge:
    """The shipped knowledge (its artifact), or that of the folder ``path`` (validated)."""
    root = Path(path).resolve() if path is not None else DEFAULT_PATH
    try:
        stamp = (root / MANIFEST).read_bytes()
    except FileNotFoundError:
        raise KnowledgeSchemaError(
            str(root / MANIFEST), "-", "-", "no manifest in this folder"
        ) from None
    key = root if path is not None else None
    known = _LOADED.get(key)
    if known is not None and known[0] == stamp:
        return known[1]
    if path is None:
        knowledge = load_artifact(root)
    else:
        from b12.knowledge.validation import load_folder

        knowledge = load_folder(root)
    _LOADED.pop(key, None)
    if len(_LOADED) >= _KEPT:
        _LOADED.pop(next(iter(_LOADED)))
    _LOADED[key] = (stamp, knowledge)
    return knowledge


def load_artifact(root: Path = DEFAULT_PATH) -> Knowledge:
    """The knowledge as ``make kb-manifest`` built it into ``root/knowledge.json``.

    Refused, with what to run, when the YAML files, the artifact or the generated entries do not
    match the manifest and each other.
    """
    manifest, _, digest = verified_files(root)
    expected = manifest.get("artifact")
    if not isinstance(expected, str):
        raise KnowledgeSchemaError(
            MANIFEST, "-", "artifact", f"the manifest records no {ARTIFACT}; run `make kb-manifest`"
        )
    try:
        data = (root / ARTIFACT).read_bytes()
    except FileNotFoundError:
        raise KnowledgeSchemaError(
            ARTIFACT, "-", "-", "the artifact is missing; run `make kb-manifest`"
        ) from None
    actual = hashlib.sha256(data).hexdigest()
    if actual != expected:
        raise KnowledgeIntegrityError(ARTIFACT, expected, actual)
    document = json.loads(data)
    from b12.knowledge import entries

    for field, built, wanted in (
        ("content_hash", document["content_hash"], digest),
        ("schema", document["schema"], entries.SCHEMA_HASH),
    ):
        if built != wanted:
            raise KnowledgeSchemaError(
                ARTIFACT,
                "-",
                field,
                f"built for {field} {built[:12]}, but this b12 has {wanted[:12]}; "
                "run `make kb-manifest`",
            )
    readers = entries.READERS
    collections = {
        name: {entry["id"]: read(entry) for entry in found["entries"]}
        for name, found in document["collections"].items()
        for read in (readers[found["class"]],)
    }
    read_item = readers["InventoryItem"]
    inventory = {
        seed: tuple(read_item(item) for item in items)
        for seed, items in document["inventory"].items()
    }
    return Knowledge.frozen(str(manifest["version"]), digest, root, collections, inventory)
