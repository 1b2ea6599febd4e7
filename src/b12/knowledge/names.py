"""Match what people type against ids, names and synonyms."""

from __future__ import annotations

import difflib
import re
import unicodedata
from collections.abc import Iterable
from functools import lru_cache
from typing import Any

_APOSTROPHES = re.compile(r"['’`´]s\b|['’`´]")
_SEPARATORS = re.compile(r"[\s\-_/,.()]+")


@lru_cache(maxsize=4096)  # a ward types the same few names again and again
def normalise(name: str) -> str:
    """'Leber's disease' -> 'leber disease'; 'Addison-Biermer' -> 'addison biermer'."""
    text = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().lower()
    text = _APOSTROPHES.sub("", text)
    return _SEPARATORS.sub(" ", text).strip()


class NameIndex:
    """Ids, names and synonyms of a collection's entries, normalised."""

    def __init__(self, entries: Iterable[Any]) -> None:
        self._by_name: dict[str, Any] = {}
        for entry in entries:
            for name in (entry.id, getattr(entry, "name", None), *getattr(entry, "synonyms", ())):
                if name:
                    self._by_name.setdefault(normalise(name), entry)

    def match(self, name: str) -> Any | None:
        return self._by_name.get(normalise(name))

    def suggest(self, name: str, n: int = 3) -> tuple[str, ...]:
        """Ids of the entries whose names are closest to ``name``."""
        key = normalise(name)
        close = difflib.get_close_matches(key, list(self._by_name), n=n * 3, cutoff=0.6)
        contains = [k for k in self._by_name if key and len(key) >= 4 and (key in k or k in key)]
        ids: list[str] = []
        for k in [*close, *contains]:
            entry_id = self._by_name[k].id
            if entry_id not in ids:
                ids.append(entry_id)
        return tuple(ids[:n])
