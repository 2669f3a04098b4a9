# Everything runs from .venv, created on first use from the pinned requirements, so a fresh
# clone needs only python3 (3.11 or 3.12), make and the package index.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PIP_FLAGS := --quiet --disable-pip-version-check --no-input

.PHONY: venv demo test lint typecheck unit clean

venv: $(STAMP)

$(STAMP): requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install $(PIP_FLAGS) -r requirements-dev.txt
	touch $(STAMP)

## demo: dry-run the sample mails in examples/ against the sample routes.yaml (no AWS, no token)
demo: $(STAMP)
	$(BIN)/python -m handler check routes.yaml
	$(BIN)/python -m handler dispatch --dry-run --routes routes.yaml examples/mail/*.eml

## test: lint, type-check and run every test
test: lint typecheck unit

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy

unit: $(STAMP)
	$(BIN)/pytest

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
