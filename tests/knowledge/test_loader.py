"""The loader: schema errors name file, entry and field; references resolve; the fingerprint moves."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from b12 import (
    KnowledgeIntegrityError,
    KnowledgeReferenceError,
    KnowledgeSchemaError,
    load_knowledge,
)
from b12.knowledge.loader import DEFAULT_PATH, FILES, read_manifest
from b12.knowledge.manifest import knowledge_files, write_manifest

SEED_FILES = {
    "000_83d08cdc2ed4b54a.txt",
    "001_c5bf0109722c485f.txt",
    "002_11d582bc1a16cd19.txt",
    "003_fd55241e7e03e916.txt",
    "004_b1723a392b4bd77c.txt",
}


@pytest.fixture
def kb_copy(tmp_path: Path) -> Path:
    """A private copy of the shipped knowledge base that a test may break."""
    root = tmp_path / "kb"
    shutil.copytree(DEFAULT_PATH, root)
    return root


def edit(root: Path, name: str, old: str, new: str) -> None:
    path = root / name
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {name}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    write_manifest(root)


def test_shipped_knowledge_loads_with_a_fingerprint() -> None:
    kb = load_knowledge()
    manifest = read_manifest(DEFAULT_PATH)
    assert kb.version == manifest["version"]
    assert kb.content_hash == manifest["content_hash"]
    assert kb.fingerprint == f"{manifest['version']}+{manifest['content_hash'][:12]}"


def test_manifest_lists_every_knowledge_file() -> None:
    manifest = read_manifest(DEFAULT_PATH)
    assert sorted(manifest["files"]) == knowledge_files(DEFAULT_PATH)
    assert set(FILES) <= set(manifest["files"])


def test_every_seed_text_is_a_source() -> None:
    kb = load_knowledge()
    files = {s.file for s in kb.sources.values() if s.file}
    assert files == SEED_FILES
    for source in kb.sources.values():
        assert (
            source.kind in ("educational", "anecdotal")
            if source.file
            else source.kind != "educational"
        )


def test_schema_violation_names_file_entry_and_field(kb_copy: Path) -> None:
    edit(kb_copy, "sources.yaml", "    kind: regulatory", "    kind: official")
    with pytest.raises(KnowledgeSchemaError) as caught:
        load_knowledge(kb_copy)
    error = caught.value
    assert (error.file, error.entry, error.field) == (
        "sources.yaml",
        "us-label-cyanocobalamin",
        "kind",
    )
    assert str(error).startswith(
        "sources.yaml: entry 'us-label-cyanocobalamin', field 'kind': Input should be"
    )


def test_an_unknown_enum_value_names_its_entry(kb_copy: Path) -> None:
    edit(kb_copy, "substances.yaml", "    role: cobalamin", "    role: vitamin-ish")
    with pytest.raises(KnowledgeSchemaError) as caught:
        load_knowledge(kb_copy)
    assert (caught.value.file, caught.value.entry, caught.value.field) == (
        "substances.yaml",
        "cyanocobalamin",
        "role",
    )


def test_unknown_source_id_is_an_error(kb_copy: Path) -> None:
    text = (kb_copy / "facts.yaml").read_text(encoding="utf-8")
    bogus = (
        "\n  - id: test-bogus-claim\n    topic: other\n    says: a claim from nowhere\n"
        "    sources: [no-such-source]\n"
    )
    section = "\nfacts:\n"  # the section key at the start of a line, never a header comment
    assert section in text
    (kb_copy / "facts.yaml").write_text(
        text.replace(section, section + bogus[1:], 1), encoding="utf-8"
    )
    write_manifest(kb_copy)
    with pytest.raises(KnowledgeReferenceError) as caught:
        load_knowledge(kb_copy)
    assert caught.value.ref == "no-such-source"
    assert caught.value.entry == "test-bogus-claim"
    assert caught.value.field == "sources[0]"


def test_an_edit_without_rehash_is_refused(kb_copy: Path) -> None:
    path = kb_copy / "sources.yaml"
    path.write_text(path.read_text(encoding="utf-8") + "\n# unreviewed\n", encoding="utf-8")
    with pytest.raises(KnowledgeIntegrityError) as caught:
        load_knowledge(kb_copy)
    assert caught.value.file == "sources.yaml"
    assert "make kb-manifest" in str(caught.value)


@pytest.mark.parametrize("name", knowledge_files(DEFAULT_PATH))
def test_fingerprint_changes_when_any_file_changes(kb_copy: Path, name: str) -> None:
    before = load_knowledge(kb_copy).fingerprint
    path = kb_copy / name
    path.write_text(path.read_text(encoding="utf-8") + "\n# reviewed edit\n", encoding="utf-8")
    write_manifest(kb_copy)
    after = load_knowledge(kb_copy).fingerprint
    assert after != before


def test_conflict_default_must_be_most_trusted(kb_copy: Path) -> None:
    kb = load_knowledge(kb_copy)
    conflict = next(
        c for c in kb.conflicts.values() if len({kb.trust(p.sources) for p in c.positions}) > 1
    )
    weakest = min(conflict.positions, key=lambda p: kb.trust(p.sources))
    home = next(
        name
        for name in knowledge_files(kb_copy)
        if f"id: {conflict.id}\n" in (kb_copy / name).read_text(encoding="utf-8")
    )
    text = (kb_copy / home).read_text(encoding="utf-8")
    start = text.index(f"id: {conflict.id}\n")
    old = f"default: {conflict.default}"
    at = text.index(old, start)
    text = text[:at] + f"default: {weakest.id}" + text[at + len(old) :]
    (kb_copy / home).write_text(text, encoding="utf-8")
    write_manifest(kb_copy)
    with pytest.raises(KnowledgeSchemaError) as caught:
        load_knowledge(kb_copy)
    assert (caught.value.entry, caught.value.field) == (conflict.id, "default")


def test_every_seed_has_an_inventory_whose_pointers_resolve() -> None:
    kb = load_knowledge()
    seeds = [s.id for s in kb.sources.values() if s.file]
    for seed in seeds:
        assert len(kb.inventory.get(seed, ())) >= 3, f"{seed} has (almost) no inventory"
        for item in kb.inventory[seed]:
            entry = kb.resolve(item.ref)
            cited = set(getattr(entry, "sources", ()))
            if hasattr(entry, "positions"):
                cited |= {src for p in entry.positions for src in p.sources}
            assert seed in cited or _cites_nested(entry, seed), f"{item.ref} does not cite {seed}"


def _cites_nested(entry: object, seed: str) -> bool:
    """Products cite seeds in prices, storage and route advice too."""
    dumped = repr(entry)
    return f"'{seed}'" in dumped


def test_every_source_is_cited_somewhere() -> None:
    kb = load_knowledge()
    dumped = " ".join(repr(e) for c in kb.collections.values() for e in c.values())
    unused = [s for s in kb.sources if f"'{s}'" not in dumped]
    assert unused == []
