# Educational technology platform: `make help` lists every target.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
PYTEST_ARGS ?=
REPLICAS ?=

.PHONY: help venv lock postgres nginx oidc-provider browser lint format migrate run up test test-fast fuzz audit bench compose-config clean

help: ## List every target with what it does
	@grep -hE '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*?## "}; {printf "  \033[36m%-16s\033[0m %s\n", $$1, $$2}'

LOCK_FLAGS := --quiet --generate-hashes --strip-extras --allow-unsafe --no-emit-index-url --no-emit-find-links

$(STAMP): pyproject.toml requirements-dev.lock
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q --require-hashes -r requirements-dev.lock
	$(BIN)/python -m pip install -q --no-deps -e .
	@touch $(STAMP)

venv: $(STAMP) ## Create the virtual environment from requirements-dev.lock (every dependency pinned, with hashes)

lock: venv ## Re-pin every dependency from pyproject.toml, with hashes: requirements.lock (the image), requirements-dev.lock (make)
	$(BIN)/pip-compile $(LOCK_FLAGS) --output-file=requirements.lock pyproject.toml
	$(BIN)/pip-compile $(LOCK_FLAGS) --extra=dev --output-file=requirements-dev.lock pyproject.toml

postgres: ## Make sure PostgreSQL answers on 127.0.0.1:5432 (start or install it if needed)
	@bash deploy/scripts/ensure-postgres.sh

nginx: ## Make sure nginx is installed (Debian's package): the edge of the distributed mode
	@bash deploy/scripts/ensure-nginx.sh

oidc-provider: ## Install the OpenID Provider the sign-in tests run on loopback (npm ci of tests/oidc: oidc-provider)
	@bash deploy/scripts/ensure-oidc-provider.sh

browser: ## Install Chromium (Debian's package) and the pages tests' npm packages (axe-core): the pages' browser tests
	@bash deploy/scripts/ensure-browser.sh

lint: venv ## ruff (lint and format check) and mypy on the whole tree
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy shared services tests bench tools

format: venv ## Format and auto-fix with ruff
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

migrate: venv ## Migrate every service (SQLite by default; *_DATABASE_URL for PostgreSQL)
	$(BIN)/python -m shared.migrate upgrade

run: venv ## Run the whole platform embedded (SQLite, in-process bus) on http://127.0.0.1:8000
	$(BIN)/python -m services.embedded --demo

up: venv postgres nginx ## Run nginx, the gateway and the services as processes on PostgreSQL and Kafka (REPLICAS="analytics=2"); Ctrl-C stops them all
	$(BIN)/python -m shared.cluster --replicas $(REPLICAS)

test: venv postgres nginx oidc-provider browser ## Run the whole test suite (PostgreSQL, nginx, an OpenID Provider, Chromium and a Kafka-protocol broker, set up here)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

fuzz: venv postgres nginx ## Fuzz the combined OpenAPI with schemathesis on the distributed mode (part of `make test`)
	$(BIN)/python -m pytest -m fuzz $(PYTEST_ARGS)

audit: venv ## Audit every pin of both lock files against the known vulnerabilities (pip-audit, then PyPI's project JSON)
	$(BIN)/python -m tools.dependency_audit

bench: venv postgres nginx ## Measure ingestion and the event path; prints figures against their baselines
	$(BIN)/python -m bench

compose-config: ## Validate docker-compose.yml with `docker compose config` (adds the compose plugin if missing)
	@bash deploy/scripts/install-compose-plugin.sh >/dev/null
	docker compose config --quiet && echo "docker-compose.yml: valid"

clean: ## Remove the virtual environment, local databases and caches
	rm -rf $(VENV) .venv-tools var .pytest_cache .mypy_cache .ruff_cache tests/oidc/node_modules tests/pages/js/node_modules
