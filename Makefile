# Sticker Search: `make run` starts everything, `make test` runs every check. See README.md.
SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV ?= .venv
PY := $(VENV)/bin/python
PYTHON ?= python3
STAMP := $(VENV)/.installed
REQS := $(wildcard requirements/*.txt) pyproject.toml

.PHONY: help venv db db-stop migrate run test lint fuzz test-containers

help:
	@echo "make run   - set up (venv, embedded PostgreSQL, migrations, admin) and run both services"
	@echo "make test  - set up and run the linters (ruff, ruff format --check, mypy, lint-imports) and all tests"
	@echo "             (tests/repository, both services, model_training and tests/system on the embedded PostgreSQL,"
	@echo "             tests/containers with podman as root,"
	@echo "             then sticker_service on stock PostgreSQL 15)"
	@echo "make test-containers - as root: build the images and run docker-compose.yml with podman end to end"
	@echo "             (tests/containers; tools/container_base.sh makes stand-in base images where no registry is reachable)"
	@echo "make fuzz  - nightly: schemathesis on both services at depth (FUZZ_EXAMPLES=150 per operation on"
	@echo "             sticker_service, FUZZ_SEARCH_EXAMPLES=100 on search_service, FUZZ_SEED=42)"
	@echo "make db / make db-stop - start / stop the embedded PostgreSQL"

$(STAMP): $(REQS)
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet --progress-bar off -r requirements/dev.txt
	@touch $(STAMP)

venv: $(STAMP)

# Environment for the run command: .env if present, else the development values of .env.example.
ENV_FILE := $(if $(wildcard .env),.env,.env.example)

# The embedded PostgreSQL on the port of the env file (EMBEDDED_PG_PORT; one set by the caller wins), as make run
# uses it: a port set only in .env is the one started and stopped.
db: venv
	source tools/load_env.sh $(ENV_FILE) && $(PY) tools/embedded_pg.py start

db-stop:
	source tools/load_env.sh $(ENV_FILE) && $(PY) tools/embedded_pg.py stop

migrate: db
	source tools/load_env.sh $(ENV_FILE) && \
	  $(PY) -m search_service migrate --noinput && $(PY) -m sticker_service migrate --noinput

run: migrate
	ENV_FILE=$(ENV_FILE) PY=$(abspath $(PY)) tools/run_services.sh

# mypy runs once over servicekit and both services, with tools/typecheck_settings.py (both services' apps in one
# registry). Settings load with throwaway values (no connection).
MYPY_ENV := DJANGO_SETTINGS_MODULE=tools.typecheck_settings DJANGO_DEBUG=true \
  STICKER_DATABASE_URL=postgres://mypy@127.0.0.1/mypy SEARCH_DATABASE_URL=postgres://mypy@127.0.0.1/mypy

# Every check runs even when an earlier one fails; lint fails if any did. lint-imports checks the import contracts of
# pyproject.toml (no cycles between a service's parts, servicekit imports no service, the services never each other).
lint: venv
	@status=0; \
	  $(VENV)/bin/ruff check . || status=1; \
	  $(VENV)/bin/ruff format --check . || status=1; \
	  $(MYPY_ENV) $(PY) -m mypy servicekit sticker_service search_service || status=1; \
	  $(VENV)/bin/lint-imports || status=1; \
	  exit $$status

# Stops the embedded PostgreSQL afterwards when this command started it (a server it found running stays up).
test: lint venv
	@if $(PY) tools/embedded_pg.py status >/dev/null; then started=0; else started=1; fi; \
	  $(PY) tools/embedded_pg.py start || exit 1; \
	  status=0; ENV_FILE=$(ENV_FILE) PY=$(abspath $(PY)) tools/run_tests.sh || status=$$?; \
	  if [ $$started = 1 ]; then $(PY) tools/embedded_pg.py stop; fi; \
	  exit $$status

# Nightly fuzzing: schemathesis (every check) on both services, deeper than make test's 30 examples per operation,
# with a fixed seed so that a finding can be replayed. docs/reliability.md lists what it found.
FUZZ_EXAMPLES ?= 150
FUZZ_SEARCH_EXAMPLES ?= 100
FUZZ_SEED ?= 42
fuzz: venv db
	TEST_SUITES=tests/system/test_schemathesis.py SCHEMATHESIS_MAX_EXAMPLES=$(FUZZ_EXAMPLES) \
	  SCHEMATHESIS_MAX_EXAMPLES_SEARCH_SERVICE=$(FUZZ_SEARCH_EXAMPLES) SCHEMATHESIS_SEED=$(FUZZ_SEED) \
	  ENV_FILE=$(ENV_FILE) PY=$(abspath $(PY)) tools/run_tests.sh

# The compose stack for real (docs/deployment.md): tools/container_base.sh (host set-up, stand-in base images), then
# tests/containers builds both images and drives docker-compose.yml with podman-compose. Root only; make test runs it
# last (as root), this target alone.
test-containers: venv
	$(PY) -m pytest tests/containers -v -s
