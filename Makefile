# fanfetch developer commands. `make check` is what CI runs on a fresh machine.
SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV ?= .venv
BIN := $(abspath $(VENV))/bin
PY := $(BIN)/python
# The Lambda runtime's Python; on machines with pyenv it may not be on PATH.
PYTHON313 ?= $(shell for p in python3.13 $$(ls -d $$HOME/.pyenv/versions/3.13*/bin/python3.13 2>/dev/null); do \
	"$$p" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 13))' 2>/dev/null && { command -v "$$p"; break; }; done)
# Builds that run here (emulator, smoke tests, benchmarks) must match this machine; deploys use the template default.
LOCAL_ARCH := $(if $(filter aarch64 arm64,$(shell uname -m)),arm64,x86_64)
BUILD_DIR := .aws-sam/build/FanfetchFunction
# checkov's dependency pins clash with aws-sam-cli's, so the scanner lives in a virtualenv of its own.
SCAN_VENV ?= .venv-scan
SCAN_BIN := $(abspath $(SCAN_VENV))/bin
EVENT ?= events/direct.json
# ENV="NAME=VALUE ..." sets the function's environment; only from the command line, since shells may export ENV.
FUNCTION_ENV := $(if $(filter command line,$(origin ENV)),$(foreach pair,$(ENV),--env $(pair)))

# Nothing local may reach AWS: fake credentials and a dead loopback endpoint (sam calls STS first).
export PATH := $(BIN):$(PATH)
export SAM_CLI_TELEMETRY := 0
export AWS_ACCESS_KEY_ID ?= testing
export AWS_SECRET_ACCESS_KEY ?= testing
export AWS_DEFAULT_REGION ?= us-east-1
export AWS_ENDPOINT_URL ?= http://127.0.0.1:9
export AWS_MAX_ATTEMPTS ?= 1

.PHONY: help dev lint format schema typecheck validate scan build test check docs-check invoke demo monitor-run jobs-demo monitor-demo chromium serve bench cost deploy delete deploy-regions delete-regions clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' \
		'{n[NR] = $$1; d[NR] = $$2; if (length($$1) > w) w = length($$1)} \
		END {for (i = 1; i <= NR; i++) printf "  make %-" w "s  %s\n", n[i], d[i]}'

$(VENV)/.installed: requirements-dev.txt functions/requirements.txt client/pyproject.toml
	@test -n "$(PYTHON313)" || { echo "python3.13 not found: install it (pyenv install 3.13) or set PYTHON313"; exit 1; }
	$(PYTHON313) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $@

dev: $(VENV)/.installed ## create .venv with Python 3.13 and every dependency

lint: dev ## ruff lint and format check
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: dev ## apply ruff formatting and fixes
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

schema: dev ## write docs/latest.schema.json and docs/monitors.schema.json from the models (tests check they are current)
	PYTHONPATH=functions $(PY) -c 'import sys; from fanfetch.monitoring.state import latest_schema_text; sys.stdout.write(latest_schema_text())' > docs/latest.schema.json
	PYTHONPATH=functions $(PY) -c 'import sys; from fanfetch.monitoring.config import monitors_schema_text; sys.stdout.write(monitors_schema_text())' > docs/monitors.schema.json
	cp docs/monitors.schema.json client/fanfetch_client/monitors.schema.json

typecheck: dev ## mypy, strict on functions/ and client/
	$(BIN)/mypy

# `sam validate --lint` sees the template before the SAM transform; the roles and state machine SAM writes are
# linted after it, translated offline, with 0 errors and 0 warnings. cfn-lint follows every condition itself, so a
# probe stack (HomeBucket set) is linted as well as the home stack: a Ref from the probe's function to a home-only
# resource is a warning (W1001), hence an error here.
validate: dev ## sam validate --lint, then cfn-lint on the SAM-translated template (IAM included; home and probe stacks)
	$(BIN)/sam validate --lint
	$(PY) -m tools.translate_template template.yaml .aws-sam/translated.json
	$(BIN)/cfn-lint .aws-sam/translated.json

$(SCAN_VENV)/.installed: requirements-scan.txt
	@test -n "$(PYTHON313)" || { echo "python3.13 not found: install it (pyenv install 3.13) or set PYTHON313"; exit 1; }
	$(PYTHON313) -m venv $(SCAN_VENV)
	$(SCAN_BIN)/python -m pip install --quiet --upgrade pip
	$(SCAN_BIN)/python -m pip install --quiet -r requirements-scan.txt
	touch $@

# Offline: no API key, no policy or mapping download, no update check. Fails on any failed check;
# a check that should not apply is skipped in template.yaml (Metadata: checkov: skip) with its reason.
scan: $(SCAN_VENV)/.installed ## checkov security scan of template.yaml (offline)
	env -u BC_API_KEY -u PRISMA_API_URL BC_SKIP_MAPPING=TRUE CKV_SKIP_PACKAGE_UPDATE_CHECK=TRUE \
		$(SCAN_BIN)/checkov --file template.yaml --framework cloudformation --skip-download --compact --quiet

# sam build runs only when something it packages changed; its log is shown only when it fails.
BUILD_STAMP := .aws-sam/.built-$(LOCAL_ARCH)
BUILD_INPUTS := template.yaml functions/requirements.txt $(shell find functions statemachine -type f \
	-not -path '*/__pycache__/*' -not -name '*.pyc' 2>/dev/null)

$(BUILD_STAMP): $(VENV)/.installed $(BUILD_INPUTS)
	@mkdir -p .aws-sam && echo "sam build (Architecture=$(LOCAL_ARCH)) ..."
	@$(BIN)/sam build --cached --parameter-overrides Architecture=$(LOCAL_ARCH) >.aws-sam/build.log 2>&1 \
		|| { cat .aws-sam/build.log; exit 1; }
	@$(PY) -m compileall -q -j 0 --invalidation-mode unchecked-hash $(BUILD_DIR)
	@touch $@

build: dev $(BUILD_STAMP) ## sam build for this machine, with compiled .pyc files (only when sources changed)

# The status page is checked in a real headless browser; CI is a fresh Debian machine running as root.
chromium: ## install Debian's chromium when it is missing (the status page tests open it)
	@command -v chromium >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; }

test: dev build chromium ## pytest: unit, functional (loopback servers, moto) and smoke (built artifact)
	$(BIN)/pytest

docs-check: build ## run every command in README.md and docs/ (those needing AWS: syntax only), check links
	$(PY) -m tools.docs_check

check: lint typecheck validate scan test docs-check ## everything CI runs

invoke: build ## the built function in the runtime emulator: make invoke EVENT=events/api-post.json ENV="K=V ..." JSON=1
	@$(PY) -m tools.invoke $(EVENT) $(FUNCTION_ENV) $(if $(JSON),--json)

demo: build ## the main job offline: a local origin, the built function, a table of results
	@$(PY) -m tools.demo

monitor-run: build ## scheduled runs on your targets, offline (moto): make monitor-run TARGETS=FILE (or URLS="...") RUNS=2
	@$(PY) -m tools.monitor_run $(if $(TARGETS),--targets $(TARGETS)) $(foreach url,$(URLS),--url $(url)) \
		$(if $(RUNS),--runs $(RUNS)) $(if $(INTERVAL),--interval $(INTERVAL)) $(FUNCTION_ENV)

jobs-demo: dev ## a 20,000-URL job offline: moto, make serve, the fanfetch client with its progress bar, the results
	@$(PY) -m tools.jobs_demo $(ARGS)

monitor-demo: dev ## a monitors file over seven runs, offline: expectation failing, debounce, alert, signed webhook, reminder, recovery
	$(PY) -m tools.monitor_demo $(ARGS)

serve: dev ## local API as API Gateway v2 events: make serve PORT=3000 (the default)
	$(PY) -m tools.serve $(if $(PORT),--port $(PORT))

bench: build ## fanfetch against the naive loop and a featureless floor, medians: make bench ARGS="--only longtail"
	$(PY) -m bench.run $(ARGS)

cost: dev ## price a million URLs and a monitor from N regions from the measured runs into docs/cost.md (ARGS="--regions 3 --targets 1000 --period 300": one monitor)
	$(PY) -m bench.cost $(ARGS)

deploy: dev ## build for the template's architecture and deploy with samconfig.toml
	rm -f $(BUILD_STAMP)  # the deploy build replaces this machine's build
	env -u AWS_ENDPOINT_URL -u AWS_ACCESS_KEY_ID -u AWS_SECRET_ACCESS_KEY $(BIN)/sam build
	$(PY) -m compileall -q -j 0 --invalidation-mode unchecked-hash $(BUILD_DIR)
	env -u AWS_ENDPOINT_URL -u AWS_ACCESS_KEY_ID -u AWS_SECRET_ACCESS_KEY $(BIN)/sam deploy

delete: dev ## delete the deployed stack
	env -u AWS_ENDPOINT_URL -u AWS_ACCESS_KEY_ID -u AWS_SECRET_ACCESS_KEY $(BIN)/sam delete

# REGIONS="home probe ...": the first region holds the bucket, page, topic and alarms; the others only probe.
# The deploy build replaces this machine's build, as in `make deploy`.
REGIONS_ARGS = $(REGIONS) $(if $(PARAMS),--params '$(PARAMS)') $(if $(QUORUM),--quorum $(QUORUM)) $(if $(DRY_RUN),--dry-run)

deploy-regions: dev ## home stack + a probe stack per region: make deploy-regions REGIONS="us-east-1 eu-west-1" PARAMS="K=V" QUORUM=N DRY_RUN=1
	@test -n "$(REGIONS)" || { echo 'usage: make deploy-regions REGIONS="us-east-1 eu-west-1 ..." (home first)'; exit 1; }
	$(if $(DRY_RUN),,rm -f $(BUILD_STAMP))
	env -u AWS_ENDPOINT_URL -u AWS_ACCESS_KEY_ID -u AWS_SECRET_ACCESS_KEY $(PY) -m tools.regions deploy $(REGIONS_ARGS)

delete-regions: dev ## delete the probe stacks, then the home stack: make delete-regions REGIONS="..." (YES=1: no question)
	@test -n "$(REGIONS)" || { echo 'usage: make delete-regions REGIONS="us-east-1 eu-west-1 ..." (home first)'; exit 1; }
	env -u AWS_ENDPOINT_URL -u AWS_ACCESS_KEY_ID -u AWS_SECRET_ACCESS_KEY $(PY) -m tools.regions delete $(REGIONS_ARGS) $(if $(YES),--yes)

clean: ## remove build output and caches (keeps .venv)
	rm -rf .aws-sam .pytest_cache .mypy_cache .ruff_cache .hypothesis
