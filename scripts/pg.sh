# Shared shell helpers: where each PostgreSQL lives, and throwaway clusters.
# Sourced by scripts/test.sh (and the demo/bench scripts); not run on its own.
PG_ROOT="${PG_ROOT:-/opt/stash-pg}"
export PATH="$HOME/.cargo/bin:$PATH"
# A setup into another prefix (PG_ROOT=/opt/stash-fresh make setup) keeps its own cargo-pgrx
# configuration, so it never repoints the default prefix's (~/.pgrx) at its PostgreSQLs.
[ "$PG_ROOT" = /opt/stash-pg ] || export PGRX_HOME="${PGRX_HOME:-$PG_ROOT/pgrx}"

# make setup records, per version, which route of scripts/pg_sources.sh installed it and where.
pg_config_for() {  # $1 = major
  local cfg
  case "$1" in
    15|16|17|18) ;;
    *) echo "unsupported PostgreSQL version: $1 (supported: 15 16 17 18)" >&2; return 1 ;;
  esac
  cfg=$(sed -n 's/^pg_config=//p' "$PG_ROOT/pg$1.source" 2>/dev/null)
  if [ -z "$cfg" ] || ! [ -x "$cfg" ]; then
    echo "PostgreSQL $1 is not installed under $PG_ROOT (no $PG_ROOT/pg$1.source): run make setup" >&2
    return 1
  fi
  echo "$cfg"
}
pg_source_for() { sed -n 's/^route=//p' "$PG_ROOT/pg$1.source" 2>/dev/null; }
pg_bindir_for() { "$(pg_config_for "$1")" --bindir; }

# Citus is never installed by this project (docs/scale-out.md says how a user installs it):
# the Citus suites run where citus.so is in the PostgreSQL under test, and skip elsewhere.
citus_installed() { [ -f "$("$(pg_config_for "$1")" --pkglibdir)/citus.so" ]; }
citus_missing_reason() { echo "Citus not installed in PG $1 (docs/scale-out.md: installing Citus)"; }

# The one version a demo or benchmark runs on: $PG, or 17 when $PG is a list (the demo and
# the benchmarks' smoke runs inside `make test` inherit PG="15 16 17 18").
single_pg_version() { case "${PG:-17}" in *" "*) echo 17 ;; *) echo "${PG:-17}" ;; esac; }

# One psql for every server version, so expected output does not depend on the client.
[ -n "${PSQL:-}" ] || PSQL="$(pg_bindir_for 15 2>/dev/null)/psql"
[ -x "$PSQL" ] || PSQL=$(command -v psql || echo psql)
export PSQL

# The clusters run as `postgres`: initdb refuses root.
as_pg() { if [ "$(id -u)" = 0 ]; then sudo -u postgres -- "$@"; else "$@"; fi; }

# cluster_start MAJOR DIR: initdb + start a cluster listening only on a unix socket in DIR,
# so it can never collide with another server's port.  Sets PGHOST, PGPORT, PGUSER.
# The server runs with RUST_BACKTRACE=1: were a Rust backtrace ever to reach an error's
# DETAIL again, the tests would see it (tests/integration/test_wall_doors.py).
cluster_start() {
  local major=$1 dir=$2 bindir
  bindir=$(pg_bindir_for "$major")
  rm -rf "$dir"; mkdir -p "$dir"
  [ "$(id -u)" = 0 ] && chown postgres: "$dir"
  as_pg "$bindir/initdb" -D "$dir/data" -U postgres --auth=trust --no-sync -E UTF8 \
    --locale=C >"$dir/initdb.log" 2>&1 || { cat "$dir/initdb.log"; return 1; }
  as_pg env RUST_BACKTRACE=1 "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w \
    -o "-c listen_addresses='' -k $dir -p 5432 -c fsync=off -c max_connections=60" \
    start >/dev/null || { cat "$dir/server.log"; return 1; }
  export PGHOST=$dir PGPORT=5432 PGUSER=postgres
}
cluster_stop() {  # $1 = major, $2 = dir
  [ -d "$2/data" ] && as_pg "$(pg_bindir_for "$1")/pg_ctl" -D "$2/data" -m immediate stop >/dev/null 2>&1
  return 0
}
