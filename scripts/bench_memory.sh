#!/usr/bin/env bash
# make bench-memory [PG=17]: the catalog-cache bound (stash.cache_limit) at 10,000 tenants
# with the 8-table document-pipeline template: one connection walking every tenant with and
# without the limit (cache bytes after 1k/5k/10k tenants), then pgbench through all tenants
# with and without it, interleaved (tps, per-backend memory).  Writes bench/memory.md, which
# BENCHMARKS.md includes.  MODE smoke: tiny sizes, run by make test.
set -uo pipefail
cd "$(dirname "$0")/.."
source scripts/pg.sh
MODE=${1:-full}
PGV=$(single_pg_version)
PGB="$(pg_bindir_for "$PGV")/pgbench"
if [ "$MODE" = full ]; then N=10000 MARKS="1000 5000 10000" DUR=30 RUNS=3 PROFILE=--release LIMIT=64MB
else N=60 MARKS="20 40 60" DUR=2 RUNS=1 PROFILE= LIMIT=1MB; fi
DIR=$(mktemp -d /tmp/stash-benchmem.XXXXXX); chmod 755 "$DIR"
trap 'cluster_stop "$PGV" "$DIR/pg"; [ -n "${KEEP_BENCH_DIR:-}" ] || rm -rf "$DIR"' EXIT
P() { "$PSQL" -X -q -At -v ON_ERROR_STOP=1 "$@"; }
median() { python3 -c "import statistics,sys; print(f'{statistics.median(map(float, sys.argv[1:])):.1f}')" "$@"; }
echo "== cache_limit benchmark ($MODE) on PostgreSQL $PGV: $N tenants x 8 tables, limit $LIMIT"
bash scripts/install.sh install "$(pg_config_for "$PGV")" $PROFILE >"$DIR/install.log" 2>&1 \
  || { cat "$DIR/install.log"; exit 1; }
cluster_start "$PGV" "$DIR/pg" || exit 1
P -d postgres -c "ALTER SYSTEM SET max_locks_per_transaction = 256" -c "ALTER SYSTEM SET fsync = off" \
  -c "ALTER SYSTEM SET synchronous_commit = off" -c "ALTER SYSTEM SET max_files_per_process = 4000" >/dev/null
as_pg "$(pg_bindir_for "$PGV")/pg_ctl" -D "$DIR/pg/data" -w -m fast restart >/dev/null \
  -o "-c listen_addresses='' -k $DIR/pg -p 5432" -l "$DIR/pg/server.log" || exit 1
P -d postgres -c "CREATE DATABASE mem" >/dev/null
P -d mem -v tpl="$(cat tests/fixtures/document_pipeline.sql)" >/dev/null <<'SQL' || exit 1
CREATE EXTENSION stash_tenancy;
SELECT stash.migration_add(1, 'document_pipeline', :'tpl');
CREATE ROLE mem_app LOGIN;
SELECT stash.app_role_add('mem_app');
SQL
# two sessions create the tenants side by side (setup, not measured)
t0=$(date +%s)
for half in 1 2; do
  seq "$half" 2 "$N" | sed "s/.*/SELECT 1 FROM stash.tenant_create('m&');/" | P -d mem >"$DIR/create$half.log" 2>&1 &
done
wait
grep -h ERROR "$DIR"/create*.log && exit 1
echo "   created $N tenants in $(( $(date +%s) - t0 )) s"

# one connection walks every tenant (as the application role), reading its 8 tables
walk() {  # walk LIMIT -> lines "after_N cache_bytes resets" and "seconds S"
  {
    echo "SET stash.cache_limit = '$1';"
    for i in $(seq 1 "$N"); do
      echo "BEGIN; SELECT stash.tenant_enter('m$i');"
      sed -n 's/^SELECT count(\*) FROM \(.*\);$/SELECT count(*) FROM \1;/p' bench/enter_touch8.sql
      echo "COMMIT;"
      case " $MARKS " in *" $i "*) echo "SELECT 'after_$i', cache_bytes, cache_resets FROM stash.backend_stats();" ;; esac
    done
  } >"$DIR/walk.sql"
  local t0 t1; t0=$(date +%s%N)
  PGOPTIONS="-c stash.cache_limit=$1" P -d mem -U postgres -F ' ' -f "$DIR/walk.sql" | grep '^after_'
  t1=$(date +%s%N); echo "seconds $(python3 -c "print(f'{($t1 - $t0) / 1e9:.1f}')")"
}
OUT=$DIR/results; : >"$OUT"
for limit in 0 "$LIMIT"; do
  echo "-- walk, stash.cache_limit = $limit"
  walk "$limit" | while read -r k v r; do echo "walk.$limit.$k $v ${r:-}" | tee -a "$OUT"; done
done

# pgbench through all tenants, random tenant per transaction, the 8 tables touched; the
# two settings interleaved; per-backend private memory read from /proc near the end.  Two
# ways to pick the tenant: uniformly (the goal's measure: every tenant equally likely,
# the worst case for any cache) and Zipf-skewed (s = 1.1: a few tenants busy, many quiet,
# as tenants of one product usually are).
echo "-- pgbench, $RUNS runs x ${DUR}s each setting and access pattern, 4 clients"
declare -A TPS RSS
# the same transaction, the tenant drawn from a Zipf distribution
sed 's/random(1, :ntenants)/random_zipfian(1, :ntenants, 1.1)/' bench/enter_touch8.sql >"$DIR/enter_touch8_zipf.sql"
for run in $(seq 1 "$RUNS"); do
  for access in uniform zipf; do
    script=bench/enter_touch8.sql; [ $access = zipf ] && script=$DIR/enter_touch8_zipf.sql
    for limit in 0 "$LIMIT"; do
      P -d mem -c "ALTER ROLE mem_app SET stash.cache_limit = '$limit'" >/dev/null
      "$PGB" -n -M prepared -U mem_app -c 4 -j 2 -T "$DUR" -D ntenants="$N" -f "$script" mem \
        >"$DIR/pgb.out" 2>&1 &
      pid=$!
      sleep $((DUR - 1 > 0 ? DUR - 1 : 1))
      rss=$(P -d mem -c "SELECT pid FROM pg_stat_activity WHERE usename = 'mem_app'" | while read -r p; do
              sed -n 's/^RssAnon:\s*\([0-9]*\).*/\1/p' "/proc/$p/status" 2>/dev/null; done \
            | python3 -c "import sys, statistics; v=[int(x) for x in sys.stdin if x.strip()]; print(max(v) if v else 0)")
      wait $pid
      tps=$(sed -n 's/^tps = \([0-9.]*\).*/\1/p' "$DIR/pgb.out" | head -1)
      [ -n "$tps" ] || { cat "$DIR/pgb.out"; exit 1; }
      TPS[$access.$limit]="${TPS[$access.$limit]:-} $tps"; RSS[$access.$limit]="${RSS[$access.$limit]:-} $rss"
      echo "   run $run $access limit $limit: $tps tps, largest backend RssAnon $rss kB"
    done
  done
done
for access in uniform zipf; do
  for limit in 0 "$LIMIT"; do
    echo "pgbench.$access.$limit.tps $(median ${TPS[$access.$limit]})" >>"$OUT"
    echo "pgbench.$access.$limit.rss_kb $(median ${RSS[$access.$limit]})" >>"$OUT"
  done
  # the median of the per-round ratios (both settings ran back to back in each round)
  echo "pgbench.$access.ratio $(python3 -c "import statistics, sys; a, b = (list(map(float, x.split())) for x in sys.argv[1:]); print(f'{statistics.median(y / x for x, y in zip(a, b)):.3f}')" "${TPS[$access.0]}" "${TPS[$access.$LIMIT]}")" >>"$OUT"
  echo "pgbench.$access.rounds $(python3 -c "import sys; a, b = (list(map(float, x.split())) for x in sys.argv[1:]); print(','.join(f'{y / x:.3f}' for x, y in zip(a, b)))" "${TPS[$access.0]}" "${TPS[$access.$LIMIT]}")" >>"$OUT"
done
# What a transaction costs when its tenant's catalog entries are cold vs cached: one fresh
# connection (limit off) runs the same transaction in SAMPLE tenants it has never entered,
# then in the same tenants again; wall time per transaction over the unix socket (the same
# round trips in both, so the ratio is if anything understated).  With it, the tps ratio a
# bounded cache can reach at all under uniform random access (bench/memory.md explains).
SAMPLE=$([ "$MODE" = full ] && echo 300 || echo 20)
echo "-- cold vs cached transaction, $SAMPLE tenants"
PGHOST=$PGHOST "$PG_ROOT/venv/bin/python" - "$N" "$SAMPLE" >>"$OUT" <<'PY' || exit 1
import random, statistics, sys, time
import psycopg
n, sample = int(sys.argv[1]), int(sys.argv[2])
tables = ["campaigns", "documents", "processors", "document_jobs", "processor_executions",
          "credentials", "usage_events", "audit_logs"]
slugs = [f"m{i}" for i in random.Random(17).sample(range(1, n + 1), sample)]
with psycopg.connect(dbname="mem", user="mem_app", autocommit=True,
                     options="-c stash.cache_limit=0") as conn:
    def txn(slug):
        t0 = time.perf_counter()
        with conn.transaction():
            conn.execute("SELECT stash.tenant_enter(%s)", (slug,))
            for t in tables:
                conn.execute(f"SELECT count(*) FROM {t}")
        return time.perf_counter() - t0
    cold = [txn(s) for s in slugs]
    warm = [txn(s) for s in slugs]
print(f"txn.cold_ms {statistics.median(cold) * 1000:.3f}")
print(f"txn.warm_ms {statistics.median(warm) * 1000:.3f}")
PY
python3 - "$OUT" "$N" "$LIMIT" "$MODE" "$(P -d mem -c 'SHOW server_version')" "$DUR" >"$DIR/memory.md" <<'PY'
import sys
res = {}
for line in open(sys.argv[1]):
    k, *v = line.split()
    res[k] = v
n, limit, mode, pg = sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5]
mb = lambda b: f"{int(b) / 2**20:.1f}"
marks = [k.split(".")[2] for k in res if k.startswith("walk.0.after_")]
print(f"""## Catalog-cache memory per connection: `stash.cache_limit`

`make bench-memory` ({mode}; PostgreSQL {pg}): {n} tenants with the 8-table
document-pipeline template; `stash.cache_limit = {limit}` against `0` (off).

| measurement | limit off | limit {limit} | goal |
|---|---:|---:|---|""")
for m in marks:
    off, on = res[f"walk.0.{m}"], res[f"walk.{limit}.{m}"]
    print(f"| one connection walking the tenants, catalog cache after {m.split('_')[1]} tenants, MB | {mb(off[0])} | {mb(on[0])} (released {on[1]}×) | |")
first, last = marks[0], marks[-1]
lim_b = float(limit.rstrip("MB")) * 2**20 if limit.endswith("MB") else 0
on_last = int(res[f"walk.{limit}.{last}"][0])
# one tenant's working set, from the walk without a limit
per_tenant = (int(res[f"walk.0.{last}"][0]) - int(res[f"walk.0.{first}"][0])) / (
    int(last.split("_")[1]) - int(first.split("_")[1]))
bound = lim_b + per_tenant
print(f"| one tenant's working set (growth per tenant without a limit), KB | {per_tenant / 1024:.0f} | | |")
print(f"| … at the end, with the limit, MB | | {mb(on_last)} | ≤ {limit} + one tenant ({bound / 2**20:.1f} MB): {'met' if on_last <= bound else '**missed**'} |")
print(f"| walk time, s | {res['walk.0.seconds'][0]} | {res[f'walk.{limit}.seconds'][0]} | |")
for access, what in (("uniform", "uniformly random tenant"), ("zipf", "Zipf-skewed tenant (s = 1.1)")):
    t0, t1 = float(res[f"pgbench.{access}.0.tps"][0]), float(res[f"pgbench.{access}.{limit}.tps"][0])
    r, rounds = float(res[f"pgbench.{access}.ratio"][0]), res[f"pgbench.{access}.rounds"][0].replace(",", ", ")
    goal = f"≥ 0.8: {'met' if r >= 0.8 else '**missed**'}" if access == "uniform" else ""
    print(f"| pgbench through all tenants, {what} per transaction (8 tables), tps (median) | {t0:.0f} | {t1:.0f} | |")
    print(f"| … with / without (median of the per-round ratios {rounds}) | | {r:.3f} | {goal} |")
    print(f"| … largest backend private memory (RssAnon) near the end of a run, MB | {float(res[f'pgbench.{access}.0.rss_kb'][0]) / 1024:.1f} | {float(res[f'pgbench.{access}.{limit}.rss_kb'][0]) / 1024:.1f} | |")
cold, warm = float(res["txn.cold_ms"][0]), float(res["txn.warm_ms"][0])
k = cold / warm
held = min(1.0, lim_b / per_tenant / int(n)) if per_tenant else 0
best = 1 / (held + (1 - held) * k)
print(f"| a transaction in a tenant whose catalog entries are cold / cached, ms (median, one connection) | {cold:.2f} / {warm:.2f} | | |")
print(f"| … cold / cached | {k:.2f} | | |")
print(f"| tenants a {limit} cache holds (limit / working set), share of all | | {held:.1%} | |")
print(f"| tps ratio any eviction policy can reach under uniform random access, against connections that hold every tenant: 1 / (held + (1 − held) × cold/cached) | | {best:.3f} | |")
# the uniform run without a limit is not warm either: each of its 4 fresh connections met
# most tenants for the first time during the run (coupon collector)
import math
per_conn = float(res["pgbench.uniform.0.tps"][0]) * float(sys.argv[6]) / 4
cold0 = int(n) * (1 - math.exp(-per_conn / int(n))) / per_conn
predicted = (cold0 * k + 1 - cold0) / ((1 - held) * k + held)
print(f"| share of the uniform run's transactions that met their tenant cold (each connection ~{per_conn:.0f} transactions among {n} tenants) | {cold0:.1%} | {1 - held:.1%} | |")
print(f"| … the with / without ratio those shares and cold/cached predict | | {predicted:.3f} | |")
PY
cat "$DIR/memory.md"
if [ "$MODE" = full ]; then cp "$DIR/memory.md" bench/memory.md; echo "== wrote bench/memory.md"; fi
