#!/usr/bin/env bash
# make bench [PG=17]: every benchmark of BENCHMARKS.md, side by side with its baseline in
# the same run, on a throwaway cluster; rewrites BENCHMARKS.md.
# make bench-smoke: the same code at tiny sizes (seconds), run by make test so it cannot rot.
#
# BENCH_ONLY="tokens pool" runs only the named sections (any of: enter isolation migrate
# provision tokens pool cli), e.g. `BENCH_ONLY="tokens pool" make bench PG=18`. The fleet they
# need is still created (FLEET tenants for enter, isolation, migrate and cli; otherwise only
# the N_MID that tokens and pool use); their rows are printed, and BENCHMARKS.md is left as
# it is. The cli section (`stash migrate --jobs 2` against `CALL stash.migrate_all()`, the
# binary of `make cli`, rebuilt when cli/ is newer) writes bench/cli.md in a full run, which
# BENCHMARKS.md includes.
# BENCH_RUNS=5 (full mode) gives the pgbench sections more interleaved rounds than 3.
# BENCH_PG_CONFIG=/path/to/pg_config runs on another build of the same major, e.g. one
# without --enable-cassert (make setup builds PostgreSQL 18 with assertions, which cost more
# per transaction than most of what is measured here); the extension is then built against
# that server's headers, in a cargo target directory of its own.
# STASH_NO_INSTALL=1 (as for scripts/test.sh) benchmarks the extension already installed in
# that PostgreSQL instead of building and installing it, e.g. while others test against
# the same installation; BENCHMARKS.md then says so.
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
source scripts/pg.sh
if [ -n "${BENCH_PG_CONFIG:-}" ]; then
  pg_config_for() {
    "$BENCH_PG_CONFIG" --version | grep -q "^PostgreSQL $1\." && echo "$BENCH_PG_CONFIG" \
      || { echo "BENCH_PG_CONFIG=$BENCH_PG_CONFIG is not PostgreSQL $1" >&2; return 1; }
  }
  # cargo pgrx install --pg-config builds against the pg_config of ~/.pgrx/config.toml
  # unless PGRX_PG_CONFIG_PATH says otherwise
  export PGRX_PG_CONFIG_PATH=$BENCH_PG_CONFIG
  export CARGO_TARGET_DIR="$ROOT/target/bench-$(echo "$BENCH_PG_CONFIG" | tr -c 'A-Za-z0-9\n' _)"
fi
MODE=${1:-full}
PGV=$(single_pg_version)
pg_config_for "$PGV" >/dev/null || exit 2
PGB="$(pg_bindir_for "$PGV")/pgbench"

if [ "$MODE" = full ]; then
  FLEET=10000 N_MID=1000 N_SMALL=10 DUR=30 RUNS=${BENCH_RUNS:-3} CLIENTS=4 N_PROV=1000 N_DROP=20 PROFILE=--release
  POOL_ROWS=1000 CLI_ROUNDS=5
else
  FLEET=200 N_MID=50 N_SMALL=10 DUR=2 RUNS=1 CLIENTS=2 N_PROV=10 N_DROP=3 PROFILE=
  POOL_ROWS=100 CLI_ROUNDS=1
fi
SECTIONS="enter isolation migrate provision tokens pool cli"
BENCH_ONLY=${BENCH_ONLY:-}
for s in $BENCH_ONLY; do
  case " $SECTIONS " in *" $s "*) ;; *) echo "BENCH_ONLY: unknown section '$s' (sections: $SECTIONS)" >&2; exit 2 ;; esac
done
want() { [ -z "$BENCH_ONLY" ] || case " $BENCH_ONLY " in *" $1 "*) true ;; *) false ;; esac; }
want enter || want isolation || want migrate || want cli || FLEET=$N_MID

DIR=$(mktemp -d /tmp/stash-bench.XXXXXX)
chmod 755 "$DIR"
cleanup() { cluster_stop "$PGV" "$DIR/pg"; [ -n "${KEEP_BENCH_DIR:-}" ] || rm -rf "$DIR"; }
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
# the goal: the median of the per-round ratios (each round's variants share its noise)
per_round() {  # per_round A B -> median over rounds of A_i / B_i
  python3 -c "import statistics, sys; a, b = (list(map(float, x.split())) for x in sys.argv[1:]); print(f'{statistics.median(x / y if y else 0 for x, y in zip(a, b)):.3f}')" "$1" "$2"
}
rounds() {  # rounds A B -> the per-round ratios A_i / B_i, "0.987, 1.012, 0.954"
  python3 -c "import sys; a, b = (list(map(float, x.split())) for x in sys.argv[1:]); print(', '.join(f'{x / y if y else 0:.3f}' for x, y in zip(a, b)))" "$1" "$2"
}
declare -A TPS

echo "== stash_tenancy benchmarks ($MODE) on PostgreSQL $PGV${BENCH_ONLY:+, only: $BENCH_ONLY}"
if [ "${STASH_NO_INSTALL:-0}" = 1 ]; then
  so="$("$(pg_config_for "$PGV")" --pkglibdir)/stash_tenancy.so"
  [ -f "$so" ] || { echo "STASH_NO_INSTALL=1, but $so is not installed" >&2; exit 1; }
  echo "   STASH_NO_INSTALL=1: the installed $so ($(date -u -r "$so" '+%Y-%m-%d %H:%M UTC')), not rebuilt"
  EXT_BUILD="not rebuilt: the installed library (\`STASH_NO_INSTALL=1\`; $(du -h "$so" | cut -f1), $(date -u -r "$so" '+%Y-%m-%d %H:%M UTC'))"
else
  bash scripts/install.sh install "$(pg_config_for "$PGV")" $PROFILE >"$DIR/install.log" 2>&1 \
    || { cat "$DIR/install.log"; exit 1; }
  EXT_BUILD="built with \`${PROFILE:---debug}\`"
fi
cluster_start "$PGV" "$DIR/pg" || exit 1
P -d postgres -c "ALTER SYSTEM SET shared_buffers = '512MB'" -c "ALTER SYSTEM SET max_connections = 60" \
  -c "ALTER SYSTEM SET fsync = off" -c "ALTER SYSTEM SET synchronous_commit = off" >/dev/null
# pg_stat_statements (where the build has it) profiles the server side of the context switch
# and of a fleet migration.  It is loaded throughout but tracks nothing during the measured
# runs (track = none), so the hooks cost the same few instructions in every variant.
PGSS=0
if [ -f "$("$(pg_config_for "$PGV")" --pkglibdir)/pg_stat_statements.so" ]; then
  PGSS=1
  P -d postgres -c "ALTER SYSTEM SET shared_preload_libraries = 'pg_stat_statements'" \
    -c "ALTER SYSTEM SET pg_stat_statements.track = 'none'" >/dev/null
fi
as_pg "$(pg_bindir_for "$PGV")/pg_ctl" -D "$DIR/pg/data" -w -m fast restart >/dev/null \
  -o "-c listen_addresses='' -k $DIR/pg -p 5432" -l "$DIR/pg/server.log" || exit 1
P -d postgres -c "CREATE DATABASE bench" -c "CREATE DATABASE prov" >/dev/null
P -d bench -c "CREATE EXTENSION stash_tenancy" -f bench/setup.sql >/dev/null || exit 1
[ $PGSS = 1 ] && { P -d bench -c "CREATE EXTENSION pg_stat_statements" >/dev/null || exit 1; }
# pgss_track LEVEL: what pg_stat_statements records from now on (none | top | all), reset.
pgss_track() {
  P -d postgres -c "ALTER SYSTEM SET pg_stat_statements.track = '$1'" -c "SELECT pg_reload_conf()" >/dev/null
  P -d bench -c "SELECT pg_stat_statements_reset()" >/dev/null
}

# ---- the fleet ------------------------------------------------------------------------------
echo "-- creating $FLEET tenants (1-table template), one transaction each"
seq 1 "$FLEET" | sed "s/.*/SELECT 1 FROM stash.tenant_create('t&');/" >"$DIR/fleet.sql"
t0=$(now_ns); P -d bench -f "$DIR/fleet.sql" >/dev/null || fail "fleet creation"; t1=$(now_ns)
note "fleet.create_s" "$(secs "$t0" "$t1")"
note "fleet.size" "$FLEET"
P -d bench -c "VACUUM ANALYZE" >/dev/null

# the application role of the isolation, tokens and pool sections (registered once)
APP_ROLE=
app_role() {
  [ -n "$APP_ROLE" ] && return 0
  P -d bench -c "CREATE ROLE bench_app LOGIN" -c "SELECT stash.app_role_add('bench_app')" >/dev/null \
    || fail "bench_app"
  APP_ROLE=bench_app
}
# pgb_run USER OUT SCRIPT... -> tps: DUR seconds of pgbench as USER, random tenant among
# N_MID; several scripts are mixed (each transaction picks one). The output is kept in OUT;
# nothing is printed when a client failed (the caller reports it).
pgb_run() {
  local user=$1 out=$2 s files=(); shift 2
  for s in "$@"; do files+=(-f "bench/$s.sql"); done
  "$PGB" -n -M prepared -U "$user" -c "$CLIENTS" -j 2 -T "$DUR" -D ntenants="$N_MID" -D nrows="$POOL_ROWS" \
    "${files[@]}" bench >"$out" 2>&1 || return 0
  sed -n 's/^tps = \([0-9.]*\).*/\1/p' "$out" | head -1
}
mixed_latency() {  # mixed_latency OUT I -> average latency (ms) of the I-th script of a mixed run
  sed -n "/^SQL script $2:/,/^SQL script/s/^ - latency average = \([0-9.]*\) ms/\1/p" "$1"
}

# ---- 1+2. context switch ----------------------------------------------------------------------
if want enter; then
pgb() {  # pgb SCRIPT NTENANTS [SECONDS] -> tps
  "$PGB" -n -M prepared -c "$CLIENTS" -j 2 -T "${3:-$DUR}" -D ntenants="$2" -f "bench/$1.sql" bench 2>"$DIR/pgb.err" \
    | sed -n 's/^tps = \([0-9.]*\).*/\1/p' | head -1
}
pgb_halves() {  # pgb_halves SCRIPT NTENANTS -> "tps-of-first-DUR tps-of-second-DUR"
  # The first period's tps from pgbench's progress report; the second from the total count
  # (the report for the very last period is not always printed).
  "$PGB" -n -M prepared -c "$CLIENTS" -j 2 -T $((2 * DUR)) -P "$DUR" -D ntenants="$2" -f "bench/$1.sql" bench \
    >"$DIR/halves.out" 2>&1
  local first total
  first=$(sed -n 's/^progress: .* s, \([0-9.]*\) tps.*/\1/p' "$DIR/halves.out" | head -1)
  total=$(sed -n 's/^number of transactions actually processed: \([0-9]*\).*/\1/p' "$DIR/halves.out")
  [ -n "$first" ] && [ -n "$total" ] || return 0
  python3 -c "import sys; f, t, d = map(float, sys.argv[1:]); print(f'{f:.1f} {(t - f * d) / d:.1f}')" "$first" "$total" "$DUR"
}
echo "-- context switch: $RUNS interleaved runs x ${DUR}s, $CLIENTS clients, random tenant among $N_MID"
VARIANTS=(enter_set_local enter_stash enter_plpgsql)
for run in $(seq 1 "$RUNS"); do
  # each run starts with another variant, so a drift of the machine hits all three alike
  for i in 0 1 2; do
    v=${VARIANTS[$(((run - 1 + i) % 3))]}
    tps=$(pgb "$v" "$N_MID"); [ -n "$tps" ] || { fail "pgbench $v"; cat "$DIR/pgb.err"; tps=0; }
    TPS[$v]="${TPS[$v]:-} $tps"; echo "   run $run $v: $tps tps"
  done
  # (b) at two fleet sizes, with the floor (a) at the same sizes as the control: what the
  # server itself loses with more tenants is not tenant_enter's cost.  Each run lasts two
  # periods: fresh connections first fill their catalog caches (cold), then run warm, as
  # pooled connections do; both halves are reported.
  for n in "$N_SMALL" "$FLEET"; do
    for v in enter_stash enter_set_local; do
      read -r cold warm <<<"$(pgb_halves "$v" "$n")"
      [ -n "${warm:-}" ] || { fail "pgbench $v n=$n"; cold=0 warm=0; }
      TPS[${v}_$n]="${TPS[${v}_$n]:-} $warm"; TPS[${v}_${n}_cold]="${TPS[${v}_${n}_cold]:-} $cold"
      echo "   run $run $v among $n: $cold tps cold, $warm tps warm"
    done
  done
done
a=$(median ${TPS[enter_set_local]}) b=$(median ${TPS[enter_stash]}) c=$(median ${TPS[enter_plpgsql]})
note "enter.tps.set_local" "$a"; note "enter.tps.stash" "$b"; note "enter.tps.plpgsql" "$c"
note "enter.ratio.stash_over_set_local" "$(ratio "$b" "$a")"
note "enter.ratio.stash_over_plpgsql" "$(ratio "$b" "$c")"
for v in stash set_local; do
  for phase in "" _cold; do
    s=$(median ${TPS[enter_${v}_$N_SMALL$phase]}) l=$(median ${TPS[enter_${v}_$FLEET$phase]})
    note "enter.tps.${v}_among_$N_SMALL$phase" "$s"; note "enter.tps.${v}_among_$FLEET$phase" "$l"
    note "enter.ratio.${v}_large_over_small$phase" "$(ratio "$l" "$s")"
  done
done

# pgss_note PREFIX: server µs per call of each enter variant and of the tenant's SELECT,
# from pg_stat_statements, as results PREFIX.{set_local,stash,plpgsql,select}.
pgss_note() {
  P -d bench -F $'\t' >"$DIR/pgss_enter.out" <<'SQL' || fail "pg_stat_statements ($1)"
SELECT CASE WHEN query LIKE '%set_config%' THEN 'set_local' WHEN query LIKE '%tenant_enter%' THEN 'stash'
            WHEN query LIKE '%plpgsql_enter%' THEN 'plpgsql' ELSE 'select' END,
       round((sum(total_exec_time) / sum(calls) * 1000)::numeric, 2)
  FROM pg_stat_statements
 WHERE dbid = (SELECT oid FROM pg_database WHERE datname = 'bench')
   AND (query LIKE '%enter%' OR query LIKE '%set_config%' OR query LIKE '%FROM items%')
 GROUP BY 1;
SQL
  while IFS=$'\t' read -r k us; do note "$1.$k" "$us"; done <"$DIR/pgss_enter.out"
}

# tenant_enter's own server time at both fleet sizes: the tps above move with everything
# else in the transaction and with the machine; this isolates the one statement.
if [ $PGSS = 1 ]; then
  for n in "$N_SMALL" "$FLEET"; do
    pgss_track top
    pgb enter_stash "$n" >/dev/null
    pgss_note "enter.server_us_per_call.among_$n"
  done
  pgss_track none
fi

# The profile of the context switch: all three variants in ONE pgbench run (each client
# picks a script per transaction), so they share every moment of machine noise; the
# server-side time of each enter statement comes from pg_stat_statements.
echo "-- context switch profile: the three variants mixed in one ${DUR}s run"
[ $PGSS = 1 ] && pgss_track top
"$PGB" -n -M prepared -c "$CLIENTS" -j 2 -T "$DUR" -D ntenants="$N_MID" \
  -f bench/enter_set_local.sql -f bench/enter_stash.sql -f bench/enter_plpgsql.sql bench >"$DIR/mixed.out" 2>&1 \
  || { fail "mixed pgbench"; cat "$DIR/mixed.out"; }
i=0
for v in set_local stash plpgsql; do
  i=$((i + 1))
  note "enter.mixed.latency_ms.$v" "$(sed -n "/^SQL script $i:/,/^SQL script/s/^ - latency average = \([0-9.]*\) ms/\1/p" "$DIR/mixed.out")"
done
if [ $PGSS = 1 ]; then
  pgss_note "enter.server_us_per_call"
  pgss_track none
fi
fi  # enter

# ---- 6. isolation: the role switch of an application role ---------------------------------------
# The same pgbench script as (b), run as a registered application role (tenant_enter makes
# the tenant's role the current user; privileges are then checked for it) and as the
# superuser (an administrator: no switch, the 0.1.0 path), interleaved; the floor (a) as
# the superuser too.
if want isolation; then
echo "-- isolation: enter as an application role vs as an administrator: $RUNS runs x ${DUR}s"
app_role
pgb_as() {  # pgb_as USER SCRIPT -> tps
  "$PGB" -n -M prepared -U "$1" -c "$CLIENTS" -j 2 -T "$DUR" -D ntenants="$N_MID" -f "bench/$2.sql" bench \
    2>"$DIR/pgb.err" | sed -n 's/^tps = \([0-9.]*\).*/\1/p' | head -1
}
ISO=("bench_app enter_stash app" "postgres enter_stash admin" "postgres enter_set_local floor")
for run in $(seq 1 "$RUNS"); do
  for i in 0 1 2; do
    read -r user script key <<<"${ISO[$(((run - 1 + i) % 3))]}"
    tps=$(pgb_as "$user" "$script"); [ -n "$tps" ] || { fail "pgbench as $user"; cat "$DIR/pgb.err"; tps=0; }
    TPS[iso_$key]="${TPS[iso_$key]:-} $tps"; echo "   run $run $key: $tps tps"
  done
done
for key in app admin floor; do note "isolation.tps.$key" "$(median ${TPS[iso_$key]})"; done
note "isolation.ratio.app_over_admin" "$(per_round "${TPS[iso_app]}" "${TPS[iso_admin]}")"
note "isolation.ratio.app_over_floor" "$(per_round "${TPS[iso_app]}" "${TPS[iso_floor]}")"
if [ $PGSS = 1 ]; then
  # server time per tenant_enter, per role (pg_stat_statements keeps one row per user)
  pgss_track top
  pgb_as bench_app enter_stash >/dev/null; pgb_as postgres enter_stash >/dev/null
  P -d bench -F $'\t' >"$DIR/pgss_iso.out" <<'SQL' || fail "pg_stat_statements (isolation)"
-- an application role's statement is recorded under the tenant role it switched to
SELECT CASE WHEN userid = 'postgres'::regrole THEN 'admin' ELSE 'app' END,
       round((sum(total_exec_time) / sum(calls) * 1000)::numeric, 2)
  FROM pg_stat_statements
 WHERE dbid = (SELECT oid FROM pg_database WHERE datname = 'bench') AND query LIKE '%tenant_enter%'
 GROUP BY 1;
SQL
  while IFS=$'\t' read -r k us; do note "isolation.server_us_per_enter.$k" "$us"; done <"$DIR/pgss_iso.out"
  pgss_track none
fi

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
fi  # isolation

# ---- 4. fleet migration --------------------------------------------------------------------------
if want migrate; then
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
  [ $PGSS = 1 ] && [ "$sessions" = 1 ] && pgss_track all
  t0=$(now_ns)
  for s in $(seq 1 "$sessions"); do P -d bench -c "CALL stash.migrate_all()" 2>"$DIR/ma$s.log" & done
  wait || true
  t1=$(now_ns)
  if [ $PGSS = 1 ] && [ "$sessions" = 1 ]; then
    # where one tenant's migration spends its time: the statements migrate_all runs,
    # in microseconds per migrated tenant
    P -d bench -F $'\t' >"$DIR/pgss_migrate.out" <<SQL || fail "pg_stat_statements (migrate)"
SELECT regexp_replace(regexp_replace(left(query, 60), '\s+', ' ', 'g'), '\t', ' '),
       round((total_exec_time / $FLEET * 1000)::numeric, 1)
  FROM pg_stat_statements
 WHERE dbid = (SELECT oid FROM pg_database WHERE datname = 'bench') AND query NOT LIKE '%pg_stat_statements%'
 ORDER BY total_exec_time DESC LIMIT 12;
SQL
    n=0
    while IFS=$'\t' read -r q us; do n=$((n + 1)); note "migrate_all.profile.$n" "$us	$q"; done <"$DIR/pgss_migrate.out"
    pgss_track none
  fi
  done_n=$(P -d bench -c "SELECT count(*) FROM stash.ledger WHERE version = $version")
  [ "$done_n" = "$FLEET" ] || fail "migrate_all with $sessions sessions reached $done_n of $FLEET"
  grep -h "ERROR" "$DIR"/ma*.log && fail "migrate_all errors"
  note "migrate_all.alter.sessions_$sessions.per_s" "$(python3 -c "print(f'{$FLEET / (($t1 - $t0) / 1e9):.0f}')")"
  version=$((version + 1))
done
P -d bench -c "SELECT format('SET search_path = %I; ALTER TABLE items ADD COLUMN baseline int;', schema_name) FROM stash.tenants" >"$DIR/loop.sql"
t0=$(now_ns); P -d bench -f "$DIR/loop.sql" >/dev/null || fail "client loop"; t1=$(now_ns)
note "migrate_all.alter.client_loop.per_s" "$(python3 -c "print(f'{$FLEET / (($t1 - $t0) / 1e9):.0f}')")"
fi  # migrate

# ---- 3+5. provisioning and drop ------------------------------------------------------------------
if want provision; then
echo "-- provisioning $N_PROV tenants with the 8-table template vs the same DDL raw"
P -d prov -v tpl="$(cat tests/fixtures/document_pipeline.sql)" >/dev/null <<'SQL' || fail "prov setup"
CREATE EXTENSION stash_tenancy;
SELECT stash.migration_add(1, 'document_pipeline', :'tpl');
SQL
gen_stash() { seq "$1" "$2" | sed "s/.*/SELECT 1 FROM stash.tenant_create('p&');/"; }
gen_raw() {
  for i in $(seq "$1" "$2"); do
    printf 'BEGIN;\nCREATE SCHEMA raw_%s;\nSET LOCAL search_path = raw_%s;\n' "$i" "$i"
    cat tests/fixtures/document_pipeline.sql; printf '\nCOMMIT;\n'
  done
}
timed() { local t0 t1; t0=$(now_ns); P -d prov -f "$1" >/dev/null || fail "$1"; t1=$(now_ns); secs "$t0" "$t1"; }
# untimed warm-up of both, then ten alternating chunks (raw first, then stash first, ...):
# the first DDL of a fresh database and any drift of the machine hit both sides alike
gen_raw 100001 100010 >"$DIR/warm_raw.sql"; gen_stash 100001 100010 >"$DIR/warm_st.sql"
timed "$DIR/warm_raw.sql" >/dev/null; timed "$DIR/warm_st.sql" >/dev/null
chunk=$(((N_PROV + 9) / 10)) raw_s=0 st_s=0
for k in $(seq 0 9); do
  lo=$((k * chunk + 1)) hi=$(((k + 1) * chunk))
  gen_raw "$lo" "$hi" >"$DIR/raw.sql"; gen_stash "$lo" "$hi" >"$DIR/st.sql"
  if [ $((k % 2)) = 0 ]; then r=$(timed "$DIR/raw.sql"); s=$(timed "$DIR/st.sql")
  else s=$(timed "$DIR/st.sql"); r=$(timed "$DIR/raw.sql"); fi
  raw_s=$(python3 -c "print($raw_s + $r)"); st_s=$(python3 -c "print($st_s + $s)")
done
N_PROV=$((chunk * 10))
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
fi  # provision

# ---- 7. signed entry: tenant_enter_token (HS256) vs tenant_enter(slug) -----------------------------
# pgbench cannot sign, so one token per tenant is signed beforehand (PyJWT) into bench.tokens;
# both variants fetch the tenant's token and slug with \gset, then enter, by slug (A) or by
# token (B), and run the tenant's SELECT; as the application role, rounds interleaved.
if want tokens; then
echo "-- signed entry: tenant_enter_token (HS256) vs tenant_enter as an application role: $RUNS rounds x ${DUR}s"
app_role
SECRET=$(python3 -c "import secrets; print(secrets.token_hex(32))")
"$PG_ROOT/venv/bin/python" - "$SECRET" "$N_MID" >"$DIR/tokens.tsv" <<'PY' || fail "signing tokens (PyJWT in $PG_ROOT/venv: make setup)"
import sys, time
import jwt
secret, n = sys.argv[1], int(sys.argv[2])
exp = int(time.time()) + 4 * 3600
for t in range(1, n + 1):
    token = jwt.encode({"tenant": f"t{t}", "exp": exp}, secret, algorithm="HS256", headers={"kid": "bench"})
    print(f"{t}\t{token}")
PY
P -d bench -v secret="$SECRET" >/dev/null <<SQL || fail "tokens setup"
CREATE TABLE bench.tokens (t int PRIMARY KEY, token text NOT NULL);
\copy bench.tokens FROM '$DIR/tokens.tsv'
SELECT stash.token_key_add('bench', 'HS256', :'secret');
GRANT USAGE ON SCHEMA bench TO bench_app;
GRANT SELECT ON bench.tokens TO bench_app;
VACUUM ANALYZE bench.tokens;
SQL
got=$(P -U bench_app -d bench <<'SQL' 2>&1 | tail -1
SELECT token AS tok FROM bench.tokens WHERE t = 1 \gset
BEGIN;
SELECT stash.tenant_enter_token(:'tok');
SELECT stash.current_tenant() || ' ' || (SELECT count(*) FROM items);
COMMIT;
SQL
)
[ "$got" = "t1 100" ] || fail "tenant_enter_token as bench_app: $got"
TOK_V=("tok_enter_slug slug" "tok_enter_token token")
for run in $(seq 1 "$RUNS"); do
  for i in 0 1; do
    read -r script key <<<"${TOK_V[$(((run - 1 + i) % 2))]}"
    tps=$(pgb_run bench_app "$DIR/tok.out" "$script")
    [ -n "$tps" ] || { fail "pgbench $script"; tail -5 "$DIR/tok.out"; tps=0; }
    TPS[tok_$key]="${TPS[tok_$key]:-} $tps"; echo "   run $run $key: $tps tps"
  done
done
note "tokens.tps.slug" "$(median ${TPS[tok_slug]})"
note "tokens.tps.token" "$(median ${TPS[tok_token]})"
note "tokens.ratio.token_over_slug" "$(per_round "${TPS[tok_token]}" "${TPS[tok_slug]}")"
note "tokens.ratio.rounds" "$(rounds "${TPS[tok_token]}" "${TPS[tok_slug]}")"
# the profile: both scripts mixed in one run (the same noise for both); server time per
# statement from pg_stat_statements (all tenant roles together)
[ $PGSS = 1 ] && pgss_track top
tps=$(pgb_run bench_app "$DIR/tok_mixed.out" tok_enter_slug tok_enter_token)
[ -n "$tps" ] || { fail "mixed pgbench (tokens)"; tail -5 "$DIR/tok_mixed.out"; }
note "tokens.mixed.latency_ms.slug" "$(mixed_latency "$DIR/tok_mixed.out" 1)"
note "tokens.mixed.latency_ms.token" "$(mixed_latency "$DIR/tok_mixed.out" 2)"
if [ $PGSS = 1 ]; then
  P -d bench -F $'\t' >"$DIR/pgss_tok.out" <<'SQL' || fail "pg_stat_statements (tokens)"
SELECT k, round((sum(total_exec_time) / sum(calls) * 1000)::numeric, 2)
  FROM (SELECT CASE WHEN query LIKE '%tenant_enter_token(%' THEN 'token'
                    WHEN query LIKE '%tenant_enter(%' THEN 'slug'
                    WHEN query LIKE '%FROM items%' THEN 'select'
                    WHEN query LIKE '%FROM bench.tokens%' THEN 'gset' END AS k, *
          FROM pg_stat_statements
         WHERE dbid = (SELECT oid FROM pg_database WHERE datname = 'bench')) s
 WHERE k IS NOT NULL GROUP BY k ORDER BY k;
SQL
  while IFS=$'\t' read -r k us; do note "tokens.server_us_per_call.$k" "$us"; done <"$DIR/pgss_tok.out"
  pgss_track none
fi
fi  # tokens

# ---- 8. the pool model: row-level security vs an explicit WHERE tenant_id = $1 ---------------------
# N_MID tenants x POOL_ROWS rows in public.events (a pool table); the baseline is the same
# rows in public.events_plain (no RLS) queried with an explicit WHERE tenant_id = $1 by the
# same application role in the same session flow (\gset of the tenant's id and slug, then
# tenant_enter); as a cross-check, the administrator (a superuser bypasses RLS) runs the
# explicit query on public.events itself.
if want pool; then
echo "-- pool model: $((N_MID * POOL_ROWS)) rows across $N_MID tenants, RLS vs explicit WHERE: $RUNS rounds x ${DUR}s"
app_role
t0=$(now_ns)
P -d bench -v ntenants="$N_MID" -v rows="$POOL_ROWS" -f bench/pool_setup.sql >/dev/null || fail "pool setup"
for i in $(seq 1 30); do
  P -d bench -c "VACUUM ANALYZE public.events" -c "VACUUM ANALYZE public.events_plain" >/dev/null || fail "pool VACUUM"
  left=$(P -d bench -c "SELECT sum(relpages - relallvisible) FROM pg_class
                         WHERE oid IN ('public.events'::regclass, 'public.events_plain'::regclass)")
  [ "$left" = 0 ] && break
  sleep 2
done
[ "$left" = 0 ] || fail "pool: $left pages still not all-visible after 30 VACUUMs"
t1=$(now_ns)
note "pool.setup_s" "$(secs "$t0" "$t1")"
note "pool.rows" "$(P -d bench -c "SELECT count(*) FROM public.events_plain")"
note "pool.tenants" "$(P -d bench -c "SELECT count(DISTINCT tenant_id) FROM public.events_plain")"
# what the application role sees in tenant t1, through RLS and with the explicit WHERE
got=$(P -U bench_app -d bench <<'SQL' 2>&1 | tail -1
SELECT id AS tid FROM bench.tenant_ids WHERE t = 1 \gset
BEGIN;
SELECT stash.tenant_enter('t1');
SELECT (SELECT count(*) FROM events) || ' ' || (SELECT count(*) FROM events_plain WHERE tenant_id = :'tid')
       || ' ' || (SELECT count(*) FROM events WHERE tenant_id <> :'tid');
COMMIT;
SQL
)
[ "$got" = "$POOL_ROWS $POOL_ROWS 0" ] || fail "pool table as bench_app in t1: $got (want $POOL_ROWS $POOL_ROWS 0)"
# the plans pgbench gets (generic plans of prepared statements), as the application role in
# t1, executed once: the index on the tenant column, the tenant id read once
P -U bench_app -d bench >/dev/null <<SQL || fail "pool EXPLAIN"
SELECT id AS tid FROM bench.tenant_ids WHERE t = 1 \gset
BEGIN;
SELECT stash.tenant_enter('t1');
SET LOCAL plan_cache_mode = force_generic_plan;
PREPARE count_rls AS SELECT count(*) FROM events;
PREPARE count_explicit(uuid) AS SELECT count(*) FROM events_plain WHERE tenant_id = \$1;
PREPARE point_rls(bigint) AS SELECT payload FROM events WHERE id = \$1;
PREPARE point_explicit(uuid, bigint) AS SELECT payload FROM events_plain WHERE tenant_id = \$1 AND id = \$2;
\o $DIR/plan.count.rls
EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF, BUFFERS OFF) EXECUTE count_rls;
\o $DIR/plan.count.explicit
EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF, BUFFERS OFF) EXECUTE count_explicit(:'tid');
\o $DIR/plan.point.rls
EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF, BUFFERS OFF) EXECUTE point_rls(1);
\o $DIR/plan.point.explicit
EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF, BUFFERS OFF) EXECUTE point_explicit(:'tid', 1);
\o
COMMIT;
SQL
for q in count point; do
  for v in rls explicit; do
    # one line per plan, its lines joined by a literal \n (bench_report.py splits them)
    note "pool.plan.$q.$v" "$(sed 's/[[:space:]]*$//' "$DIR/plan.$q.$v" | awk 'NR > 1 { printf "\\n" } { printf "%s", $0 }')"
  done
done
# the index, and the tenant id read once: as the index condition (pool_planner.rs) or by an
# InitPlan; never in a per-row Filter
grep -q "Index" "$DIR/plan.count.rls" \
  && grep -Eq "InitPlan|Index Cond: \(tenant_id = stash\.current_tenant_id\(\)\)" "$DIR/plan.count.rls" \
  && ! grep -q "Filter: .*current_tenant_id()" "$DIR/plan.count.rls" \
  || fail "pool: the RLS count(*) does not use the index with the tenant id read once"
POOL_V=("bench_app rls" "bench_app explicit" "postgres admin")
for run in $(seq 1 "$RUNS"); do
  for q in count point; do
    for i in 0 1 2; do
      read -r user key <<<"${POOL_V[$(((run - 1 + i) % 3))]}"
      tps=$(pgb_run "$user" "$DIR/pool.out" "pool_${q}_$key")
      [ -n "$tps" ] || { fail "pgbench pool_${q}_$key"; tail -5 "$DIR/pool.out"; tps=0; }
      TPS[pool_${q}_$key]="${TPS[pool_${q}_$key]:-} $tps"; echo "   run $run $q $key: $tps tps"
    done
  done
done
for q in count point; do
  for key in rls explicit admin; do note "pool.tps.$q.$key" "$(median ${TPS[pool_${q}_$key]})"; done
  note "pool.ratio.$q.rls_over_explicit" "$(per_round "${TPS[pool_${q}_rls]}" "${TPS[pool_${q}_explicit]}")"
  note "pool.ratio.$q.rounds" "$(rounds "${TPS[pool_${q}_rls]}" "${TPS[pool_${q}_explicit]}")"
  note "pool.ratio.$q.rls_over_admin" "$(per_round "${TPS[pool_${q}_rls]}" "${TPS[pool_${q}_admin]}")"
done
# the profile: RLS and explicit mixed in one run as the application role, then the
# administrator's scripts; server time per statement, execution and planning (every
# transaction plans its statement again: tenant_enter changes search_path and, for the
# application role, the current user)
if [ $PGSS = 1 ]; then
  P -d postgres -c "ALTER SYSTEM SET pg_stat_statements.track_planning = on" >/dev/null
  pgss_track top
fi
tps=$(pgb_run bench_app "$DIR/pool_mixed.out" pool_count_rls pool_count_explicit pool_point_rls pool_point_explicit)
[ -n "$tps" ] || { fail "mixed pgbench (pool)"; tail -5 "$DIR/pool_mixed.out"; }
i=0
for s in count.rls count.explicit point.rls point.explicit; do
  i=$((i + 1)); note "pool.mixed.latency_ms.$s" "$(mixed_latency "$DIR/pool_mixed.out" $i)"
done
if [ $PGSS = 1 ]; then
  tps=$(pgb_run postgres "$DIR/pool_admin.out" pool_count_admin pool_point_admin)
  [ -n "$tps" ] || { fail "pgbench pool admin (profile)"; tail -5 "$DIR/pool_admin.out"; }
  P -d bench -F $'\t' >"$DIR/pgss_pool.out" <<'SQL' || fail "pg_stat_statements (pool)"
SELECT k, round((sum(total_exec_time) / sum(calls) * 1000)::numeric, 2),
       round((sum(total_plan_time) / sum(calls) * 1000)::numeric, 2)
  FROM (SELECT CASE WHEN query ~ '^SELECT count\(\*\) FROM events;?$' THEN 'count.rls'
                    WHEN query ~ '^SELECT count\(\*\) FROM events_plain WHERE' THEN 'count.explicit'
                    WHEN query ~ '^SELECT count\(\*\) FROM events WHERE' THEN 'count.admin'
                    WHEN query ~ '^SELECT payload FROM events WHERE id' THEN 'point.rls'
                    WHEN query ~ '^SELECT payload FROM events_plain WHERE' THEN 'point.explicit'
                    WHEN query ~ '^SELECT payload FROM events WHERE tenant_id' THEN 'point.admin'
                    WHEN query LIKE '%FROM bench.tenant_ids%' THEN 'gset' END AS k, *
          FROM pg_stat_statements
         WHERE dbid = (SELECT oid FROM pg_database WHERE datname = 'bench')) s
 WHERE k IS NOT NULL GROUP BY k ORDER BY k;
SQL
  while IFS=$'\t' read -r k us plan_us; do
    note "pool.server_us_per_call.$k" "$us"; note "pool.server_plan_us_per_call.$k" "$plan_us"
  done <"$DIR/pgss_pool.out"
  P -d postgres -c "ALTER SYSTEM RESET pg_stat_statements.track_planning" >/dev/null
  pgss_track none
fi
fi  # pool

# ---- 9. the CLI: `stash migrate --jobs 2` vs `CALL stash.migrate_all()` in one session ----------------
# Migration N+1 (a column and an index on items) is registered with its down SQL; each round
# migrates the whole fleet to it once with `CALL stash.migrate_all()` in one psql session
# and once with `stash migrate --jobs 2` (order alternating between rounds), checks that
# every tenant has the column, the index and the ledger row, and rolls the fleet back to N
# with `CALL stash.migrate_all(target_version => N)` (untimed) after each. Wall time of the
# client process; also the server's own span (first to last ledger row of N+1).
if want cli; then
CLI_JOBS=2
STASH_BIN=${STASH_BIN:-}
if [ -z "$STASH_BIN" ]; then
  STASH_BIN=$ROOT/target/release/stash
  if [ ! -x "$STASH_BIN" ] || [ -n "$(find cli/Cargo.toml cli/Cargo.lock cli/src -newer "$STASH_BIN" -type f 2>/dev/null)" ]; then
    echo "-- building the CLI (make cli)"
    make --no-print-directory -C "$ROOT" cli >"$DIR/cli_build.log" 2>&1 || { cat "$DIR/cli_build.log"; fail "make cli"; }
  fi
fi
N=$(P -d bench -c "SELECT max(version) FROM stash.migrations WHERE scope = 'tenant'")
UP=$((N + 1))
echo "-- CLI: stash migrate --jobs $CLI_JOBS vs CALL stash.migrate_all(), $FLEET tenants, version $N -> $UP: $CLI_ROUNDS rounds"
[ "$(P -d bench -c "SELECT stash._migrate_all_pending(NULL)")" = 0 ] || fail "cli: the fleet is not at version $N before the section"
P -d bench >/dev/null <<SQL || fail "cli: migration_add($UP)"
SELECT stash.migration_add($UP, 'cli_bench',
  'ALTER TABLE items ADD COLUMN cli_k int; CREATE INDEX items_cli_k_idx ON items (cli_k)',
  'DROP INDEX items_cli_k_idx; ALTER TABLE items DROP COLUMN cli_k');
SQL
# cli_check WANT: "ledger rows of UP, tenant schemas with the index, tenants still needing
# work (for UP when WANT is the fleet, for N when it is 0)" must be "WANT WANT 0"
cli_check() {
  local target=NULL got
  [ "$1" = 0 ] && target=$N
  got=$(P -d bench -F ' ' -c "SELECT (SELECT count(*) FROM stash.ledger WHERE version = $UP AND tenant_id IS NOT NULL),
    (SELECT count(*) FROM stash.tenants t JOIN pg_namespace n ON n.nspname = t.schema_name
       JOIN pg_class c ON c.relnamespace = n.oid AND c.relname = 'items_cli_k_idx'
       JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = 'cli_k'),
    stash._migrate_all_pending($target)")
  [ "$got" = "$1 $1 0" ] || { fail "cli: $2 left the fleet at \"$got\" (ledger rows of $UP, indexes, pending), want \"$1 $1 0\""; return 1; }
}
# cli_run VARIANT: one timed migration of the fleet to UP; appends wall s, server span s,
# client CPU s, summed step ms and the machine's idle cores (all processes: other people's
# work on the same cores shows here) to CLI_<what>[VARIANT]
declare -A CLI_WALL CLI_SPAN CLI_CPU CLI_STEP CLI_SAYS CLI_IDLE
idle_jiffies() { awk '/^cpu / { print $5 + $6 }' /proc/stat; }
cli_run() {
  local v=$1 t0 t1 rc span step cpu i0 i1 idle
  P -d bench -c "CHECKPOINT" >/dev/null
  i0=$(idle_jiffies); t0=$(now_ns)
  if [ "$v" = sql ]; then
    /usr/bin/time -f '%U %S' -o "$DIR/cli_cpu" "$PSQL" -X -q -At -v ON_ERROR_STOP=1 -d bench \
      -c "CALL stash.migrate_all()" >"$DIR/cli_$v.out" 2>&1
  else
    env -u DATABASE_URL PGDATABASE=bench /usr/bin/time -f '%U %S' -o "$DIR/cli_cpu" "$STASH_BIN" migrate --jobs "$CLI_JOBS" \
      >"$DIR/cli_$v.out" 2>&1
  fi
  rc=$?; t1=$(now_ns); i1=$(idle_jiffies)
  idle=$(python3 -c "print(f'{($i1 - $i0) / $(getconf CLK_TCK) / (($t1 - $t0) / 1e9):.2f}')")
  [ $rc = 0 ] || { fail "cli: $v exited with $rc"; tail -5 "$DIR/cli_$v.out"; }
  grep -q "WARNING" "$DIR/cli_$v.out" && { fail "cli: $v warned"; grep WARNING "$DIR/cli_$v.out" | head -5; }
  if [ "$v" = cli ]; then
    grep -q "^migrating $FLEET tenant(s) in $CLI_JOBS session(s)" "$DIR/cli_$v.out" \
      || { fail "cli: stash migrate did not start $CLI_JOBS sessions for $FLEET tenants"; cat "$DIR/cli_$v.out"; }
    CLI_SAYS[$v]="${CLI_SAYS[$v]:-} $(sed -n 's/^summary: .* migrated in \([0-9.]*\)s.*/\1/p' "$DIR/cli_$v.out")"
  fi
  cli_check "$FLEET" "$v"
  read -r span step <<<"$(P -d bench -F ' ' -c "SELECT round(extract(epoch FROM max(applied_at) - min(applied_at))::numeric, 3),
    round(sum(duration_ms)::numeric, 1) FROM stash.ledger WHERE version = $UP")"
  cpu=$(tail -1 "$DIR/cli_cpu" | awk '{ printf "%.2f", $1 + $2 }')
  CLI_WALL[$v]="${CLI_WALL[$v]:-} $(secs "$t0" "$t1")"; CLI_SPAN[$v]="${CLI_SPAN[$v]:-} ${span:-0}"
  CLI_CPU[$v]="${CLI_CPU[$v]:-} $cpu"; CLI_STEP[$v]="${CLI_STEP[$v]:-} ${step:-0}"
  CLI_IDLE[$v]="${CLI_IDLE[$v]:-} $idle"
  echo "   round $round $v: $(secs "$t0" "$t1") s wall, ${span:-?} s server span, $cpu s client CPU, $idle cores idle"
}
cli_reset() {
  P -d bench -c "CALL stash.migrate_all(target_version => $N)" >"$DIR/cli_reset.out" 2>&1 \
    || { fail "cli: rollback to $N"; tail -5 "$DIR/cli_reset.out"; }
  cli_check 0 "the rollback to $N"
}
# the first migration of a fresh catalog is not a round: once up and down, untimed
round=warm-up; cli_run cli; cli_reset
CLI_WALL=() CLI_SPAN=() CLI_CPU=() CLI_STEP=() CLI_SAYS=() CLI_IDLE=()
t_section=$(now_ns)
for round in $(seq 1 "$CLI_ROUNDS"); do
  if [ $((round % 2)) = 1 ]; then order="sql cli"; else order="cli sql"; fi
  for v in $order; do cli_run "$v"; cli_reset; done
done
for v in sql cli; do
  note "cli.$v.wall_s.rounds" "$(echo ${CLI_WALL[$v]})"
  note "cli.$v.span_s.rounds" "$(echo ${CLI_SPAN[$v]})"
  note "cli.$v.client_cpu_s.rounds" "$(echo ${CLI_CPU[$v]})"
  note "cli.$v.idle_cores.rounds" "$(echo ${CLI_IDLE[$v]})"
  note "cli.$v.wall_s" "$(median ${CLI_WALL[$v]})"
  note "cli.$v.per_s" "$(python3 -c "import sys; print(f'{$FLEET / float(sys.argv[1]):.0f}')" "$(median ${CLI_WALL[$v]})")"
  note "cli.$v.span_per_s" "$(python3 -c "import sys; print(f'{$FLEET / float(sys.argv[1]):.0f}' if float(sys.argv[1]) else 'n/a')" "$(median ${CLI_SPAN[$v]})")"
  note "cli.$v.step_us_per_tenant" "$(python3 -c "import statistics, sys; print(f'{statistics.median(map(float, sys.argv[2:])) / $FLEET * 1000:.1f}')" x ${CLI_STEP[$v]})"
done
note "cli.cli.says_s.rounds" "$(echo ${CLI_SAYS[cli]})"
note "cli.ratio.wall.cli_over_sql" "$(per_round "${CLI_WALL[cli]}" "${CLI_WALL[sql]}")"
note "cli.ratio.wall.rounds" "$(rounds "${CLI_WALL[cli]}" "${CLI_WALL[sql]}")"
note "cli.ratio.span.cli_over_sql" "$(per_round "${CLI_SPAN[cli]}" "${CLI_SPAN[sql]}")"
note "cli.ratio.span.rounds" "$(rounds "${CLI_SPAN[cli]}" "${CLI_SPAN[sql]}")"
note "cli.fleet" "$FLEET"; note "cli.jobs" "$CLI_JOBS"; note "cli.from_version" "$N"
note "cli.rounds" "$CLI_ROUNDS"; note "cli.loadavg" "$(cut -d' ' -f1-3 /proc/loadavg)"
# the profile: one more `stash migrate --jobs 2`, every top-level statement of it in
# pg_stat_statements (its two CALLs, the progress poll, the summary), then rolled back
if [ $PGSS = 1 ]; then
  pgss_track top
  round=profile; cli_run cli >/dev/null
  P -d bench -F $'\t' >"$DIR/pgss_cli.out" <<'SQL' || fail "pg_stat_statements (cli)"
SELECT calls, round(total_exec_time::numeric, 1), round((total_exec_time / calls)::numeric, 2),
       regexp_replace(regexp_replace(left(query, 70), '\s+', ' ', 'g'), '\t', ' ')
  FROM pg_stat_statements
 WHERE dbid = (SELECT oid FROM pg_database WHERE datname = 'bench') AND query NOT LIKE '%pg_stat_statements%'
   AND query NOT LIKE 'CHECKPOINT%' AND query NOT LIKE '%pg_attribute%' AND query NOT LIKE '%duration_ms%'
 ORDER BY total_exec_time DESC LIMIT 6;
SQL
  pgss_track none
  n=0
  while IFS=$'\t' read -r calls total mean q; do
    n=$((n + 1)); note "cli.profile.$n" "$calls	$total	$mean	$q"
  done <"$DIR/pgss_cli.out"
  note "cli.profile.wall_s" "$(echo ${CLI_WALL[cli]} | awk '{print $NF}')"
  cli_reset
fi
note "cli.section_s" "$(secs "$t_section" "$(now_ns)")"
fi  # cli
# the goal of 0.2.0: server time of tenant_enter among the whole fleet, fresh connections
# (the first 2 x DUR of new pgbench connections, which fill their caches), over among 10
if want enter && [ $PGSS = 1 ]; then
  note "enter.ratio.server_us_large_over_small" "$(ratio \
    "$(sed -n "s/^enter.server_us_per_call.among_$FLEET.stash\t//p" "$RES")" \
    "$(sed -n "s/^enter.server_us_per_call.among_$N_SMALL.stash\t//p" "$RES")")"
fi
note "settings.max_locks_per_transaction" "$(P -d bench -c 'SHOW max_locks_per_transaction')"
note "settings.debug_assertions" "$(P -d bench -c 'SHOW debug_assertions')"
note "settings.extension" "$EXT_BUILD"

# the cli section's table: bench/cli.md in a full run (BENCHMARKS.md includes it), else only shown
if want cli; then
  PG_VERSION=$(P -d bench -c 'SHOW server_version') BENCH_ONLY="$BENCH_ONLY" BENCH_PGV=$PGV \
    python3 scripts/bench_report.py --cli "$RES" >"$DIR/cli.md" || fail "bench_report.py --cli"
  if [ "$MODE" = full ] && [ $FAILED = 0 ]; then cp "$DIR/cli.md" bench/cli.md; echo "== wrote bench/cli.md"
  elif [ -n "$BENCH_ONLY" ]; then cat "$DIR/cli.md"; fi
fi
PG_VERSION=$(P -d bench -c 'SHOW server_version') BENCH_ONLY="$BENCH_ONLY" BENCH_DUR=$DUR \
  BENCH_CLIENTS=$CLIENTS BENCH_N_MID=$N_MID python3 scripts/bench_report.py "$RES" >"$DIR/BENCHMARKS.md" || fail "bench_report.py"
if [ -n "$BENCH_ONLY" ]; then
  echo "== the rows of: $BENCH_ONLY (BENCHMARKS.md left as it is)"
  cat "$DIR/BENCHMARKS.md"
fi
if [ $FAILED != 0 ]; then echo "== bench ($MODE): FAILED"; exit 1; fi
if [ "$MODE" = full ] && [ -z "$BENCH_ONLY" ]; then
  cp "$DIR/BENCHMARKS.md" BENCHMARKS.md
  echo "== wrote BENCHMARKS.md"
fi
echo "== bench ($MODE): every step ran"
