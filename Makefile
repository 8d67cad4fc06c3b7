# Two commands on a fresh machine: `make run` serves the platform, `make test` checks it.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
AUTH_PORT ?= 5000
MOVIES_PORT ?= 8000
# Where `make run` keeps its servers' PIDs.
RUN_DIR ?= .run
DOCS_PORT ?= 8001
# Set to load a demo catalogue of that many films in place of the current one; unset, one is made only when empty.
DEMO_FILMS ?=
# `make bench` creates its own databases on this server and wipes this Redis database and the next.
BENCH_DATABASE_URL ?= postgresql://postgres@127.0.0.1:5432/postgres
BENCH_REDIS_URL ?= redis://127.0.0.1:6379/10
BENCH_ARGS ?=
# Material loads Mermaid from a CDN unless the page already has it: the pinned copy from npm comes with the site.
MERMAID_VERSION := 11.17.2
MERMAID_JS := docs/assets/javascripts/mermaid.min.js

export FLASK_APP := movies_auth

.PHONY: help install run stop-auth test test-fast test-deploy test-ha docs docs-build bench lint certs clean

help:
	@echo "make run    install into $(VENV), prepare both services and serve them: auth :$(AUTH_PORT), movies :$(MOVIES_PORT)"
	@echo "make stop-auth  stop the movies_auth of make run alone: the movies API answers degraded"
	@echo "make docs   serve the documentation site on :8001 (mkdocs), rebuilt as it changes"
	@echo "make test   run both services' and the client library's suites (one pytest, $(TEST_WORKERS) workers; a bare \`pytest\` also runs tests/)"
	@echo "make test-fast  the unit level (pytest -m unit), for the edit-test loop: under a minute"
	@echo "make test-deploy  the deployment: nginx, compose, the production shape, the browser, the docs site"
	@echo "make test-ha  Redis Cluster and Sentinel, a PostgreSQL replica and failovers, started on loopback ports 7100-7199"
	@echo "make bench  measure both services under load (wrk) against a constant-JSON baseline; real PostgreSQL and Redis"
	@echo "make lint   check style and common bugs (ruff), and types (mypy, mypy.ini)"
	@echo "make certs  a self-signed TLS pair in nginx/certs for nginx (docker compose, local use)"
	@echo "make clean  remove the virtualenv and local data"

$(BIN)/.installed: movies_auth/pyproject.toml movies_auth_client/pyproject.toml movies_async_api/pyproject.toml \
		testkit/pyproject.toml tests/requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e './movies_auth[test]' -e './movies_auth_client[test]' -e './movies_async_api[test]' \
		-e ./testkit -r tests/requirements.txt
	@touch $@

install: $(BIN)/.installed

run: install
	@BIN=$(BIN) AUTH_PORT=$(AUTH_PORT) MOVIES_PORT=$(MOVIES_PORT) RUN_DIR=$(RUN_DIR) DEMO_FILMS=$(DEMO_FILMS) \
		scripts/serve-local

stop-auth:
	@test -s $(RUN_DIR)/movies_auth.pid || { echo "movies_auth is not running under make run" >&2; exit 1; }
	kill -TERM $$(cat $(RUN_DIR)/movies_auth.pid)
	@echo "movies_auth stopped; the movies API now serves every caller as anonymous, with X-Auth-Degraded: 1."

# The suites and their markers are set in pytest.ini; docs/development.md says which target runs what.
CODE_SUITES := movies_auth/tests movies_auth_client/tests movies_async_api/tests
# `make test` runs the suites in this many pytest-xdist workers, each on stores of its own (testkit.stores), whole
# files at a time so that a module's fixtures start once. At most 4; TEST_WORKERS=0 runs them in one process.
# Files go out in the order above, not biggest first: each worker then runs the suites in the order one process
# does, which matters because an app a suite creates configures the process's logging for every app after it.
TEST_WORKERS ?= 2

test: install
	$(BIN)/pytest -n $(TEST_WORKERS) --dist loadfile --no-loadscope-reorder $(CODE_SUITES)

test-fast: install
	$(BIN)/pytest -m unit

test-deploy: install $(BIN)/.docs-installed $(MERMAID_JS)
	$(BIN)/pytest tests

test-ha: install
	$(BIN)/pytest tests/ha

$(BIN)/.docs-installed: docs/requirements.txt $(BIN)/.installed
	$(BIN)/pip install --quiet -r docs/requirements.txt
	@touch $@

$(MERMAID_JS):
	@mkdir -p $(@D)
	cd $(@D) && npm pack --silent mermaid@$(MERMAID_VERSION) >/dev/null \
		&& tar -xzf mermaid-$(MERMAID_VERSION).tgz package/dist/mermaid.min.js \
		&& mv package/dist/mermaid.min.js . && rm -rf package mermaid-$(MERMAID_VERSION).tgz

docs-build: $(BIN)/.docs-installed $(MERMAID_JS)
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --site-dir $(VENV)/site

docs: $(BIN)/.docs-installed $(MERMAID_JS)
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs serve --dev-addr 127.0.0.1:$(DOCS_PORT)

bench: install
	$(BIN)/pip install --quiet -r bench/requirements.txt
	DATABASE_URL=$(BENCH_DATABASE_URL) REDIS_URL=$(BENCH_REDIS_URL) $(BIN)/python bench/run.py $(BENCH_ARGS)

lint: install
	$(BIN)/ruff check movies_auth movies_auth_client movies_async_api tests testkit bench conftest.py
	$(BIN)/ruff format --check movies_auth movies_auth_client movies_async_api tests testkit bench conftest.py
	$(BIN)/mypy

certs:
	nginx/make-certs nginx/certs

clean:
	rm -rf $(VENV) $(RUN_DIR) $(MERMAID_JS) movies_auth/src/instance movies_async_api/src/instance
