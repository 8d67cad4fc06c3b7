# Two commands on a fresh machine: `make run` serves the platform, `make test` checks it.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
AUTH_PORT ?= 5000
MOVIES_PORT ?= 8000
DEMO_FILMS ?= 1000
# `make bench` creates its own databases on this server and wipes this Redis database and the next.
BENCH_DATABASE_URL ?= postgresql://postgres@127.0.0.1:5432/postgres
BENCH_REDIS_URL ?= redis://127.0.0.1:6379/10
BENCH_ARGS ?=

export FLASK_APP := movies_auth

.PHONY: help install run test test-ha bench lint certs clean

help:
	@echo "make run    install into $(VENV), prepare both services and serve them: auth :$(AUTH_PORT), movies :$(MOVIES_PORT)"
	@echo "make test   run the test suites: both services, then the deployment (embedded stores, or DATABASE_URL/REDIS_URL)"
	@echo "make test-ha  Redis Cluster and Sentinel, a PostgreSQL replica and failovers, started on loopback ports 7100-7199"
	@echo "make bench  measure both services under load (wrk) against a constant-JSON baseline; real PostgreSQL and Redis"
	@echo "make lint   check style and common bugs (ruff)"
	@echo "make certs  a self-signed TLS pair in nginx/certs for nginx (docker compose, local use)"
	@echo "make clean  remove the virtualenv and local data"

$(BIN)/.installed: movies_auth/pyproject.toml movies_async_api/pyproject.toml tests/requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e './movies_auth[test]' -e './movies_async_api[test]' -r tests/requirements.txt
	@touch $@

install: $(BIN)/.installed

run: install
	$(BIN)/flask app init
	$(BIN)/movies-api init
	$(BIN)/movies-api demo --films $(DEMO_FILMS)
	@echo
	@echo "movies_auth:  http://127.0.0.1:$(AUTH_PORT)/auth/api/v1   (Swagger UI: /auth/apidocs/)"
	@echo "movies API:   http://127.0.0.1:$(MOVIES_PORT)/api/v1/films   (docs: /api/openapi)"
	@echo
	@# Both run until Ctrl-C. Each outlives the other, so you can stop movies_auth and watch the API degrade.
	@# The movies API authenticates to movies_auth as service movies-api, with a secret made for this run.
	@secret=$$($(BIN)/python -c 'import secrets; print(secrets.token_urlsafe(32))'); \
	registered=$$(MOVIES_API_SECRET=$$secret $(BIN)/flask services ensure movies-api --secret-env MOVIES_API_SECRET 2>&1) \
		|| { echo "$$registered" >&2; exit 1; }; \
	trap 'kill $$(jobs -p) 2>/dev/null' EXIT; \
	GUNICORN_BIND=127.0.0.1:$(AUTH_PORT) $(BIN)/gunicorn -c movies_auth/gunicorn.conf.py movies_auth.wsgi:app & \
	AUTH_SERVICE_SECRET=$$secret AUTH_SERVICE_URL=http://127.0.0.1:$(AUTH_PORT) GUNICORN_BIND=127.0.0.1:$(MOVIES_PORT) \
		$(BIN)/gunicorn -c movies_async_api/gunicorn.conf.py movies_async_api.main:app & \
	wait

test: install
	$(BIN)/pytest movies_auth/tests
	$(BIN)/pytest movies_async_api/tests
	$(BIN)/pytest tests

test-ha: install
	$(BIN)/pytest tests/ha

bench: install
	$(BIN)/pip install --quiet -r bench/requirements.txt
	DATABASE_URL=$(BENCH_DATABASE_URL) REDIS_URL=$(BENCH_REDIS_URL) $(BIN)/python bench/run.py $(BENCH_ARGS)

lint: install
	$(BIN)/ruff check movies_auth movies_async_api tests bench
	$(BIN)/ruff format --check movies_auth movies_async_api tests bench

certs:
	nginx/make-certs nginx/certs

clean:
	rm -rf $(VENV) movies_auth/src/instance movies_async_api/src/instance
