"""The knowledge cache: same content either way; a broken or stale cache is never used."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from b12.knowledge import cache
from b12.knowledge.loader import DEFAULT_PATH, Knowledge, _load, load_knowledge
from b12.knowledge.manifest import write_manifest


def fresh(root: Path) -> Knowledge:
    _load.cache_clear()  # the in-process memo would hide the file cache
    return load_knowledge(root)


def test_cached_and_validated_loads_are_identical(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("B12_CACHE_DIR", str(tmp_path / "cache"))
    built = fresh(DEFAULT_PATH)
    assert list((tmp_path / "cache").glob("kb-*.pickle")), "the first load writes the cache"
    served = fresh(DEFAULT_PATH)
    assert served is not built
    assert served.fingerprint == built.fingerprint
    assert dict(served.products) == dict(built.products)
    assert dict(served.inventory) == dict(built.inventory)


def test_a_corrupt_cache_file_is_ignored(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("B12_CACHE_DIR", str(tmp_path / "cache"))
    fresh(DEFAULT_PATH)
    for file in (tmp_path / "cache").glob("kb-*.pickle"):
        file.write_bytes(b"not a pickle")
    assert len(fresh(DEFAULT_PATH).products) > 20


def test_an_edit_misses_the_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("B12_CACHE_DIR", str(tmp_path / "cache"))
    root = tmp_path / "kb"
    shutil.copytree(DEFAULT_PATH, root)
    before = fresh(root)
    path = root / "substances.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace("name: lidocaine", "name: lignocaine"))
    write_manifest(root)
    after = fresh(root)
    assert after.get("substances", "lidocaine").name == "lignocaine"
    assert before.fingerprint != after.fingerprint


def test_cache_can_be_turned_off(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("B12_CACHE_DIR", "")
    cache.write("0" * 64, {"x": 1})
    assert cache.read("0" * 64) is None
