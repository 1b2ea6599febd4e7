"""`make kb-manifest`: from the reviewed YAML, everything the shipped package loads.

1. ``entries.py``: one frozen, slotted dataclass per pydantic model of ``schema.py`` (same name,
   fields, types and defaults; the mixins of ``behaviour.py`` carried over), and one function per
   class that builds it from the artifact's JSON. Generated: never edit it by hand.
2. ``kb/manifest.toml``: the sha256 of every YAML file, and of the artifact.
3. ``kb/knowledge.json``: every entry, validated by the schema and cross-checked by the loader,
   as JSON (Decimals as strings, so not a digit moves), with the content hash it was built from.

Run ``python -m b12.knowledge.build [DIR]`` (``make kb-manifest``) after a reviewed edit of the YAML
or of the schema, and after merging a branch that touched either. For another folder than the
shipped one, only its manifest is written (that folder is validated whenever it is loaded).
"""

from __future__ import annotations

import hashlib
import importlib
import json
import sys
import types
import typing
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any, Literal, Union

from pydantic import BaseModel
from pydantic_core import PydanticUndefined

from b12.knowledge import behaviour
from b12.knowledge import schema as s
from b12.knowledge.base import ARTIFACT, DEFAULT_PATH, MANIFEST
from b12.knowledge.manifest import write_manifest

ENTRIES = Path(__file__).resolve().parent / "entries.py"
SCALARS = {str: "str", int: "int", bool: "bool", Decimal: "Decimal", type(None): "None"}


def models() -> list[type[BaseModel]]:
    """Every model of the schema, in the order it is written there."""
    return [
        value
        for value in vars(s).values()
        if isinstance(value, type)
        and issubclass(value, BaseModel)
        and value.__module__ == s.__name__
        and value is not s.Frozen
    ]


class _Writer:
    """Renders the schema's types as Python source, noting the names the module must import."""

    def __init__(self) -> None:
        self.vocabularies: set[str] = set()
        self.literal = False
        self.decimal = False

    def type(self, tp: Any) -> str:
        for name, vocabulary in behaviour.VOCABULARIES.items():
            if tp == vocabulary:
                self.vocabularies.add(name)
                return name
        origin, args = typing.get_origin(tp), typing.get_args(tp)
        if origin is Annotated:
            return self.type(args[0])
        if origin is Literal:
            self.literal = True
            return f"Literal[{', '.join(json.dumps(a) for a in args)}]"
        if origin in (Union, types.UnionType):
            return " | ".join(self.type(a) for a in args)
        if origin is tuple and len(args) == 2 and args[1] is Ellipsis:
            return f"tuple[{self.type(args[0])}, ...]"
        if tp in SCALARS:
            self.decimal |= tp is Decimal
            return SCALARS[tp]
        if isinstance(tp, type) and issubclass(tp, BaseModel):
            return tp.__name__
        raise TypeError(f"the generator has no runtime form for {tp!r}; teach build.py")

    def read(self, tp: Any, expr: str, depth: int = 0) -> str:
        """Source that turns the JSON value ``expr`` into a value of type ``tp``."""
        origin, args = typing.get_origin(tp), typing.get_args(tp)
        if origin is Annotated:
            return self.read(args[0], expr, depth)
        if origin in (Union, types.UnionType):
            kept = [a for a in args if a is not type(None)]
            reads = {self.read(a, expr, depth) for a in kept}
            if reads == {expr}:
                return expr
            if len(kept) != 1:
                raise TypeError(f"the generator cannot read {tp!r} from JSON; teach build.py")
            return f"None if {expr} is None else {self.read(kept[0], expr, depth)}"
        if origin is tuple:
            item = f"v{depth}"
            inner = self.read(args[0], item, depth + 1)
            return f"tuple({expr})" if inner == item else f"tuple([{inner} for {item} in {expr}])"
        if tp is Decimal:
            return f"Decimal({expr})"
        if isinstance(tp, type) and issubclass(tp, BaseModel):
            return f"_{tp.__name__}({expr})"
        self.type(tp)  # anything else must be a type JSON holds as it is (str, int, bool, Literal)
        return expr


def _default(model: type[BaseModel], name: str) -> str:
    info = model.model_fields[name]
    if info.default_factory is not None:
        raise TypeError(f"{model.__name__}.{name}: a default_factory has no generated form")
    if info.default is PydanticUndefined:
        return ""
    if isinstance(info.default, str):
        return f" = {json.dumps(info.default)}"
    return f" = {info.default!r}"


#: How every generated class is declared. The decorator makes it a dataclass (fields, slots,
#: ``dataclasses.fields``/``replace``); the methods it would write (``__init__``, ``__repr__``,
#: ``__eq__``, ``__hash__``) are written out below it, and ``Entry`` makes it frozen: the decorator
#: writing them at every start cost ~2.2 ms a class, ~90 ms a start (see the README's decisions).
DECORATOR = "@dataclass(slots=True, kw_only=True, init=False, repr=False, eq=False)"


def _class_source(model: type[BaseModel], writer: _Writer) -> str:
    """One generated class: same name, fields, types, defaults, bases and mixins as ``model``."""
    name = model.__name__
    parent = next((b for b in model.__bases__ if b in models()), None)
    mixins = [b.__name__ for b in model.__bases__ if b in vars(behaviour).values()]
    inherited = parent.model_fields if parent is not None else {}
    bases = ", ".join([*mixins, parent.__name__ if parent else "Entry"])
    fields = [
        (n, writer.type(i.annotation), _default(model, n)) for n, i in model.model_fields.items()
    ]
    own = [f for f in fields if f[0] not in inherited]
    doc = model.__dict__.get("__doc__")
    values = "".join(f"self.{n}, " for n, _, _ in fields)
    others = "".join(f"other.{n}, " for n, _, _ in fields)
    shown = ", ".join(f"{n}={{self.{n}!r}}" for n, _, _ in fields)
    lines = [DECORATOR, f"class {name}({bases}):"]
    if doc:
        lines += [f'    """{doc.strip().splitlines()[0]}"""', ""]
    lines += [f"    {n}: {tp}{default}" for n, tp, default in own]
    lines += [
        "",
        "    def __init__(",
        "        self,",
        "        *,",
        *(f"        {n}: {tp}{default}," for n, tp, default in fields),
        "    ) -> None:",
        *(f'        _set(self, "{n}", {n})' for n, _, _ in fields),
        "",
        "    def __repr__(self) -> str:",
        f'        return f"{name}({shown})"',
        "",
        "    def __eq__(self, other: object) -> bool:",
        f"        if type(other) is not {name}:",
        "            return NotImplemented",
        f"        return ({values.rstrip()}) == ({others.rstrip()})",
        "",
        "    def __hash__(self) -> int:",
        f"        return hash(({values.rstrip()}))",
    ]
    return "\n".join(lines)


def entries_source() -> str:
    """The text of ``entries.py`` for the schema as it is now."""
    writer = _Writer()
    classes: list[str] = []
    readers: list[str] = []
    for model in models():
        classes.append(_class_source(model, writer))
        args = "".join(
            f"        {name}={writer.read(info.annotation, f'd[{json.dumps(name)}]')},\n"
            for name, info in model.model_fields.items()
        )
        readers.append(
            f"def _{model.__name__}(d: dict[str, Any]) -> {model.__name__}:\n"
            f"    return {model.__name__}(\n{args}    )"
        )
    names = [m.__name__ for m in models()]
    body = "\n\n\n".join(
        [
            *classes,
            "#: The runtime class of each schema model, by name.\n"
            "CLASSES: dict[str, type[Entry]] = {\n"
            + "".join(f'    "{n}": {n},\n' for n in names)
            + "}",
            *readers,
            "#: How each class is read from the artifact's JSON, by name.\n"
            "READERS: dict[str, Callable[[dict[str, Any]], Entry]] = {\n"
            + "".join(f'    "{n}": _{n},\n' for n in names)
            + "}",
        ]
    )
    schema_hash = hashlib.sha256(body.encode()).hexdigest()[:16]
    imported = sorted(
        {"Entry", *writer.vocabularies}
        | {
            b.__name__
            for m in models()
            for b in m.__mro__
            if b in vars(behaviour).values() and b is not behaviour.Behaviour
        }
    )
    typing_names = ", ".join(["Any", *(["Literal"] if writer.literal else [])])
    header = [
        '"""The knowledge entries b12 runs on: frozen, slotted dataclasses, one per model of the schema.',
        "",
        "GENERATED by `make kb-manifest` (b12.knowledge.build) from b12/knowledge/schema.py: do not edit.",
        "Change the schema (or a mixin in behaviour.py) and run `make kb-manifest` again.",
        '"""',
        "",
        "from __future__ import annotations",
        "",
        "from collections.abc import Callable",
        "from dataclasses import dataclass",
        *(["from decimal import Decimal"] if writer.decimal or "Decimal(" in body else []),
        f"from typing import {typing_names}",
        "",
        "from b12.knowledge.behaviour import (",
        *(f"    {n}," for n in imported),
        ")",
        "",
        "_set = object.__setattr__  # how a frozen entry sets its fields, once, in __init__",
        "",
        "#: A hash of the definitions below; the artifact names the one it was built for.",
        f'SCHEMA_HASH = "{schema_hash}"',
        "",
        "",
        "",
    ]
    return "\n".join(header) + body + "\n"


def schema_hash() -> str:
    """The ``SCHEMA_HASH`` that ``entries.py`` has when it is up to date with the schema."""
    for line in entries_source().splitlines():
        if line.startswith("SCHEMA_HASH = "):
            return line.split('"')[1]
    raise AssertionError("the generated source has no SCHEMA_HASH")


def artifact_document(root: Path) -> bytes:
    """The artifact for the knowledge in ``root``: validated, cross-checked, as JSON bytes."""
    from b12.knowledge import entries
    from b12.knowledge.validation import MODELS, load_folder

    kb = load_folder(root)
    document = {
        "generated": "by `make kb-manifest` from the YAML files beside it: do not edit",
        "version": kb.version,
        "content_hash": kb.content_hash,
        "schema": entries.SCHEMA_HASH,
        "collections": {
            name: {
                "class": MODELS[name].__name__,
                "entries": [_json(entry) for entry in found.values()],
            }
            for name, found in kb.collections.items()
        },
        "inventory": {seed: [_json(i) for i in items] for seed, items in kb.inventory.items()},
    }
    return (json.dumps(document, ensure_ascii=False, indent=1) + "\n").encode()


def _json(value: Any) -> Any:
    if isinstance(value, behaviour.Entry):
        return {name: _json(getattr(value, name)) for name in value.__dataclass_fields__}
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, tuple):
        return [_json(v) for v in value]
    return value


def write_entries() -> bool:
    """Rewrite ``entries.py`` when the schema changed; True when it did."""
    source = entries_source()
    if ENTRIES.exists() and ENTRIES.read_text(encoding="utf-8") == source:
        return False
    ENTRIES.write_text(source, encoding="utf-8")
    importlib.invalidate_caches()
    sys.modules.pop("b12.knowledge.entries", None)
    return True


def build(root: Path = DEFAULT_PATH) -> str:
    """Everything ``make kb-manifest`` writes for ``root``; returns the content hash."""
    if root.resolve() != DEFAULT_PATH:
        return write_manifest(root)
    write_entries()
    write_manifest(root)  # the YAML's hashes first: the validation checks them
    data = artifact_document(root)
    (root / ARTIFACT).write_bytes(data)
    return write_manifest(root, artifact=hashlib.sha256(data).hexdigest())


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    root = Path(args[0]).resolve() if args else DEFAULT_PATH
    digest = build(root)
    print(f"{root / MANIFEST}: content_hash {digest}")
    if root == DEFAULT_PATH:
        print(f"{ENTRIES}: schema {schema_hash()}")
        print(f"{root / ARTIFACT}: written")


if __name__ == "__main__":
    main()
