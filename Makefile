# stash_tenancy — the two commands users need are `make setup` and `make test`.
SHELL := /bin/bash
PG ?= 15 16 17 18
# Version used for once-only work (clippy, demo, bench).
PG_DEFAULT ?= 17
# The one version a demo or benchmark runs on: PG when given on the command line, else
# PG_DEFAULT (not PG's list of every version).
ONE_PG = $(if $(filter command line,$(origin PG)),$(PG),$(PG_DEFAULT))
# Where make setup put PostgreSQL and the Python venv (psycopg, PyJWT) the scripts run with.
PG_ROOT ?= /opt/stash-pg
PYTHON = $(PG_ROOT)/venv/bin/python

.PHONY: setup test lint install package demo demo-citus bench-citus psql bench bench-smoke bench-memory bench-ops soak cli help

help:
	@echo "make setup            install toolchain + PostgreSQL 15-18 (root, idempotent)"
	@echo "make test [PG=17]     lint + every test on every (or one) PostgreSQL version"
	@echo "make demo [PG=17]     walk through a real session on a throwaway cluster"
	@echo "make demo-citus [PG=17] a tenant on a throwaway Citus cluster (1 + 2 nodes), moved while queried"
	@echo "make psql [PG=17]     psql on a throwaway cluster with the extension created"
	@echo "make bench [PG=17]    every benchmark at 10,000 tenants; rewrites BENCHMARKS.md"
	@echo "make bench-smoke      the benchmarks at tiny sizes (part of make test)"
	@echo "make bench-memory     stash.cache_limit at 10,000 8-table tenants (writes bench/memory.md)"
	@echo "make bench-ops        tenant_clone and tenant_verify (writes bench/ops.md)"
	@echo "make bench-citus      tenant_create and migrate_all on a 1 + 2 Citus cluster vs one node (writes bench/citus.md)"
	@echo "make soak [PG=17]     isolation soak: 50 clients, 100 tenants, 60 s through PgBouncer"
	@echo "make cli              build the stash command-line tool into target/release/stash"
	@echo "make install PG_CONFIG=/path/to/pg_config   install into a PostgreSQL 15-18"
	@echo "make package PG_CONFIG=/path/to/pg_config [PKG_DIR=dir]   a tree to copy onto a server: cp -r dir/. /"

setup:
	@env -u MAKELEVEL -u MAKEFLAGS -u MFLAGS bash scripts/setup.sh

test:
	@bash scripts/test.sh $(PG)

demo:
	@PG="$(ONE_PG)" bash scripts/demo.sh demo

demo-citus:
	@PG="$(ONE_PG)" bash scripts/demo_citus.sh

bench-citus:
	@PG="$(ONE_PG)" bash scripts/bench_citus.sh full

psql:
	@PG="$(ONE_PG)" bash scripts/demo.sh psql

bench:
	@PG="$(ONE_PG)" "$(PYTHON)" scripts/bench.py full

bench-smoke:
	@PG="$(ONE_PG)" "$(PYTHON)" scripts/bench.py smoke

bench-memory:
	@PG="$(ONE_PG)" bash scripts/bench_memory.sh full

bench-ops:
	@PG="$(ONE_PG)" bash scripts/bench_ops.sh full

soak:
	@PG="$(ONE_PG)" bash scripts/soak.sh

cli:
	@cargo build --release --manifest-path cli/Cargo.toml --target-dir target

lint:
	@bash scripts/test.sh --lint-only

install:
	@test -n "$(PG_CONFIG)" || { echo "usage: make install PG_CONFIG=/path/to/pg_config" >&2; exit 2; }
	@bash scripts/install.sh install "$(PG_CONFIG)" --release

package:
	@test -n "$(PG_CONFIG)" || { echo "usage: make package PG_CONFIG=/path/to/pg_config" >&2; exit 2; }
	@bash scripts/install.sh package "$(PG_CONFIG)" $(PKG_DIR)
