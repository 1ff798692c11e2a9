# The README's commands. Each installs what it needs first (Python >= 3.11, git, make).
PYTHON ?= python3
UV := .tools/bin/uv
VENV := .venv
RUN := $(UV) run --frozen --no-sync
export UV_PYTHON_DOWNLOADS := never
export UV_PYTHON := $(PYTHON)
export UV_PROJECT_ENVIRONMENT := $(VENV)

.PHONY: install services run demo test check lint typecheck complexity openapi-check openapi generate generate-check docs-check bench clean

$(UV):
	$(PYTHON) -m venv .tools
	.tools/bin/pip install --quiet uv==0.13.8

# Bytecode is compiled at install, as pip does: with PYTHONDONTWRITEBYTECODE set (CI
# machines set it), every process would otherwise compile every module it imports.
$(VENV)/.synced: $(UV) uv.lock pyproject.toml packages/callpad/pyproject.toml packages/farvex/pyproject.toml
	$(UV) sync --frozen --all-packages --quiet --compile-bytecode
	$(VENV)/bin/python -m compileall -q packages/callpad/src packages/farvex/src
	touch $@

install: $(VENV)/.synced

services:  ## PostgreSQL, Redis, and the Centrifugo and livekit-server binaries the suite runs
	bash scripts/services.sh

HOST ?= 127.0.0.1
PORT ?= 8080

run: install  ## the server on the embedded default: SQLite in ./data, dev auth, offline media (HOST=, PORT=)
	$(RUN) callpad db upgrade
	$(RUN) callpad serve --host $(HOST) --port $(PORT)

# The real-SIP tests run in a process of their own: the livekit client's native layer has
# crashed (SIGSEGV) in them while freeing an object. A crash, not a failed test, is retried
# once. With PYTEST_ARGS naming some tests, a run they leave nothing to (exit 5) is fine.
test: install  ## the whole suite
	@rc=0; $(RUN) pytest -m "not sip" $(PYTEST_ARGS) || rc=$$?; \
	[ $$rc -eq 0 ] || { [ $$rc -eq 5 ] && [ -n "$(PYTEST_ARGS)" ]; }
	@rc=0; $(RUN) pytest -m sip $(PYTEST_ARGS) || rc=$$?; \
	if [ $$rc -gt 5 ]; then \
		echo "make test: the SIP tests' process crashed ($$rc); running them once more"; \
		rc=0; $(RUN) pytest -m sip $(PYTEST_ARGS) || rc=$$?; \
	fi; [ $$rc -eq 0 ] || { [ $$rc -eq 5 ] && [ -n "$(PYTEST_ARGS)" ]; }

check: lint typecheck complexity openapi-check generate-check docs-check

docs-check: install  ## runs the README's quick start, every command and curl, against a fresh server
	$(RUN) python scripts/check_quick_start.py

lint: install
	$(RUN) ruff check .
	$(RUN) ruff format --check .

typecheck: install  ## mypy strict over the code, its tests, the benches, the SDK's examples and the SDK docs' snippets
	$(RUN) mypy packages/callpad/src packages/farvex/src packages/callpad/tests packages/farvex/tests tests testsupport
	$(RUN) mypy --strict packages/farvex/examples
	MYPYPATH=bench $(RUN) mypy bench
	$(RUN) python scripts/check_snippets.py docs/sdk.md README.md

complexity: install  ## fails on a function radon rates above C (cyclomatic complexity over 20)
	@out=$$($(RUN) radon cc --min D --show-complexity --exclude "*/_generated/*,*/migrations/*" \
		packages/callpad/src packages/farvex/src packages/callpad/tests packages/farvex/tests \
		tests testsupport bench scripts) || exit 1; \
	if [ -n "$$out" ]; then echo "$$out"; echo "split these: no function above radon's C"; exit 1; fi; \
	echo "radon: no function above C"

openapi-check: install  ## fails when the server's OpenAPI document drifts from the committed one
	$(RUN) callpad openapi --check openapi/callpad.json

openapi: install  ## rewrite the committed OpenAPI document from the server
	$(RUN) callpad openapi --output openapi/callpad.json

GENERATED := packages/farvex/src/farvex/_generated
GENERATOR := $(RUN) openapi-python-client generate --path openapi/callpad.json --meta none \
	--config packages/farvex/codegen/openapi-python-client.yaml

generate: install  ## regenerate the SDK's HTTP layer from the committed OpenAPI document
	$(GENERATOR) --overwrite --output-path $(GENERATED)

generate-check: install  ## fails when regenerating the SDK's HTTP layer would change it
	@out=$$(mktemp -d) && trap 'rm -rf "$$out"' EXIT && \
	$(GENERATOR) --output-path "$$out/_generated" >/dev/null && \
	diff -r -x __pycache__ "$$out/_generated" $(GENERATED) && \
	echo "$(GENERATED) matches openapi/callpad.json"

demo: install  ## a scripted call between a customer and a host against an embedded server
	$(RUN) python packages/farvex/examples/demo.py

bench: install  ## each figure beside a baseline measured in the same run
	$(RUN) python bench/api.py
	$(RUN) python bench/realtime.py
	$(RUN) python bench/media.py

clean:
	rm -rf .tools $(VENV) data
