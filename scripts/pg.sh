# Shared shell helpers: where each PostgreSQL lives, and throwaway clusters.
# Sourced by scripts/test.sh (and the demo/bench scripts); not run on its own.
PG_ROOT="${PG_ROOT:-/opt/stash-pg}"
export PATH="$HOME/.cargo/bin:$PATH"

pg_config_for() {  # $1 = major
  case "$1" in
    15) echo /usr/lib/postgresql/15/bin/pg_config ;;
    16) echo "$PG_ROOT/16-pgserver/pgserver/pginstall/bin/pg_config" ;;
    17|18) echo "$PG_ROOT/$1/bin/pg_config" ;;
    *) echo "unsupported PostgreSQL version: $1 (supported: 15 16 17 18)" >&2; return 1 ;;
  esac
}
pg_bindir_for() { "$(pg_config_for "$1")" --bindir; }

# The one version a demo or benchmark runs on: $PG, or 17 when $PG is a list (the demo and
# the benchmarks' smoke runs inside `make test` inherit PG="15 16 17 18").
single_pg_version() { case "${PG:-17}" in *" "*) echo 17 ;; *) echo "${PG:-17}" ;; esac; }

# One psql for every server version, so expected output does not depend on the client.
PSQL="${PSQL:-/usr/lib/postgresql/15/bin/psql}"

# The clusters run as `postgres`: initdb refuses root.
as_pg() { if [ "$(id -u)" = 0 ]; then sudo -u postgres -- "$@"; else "$@"; fi; }

# cluster_start MAJOR DIR: initdb + start a cluster listening only on a unix socket in DIR,
# so it can never collide with another server's port.  Sets PGHOST, PGPORT, PGUSER.
cluster_start() {
  local major=$1 dir=$2 bindir
  bindir=$(pg_bindir_for "$major")
  rm -rf "$dir"; mkdir -p "$dir"
  [ "$(id -u)" = 0 ] && chown postgres: "$dir"
  as_pg "$bindir/initdb" -D "$dir/data" -U postgres --auth=trust --no-sync -E UTF8 \
    --locale=C >"$dir/initdb.log" 2>&1 || { cat "$dir/initdb.log"; return 1; }
  as_pg "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w \
    -o "-c listen_addresses='' -k $dir -p 5432 -c fsync=off -c max_connections=60" \
    start >/dev/null || { cat "$dir/server.log"; return 1; }
  export PGHOST=$dir PGPORT=5432 PGUSER=postgres
}
cluster_stop() {  # $1 = major, $2 = dir
  [ -d "$2/data" ] && as_pg "$(pg_bindir_for "$1")/pg_ctl" -D "$2/data" -m immediate stop >/dev/null 2>&1
  return 0
}
