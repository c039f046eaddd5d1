#!/usr/bin/env bash
# make soak: the isolation soak at full size (50 clients, 100 tenants, 60 s) through a
# real PgBouncer in transaction mode, on one PostgreSQL version (PG, default 17).  make
# test runs the same test for 10 s on every version.  Prints the figures for BENCHMARKS.md.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/pg.sh
V=${PG:-17}
RUN_DIR=$(mktemp -d /tmp/stash-soak.XXXXXX); chmod 755 "$RUN_DIR"
trap 'cluster_stop "$V" "$RUN_DIR/pg"; rm -rf "$RUN_DIR"' EXIT
bash scripts/install.sh install "$(pg_config_for "$V")" >"$RUN_DIR/install.log" 2>&1 \
  || { cat "$RUN_DIR/install.log"; exit 1; }
cluster_start "$V" "$RUN_DIR/pg"
STASH_SOAK_SECONDS=${STASH_SOAK_SECONDS:-60} STASH_PG_MAJOR=$V STASH_PG_BINDIR=$(pg_bindir_for "$V") \
  STASH_RUN_DIR="$RUN_DIR/it" "$PG_ROOT/venv/bin/python" -m pytest -q -s -p no:cacheprovider \
  tests/integration/test_soak.py
cat "$RUN_DIR/it/soak.json"; echo
