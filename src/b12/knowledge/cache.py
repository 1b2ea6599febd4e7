"""A cache of the validated knowledge base, so a command does not re-validate it at every start.

Keyed by the content hash of the knowledge files and the hash of the schema code: any change to
either misses the cache. Validating ~2,000 entries costs ~120 ms; unpickling them ~10 ms (see
`make bench`). The cache lives in the user's cache folder (``B12_CACHE_DIR`` overrides; an empty
value turns it off); a cache that cannot be read or written is skipped, never an error.
"""

from __future__ import annotations

import hashlib
import os
import pickle
import tempfile
from pathlib import Path
from typing import Any

import pydantic

from b12.knowledge import schema


def _folder() -> Path | None:
    configured = os.environ.get("B12_CACHE_DIR")
    if configured is not None:
        return Path(configured) if configured else None
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "b12"


def _key(content_hash: str) -> str:
    code = hashlib.sha256(Path(schema.__file__).read_bytes())
    code.update(pydantic.VERSION.encode())
    return f"kb-{content_hash[:24]}-{code.hexdigest()[:16]}.pickle"


def read(content_hash: str) -> Any | None:
    folder = _folder()
    if folder is None:
        return None
    try:
        with open(folder / _key(content_hash), "rb") as handle:
            return pickle.load(handle)  # our own file, named by the content hash it holds
    except (OSError, pickle.PickleError, EOFError, AttributeError, ImportError, TypeError):
        return None


def write(content_hash: str, payload: Any) -> None:
    folder = _folder()
    if folder is None:
        return
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=folder, delete=False, suffix=".tmp") as handle:
            pickle.dump(payload, handle, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(handle.name, folder / _key(content_hash))  # atomic: never a half-written cache
    except OSError:
        return
