# Everything runs from .venv, created on first use from the pinned requirements, so a fresh
# clone needs only python3 (3.11 or 3.12), make and the package index.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# checkov pins libraries the project pins differently (boto3 among them): its own venv.
CHECKOV_VENV := .venv-checkov
CHECKOV_STAMP := $(CHECKOV_VENV)/.installed
PIP_FLAGS := --quiet --disable-pip-version-check --no-input

.PHONY: venv demo test lint typecheck unit tf-check tf-docs package fuzz bench clean

venv: $(STAMP)

$(STAMP): requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install $(PIP_FLAGS) -r requirements-dev.txt
	touch $(STAMP)

## demo: dry-run the sample mails in examples/ against the sample routes.yaml (no AWS, no token)
demo: $(STAMP)
	$(BIN)/python -m handler check routes.yaml
	$(BIN)/python -m handler dispatch --dry-run --routes routes.yaml examples/mail/*.eml

$(CHECKOV_STAMP): requirements-checkov.txt
	$(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/pip install $(PIP_FLAGS) -r requirements-checkov.txt
	touch $(CHECKOV_STAMP)

## test: lint, type-check, every test, and the Terraform checks
test: lint typecheck unit tf-check

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy

unit: $(STAMP)
	$(BIN)/pytest

## tf-check: Terraform parsed and its wiring tested, formatting (when terraform is installed),
## validation (when TF_PLUGIN_DIR holds the AWS provider: init never downloads), checkov
TF_PLUGIN_DIR ?= $(wildcard /opt/tf-plugins)
tf-check: $(STAMP) $(CHECKOV_STAMP)
	$(BIN)/pytest -q tests/test_terraform.py
	@if command -v terraform >/dev/null 2>&1; then \
		TF_CLI_CONFIG_FILE=/dev/null terraform fmt -check -recursive -diff terraform && echo "terraform fmt: clean"; \
	else echo "terraform is not installed: formatting not checked"; fi
	@if command -v terraform >/dev/null 2>&1 && [ -n "$(TF_PLUGIN_DIR)" ]; then \
		scratch=$$(mktemp -d) && cp -r terraform "$$scratch/" && status=0 && \
		for dir in "$$scratch/terraform" "$$scratch/terraform/examples/complete"; do \
			TF_CLI_CONFIG_FILE=/dev/null terraform -chdir="$$dir" init -backend=false -input=false \
				-plugin-dir="$(TF_PLUGIN_DIR)" >/dev/null && \
			TF_CLI_CONFIG_FILE=/dev/null terraform -chdir="$$dir" validate -no-color || status=1; \
		done; rm -rf "$$scratch"; exit $$status; \
	else echo "no terraform or TF_PLUGIN_DIR: terraform validate skipped"; fi
	$(CHECKOV_VENV)/bin/checkov -d terraform --framework terraform --quiet --compact --skip-download

## tf-docs: regenerate the Inputs/Outputs tables of the Terraform READMEs
tf-docs: $(STAMP)
	$(BIN)/python scripts/tf_docs.py

## package: the Lambda zip (dist/ticket-router.zip) for terraform apply; ROUTES=<file> packages
## another routes file (set the same file as routes_file in Terraform). With a python3.12 on the
## PATH or in pyenv (or LAMBDA_PYTHON=<path>), what a cold start and a first mail import goes in
## as 3.12 bytecode.
ROUTES ?= routes.yaml
LAMBDA_PYTHON ?= $(or $(shell python3.12 -c "import sys; print(sys.executable)" 2>/dev/null),\
	$(firstword $(wildcard /usr/bin/python3.12 /usr/local/bin/python3.12 \
		$(HOME)/.pyenv/versions/3.12*/bin/python3.12)))
package: $(STAMP)
	$(BIN)/python -m handler check $(ROUTES)
	@[ -n "$(LAMBDA_PYTHON)" ] || echo "no python3.12 found: the zip holds no bytecode (each cold start compiles it)"
	$(BIN)/python scripts/package.py --requirements requirements-lambda.txt --routes $(ROUTES) \
		--output dist/ticket-router.zip $(if $(LAMBDA_PYTHON),--bytecode-python $(LAMBDA_PYTHON))

## fuzz: atheris (coverage-guided) over parse -> route -> render for FUZZ_SECONDS, then the
## property tests under the hypothesis "fuzz" profile; atheris needs a wheel for this platform
## (Linux x86_64, CPython 3.11/3.12) and is skipped with a note where there is none
FUZZ_SECONDS ?= 60
ATHERIS := atheris==3.0.0
fuzz: $(STAMP)
	@if $(BIN)/pip install $(PIP_FLAGS) --only-binary=:all: $(ATHERIS); then \
		scratch=$$(mktemp -d) && \
		$(BIN)/python fuzz/fuzz_plan.py "$$scratch" fuzz/corpus -max_total_time=$(FUZZ_SECONDS) \
			-timeout=30 -rss_limit_mb=3072 -artifact_prefix=fuzz/ -print_final_stats=1; \
		status=$$?; rm -rf "$$scratch"; exit $$status; \
	else echo "no atheris wheel for this Python/platform: coverage-guided fuzzing skipped"; fi
	HYPOTHESIS_PROFILE=fuzz $(BIN)/pytest -q -p no:cacheprovider tests/test_fuzz.py

## bench: cold start, per-mail cost, 10,000 routes, package size and GitHub requests, each
## beside its floor (a table, and bench/results.json); not part of test: figures, not verdicts
bench: $(STAMP)
	LAMBDA_PYTHON="$(LAMBDA_PYTHON)" $(BIN)/python -m bench.run

clean:
	rm -rf $(VENV) $(CHECKOV_VENV) .mypy_cache .ruff_cache .pytest_cache build dist
