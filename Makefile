# The README's commands. Each installs what it needs first (Python >= 3.11, git, make).
PYTHON ?= python3
UV := .tools/bin/uv
VENV := .venv
RUN := $(UV) run --frozen --no-sync
export UV_PYTHON_DOWNLOADS := never
export UV_PYTHON := $(PYTHON)
export UV_PROJECT_ENVIRONMENT := $(VENV)

.PHONY: install run demo test check lint typecheck openapi-check openapi generate bench clean

$(UV):
	$(PYTHON) -m venv .tools
	.tools/bin/pip install --quiet uv==0.13.8

$(VENV)/.synced: $(UV) uv.lock pyproject.toml packages/callpad/pyproject.toml packages/farvex/pyproject.toml
	$(UV) sync --frozen --all-packages --quiet
	touch $@

install: $(VENV)/.synced

run: install  ## the server on the embedded default: SQLite in ./data, dev auth, offline media
	$(RUN) callpad db upgrade
	$(RUN) callpad serve --host 127.0.0.1 --port 8080

test: install
	$(RUN) pytest $(PYTEST_ARGS)

check: lint typecheck openapi-check

lint: install
	$(RUN) ruff check .
	$(RUN) ruff format --check .

typecheck: install
	$(RUN) mypy packages/callpad/src packages/farvex/src

openapi-check: install  ## fails when the server's OpenAPI document drifts from the committed one
	$(RUN) callpad openapi --check openapi/callpad.json

openapi: install  ## rewrite the committed OpenAPI document from the server
	$(RUN) callpad openapi --output openapi/callpad.json

bench: install
	$(RUN) python bench/api.py

clean:
	rm -rf .tools $(VENV) data
