"""A plain copy of the validated knowledge, read without importing pydantic.

The loader validates every entry with pydantic and caches the validated entries; reading that cache
still needs pydantic and the schema classes (~150 ms of a cold start on a clinic PC, measured in
`make bench`). The command a clinician waits on (`b12 dose`) reads this copy instead: every entry
becomes a ``Plain`` object with the same attribute names and values, its computed properties
(``Source.trust``, ``Ingredient.mcg_per_ml``, ``Range.is_single``) evaluated once and its ``str()``
kept. The copy is made from the validated knowledge, never from the files, and is cached under the
same content hash (plus the code of this module and the schema): a changed file or schema misses it.
Tests prove that every dose result is identical from either form.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from b12.knowledge import cache
from b12.knowledge.base import DEFAULT_PATH, Knowledge, verified_files

if TYPE_CHECKING:
    from pydantic import BaseModel

KIND = "snapshot"


class Plain:
    """One validated entry as plain attributes; frozen like the entry it copies."""

    __slots__ = ("__dict__", "_kind", "_text")

    _kind: str
    _text: str | None

    def __init__(self, kind: str, values: Mapping[str, Any], text: str | None = None) -> None:
        self.__dict__.update(values)
        object.__setattr__(self, "_kind", kind)
        object.__setattr__(self, "_text", text)

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"{self._kind} is frozen; {name} cannot be set")

    def __getstate__(self) -> tuple[str, dict[str, Any], str | None]:
        return self._kind, self.__dict__, self._text

    def __setstate__(self, state: tuple[str, dict[str, Any], str | None]) -> None:
        kind, values, text = state
        self.__dict__.update(values)
        object.__setattr__(self, "_kind", kind)
        object.__setattr__(self, "_text", text)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Plain):
            return NotImplemented
        return self._kind == other._kind and self.__dict__ == other.__dict__

    def __hash__(self) -> int:
        return hash((self._kind, self.__dict__.get("id")))

    def __str__(self) -> str:
        return self._text if self._text is not None else repr(self)

    def __repr__(self) -> str:
        shown = ", ".join(f"{k}={v!r}" for k, v in self.__dict__.items())
        return f"{self._kind}({shown})"


def plain(value: Any) -> Any:
    """A validated value with every pydantic model in it replaced by a ``Plain`` copy."""
    if hasattr(value, "__pydantic_fields__"):
        return _plain_model(value)
    if isinstance(value, tuple):
        return tuple(plain(v) for v in value)
    if isinstance(value, list):
        return [plain(v) for v in value]
    if isinstance(value, Mapping):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, frozenset | set):
        return type(value)(plain(v) for v in value)
    return value


def _plain_model(model: BaseModel) -> Plain:
    cls = type(model)
    values = {name: plain(getattr(model, name)) for name in cls.model_fields}
    for name in _properties(cls):
        values[name] = plain(getattr(model, name))
    own_str = next(
        (k for k in cls.__mro__ if "__str__" in vars(k) and k.__module__.startswith("b12")), None
    )
    return Plain(cls.__name__, values, str(model) if own_str else None)


def _properties(cls: type) -> list[str]:
    """The properties b12's schema defines on ``cls`` and its bases."""
    return [
        name
        for klass in cls.__mro__
        if klass.__module__.startswith("b12")
        for name, member in vars(klass).items()
        if isinstance(member, property)
    ]


def freeze(knowledge: Knowledge) -> Knowledge:
    """The plain copy of a validated ``Knowledge`` (same version, hash and path)."""
    collections = {
        name: {k: plain(v) for k, v in entries.items()}
        for name, entries in knowledge.collections.items()
    }
    inventory = {seed: plain(items) for seed, items in knowledge.inventory.items()}
    return Knowledge.frozen(
        knowledge.version, knowledge.content_hash, knowledge.path, collections, inventory
    )


_LOADED: dict[tuple[Path, str], Knowledge] = {}


def load_plain(path: str | Path | None = None) -> Knowledge:
    """The knowledge in ``path`` (default: the one shipped), as plain entries.

    The files are checked against the manifest as the loader checks them; the copy comes from the
    cache, or (first start after a change) from the loader's validated knowledge, then is cached.
    """
    root = Path(path).resolve() if path is not None else DEFAULT_PATH
    manifest, _, digest = verified_files(root)
    if (root, digest) in _LOADED:
        return _LOADED[root, digest]
    built = cache.read(digest, KIND)
    if built is not None:
        knowledge = Knowledge.frozen(str(manifest["version"]), digest, root, *built)
    else:
        from b12.knowledge.loader import load_knowledge

        knowledge = freeze(load_knowledge(root))
        cache.write(
            digest,
            (
                {k: dict(v) for k, v in knowledge.collections.items()},
                dict(knowledge.inventory),
            ),
            KIND,
        )
    _LOADED[root, digest] = knowledge
    return knowledge
