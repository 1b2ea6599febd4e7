"""The public API is exactly what ``b12.__all__`` lists, each name resolves, and importing b12 stays
cheap (as httpx's tests/test_exported_members.py pins its own)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

import b12

EXPORTED = [
    "App", "B12Error", "Basis", "ChainCheck", "Clock", "Corrected", "DoseRequest", "DoseResult",
    "Due", "Finding", "GiveRequest", "Given", "InputError", "IntakeEstimate", "Knowledge",
    "KnowledgeError", "KnowledgeIntegrityError", "KnowledgeReferenceError", "KnowledgeSchemaError",
    "LabReport", "LabsAdded", "Level", "Missed", "Patient", "Plan", "PlanRequest", "Prescribed",
    "RecordVersionError", "Requirement", "Screening", "ScreeningPolicy", "Settings", "Status",
    "UnitOfWork", "UnknownNameError", "Upgraded", "__version__", "add_event", "add_labs",
    "add_patient", "audit_anchor", "build", "calculate_dose", "check", "correct", "due_on", "estimate_intake",
    "give", "interpret_labs", "list_patients", "load_knowledge", "patient_status", "plan",
    "plan_therapy", "prescribe", "record_missed", "requirement", "screen_patient",
    "stop_prescription", "upgrade", "verify_audit",
]  # fmt: skip


def test_the_exported_names_are_exactly_these() -> None:
    assert b12.__all__ == EXPORTED
    assert dir(b12) == sorted(EXPORTED)


@pytest.mark.parametrize("name", [n for n in EXPORTED if n != "__version__"])
def test_each_exported_name_resolves_to_b12s_own_object(name: str) -> None:
    member = getattr(b12, name)
    assert member.__module__.split(".")[0] == "b12"
    assert getattr(member, "__name__", name) == name


def test_an_unknown_name_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="module 'b12' has no attribute 'Givee'"):
        b12.Givee  # type: ignore[attr-defined]  # noqa: B018


def test_importing_b12_loads_no_heavy_library() -> None:
    probe = "import sys, json, b12; print(json.dumps(sorted(sys.modules)))"
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                          check=True, timeout=60)  # fmt: skip
    loaded = {m.split(".")[0] for m in json.loads(done.stdout)}
    assert loaded.isdisjoint(
        {"pydantic", "yaml", "sqlalchemy", "alembic", "typer", "rich", "pickle"}
    )
