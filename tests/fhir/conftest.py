"""The FHIR tests: the R4 JSON schema (from npm, cached by `make fhir-schema`) and R4B models,
and the web clinic of tests/web for the REST routes."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import Any

import pytest

ON_CI = os.environ.get("CI") == "true"

# the web clinic's fixtures, for the REST tests (skipped with them off CI without fastapi)
with contextlib.suppress(pytest.skip.Exception):
    from tests.web.conftest import clinic_db, seeded_file, web  # noqa: F401
ROOT = Path(__file__).resolve().parents[2]
SCHEMA = (
    ROOT
    / ".cache"
    / "fhir-schema"
    / "node_modules"
    / "@asymmetrik"
    / "fhir-json-schema-validator"
    / "fhir.schema.json"
)


def need(module: str) -> Any:
    """The module; off CI a missing one skips, on CI it fails."""
    if ON_CI:
        import importlib

        return importlib.import_module(module)
    return pytest.importorskip(module)


@pytest.fixture(scope="session")
def schema_validator() -> Any:
    """The R4 JSON schema's Draft-06 validators (fails on CI when `make fhir-schema` did not run)."""
    jsonschema = need("jsonschema")
    if not SCHEMA.exists():
        if ON_CI:
            pytest.fail(f"{SCHEMA} is missing: run `make fhir-schema`")
        pytest.skip("the R4 JSON schema is not installed: run `make fhir-schema`")
    import json

    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    whole = jsonschema.Draft6Validator(schema)
    by_type: dict[str, Any] = {}

    def validator(kind: str | None = None) -> Any:
        """The whole schema, or one type's definition (its errors name the element)."""
        if kind is None:
            return whole
        if kind not in by_type:
            ref = {"$ref": f"#/definitions/{kind}", "definitions": schema["definitions"]}
            by_type[kind] = jsonschema.Draft6Validator(ref)
        return by_type[kind]

    return validator
