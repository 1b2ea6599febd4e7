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


#: How clinicians and coding systems write an allergy around the name of what it is to: "Allergy
#: to cobalt", "cobalt allergy", "Allergic to cobalt", "Hypersensitivity to cobalt", SNOMED CT's
#: "Allergy to cobalt (finding)". Matched on the normalised name; the one rule for every allergen.
_ALLERGY_WORDING = (
    re.compile(r"^(?:allergy|allergic|allergic reaction|hypersensitivity|hypersensitive) to (.+)$"),
    re.compile(r"^(.+) (?:allergy|hypersensitivity)$"),
)
_SEMANTIC_TAG = re.compile(r" (?:finding|disorder)$")


def allergy_subject(name: str) -> str | None:
    """What an allergy written in a clinical wording is to ('Allergy to cobalt' -> 'cobalt'),
    normalised; None when the name has no such wording."""
    key = _SEMANTIC_TAG.sub("", normalise(name))
    for wording in _ALLERGY_WORDING:
        found = wording.match(key)
        if found:
            return found.group(1).strip() or None
    return None


#: Opposite senses, each as (prefixes, whole words) saying "more", then those saying "less": a
#: name is never suggested for one of the opposite sense (hypertension is not hypotension, an
#: overactive thyroid not an underactive one). Size is its own pair (macrocytic, microcytic).
_OPPOSITES: tuple[tuple[tuple[tuple[str, ...], tuple[str, ...]], ...], ...] = (
    (
        (("hyper", "tachy", "over"), ("high", "raised", "elevated", "increased")),
        (("hypo", "brady", "under"), ("low", "lowered", "reduced", "decreased")),
    ),
    ((("macro",), ()), (("micro",), ())),
)


def _senses(key: str) -> set[tuple[int, int]]:
    """The (pair, pole) senses a normalised name carries."""
    words = key.split()
    return {
        (pair, pole)
        for pair, poles in enumerate(_OPPOSITES)
        for pole, (prefixes, whole) in enumerate(poles)
        if any(w.startswith(prefixes) or w in whole for w in words)
    }


def opposed(a: str, b: str) -> bool:
    """True when one name says "more" where the other says "less" (and neither says both)."""
    sa, sb = _senses(normalise(a)), _senses(normalise(b))
    return any((pair, pole) in sa - sb and (pair, 1 - pole) in sb - sa for pair, pole in sa | sb)


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
            entry = self._by_name[k]
            if entry.id in ids or any(
                opposed(key, said) for said in (k, entry.id, getattr(entry, "name", None) or "")
            ):
                continue
            ids.append(entry.id)
        return tuple(ids[:n])
