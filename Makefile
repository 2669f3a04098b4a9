# Everything runs from .venv, built on first use from the hash-pinned locks in requirements/, so
# a fresh clone needs only python3 (3.11 or 3.12), make and the package index. pip installs uv
# from requirements/tools.txt; uv installs the rest (--require-hashes: a lock without a hash, or a
# download that does not match it, stops the build). `make lock` regenerates the locks.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
UV := $(BIN)/uv
LOCKS := requirements
TOOLS := $(VENV)/.tools
# The runtime lock is enough for demo; test needs the dev lock (a superset, same versions).
RUNTIME := $(VENV)/.runtime
DEV := $(VENV)/.dev
# checkov pins libraries the project pins differently (boto3 among them): its own venv.
CHECKOV_VENV := .venv-checkov
CHECKOV_STAMP := $(CHECKOV_VENV)/.installed
PIP_FLAGS := --quiet --disable-pip-version-check --no-input
# $(call install,WHAT): run the install command that follows quietly; if it fails, one line says
# why (the package index cannot be reached, a hash does not match), not pip's or uv's retries.
install = $(PYTHON) scripts/installs.py "$(1)" --
# uv never fetches a Python of its own: the venvs use $(PYTHON).
export UV_PYTHON_DOWNLOADS := never
# --no-build: every locked package installs from a wheel; building one from source would fetch an
# unpinned build backend.
UV_SYNC := $(UV) pip sync --quiet --require-hashes --no-build
UV_INSTALL := $(UV_SYNC) --python $(BIN)/python
# This project itself, editable, so that .venv/bin/ticket-router runs the checkout's code; its
# build backend (flit_core) is in tools.txt, so nothing unpinned is fetched to build it.
INSTALL_PROJECT := $(UV) pip install --quiet --no-deps --no-build-isolation --python $(BIN)/python -e .

.PHONY: venv demo test lint typecheck unit tf-check tf-static tf-docs reasons-doc perf-doc package fuzz bench lock clean

venv: $(DEV)

$(TOOLS): $(LOCKS)/tools.txt
	rm -rf $(VENV)
	$(PYTHON) -m venv $(VENV)
	$(call install,the build tools) $(BIN)/pip install $(PIP_FLAGS) --require-hashes --no-deps \
		--only-binary :all: -r $(LOCKS)/tools.txt
	touch $@

# sync, not install: a package dropped from the lock leaves the venv too. A venv that has the dev
# lock keeps it.
$(RUNTIME): $(TOOLS) $(LOCKS)/runtime.txt pyproject.toml
	$(call install,the runtime dependencies) $(UV_INSTALL) \
		$(if $(wildcard $(DEV)),$(LOCKS)/dev.txt,$(LOCKS)/runtime.txt) $(LOCKS)/tools.txt
	$(call install,ticket-router itself) $(INSTALL_PROJECT)
	touch $@

$(DEV): $(TOOLS) $(LOCKS)/dev.txt pyproject.toml
	$(call install,the development tools) $(UV_INSTALL) $(LOCKS)/dev.txt $(LOCKS)/tools.txt
	$(call install,ticket-router itself) $(INSTALL_PROJECT)
	touch $@ $(RUNTIME)

## demo: dry-run the sample mails in examples/ against the sample routes.yaml (no AWS, no token)
demo: $(RUNTIME)
	$(BIN)/ticket-router check routes.yaml
	$(BIN)/ticket-router dispatch --dry-run --routes routes.yaml examples/mail/*.eml

$(CHECKOV_STAMP): $(TOOLS) $(LOCKS)/checkov.txt
	rm -rf $(CHECKOV_VENV)
	$(PYTHON) -m venv --without-pip $(CHECKOV_VENV)
	$(UV_SYNC) --python $(CHECKOV_VENV)/bin/python $(LOCKS)/checkov.txt
	touch $@

## test: lint, type-check, every test (Terraform's wiring included), then terraform fmt, validate
## and checkov
test: lint typecheck unit tf-static

lint: $(DEV)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(DEV)
	$(BIN)/mypy

# Spread over every core (pytest-xdist); each test's own state is its own (tmp_path, moto).
unit: $(DEV)
	$(BIN)/pytest -n $(or $(PYTEST_WORKERS),auto)

## tf-check: Terraform parsed and its wiring tested, formatting (when terraform is installed),
## validation (when TF_PLUGIN_DIR holds the AWS provider: init never downloads), checkov
TF_PLUGIN_DIR ?= $(wildcard /opt/tf-plugins)
tf-check: $(DEV) tf-static
	$(BIN)/pytest -q tests/test_terraform.py

# validate runs on a copy of terraform/ with routes.yaml beside it, as in the checkout: the
# example's routes_file is the sample, which the variable's validation opens.
tf-static: $(CHECKOV_STAMP)
	@if command -v terraform >/dev/null 2>&1; then \
		TF_CLI_CONFIG_FILE=/dev/null terraform fmt -check -recursive -diff terraform && echo "terraform fmt: clean"; \
	else echo "terraform is not installed: formatting not checked"; fi
	@if command -v terraform >/dev/null 2>&1 && [ -n "$(TF_PLUGIN_DIR)" ]; then \
		scratch=$$(mktemp -d) && cp -r terraform routes.yaml "$$scratch/" && status=0 && \
		for dir in "$$scratch/terraform" "$$scratch/terraform/examples/complete"; do \
			TF_CLI_CONFIG_FILE=/dev/null terraform -chdir="$$dir" init -backend=false -input=false \
				-plugin-dir="$(TF_PLUGIN_DIR)" >/dev/null && \
			TF_CLI_CONFIG_FILE=/dev/null terraform -chdir="$$dir" validate -no-color || status=1; \
		done; rm -rf "$$scratch"; exit $$status; \
	else echo "no terraform or TF_PLUGIN_DIR: terraform validate skipped"; fi
	$(CHECKOV_VENV)/bin/checkov -d terraform --framework terraform --quiet --compact --skip-download

## tf-docs: regenerate the Inputs/Outputs tables of the Terraform READMEs and the outputs the
## example re-exports
tf-docs: $(DEV)
	$(BIN)/python scripts/tf_docs.py

## reasons-doc: regenerate docs/reasons.md, the table of reason codes, from handler/reasons.py
reasons-doc: $(DEV)
	$(BIN)/python scripts/reasons_doc.py

## perf-doc: regenerate docs/performance.md from bench/results.json (make bench runs it too)
perf-doc: $(DEV)
	$(BIN)/python scripts/perf_doc.py

## package: the Lambda zip (dist/ticket-router.zip) for terraform apply; ROUTES=<file> packages
## another routes file (set the same file as routes_file in Terraform). With a python3.12 on the
## PATH or in pyenv (or LAMBDA_PYTHON=<path>), what a cold start and a first mail import goes in
## as 3.12 bytecode.
ROUTES ?= routes.yaml
LAMBDA_PYTHON ?= $(or $(shell python3.12 -c "import sys; print(sys.executable)" 2>/dev/null),\
	$(firstword $(wildcard /usr/bin/python3.12 /usr/local/bin/python3.12 \
		$(HOME)/.pyenv/versions/3.12*/bin/python3.12)))
package: $(RUNTIME)
	$(BIN)/ticket-router check $(ROUTES)
	@[ -n "$(LAMBDA_PYTHON)" ] || echo "no python3.12 found: the zip holds no bytecode (each cold start compiles it)"
	$(BIN)/python scripts/package.py --requirements $(LOCKS)/lambda.txt --routes $(ROUTES) \
		--output dist/ticket-router.zip $(if $(LAMBDA_PYTHON),--bytecode-python $(LAMBDA_PYTHON))

## fuzz: atheris (coverage-guided) over parse -> route -> render, then over the webhook's answer
## to a signed body, each for FUZZ_SECONDS, then the property tests under the hypothesis "fuzz"
## profile; atheris needs a wheel for this platform (Linux x86_64) and is skipped with a note
## elsewhere; the properties run without pytest-timeout's limit, since FUZZ_EXAMPLES sets how
## long they take
FUZZ_SECONDS ?= 60
FUZZ_TARGETS := plan:fuzz/corpus webhook:fuzz/corpus-webhook
ATHERIS_PLATFORM := import platform, sys; sys.exit((platform.system(), platform.machine()) != ("Linux", "x86_64"))
fuzz: $(DEV)
	@if $(BIN)/python -c '$(ATHERIS_PLATFORM)'; then \
		$(UV) pip install --quiet --require-hashes --only-binary :all: --python $(BIN)/python \
			-r $(LOCKS)/fuzz.txt || exit 1; \
		for pair in $(FUZZ_TARGETS); do \
			target=$${pair%%:*}; corpus=$${pair#*:}; scratch=$$(mktemp -d) && \
			$(BIN)/python fuzz/fuzz_$$target.py "$$scratch" "$$corpus" \
				-max_total_time=$(FUZZ_SECONDS) -timeout=30 -rss_limit_mb=3072 \
				-artifact_prefix=fuzz/$$target- -print_final_stats=1; \
			status=$$?; rm -rf "$$scratch"; [ $$status -eq 0 ] || exit $$status; \
		done; \
	else echo "atheris has wheels for Linux x86_64 only: coverage-guided fuzzing skipped"; fi
	HYPOTHESIS_PROFILE=fuzz $(BIN)/pytest -q -p no:cacheprovider --timeout=0 tests/test_fuzz.py

## bench: cold start, per-mail cost, 10,000 routes, package size and GitHub requests, each
## beside its floor (a table, bench/results.json and docs/performance.md); not part of test:
## figures, not verdicts
bench: $(DEV)
	LAMBDA_PYTHON="$(LAMBDA_PYTHON)" $(BIN)/python -m bench.run
	$(BIN)/python scripts/perf_doc.py

## lock: regenerate requirements/*.txt from pyproject.toml and requirements/*.in, keeping every
## version already locked that still fits (UPGRADE=1 takes the newest that fit); needs the index.
## runtime.txt and lambda.txt are resolved within dev.txt, so each package has one version
## everywhere; lambda.txt is for the Lambda's CPython 3.12 on manylinux arm64, without what its
## runtime provides. A lock whose text does not change keeps its file (and the venvs built on it).
LAMBDA_PROVIDED := boto3 botocore s3transfer jmespath python-dateutil
# Any platform, CPython 3.11 and later: one entry per marker where a version depends on them.
ANY := --universal --python-version 3.11
LAMBDA := --python-platform aarch64-manylinux2014 --python-version 3.12 \
	$(addprefix --no-emit-package ,$(LAMBDA_PROVIDED))
# $(call lock,FILE,ARGUMENTS): compile FILE in requirements/ from a copy of it (uv keeps the
# versions it finds there) and replace it only if the result differs.
lock = cd $(LOCKS) && { [ ! -e $(1) ] || cp $(1) $(1).new; } && \
	{ $(abspath $(UV)) pip compile --quiet --generate-hashes --custom-compile-command "make lock" \
		$(if $(filter 1,$(UPGRADE)),--upgrade) -o $(1).new $(2) || { rm -f $(1).new; exit 1; }; } && \
	{ cmp -s $(1).new $(1) && rm $(1).new || mv $(1).new $(1); }
lock: $(TOOLS)
	$(call lock,dev.txt,$(ANY) --group ../pyproject.toml:dev ../pyproject.toml)
	$(call lock,runtime.txt,$(ANY) ../pyproject.toml -c dev.txt)
	$(call lock,lambda.txt,$(LAMBDA) lambda.in -c dev.txt)
	$(call lock,tools.txt,$(ANY) tools.in)
	$(call lock,checkov.txt,$(ANY) checkov.in)
	$(call lock,fuzz.txt,$(ANY) fuzz.in)

clean:
	rm -rf $(VENV) $(CHECKOV_VENV) .mypy_cache .ruff_cache .pytest_cache build dist
