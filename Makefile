# Two commands on a fresh machine: `make run` serves the platform, `make test` checks it.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
AUTH_PORT ?= 5000

export FLASK_APP := movies_auth

.PHONY: help install run test lint clean

help:
	@echo "make run    install into $(VENV), migrate, seed, and serve movies_auth on :$(AUTH_PORT)"
	@echo "make test   run the test suite (embedded stores, or DATABASE_URL/REDIS_URL when set)"
	@echo "make lint   check style and common bugs (ruff)"
	@echo "make clean  remove the virtualenv and local data"

$(BIN)/.installed: movies_auth/pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e './movies_auth[test]'
	@touch $@

install: $(BIN)/.installed

run: install
	$(BIN)/flask app init
	@echo
	@echo "movies_auth:  http://127.0.0.1:$(AUTH_PORT)/auth/api/v1"
	@echo "Swagger UI:   http://127.0.0.1:$(AUTH_PORT)/auth/apidocs/"
	@echo
	GUNICORN_BIND=127.0.0.1:$(AUTH_PORT) $(BIN)/gunicorn -c movies_auth/gunicorn.conf.py movies_auth.wsgi:app

test: install
	$(BIN)/pytest movies_auth/tests

lint: install
	$(BIN)/ruff check movies_auth
	$(BIN)/ruff format --check movies_auth

clean:
	rm -rf $(VENV) movies_auth/src/instance
