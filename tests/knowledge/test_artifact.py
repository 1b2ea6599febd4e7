"""The one runtime form of the knowledge: the generated entries and the hashed artifact.

The shipped package loads ``kb/knowledge.json`` into the generated dataclasses of ``entries.py``;
a folder given with ``--kb`` is validated with the pydantic schema and converted to the same classes.
These tests prove the two paths give equal entries, that both generated files are what a fresh build
from the schema and the YAML writes (so a YAML or schema edit without `make kb-manifest` fails here),
that a stale artifact is refused with what to run, and that the dose path needs no pydantic, YAML or
pickle.
"""

from __future__ import annotations

import dataclasses
import fnmatch
import gc
import hashlib
import importlib
import os
import pkgutil
import shutil
import subprocess
import sys
import tomllib
import types
import typing
import weakref
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any, Literal, Union

import pytest
from pydantic import BaseModel

import b12
from b12.errors import KnowledgeError, KnowledgeIntegrityError, KnowledgeSchemaError
from b12.knowledge import build, entries, validation
from b12.knowledge.base import ARTIFACT, MANIFEST, Knowledge
from b12.knowledge.behaviour import Behaviour, Entry
from b12.knowledge.loader import DEFAULT_PATH, load_artifact, load_knowledge
from b12.knowledge.manifest import write_manifest

ROOT = Path(__file__).resolve().parents[2]
MODELS = build.models()


@pytest.fixture(scope="module")
def shipped() -> Knowledge:
    return load_knowledge()


@pytest.fixture(scope="module")
def validated() -> Knowledge:
    return load_knowledge(DEFAULT_PATH)


@pytest.fixture
def kb_copy(tmp_path: Path) -> Path:
    root = tmp_path / "kb"
    shutil.copytree(DEFAULT_PATH, root)
    return root


# --- the generated files are what a fresh build writes ----------------------------------------


def test_the_generated_entries_are_up_to_date_with_the_schema() -> None:
    assert build.ENTRIES.read_text(encoding="utf-8") == build.entries_source(), (
        "entries.py differs from what the schema generates: run `make kb-manifest`"
    )
    assert build.schema_hash() == entries.SCHEMA_HASH


def test_a_fresh_build_from_the_yaml_equals_the_shipped_artifact(kb_copy: Path) -> None:
    (kb_copy / ARTIFACT).unlink()
    fresh = build.artifact_document(kb_copy)
    shipped = (DEFAULT_PATH / ARTIFACT).read_bytes()
    assert fresh == shipped, "the YAML changed without a rebuild: run `make kb-manifest`"
    manifest = tomllib.loads((DEFAULT_PATH / MANIFEST).read_text(encoding="utf-8"))
    assert manifest["artifact"] == hashlib.sha256(shipped).hexdigest()


def test_the_artifact_ships_with_the_package() -> None:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    patterns = pyproject["tool"]["setuptools"]["package-data"]["b12"]
    assert any(fnmatch.fnmatch(f"kb/{ARTIFACT}", p) for p in patterns)
    assert any(fnmatch.fnmatch(f"kb/{MANIFEST}", p) for p in patterns)


# --- both paths give the same entries ---------------------------------------------------------


@pytest.mark.parametrize("collection", sorted(validation.MODELS))
def test_every_entry_is_equal_from_the_artifact_and_from_the_yaml(
    shipped: Knowledge, validated: Knowledge, collection: str
) -> None:
    from_artifact = shipped.collections[collection]
    from_yaml = validated.collections[collection]
    assert list(from_artifact) == list(from_yaml)  # same ids, same order
    assert from_artifact, f"{collection} is empty"
    for entry_id, entry in from_yaml.items():
        other = from_artifact[entry_id]
        assert type(other) is type(entry) is entries.CLASSES[validation.MODELS[collection].__name__]
        assert other == entry, entry_id
        assert repr(other) == repr(entry)


def test_the_inventory_is_equal_from_the_artifact_and_from_the_yaml(
    shipped: Knowledge, validated: Knowledge
) -> None:
    assert dict(shipped.inventory) == dict(validated.inventory)
    assert shipped.fingerprint == validated.fingerprint
    assert all(type(i) is entries.InventoryItem for v in shipped.inventory.values() for i in v)


def _walk(value: Any) -> Iterator[Entry]:
    if isinstance(value, Entry):
        yield value
        for name in value.__dataclass_fields__:
            yield from _walk(getattr(value, name))
    elif isinstance(value, tuple):
        for item in value:
            yield from _walk(item)


def test_every_value_has_its_true_type(shipped: Knowledge) -> None:
    """Decimals stay Decimals (never str or float), sequences tuples, nested entries entries."""
    seen = 0
    for found in shipped.collections.values():
        for top in found.values():
            for entry in _walk(top):
                hints = typing.get_type_hints(type(entry))
                for name in entry.__dataclass_fields__:
                    assert _conforms(getattr(entry, name), hints[name]), (entry, name)
                    seen += 1
    assert seen > 10_000


def _conforms(value: Any, tp: Any) -> bool:
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin in (Union, types.UnionType):
        return any(_conforms(value, a) for a in args)
    if origin is Literal:
        return value in args
    if origin is tuple:
        return isinstance(value, tuple) and all(_conforms(v, args[0]) for v in value)
    if tp is type(None):
        return value is None
    if tp is int:
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, tp)


# --- the generated classes match the schema field for field -------------------------------------


def _norm(tp: Any) -> Any:
    """A schema or runtime type in one comparable form (metadata dropped, models as entries)."""
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin is Annotated:
        return _norm(args[0])
    if origin in (Union, types.UnionType):
        return ("union", frozenset(_norm(a) for a in args))
    if origin is Literal:
        return ("literal", frozenset(args))
    if origin is tuple:
        return ("tuple", tuple(_norm(a) for a in args))
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        return entries.CLASSES[tp.__name__]
    return tp


@pytest.mark.parametrize("model", MODELS, ids=[m.__name__ for m in MODELS])
def test_each_generated_class_has_the_fields_types_defaults_and_bases_of_its_model(
    model: type[BaseModel],
) -> None:
    cls = entries.CLASSES[model.__name__]
    assert cls.__name__ == model.__name__ and dataclasses.is_dataclass(cls)
    fields = dataclasses.fields(cls)
    assert [f.name for f in fields] == list(model.model_fields)
    hints = typing.get_type_hints(cls)
    for f in fields:
        info = model.model_fields[f.name]
        assert _norm(hints[f.name]) == _norm(info.annotation), f.name
        required = info.is_required()
        assert (f.default is dataclasses.MISSING) == required, f.name
        if not required:
            assert f.default == info.default and type(f.default) is type(info.default), f.name
    mixins = {b for b in model.__mro__ if b.__module__ == Behaviour.__module__}
    assert mixins == {b for b in cls.__mro__ if b.__module__ == Behaviour.__module__} - {Entry}
    parents = [b.__name__ for b in model.__mro__ if b in MODELS]
    assert parents == [b.__name__ for b in cls.__mro__ if b in entries.CLASSES.values()]


def test_every_schema_model_has_a_generated_class() -> None:
    assert set(entries.CLASSES) == {m.__name__ for m in MODELS}
    assert set(entries.READERS) == set(entries.CLASSES)
    assert {m.__name__ for m in validation.MODELS.values()} <= set(entries.CLASSES)


def _instances(kb: Knowledge) -> dict[type, list[Entry]]:
    by_class: dict[type, list[Entry]] = {}
    tops = [e for found in kb.collections.values() for e in found.values()]
    tops += [i for items in kb.inventory.values() for i in items]
    for top in tops:
        for entry in _walk(top):
            by_class.setdefault(type(entry), []).append(entry)
    return by_class


def test_entries_are_frozen_slotted_dataclasses(shipped: Knowledge) -> None:
    by_class = _instances(shipped)
    assert set(by_class) == set(entries.CLASSES.values()) - {entries.Attributed}
    for cls, found in by_class.items():
        entry = found[0]
        assert not hasattr(entry, "__dict__"), cls
        name = dataclasses.fields(cls)[0].name
        with pytest.raises(
            dataclasses.FrozenInstanceError, match=f"cannot assign to field '{name}'"
        ):
            setattr(entry, name, getattr(entry, name))
        with pytest.raises(dataclasses.FrozenInstanceError):
            delattr(entry, name)


def test_entries_compare_hash_and_print_as_the_stdlib_decorator_would(shipped: Knowledge) -> None:
    """The generated methods are those ``@dataclass(frozen=True, kw_only=True)`` writes."""
    for cls, found in _instances(shipped).items():
        reference = dataclasses.make_dataclass(
            cls.__name__,
            [
                (f.name, f.type, dataclasses.field(default=f.default))
                for f in dataclasses.fields(cls)
            ],
            frozen=True,
            kw_only=True,
        )
        for entry in found[:40]:
            values = {f.name: getattr(entry, f.name) for f in dataclasses.fields(cls)}
            same = reference(**values)
            assert repr(entry) == repr(same)
            assert hash(entry) == hash(same)
            assert entry == cls(**values) and hash(entry) == hash(cls(**values))
            assert entry != same  # another class, as with two dataclasses
            assert dataclasses.replace(entry) == entry


def test_the_shared_behaviour_answers_alike_in_both_forms() -> None:
    raw = validation.verified_files(DEFAULT_PATH)[1]
    collections, _, _ = validation.validated(DEFAULT_PATH, raw)
    checked = dict.fromkeys(("trust", "mcg_per_ml", "is_single", "str"), 0)
    for found in collections.values():
        for model in found.values():
            for pydantic_entry, entry in zip(
                _walk_models(model), _walk(validation.runtime(model)), strict=True
            ):
                for name in ("trust", "mcg_per_ml", "is_single"):
                    if hasattr(pydantic_entry, name):
                        assert getattr(entry, name) == getattr(pydantic_entry, name)
                        checked[name] += 1
                if type(pydantic_entry).__str__ is not BaseModel.__str__:
                    assert str(entry) == str(pydantic_entry)
                    checked["str"] += 1
    assert min(checked.values()) > 20, checked


def _walk_models(value: Any) -> Iterator[BaseModel]:
    if isinstance(value, BaseModel):
        yield value
        for name in type(value).model_fields:
            yield from _walk_models(getattr(value, name))
    elif isinstance(value, tuple):
        for item in value:
            yield from _walk_models(item)


def test_a_generated_class_missing_a_field_is_refused_loudly(monkeypatch: Any) -> None:
    @dataclasses.dataclass(frozen=True)
    class Range(Entry):
        min: Decimal  # `max` forgotten

    monkeypatch.setitem(entries.CLASSES, "Range", Range)
    validation._runtime_class.cache_clear()
    try:
        with pytest.raises(KnowledgeError) as caught:
            validation.load_folder(DEFAULT_PATH)
    finally:
        validation._runtime_class.cache_clear()
    assert str(caught.value) == (
        "the runtime entries (b12/knowledge/entries.py) do not match the schema's Range "
        "(fields ['min', 'max'], generated ['min']); run `make kb-manifest`"
    )


# --- a stale artifact is refused, saying what to run ------------------------------------------


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_an_edited_artifact_is_refused(kb_copy: Path) -> None:
    expected = _sha(kb_copy / ARTIFACT)
    path = kb_copy / ARTIFACT
    text = path.read_text(encoding="utf-8")
    assert '"1000"' in text
    path.write_text(text.replace('"1000"', '"100"', 1), encoding="utf-8")  # one dose, by hand
    actual = _sha(path)
    with pytest.raises(KnowledgeIntegrityError) as caught:
        load_artifact(kb_copy)
    assert str(caught.value) == (
        f"knowledge.json changed since the manifest was written (sha256 {actual[:12]}, "
        f"manifest says {expected[:12]}); review the change, then run `make kb-manifest`"
    )


def _edit_yaml(root: Path) -> None:
    path = root / "substances.yaml"
    path.write_text(
        path.read_text(encoding="utf-8").replace("name: lidocaine", "name: lignocaine"),
        encoding="utf-8",
    )


def test_a_yaml_edit_without_a_rebuild_is_refused(kb_copy: Path) -> None:
    _edit_yaml(kb_copy)
    with pytest.raises(KnowledgeIntegrityError, match="run `make kb-manifest`") as caught:
        load_artifact(kb_copy)
    assert caught.value.file == "substances.yaml"


def test_a_manifest_rehashed_without_the_artifact_is_refused(kb_copy: Path) -> None:
    _edit_yaml(kb_copy)
    write_manifest(kb_copy)  # the YAML rehashed, the artifact not rebuilt
    with pytest.raises(KnowledgeSchemaError) as caught:
        load_artifact(kb_copy)
    assert str(caught.value) == (
        "manifest.toml: entry '-', field 'artifact': the manifest records no knowledge.json; "
        "run `make kb-manifest`"
    )
    # and a folder given by path is validated from its YAML, edit included
    assert load_knowledge(kb_copy).get("substances", "lidocaine").name == "lignocaine"


def test_an_artifact_built_from_other_files_is_refused(kb_copy: Path) -> None:
    _edit_yaml(kb_copy)
    digest = write_manifest(kb_copy, artifact=_sha(kb_copy / ARTIFACT))
    old = load_artifact(DEFAULT_PATH).content_hash
    with pytest.raises(KnowledgeSchemaError) as caught:
        load_artifact(kb_copy)
    assert str(caught.value) == (
        "knowledge.json: entry '-', field 'content_hash': built for content_hash "
        f"{old[:12]}, but this b12 has {digest[:12]}; run `make kb-manifest`"
    )


def test_an_artifact_built_for_other_entries_is_refused(monkeypatch: Any) -> None:
    monkeypatch.setattr(entries, "SCHEMA_HASH", "0123456789abcdef")
    with pytest.raises(KnowledgeSchemaError) as caught:
        load_artifact(DEFAULT_PATH)
    assert str(caught.value) == (
        "knowledge.json: entry '-', field 'schema': built for schema "
        f"{build.schema_hash()[:12]}, but this b12 has 0123456789ab; run `make kb-manifest`"
    )


def test_a_missing_artifact_is_refused(kb_copy: Path) -> None:
    (kb_copy / ARTIFACT).unlink()
    with pytest.raises(KnowledgeSchemaError) as caught:
        load_artifact(kb_copy)
    assert str(caught.value) == (
        "knowledge.json: entry '-', field '-': the artifact is missing; run `make kb-manifest`"
    )


# --- the load path needs no validation library, and runs no pickle ----------------------------

FORBIDDEN = {"pydantic", "pydantic_core", "yaml", "pickle", "_pickle"}


def test_loading_and_dosing_import_no_pydantic_yaml_or_pickle() -> None:
    code = (
        "import sys\n"
        "from b12.knowledge.loader import load_knowledge\n"
        "from b12.adapters.cli.read import dose_request\n"
        "from b12.services.dosing import calculate_dose\n"
        "kb = load_knowledge()\n"
        "calculate_dose(kb, dose_request(kb, '1 mg', product='cyanocobalamin-us-1000mcg-ml-1ml-vial',"
        " site='deltoid', indication='pernicious-anaemia'))\n"
        f"print(sorted(set(sys.modules) & set({sorted(FORBIDDEN)!r})))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_the_dose_command_imports_no_pydantic_yaml_or_pickle() -> None:
    argv = [sys.executable, "-X", "importtime", "-m", "b12", "dose", "500mcg"]
    argv += ["--concentration", "1000mcg/mL"]
    env = {k: v for k, v in os.environ.items() if k != "B12_KB"}
    done = subprocess.run(argv, env=env, capture_output=True, text=True)
    assert done.returncode == 0 and "DRAW    0.5 mL of 1,000 mcg/mL" in done.stdout
    imported = {line.split("|")[-1].strip() for line in done.stderr.splitlines()}
    assert "b12.knowledge.entries" in imported
    assert not FORBIDDEN & imported


# --- caches derived from the knowledge live and die with it ---------------------------------


def test_a_reload_frees_the_old_knowledge_and_what_was_computed_from_it() -> None:
    from b12.adapters.cli.read import dose_request
    from b12.services.dose_checks import largest_trusted_dose, site_limits
    from b12.services.dosing import calculate_dose
    from b12.services.screening import order_findings

    kb = load_artifact()
    assert kb is not load_knowledge()  # a fresh object, as a reload makes
    calculate_dose(
        kb,
        dose_request(kb, "1 mg", product="cyanocobalamin-us-1000mcg-ml-1ml-vial", site="deltoid"),
    )
    largest_trusted_dose(kb, False)
    site_limits(kb, Decimal(30))
    order_findings(kb, "IM", product="hydroxocobalamin-uk-1mg-ml-ampoule")
    assert len(kb._memo) >= 4
    gone = weakref.ref(kb)
    del kb
    gc.collect()
    assert gone() is None, "something outside the Knowledge still holds it"


def test_the_memo_computes_once_and_stays_bounded(monkeypatch: Any) -> None:
    from b12.knowledge import base

    monkeypatch.setattr(base, "MEMO_SIZE", 3)
    kb = load_artifact()
    calls: list[int] = []
    assert kb.memo("a", lambda: calls.append(1) or 1) == 1
    assert kb.memo("a", lambda: calls.append(2) or 2) == 1
    for key in "bcde":
        kb.memo(key, lambda: 0)
    assert calls == [1] and list(kb._memo) == ["c", "d", "e"]


def _b12_modules() -> Iterator[types.ModuleType]:
    for package in ("b12.knowledge", "b12.services", "b12.domain"):
        module = importlib.import_module(package)
        yield module
        for info in pkgutil.walk_packages(module.__path__, f"{package}."):
            yield importlib.import_module(info.name)


def test_no_module_level_cache_is_keyed_on_a_knowledge() -> None:
    keyed = [
        f"{module.__name__}.{name}"
        for module in _b12_modules()
        for name, value in vars(module).items()
        if hasattr(value, "cache_info")
        and "Knowledge" in str(getattr(value, "__wrapped__", value).__annotations__)
    ]
    assert keyed == []
    assert b12.load_knowledge is load_knowledge
