"""The list and info commands: the JSON contract, exit codes, and errors that name the choices."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import pytest

from b12 import load_knowledge


def b12(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "b12", *args],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )


def b12_json(*args: str) -> dict[str, Any]:
    done = b12(*args, "--json")
    assert done.returncode == 0, done.stderr
    data: dict[str, Any] = json.loads(done.stdout)
    return data


def test_sources_json_carries_kind_trust_and_where() -> None:
    data = b12_json("sources")
    kb = load_knowledge()
    assert (data["version"], data["fingerprint"]) == (kb.version, kb.fingerprint)
    by_id = {s["id"]: s for s in data["sources"]}
    assert by_id["seed-002"]["file"] == "002_11d582bc1a16cd19.txt"
    assert by_id["seed-002"]["kind"] == "educational"
    assert by_id["seed-002"]["trust"] == 2
    assert by_id["us-label-cyanocobalamin"]["trust"] == 5
    assert by_id["nice-ng239"]["address"] == "https://www.nice.org.uk/guidance/ng239"
    for source in data["sources"]:
        assert {"id", "title", "kind", "trust"} <= set(source)
        assert "file" in source or "address" in source or "citation" in source


@pytest.mark.parametrize("what", ["products", "indications", "regimens"])
def test_lists_carry_ids_and_sources(what: str) -> None:
    items = b12_json(what)[what]
    assert items, f"no {what}"
    ids = [i["id"] for i in items]
    assert len(ids) == len(set(ids))
    for item in items:
        assert item["sources"], item["id"]
    if what == "regimens":
        assert all(item["indication"] and item["phases"] for item in items)


def test_regimens_for_an_indication_by_synonym_most_trusted_first() -> None:
    items = b12_json("regimens", "--indication", "Addison-Biermer anemia")["regimens"]
    kb = load_knowledge()
    assert {i["indication"] for i in items} == {"pernicious-anaemia"}
    trusts = [kb.trust(tuple(i["sources"])) for i in items]
    assert trusts == sorted(trusts, reverse=True)
    assert trusts[0] == 5


def test_conflicts_carry_positions_and_the_default_with_reason() -> None:
    conflicts = b12_json("conflicts")["conflicts"]
    assert len(conflicts) >= 7
    for c in conflicts:
        assert c["claim"] and len(c["positions"]) >= 2
        assert all(p["says"] and p["sources"] for p in c["positions"])
        assert c["default"]["position"] in {p["id"] for p in c["positions"]}
        assert c["default"]["reason"]


@pytest.mark.parametrize(
    "topic",
    [
        "indications",
        "contraindications",
        "interactions",
        "adverse-effects",
        "overdose",
        "storage",
        "technique",
        "requirements",
        "foods",
        "monitoring",
        "products",
    ],
)
def test_every_info_topic_lists_sourced_items(topic: str) -> None:
    data = b12_json("info", topic)
    assert data["topic"] == topic
    items = [i for s in data["sections"] for i in s["items"]]
    assert items, topic
    assert all(i["sources"] for i in items)


def test_unknown_topic_exits_2_and_names_the_choices() -> None:
    done = b12("info", "contraindication")
    assert done.returncode == 2
    assert done.stdout == ""
    assert "unknown topic 'contraindication': did you mean contraindications" in done.stderr


def test_unknown_indication_exits_2_with_close_matches() -> None:
    done = b12("regimens", "--indication", "pernicous anaemia", "--json")
    assert done.returncode == 2
    assert "unknown indication 'pernicous anaemia': did you mean pernicious-anaemia" in done.stderr


def test_every_handler_the_declaration_names_exists_and_takes_its_parameters() -> None:
    import inspect
    from importlib import import_module

    from b12.adapters.cli.commands import COMMANDS, Arg

    for command in COMMANDS:
        module, _, name = command.handler.partition(":")
        handler = getattr(import_module(f"b12.adapters.cli.{module}"), name)
        declared = {p.dest if isinstance(p, Arg) else p.name for p in command.params}
        assert set(inspect.signature(handler).parameters) == declared, command.words


def test_help_lists_every_command() -> None:
    done = b12("--help")
    assert done.returncode == 0
    for name in ("dose", "plan", "check", "labs", "give", "audit-log", "correct", "example"):
        assert name in done.stdout
