#!/usr/bin/env bash
# make bench [PG=17]: every benchmark of BENCHMARKS.md, side by side with its baseline in
# the same run, on a throwaway cluster; rewrites BENCHMARKS.md.
# make bench-smoke: the same code at tiny sizes (seconds), run by make test so it cannot rot.
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
source scripts/pg.sh
MODE=${1:-full}
PGV=${PG:-17}
case "$PGV" in *" "*) PGV=17 ;; esac
pg_config_for "$PGV" >/dev/null || exit 2
PGB="$(pg_bindir_for "$PGV")/pgbench"

if [ "$MODE" = full ]; then
  FLEET=10000 N_MID=1000 N_SMALL=10 DUR=30 RUNS=3 CLIENTS=4 N_PROV=1000 N_DROP=20 PROFILE=--release
else
  FLEET=200 N_MID=50 N_SMALL=10 DUR=2 RUNS=1 CLIENTS=2 N_PROV=10 N_DROP=3 PROFILE=
fi

DIR=$(mktemp -d /tmp/stash-bench.XXXXXX)
chmod 755 "$DIR"
cleanup() { cluster_stop "$PGV" "$DIR/pg"; rm -rf "$DIR"; }
trap cleanup EXIT
trap 'exit 130' INT TERM
RES="$DIR/results"
: >"$RES"
FAILED=0
note() { printf '%s\t%s\n' "$1" "$2" >>"$RES"; printf '  %-44s %s\n' "$1" "$2"; }
fail() { echo "!! $*"; FAILED=1; }
now_ns() { date +%s%N; }
secs() { python3 -c "print(f'{($2 - $1) / 1e9:.3f}')" ; }   # secs T0 T1
median() { python3 -c "import statistics,sys; print(f'{statistics.median(map(float, sys.argv[1:])):.3f}')" "$@"; }
ratio() { python3 -c "import sys; a, b = map(float, sys.argv[1:]); print(f'{a / b:.3f}' if b else 'n/a')" "$1" "$2"; }
P() { "$PSQL" -X -q -At -v ON_ERROR_STOP=1 "$@"; }

echo "== stash_tenancy benchmarks ($MODE) on PostgreSQL $PGV"
cargo pgrx install $PROFILE --pg-config "$(pg_config_for "$PGV")" >"$DIR/install.log" 2>&1 \
  || { cat "$DIR/install.log"; exit 1; }
cluster_start "$PGV" "$DIR/pg" || exit 1
P -d postgres -c "ALTER SYSTEM SET shared_buffers = '512MB'" -c "ALTER SYSTEM SET max_connections = 60" \
  -c "ALTER SYSTEM SET fsync = off" -c "ALTER SYSTEM SET synchronous_commit = off" >/dev/null
as_pg "$(pg_bindir_for "$PGV")/pg_ctl" -D "$DIR/pg/data" -w -m fast restart >/dev/null \
  -o "-c listen_addresses='' -k $DIR/pg -p 5432" -l "$DIR/pg/server.log" || exit 1
P -d postgres -c "CREATE DATABASE bench" -c "CREATE DATABASE prov" >/dev/null
P -d bench -c "CREATE EXTENSION stash_tenancy" -f bench/setup.sql >/dev/null || exit 1

# ---- the fleet ------------------------------------------------------------------------------
echo "-- creating $FLEET tenants (1-table template), one transaction each"
seq 1 "$FLEET" | sed "s/.*/SELECT 1 FROM stash.tenant_create('t&');/" >"$DIR/fleet.sql"
t0=$(now_ns); P -d bench -f "$DIR/fleet.sql" >/dev/null || fail "fleet creation"; t1=$(now_ns)
note "fleet.create_s" "$(secs "$t0" "$t1")"
P -d bench -c "VACUUM ANALYZE" >/dev/null

# ---- 1+2. context switch ----------------------------------------------------------------------
pgb() {  # pgb SCRIPT NTENANTS -> tps
  "$PGB" -n -M prepared -c "$CLIENTS" -j 2 -T "$DUR" -D ntenants="$2" -f "bench/$1.sql" bench 2>"$DIR/pgb.err" \
    | sed -n 's/^tps = \([0-9.]*\).*/\1/p' | head -1
}
echo "-- context switch: $RUNS interleaved runs x ${DUR}s, $CLIENTS clients, random tenant among $N_MID"
declare -A TPS
for run in $(seq 1 "$RUNS"); do
  for v in enter_set_local enter_stash enter_plpgsql; do
    tps=$(pgb "$v" "$N_MID"); [ -n "$tps" ] || { fail "pgbench $v"; cat "$DIR/pgb.err"; tps=0; }
    TPS[$v]="${TPS[$v]:-} $tps"; echo "   run $run $v: $tps tps"
  done
  # (b) at two fleet sizes, with the floor (a) at the same sizes as the control: what the
  # server itself loses with more tenants (catalog caches) is not tenant_enter's cost
  for n in "$N_SMALL" "$FLEET"; do
    for v in enter_stash enter_set_local; do
      tps=$(pgb "$v" "$n"); [ -n "$tps" ] || { fail "pgbench $v n=$n"; tps=0; }
      TPS[${v}_$n]="${TPS[${v}_$n]:-} $tps"; echo "   run $run $v among $n: $tps tps"
    done
  done
done
a=$(median ${TPS[enter_set_local]}) b=$(median ${TPS[enter_stash]}) c=$(median ${TPS[enter_plpgsql]})
note "enter.tps.set_local" "$a"; note "enter.tps.stash" "$b"; note "enter.tps.plpgsql" "$c"
note "enter.ratio.stash_over_set_local" "$(ratio "$b" "$a")"
note "enter.ratio.stash_over_plpgsql" "$(ratio "$b" "$c")"
s=$(median ${TPS[enter_stash_$N_SMALL]}) l=$(median ${TPS[enter_stash_$FLEET]})
note "enter.tps.stash_among_$N_SMALL" "$s"; note "enter.tps.stash_among_$FLEET" "$l"
note "enter.ratio.large_over_small" "$(ratio "$l" "$s")"
s=$(median ${TPS[enter_set_local_$N_SMALL]}) l=$(median ${TPS[enter_set_local_$FLEET]})
note "enter.tps.set_local_among_$N_SMALL" "$s"; note "enter.tps.set_local_among_$FLEET" "$l"
note "enter.ratio.set_local_large_over_small" "$(ratio "$l" "$s")"

# memory of one backend that enters every tenant once
P -d bench >"$DIR/mem.out" <<SQL || fail "memory"
SELECT substring(pg_read_file('/proc/self/status') from 'RssAnon:\s+(\d+)');
BEGIN;
DO \$\$ BEGIN FOR i IN 1..$FLEET LOOP PERFORM stash.tenant_enter('t' || i); END LOOP; END \$\$;
COMMIT;
SELECT substring(pg_read_file('/proc/self/status') from 'RssAnon:\s+(\d+)');
SQL
note "enter.backend_rss_anon_kb.before" "$(sed -n 1p "$DIR/mem.out")"
note "enter.backend_rss_anon_kb.after_${FLEET}_enters" "$(sed -n 2p "$DIR/mem.out")"

# ---- 4. fleet migration --------------------------------------------------------------------------
echo "-- fleet migration over $FLEET tenants"
runs=()
for i in 1 2 3; do
  t0=$(now_ns); P -d bench -c "CALL stash.migrate_all()" 2>/dev/null || fail "migrate_all"; t1=$(now_ns)
  runs+=("$(secs "$t0" "$t1")")
done
note "migrate_all.nothing_pending_s" "$(median "${runs[@]}")"
version=2
for sessions in 1 2 4; do
  P -d bench -c "SELECT stash.migration_add($version, 'c$version', 'ALTER TABLE items ADD COLUMN c$version int')" >/dev/null
  t0=$(now_ns)
  for s in $(seq 1 "$sessions"); do P -d bench -c "CALL stash.migrate_all()" 2>"$DIR/ma$s.log" & done
  wait || true
  t1=$(now_ns)
  done_n=$(P -d bench -c "SELECT count(*) FROM stash.ledger WHERE version = $version")
  [ "$done_n" = "$FLEET" ] || fail "migrate_all with $sessions sessions reached $done_n of $FLEET"
  grep -h "ERROR" "$DIR"/ma*.log && fail "migrate_all errors"
  note "migrate_all.alter.sessions_$sessions.per_s" "$(python3 -c "print(f'{$FLEET / (($t1 - $t0) / 1e9):.0f}')")"
  version=$((version + 1))
done
P -d bench -c "SELECT format('SET search_path = %I; ALTER TABLE items ADD COLUMN baseline int;', schema_name) FROM stash.tenants" >"$DIR/loop.sql"
t0=$(now_ns); P -d bench -f "$DIR/loop.sql" >/dev/null || fail "client loop"; t1=$(now_ns)
note "migrate_all.alter.client_loop.per_s" "$(python3 -c "print(f'{$FLEET / (($t1 - $t0) / 1e9):.0f}')")"

# ---- 3+5. provisioning and drop ------------------------------------------------------------------
echo "-- provisioning $N_PROV tenants with the 8-table template vs the same DDL raw"
P -d prov -v tpl="$(cat tests/fixtures/document_pipeline.sql)" >/dev/null <<'SQL' || fail "prov setup"
CREATE EXTENSION stash_tenancy;
SELECT stash.migration_add(1, 'document_pipeline', :'tpl');
SQL
half=$((N_PROV / 2))
gen_stash() { seq "$1" "$2" | sed "s/.*/SELECT 1 FROM stash.tenant_create('p&');/"; }
gen_raw() {
  for i in $(seq "$1" "$2"); do
    printf 'BEGIN;\nCREATE SCHEMA raw_%s;\nSET LOCAL search_path = raw_%s;\n' "$i" "$i"
    cat tests/fixtures/document_pipeline.sql; printf '\nCOMMIT;\n'
  done
}
timed() { local t0 t1; t0=$(now_ns); P -d prov -f "$1" >/dev/null || fail "$1"; t1=$(now_ns); secs "$t0" "$t1"; }
gen_raw 1 "$half" >"$DIR/raw1.sql"; gen_raw $((half + 1)) "$N_PROV" >"$DIR/raw2.sql"
gen_stash 1 "$half" >"$DIR/st1.sql"; gen_stash $((half + 1)) "$N_PROV" >"$DIR/st2.sql"
# raw, stash, stash, raw: drift over the run (catalog growth, cache warmth) hits both alike
r1=$(timed "$DIR/raw1.sql"); s1=$(timed "$DIR/st1.sql"); s2=$(timed "$DIR/st2.sql"); r2=$(timed "$DIR/raw2.sql")
raw_s=$(python3 -c "print($r1 + $r2)"); st_s=$(python3 -c "print($s1 + $s2)")
note "create.raw_ddl.per_s" "$(python3 -c "print(f'{$N_PROV / $raw_s:.1f}')")"
note "create.tenant_create.per_s" "$(python3 -c "print(f'{$N_PROV / $st_s:.1f}')")"
note "create.ratio.time_over_raw" "$(ratio "$st_s" "$raw_s")"
{ echo '\timing on'; seq 1 "$N_DROP" | sed "s/.*/SELECT stash.tenant_drop('p&');/"; } \
  | P -d prov 2>&1 | sed -n 's/^Time: \([0-9.]*\) ms.*/\1/p' >"$DIR/drop.ms"
{ echo '\timing on'; seq 1 "$N_DROP" | sed "s/.*/DROP SCHEMA raw_& CASCADE;/"; } \
  | P -d prov 2>&1 | sed -n 's/^Time: \([0-9.]*\) ms.*/\1/p' >"$DIR/rawdrop.ms"
[ "$(wc -l <"$DIR/drop.ms")" = "$N_DROP" ] || fail "tenant_drop"
note "drop.tenant_drop.median_ms" "$(median $(cat "$DIR/drop.ms"))"
note "drop.raw_drop_schema.median_ms" "$(median $(cat "$DIR/rawdrop.ms"))"
note "settings.max_locks_per_transaction" "$(P -d bench -c 'SHOW max_locks_per_transaction')"

if [ $FAILED != 0 ]; then echo "== bench ($MODE): FAILED"; exit 1; fi
if [ "$MODE" = full ]; then
  PG_VERSION=$(P -d bench -c 'SHOW server_version') python3 scripts/bench_report.py "$RES" >BENCHMARKS.md
  echo "== wrote BENCHMARKS.md"
fi
echo "== bench ($MODE): every step ran"
