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

venv: $(STAMP) ## Create the virtualenv and install Meterline with its dev tools (idempotent)

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

test: stack-deps ## Run the whole test suite against the real local stack
	$(BIN)/pytest $(PYTEST_ARGS)

test-unit: venv ## Run the pure tests (tests/unit) in seconds, without the local stack
	$(BIN)/pytest tests/unit $(PYTEST_ARGS)

lint: venv ## ruff and mypy
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

fmt: venv ## Format the code with ruff
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: stack-up ## Run the benchmarks (ingest, live rating, API entitlement check): events/s, requests/s, latency, RSS
	$(BIN)/python bench/ingest.py
	$(BIN)/python bench/live_rating.py
	$(BIN)/python bench/api.py

clean: ## Remove data (var/) but keep downloads (.cache/) and the virtualenv
	-$(BIN)/meterline stack down
	-$(BIN)/python -m deploy.local.postgres down
	rm -rf var

.PHONY: help venv stack-deps stack-up stack-down stack-status postgres-up postgres-down demo test test-unit lint fmt bench clean
