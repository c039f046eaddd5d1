# stash_tenancy — the two commands users need are `make setup` and `make test`.
SHELL := /bin/bash
PG ?= 15 16 17 18
# Version used for once-only work (clippy, demo, bench).
PG_DEFAULT ?= 17

.PHONY: setup test lint test-pg regress install package help

help:
	@echo "make setup            install toolchain + PostgreSQL 15-18 (root, idempotent)"
	@echo "make test [PG=17]     lint + every test on every (or one) PostgreSQL version"
	@echo "make install PG_CONFIG=/path/to/pg_config   install into a PostgreSQL 15-18"

setup:
	@bash scripts/setup.sh

test:
	@bash scripts/test.sh $(PG)

lint:
	@bash scripts/test.sh --lint-only

install:
	@test -n "$(PG_CONFIG)" || { echo "usage: make install PG_CONFIG=/path/to/pg_config" >&2; exit 2; }
	cargo pgrx install --release --pg-config "$(PG_CONFIG)"

package:
	@test -n "$(PG_CONFIG)" || { echo "usage: make package PG_CONFIG=/path/to/pg_config" >&2; exit 2; }
	cargo pgrx package --pg-config "$(PG_CONFIG)"
