# Shouhu developer entry points.  `make help` lists them.
#
#   make test PYTEST_ARGS='-x -k pairing'   bootstrap + local infra + pytest
#   make bench BENCH_ARGS='...'             benchmark against the local infra
#   make token ARGS='...'                   python -m shared.cli token ...
#
# Recipes run in bash with -euo pipefail so a failing step fails the target.
SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help
# bootstrap must finish before infra-up (it installs PostgreSQL/Java/jars), even under `make -j`.
.NOTPARALLEL:

# Same interpreter choice as scripts/bootstrap: $PYTHON, else ./.venv (created by bootstrap when the
# system Python is distro-managed), else python, else python3. Deferred (`?=`), so it is evaluated
# after the bootstrap prerequisite has possibly created .venv.
PYTHON ?= $(if $(wildcard .venv/bin/python),.venv/bin/python,$(if $(shell command -v python),python,python3))
PYTEST_ARGS ?=
# `make test` in this many pytest processes (pytest-xdist): much of the suite waits on PostgreSQL,
# Kafka and the services, so two keep a two-core machine busy. TEST_WORKERS=0: one process.
TEST_WORKERS ?= 2
BENCH_ARGS ?=
CHAOS_ARGS ?=
ARGS ?=

# Loads the exports from `scripts/infra env` (DB URLs, Kafka bootstrap). Done in two steps so a failing
# `scripts/infra env` fails the recipe (a failed $(...) inside `eval "..."` would be ignored).
LOAD_ENV = infra_env="$$(scripts/infra env)"; eval "$$infra_env"

.PHONY: help bootstrap infra-up infra-down infra-status test test-fast security lint up down bench chaos drill token lock sbom test-kafka4

help:
	@echo 'make bootstrap     install Debian packages, Python deps (editable, [test]) and Kafka jars'
	@echo 'make infra-up      start local PostgreSQL + Kafka + Keycloak (scripts/infra up)'
	@echo 'make infra-down    stop them'
	@echo 'make infra-status  one line per component'
	@echo 'make test          bootstrap + infra-up + pytest  (PYTEST_ARGS=...)'
	@echo 'make test-fast     the tests that need no PostgreSQL or Kafka (pytest -m "not infra")'
	@echo 'make test-kafka4   the Kafka-touching tests again against a Kafka 4.x broker of their own (KAFKA4_VERSION, KAFKA4_TESTS)'
	@echo 'make lint          ruff on the code and tests, mypy --strict on shared/'
	@echo 'make security      the security suite alone: token attacks, bad input on every route, logs, start-up refusal'
	@echo 'make up / down     start / stop the service stack (scripts/stack)'
	@echo 'make bench         python -m bench against the local infra  (BENCH_ARGS=...)'
	@echo 'make chaos         faults under load on a stack with its own PostgreSQL and Kafka (<= 10 min; CHAOS_ARGS=--short)'
	@echo 'make drill         point-in-time restore of visits rehearsed with its own PostgreSQL and Kafka (~3 min; DRILL_ARGS=...)'
	@echo 'make token         python -m shared.cli token  (ARGS=...)'
	@echo 'make lock          regenerate requirements/*.lock (hashed) from pyproject.toml  (ARGS=--upgrade-package X)'
	@echo 'make sbom          CycloneDX SBOMs of the Python lock and web/ into .data/artefacts/sbom/'

bootstrap:
	scripts/bootstrap

infra-up:
	scripts/infra up

infra-down:
	scripts/infra down

infra-status:
	scripts/infra status

test: bootstrap infra-up
	$(LOAD_ENV); SHOUHU_ENV=development $(PYTHON) -m pytest -q -n $(TEST_WORKERS) --dist loadscope $(PYTEST_ARGS)

# Also part of `make test` (and so of CI): pytest collects tests/security with the rest.
security: bootstrap infra-up
	$(LOAD_ENV); SHOUHU_ENV=development $(PYTHON) -m pytest -q tests/security tests/unit/test_auth.py $(PYTEST_ARGS)

# The tests that touch Kafka most (relay, consumer loop, reconcile, a worker, ACLs on a secure
# broker) once more against Kafka 4: a broker of its own from scripts/infra (its own directory
# .data/kafka4 and ports SHOUHU_KAFKA4_PORT / _CONTROLLER_PORT, default 9192/9193) beside
# infra-up's PostgreSQL; that broker is stopped afterwards, pass or fail. ~2-3 min.
KAFKA4_VERSION ?= 4.1.1
KAFKA4_TESTS ?= tests/integration/test_outbox_relay.py tests/integration/test_consumer_loop.py \
	tests/integration/test_reconcile.py tests/pairing/test_worker_kafka.py tests/integration/test_kafka_acls.py \
	tests/unit/test_kafka_security.py tests/integration/test_stack_and_cli.py
test-kafka4: bootstrap infra-up
	$(LOAD_ENV); port="$${SHOUHU_KAFKA4_PORT:-9192}"; \
	k4=(env SHOUHU_INFRA_DIR="$$PWD/.data/kafka4" SHOUHU_KAFKA_VERSION=$(KAFKA4_VERSION) SHOUHU_KAFKA_PORT="$$port" \
	    SHOUHU_KAFKA_CONTROLLER_PORT="$${SHOUHU_KAFKA4_CONTROLLER_PORT:-9193}"); \
	"$${k4[@]}" scripts/infra kafka-up; status=0; \
	SHOUHU_ENV=development SHOUHU_KAFKA_VERSION=$(KAFKA4_VERSION) SHOUHU_TEST_KAFKA_BOOTSTRAP="127.0.0.1:$$port" \
	  SHOUHU_KAFKA_BOOTSTRAP_SERVERS="127.0.0.1:$$port" $(PYTHON) -m pytest -q $(KAFKA4_TESTS) $(PYTEST_ARGS) || status=$$?; \
	"$${k4[@]}" scripts/infra kafka-down; exit "$$status"

test-fast:
	$(PYTHON) -m pytest -q -m "not infra" $(PYTEST_ARGS)

lint: bootstrap
	$(PYTHON) -m ruff check shared services tests bench
	$(PYTHON) -m mypy --strict shared

up:
	scripts/stack up

down:
	scripts/stack down

bench: infra-up
	$(LOAD_ENV); SHOUHU_ENV=development $(PYTHON) -m bench $(BENCH_ARGS)

# Its own PostgreSQL, Kafka and stack (bench/chaos.py): nothing of infra-up's is stopped.
chaos: bootstrap
	SHOUHU_ENV=development $(PYTHON) -m bench.chaos $(CHAOS_ARGS)

# Base backup, WAL archive, recovery to T, groups rewound, reconcile --orphans (bench/restore_drill.py),
# on its own PostgreSQL and Kafka: nothing of infra-up's is touched.
drill: bootstrap
	scripts/restore-drill $(DRILL_ARGS)

token:
	SHOUHU_ENV=development $(PYTHON) -m shared.cli token $(ARGS)

# After any change to pyproject.toml's dependencies; commit requirements/*.lock with it.
lock:
	scripts/lock $(ARGS)

sbom: bootstrap
	PYTHON=$(PYTHON) scripts/sbom
