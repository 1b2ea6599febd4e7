"""Caches of the knowledge base, so a command does not re-validate it at every start.

Two kinds, each keyed by the content hash of the knowledge files and a hash of the code that made
it (the schema, pydantic's version, and for the plain copy ``snapshot.py``): any change to either
misses the cache. "kb" holds the validated entries (validating ~2,000 entries costs ~120 ms,
unpickling them ~10 ms plus importing pydantic); "snapshot" their plain copy, read without pydantic
(see ``b12.knowledge.snapshot``). The caches live in the user's cache folder (``B12_CACHE_DIR``
overrides; an empty value turns them off); a cache that cannot be read or written is skipped, never
an error, and a file is replaced atomically, never half-written.
"""

from __future__ import annotations

import hashlib
import os
import pickle
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent


def _folder() -> Path | None:
    configured = os.environ.get("B12_CACHE_DIR")
    if configured is not None:
        return Path(configured) if configured else None
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "b12"


def code_hash(*modules: str) -> str:
    """A hash of the code that decides what a cached knowledge base holds: the schema, the given
    modules of this package and the installed pydantic (read as a file, not imported)."""
    code = hashlib.sha256()
    for name in ("schema", *modules):
        code.update((HERE / f"{name}.py").read_bytes())
    for folder in map(Path, sys.path):
        version = folder / "pydantic" / "version.py"
        if version.is_file():
            code.update(version.read_bytes())
            break
    return code.hexdigest()[:16]


def _key(content_hash: str, kind: str = "kb") -> str:
    modules = () if kind == "kb" else (kind,)
    return f"{kind}-{content_hash[:24]}-{code_hash(*modules)}.pickle"


def read(content_hash: str, kind: str = "kb") -> Any | None:
    """What was written for ``content_hash`` (``kind``: "kb" the validated entries, "snapshot"
    their plain copy), or None when there is no such cache or it cannot be read."""
    folder = _folder()
    if folder is None:
        return None
    try:
        with open(folder / _key(content_hash, kind), "rb") as handle:
            return pickle.load(handle)  # our own file, named by the content hash it holds
    except (OSError, pickle.PickleError, EOFError, AttributeError, ImportError, TypeError):
        return None


def write(content_hash: str, payload: Any, kind: str = "kb") -> None:
    folder = _folder()
    if folder is None:
        return
    import tempfile  # only a start that writes the cache pays for it

    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=folder, delete=False, suffix=".tmp") as handle:
            pickle.dump(payload, handle, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(
            handle.name, folder / _key(content_hash, kind)
        )  # atomic: never a half-written cache
    except OSError:
        return
