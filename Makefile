# Sticker Search: `make run` starts everything, `make test` runs every check. See README.md.
SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV ?= .venv
PY := $(VENV)/bin/python
PYTHON ?= python3
STAMP := $(VENV)/.installed
REQS := $(wildcard requirements/*.txt) pyproject.toml

.PHONY: help venv db db-stop migrate bootstrap run test test-search test-sticker test-sticker-pg15 lint

help:
	@echo "make run   - set up (venv, embedded PostgreSQL, migrations, admin) and run both services"
	@echo "make test  - set up and run ruff and all tests (both services and tests/system on the embedded PostgreSQL,"
	@echo "             then sticker_service on stock PostgreSQL 15 if present)"
	@echo "make db / make db-stop - start / stop the embedded PostgreSQL"

$(STAMP): $(REQS)
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet --progress-bar off -r requirements/dev.txt
	$(PY) -m pip install --quiet --no-deps --no-build-isolation -e .
	@touch $(STAMP)

venv: $(STAMP)

db: venv
	$(PY) tools/embedded_pg.py start

db-stop:
	$(PY) tools/embedded_pg.py stop

# Environment for the run command: .env if present, else the development values of .env.example.
ENV_FILE := $(if $(wildcard .env),.env,.env.example)

migrate: db
	set -a && source $(ENV_FILE) && set +a && \
	  (cd search_service && ../$(PY) manage.py migrate --noinput) && \
	  (cd sticker_service && ../$(PY) manage.py migrate --noinput)

run: migrate
	ENV_FILE=$(ENV_FILE) PY=$(abspath $(PY)) tools/run_services.sh

lint: venv
	$(VENV)/bin/ruff check .

test: lint db
	ENV_FILE=$(ENV_FILE) PY=$(abspath $(PY)) tools/run_tests.sh
