#!/usr/bin/env bash
# make demo-citus [PG=17]: installs the extension into PostgreSQL $PG (which must have
# Citus installed: docs/scale-out.md) and runs scripts/demo_citus.py on a throwaway
# coordinator + two workers.
set -uo pipefail
cd "$(dirname "$0")/.."
source scripts/pg.sh
PGV=$(single_pg_version)
cfg=$(pg_config_for "$PGV") || exit 2
citus_installed "$PGV" || { citus_missing_reason "$PGV" >&2; exit 2; }
echo "== building and installing stash_tenancy into PostgreSQL $PGV"
log=$(mktemp)
cargo pgrx install --pg-config "$cfg" >"$log" 2>&1 || { cat "$log"; rm -f "$log"; exit 1; }
rm -f "$log"
exec "$PG_ROOT/venv/bin/python" scripts/demo_citus.py "$(pg_bindir_for "$PGV")"
