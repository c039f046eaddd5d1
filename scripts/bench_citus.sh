#!/usr/bin/env bash
# make bench-citus [PG=17]: scripts/bench_citus.py at full size (writes bench/citus.md);
# `smoke` runs it at a tiny size into a temp file (make test), so it cannot rot.
set -uo pipefail
cd "$(dirname "$0")/.."
source scripts/pg.sh
MODE=${1:-full}
PGV=$(single_pg_version)
cfg=$(pg_config_for "$PGV") || exit 2
citus_installed "$PGV" || { citus_missing_reason "$PGV" >&2; exit 2; }
if [ "$MODE" = full ]; then
  bash scripts/install.sh install "$cfg" --release >/dev/null || exit 1
  exec "$PG_ROOT/venv/bin/python" scripts/bench_citus.py "$(pg_bindir_for "$PGV")" bench/citus.md \
    "${BENCH_CITUS_TENANTS:-200}" "${BENCH_CITUS_ROUNDS:-3}"
fi
out=$(mktemp)
"$PG_ROOT/venv/bin/python" scripts/bench_citus.py "$(pg_bindir_for "$PGV")" "$out" 4 1
rc=$?
rm -f "$out"
exit $rc
