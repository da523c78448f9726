# Meterline — the two commands a new user needs are `make demo` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PYTEST_ARGS ?=

.DEFAULT_GOAL := help

help: ## List the targets
	@grep -hE '^[a-z][a-z_-]+:.*## ' $(MAKEFILE_LIST) | awk -F ':.*## ' '{printf "  %-14s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev]'
	@touch $(STAMP)

# The live rating kernel (rating/live/kernel/, Rust): built and installed when cargo is on the PATH; without it
# every group is rated in Python, with the same results (docs/performance.md). Its stamp is left untouched
# when cargo is missing, so a later `make venv` with cargo builds it.
KERNEL := rating/live/kernel
KERNEL_STAMP := $(VENV)/.kernel-installed
KERNEL_SRC := $(shell find $(KERNEL)/src -type f 2>/dev/null) $(addprefix $(KERNEL)/,Cargo.toml Cargo.lock pyproject.toml meterline_kernel.pyi)

$(KERNEL_STAMP): $(STAMP) $(KERNEL_SRC)
	@if command -v cargo >/dev/null; then \
	  echo "building the live rating kernel ($(KERNEL), cargo)"; \
	  $(BIN)/python -m pip install -q ./$(KERNEL) && touch $@; \
	else \
	  echo "cargo not found: the live rating kernel is not built; live rating runs in Python (the same results, slower)"; \
	fi

# The web app (web/): npm ci when the lock file changes, npm run build when a source changes (stamps keep it fast).
WEB_DEPS := web/node_modules/.installed
WEB_DIST := web/dist/index.html
WEB_SRC := $(shell find web/src -type f 2>/dev/null) web/index.html web/package.json web/vite.config.ts web/tsconfig.json

$(WEB_DEPS): web/package-lock.json
	cd web && npm ci --no-audit --no-fund --loglevel=error
	@touch $(WEB_DEPS)

$(WEB_DIST): $(WEB_DEPS) $(WEB_SRC)
	cd web && npm run --silent build
	@touch $(WEB_DIST)

venv: $(STAMP) $(KERNEL_STAMP) $(WEB_DIST) ## Create the virtualenv and install Meterline with its dev tools (and the live rating kernel when cargo is there), build the web app (idempotent)

web: $(WEB_DIST) ## Build the web app into web/dist (skipped when up to date)

web-test: $(WEB_DEPS) ## Run the web app's component tests (Vitest)
	cd web && npm run --silent test

browser-deps: ## Debian's Chromium for the browser tests, installed with apt-get (as root) when missing
	@test -x /usr/bin/chromium || { [ "$$(id -u)" = 0 ] || { echo "install Debian's chromium (apt-get install chromium) for tests/browser" >&2; exit 1; }; \
	  export DEBIAN_FRONTEND=noninteractive; apt-get install -y -qq --no-install-recommends chromium || { apt-get update -qq && apt-get install -y -qq --no-install-recommends chromium; }; }

prometheus-deps: ## Debian's prometheus and prometheus-alertmanager (promtool, amtool: the alerting tests), installed with apt-get (as root) when missing
	@{ test -x /usr/bin/promtool && test -x /usr/bin/prometheus-alertmanager; } || { [ "$$(id -u)" = 0 ] || { echo "install Debian's prometheus and prometheus-alertmanager (apt-get install prometheus prometheus-alertmanager)" >&2; exit 1; }; \
	  export DEBIAN_FRONTEND=noninteractive; pkgs="prometheus prometheus-alertmanager"; \
	  apt-get install -y -qq --no-install-recommends $$pkgs || { apt-get update -qq && apt-get install -y -qq --no-install-recommends $$pkgs; }; }

stack-deps: venv ## Fetch Kafka jars (Maven Central), build stripe-mock (Go proxy); Debian's PostgreSQL if missing (apt)
	$(BIN)/meterline stack install
	$(BIN)/python -m deploy.local.postgres install

stack-up: stack-deps ## Start the local stack (Kafka, stripe-mock, warehouse, SMTP); fast if already up
	$(BIN)/meterline stack up

stack-down: venv ## Stop the local stack
	$(BIN)/meterline stack down

stack-status: venv ## Show what of the local stack runs
	$(BIN)/meterline stack status

postgres-up: venv ## Start a local PostgreSQL (var/postgres, port 5433) and print its METERLINE_API_DATABASE_URL
	@$(BIN)/python -m deploy.local.postgres up

postgres-down: venv ## Stop the local PostgreSQL
	$(BIN)/python -m deploy.local.postgres down

demo: stack-up ## Run the main job: stack, worker, a simulated month settled, invoiced, reported, reconciled
	$(BIN)/meterline demo

test: stack-deps browser-deps prometheus-deps web-test ## Run the whole test suite against the real local stack
	$(BIN)/pytest $(PYTEST_ARGS)

test-unit: venv ## Run the pure tests (tests/unit) in seconds, without the local stack
	$(BIN)/pytest tests/unit $(PYTEST_ARGS)

lint: venv ## ruff and mypy; rustfmt and clippy for the live rating kernel (with cargo); eslint, tsc and the generated API client's freshness for web/
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	@if command -v cargo >/dev/null; then \
	  cd $(KERNEL) && cargo fmt --check && PYO3_PYTHON=$(CURDIR)/$(BIN)/python cargo clippy -q --all-targets -- -D warnings; \
	fi
	cd web && npm run --silent lint && npm run --silent typecheck && npm run --silent api:check

fmt: venv ## Format the code with ruff
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: stack-up ## Run the benchmarks (ingest, live rating, API entitlement check, web app size and first load): events/s, requests/s, latency, RSS
	$(BIN)/python bench/ingest.py
	$(BIN)/python bench/live_rating.py
	$(BIN)/python bench/api.py
	$(BIN)/python bench/web.py

clean: ## Remove data (var/) but keep downloads (.cache/) and the virtualenv
	-$(BIN)/meterline stack down
	-$(BIN)/python -m deploy.local.postgres down
	rm -rf var

.PHONY: help venv web web-test browser-deps prometheus-deps stack-deps stack-up stack-down stack-status postgres-up postgres-down demo test test-unit lint fmt bench clean
