#!/usr/bin/env bash
# make bench-ops [PG=17]: the tenant-operation benchmarks of BENCHMARKS.md, on a throwaway
# cluster; writes bench/ops.md.  `smoke` runs the same code at tiny sizes (make test).
#  * tenant_clone of the commerce fixture with 100,000 rows against the same copy made by
#    hand, `pg_dump -n tenant_src | sed | psql` — interleaved rounds, the median of the
#    per-round ratios;
#  * tenant_verify of 1,000 tenants of the 8-table document-pipeline template (goal < 60 s).
set -uo pipefail
cd "$(dirname "$0")/.."
source scripts/pg.sh
MODE=${1:-full}
PGV=$(single_pg_version)
pg_config_for "$PGV" >/dev/null || exit 2
BIN=$(pg_bindir_for "$PGV")
if [ "$MODE" = full ]; then
  ROWS=100000 ROUNDS=3 VERIFY_TENANTS=1000 PROFILE=--release
else
  ROWS=1000 ROUNDS=1 VERIFY_TENANTS=10 PROFILE=
fi
DIR=$(mktemp -d /tmp/stash-bench-ops.XXXXXX)
chmod 755 "$DIR"
cleanup() { cluster_stop "$PGV" "$DIR/pg"; rm -rf "$DIR"; }
trap cleanup EXIT
trap 'exit 130' INT TERM
P() { "$PSQL" -X -q -At -v ON_ERROR_STOP=1 "$@"; }
now_ns() { date +%s%N; }
secs() { python3 -c "import sys; print(f'{(int(sys.argv[2]) - int(sys.argv[1])) / 1e9:.3f}')" "$1" "$2"; }

echo "== tenant-operation benchmarks ($MODE) on PostgreSQL $PGV"
bash scripts/install.sh install "$(pg_config_for "$PGV")" $PROFILE >"$DIR/install.log" 2>&1 \
  || { cat "$DIR/install.log"; exit 1; }
cluster_start "$PGV" "$DIR/pg" || exit 1
P -d postgres -c "CREATE DATABASE ops" >/dev/null
P -d ops -c "CREATE EXTENSION stash_tenancy" >/dev/null || exit 1
P -d ops -v tpl="$(cat tests/fixtures/commerce.sql)" >/dev/null <<'SQL' || exit 1
SELECT stash.migration_add(1, 'commerce', :'tpl');
SELECT slug FROM stash.tenant_create('src');
SQL
# ROWS rows across the commerce tables, foreign keys satisfied
P -d ops -v n="$ROWS" >/dev/null <<'SQL' || exit 1
SET search_path = tenant_src;
INSERT INTO creators (handle, display_name) SELECT 'c' || g, 'Creator ' || g FROM generate_series(1, :n / 100) g;
INSERT INTO customers (email, name) SELECT 'u' || g || '@example.com', 'Customer ' || g FROM generate_series(1, :n / 5) g;
INSERT INTO products (creator_id, sku, title, price_cents)
  SELECT 1 + g % (:n / 100), 'sku-' || g, 'Product ' || g, g % 5000 FROM generate_series(1, :n / 10) g;
INSERT INTO orders (customer_id, status, total_cents)
  SELECT 1 + g % (:n / 5), 'paid', g % 10000 FROM generate_series(1, :n / 2) g;
INSERT INTO reviews (product_id, customer_id, rating, body)
  SELECT 1 + g % (:n / 10), 1 + g % (:n / 5), 1 + g % 5, 'fine' FROM generate_series(1, :n / 10 - :n / 100) g;
INSERT INTO payouts (creator_id, amount_cents) SELECT 1 + g % (:n / 100), 100 FROM generate_series(1, :n / 100) g;
INSERT INTO blog_posts (creator_id, slug, title, body)
  SELECT 1 + g % (:n / 100), 'post-' || g, 'Post ' || g, repeat('text ', 20) FROM generate_series(1, :n * 9 / 100) g;
SQL
P -d ops -c "ANALYZE" >/dev/null
rows=$(P -d ops -c "SELECT (SELECT count(*) FROM tenant_src.creators) + (SELECT count(*) FROM tenant_src.customers)
  + (SELECT count(*) FROM tenant_src.products) + (SELECT count(*) FROM tenant_src.orders)
  + (SELECT count(*) FROM tenant_src.reviews) + (SELECT count(*) FROM tenant_src.payouts)
  + (SELECT count(*) FROM tenant_src.blog_posts)")
echo "-- source tenant: $rows rows"

CLONE=() DUMP=() RATIO=()
for round in $(seq 1 "$ROUNDS"); do
  for variant in clone dump; do
    t0=$(now_ns)
    if [ $variant = clone ]; then
      P -d ops -c "SELECT 1 FROM stash.tenant_clone('src', 'clone_$round')" >/dev/null || exit 1
    else
      "$BIN/pg_dump" -n tenant_src -d ops | sed "s/tenant_src/tenant_copy_$round/g" \
        | P -d ops >/dev/null || exit 1
    fi
    t1=$(now_ns)
    s=$(secs "$t0" "$t1")
    if [ $variant = clone ]; then CLONE+=("$s"); else DUMP+=("$s"); fi
    echo "   round $round $variant: $s s"
  done
  RATIO+=("$(python3 -c "import sys; print(f'{float(sys.argv[1]) / float(sys.argv[2]):.3f}')" "${CLONE[-1]}" "${DUMP[-1]}")")
done
copied=$(P -d ops -c "SELECT (SELECT count(*) FROM tenant_clone_1.orders) = (SELECT count(*) FROM tenant_src.orders)")
[ "$copied" = t ] || { echo "!! the clone's rows differ from the source's"; exit 1; }
med() { python3 -c "import statistics, sys; print(f'{statistics.median(map(float, sys.argv[1:])):.3f}')" "$@"; }

echo "-- tenant_verify of $VERIFY_TENANTS tenants of the 8-table document-pipeline template"
P -d postgres -c "CREATE DATABASE verify" >/dev/null
P -d verify -c "CREATE EXTENSION stash_tenancy" >/dev/null
P -d verify -v tpl="$(cat tests/fixtures/document_pipeline.sql)" >/dev/null <<'SQL' || exit 1
SELECT stash.migration_add(1, 'document_pipeline', :'tpl');
SQL
seq 1 "$VERIFY_TENANTS" | sed "s/.*/SELECT 1 FROM stash.tenant_create('v&');/" | P -d verify >/dev/null || exit 1
t0=$(now_ns)
verdict=$(P -d verify -c "SELECT string_agg(status || ':' || n, ' ') FROM (SELECT status, count(*) n FROM stash.tenant_verify() GROUP BY 1) s")
t1=$(now_ns)
verify_s=$(secs "$t0" "$t1")
[ "$verdict" = "ok:$VERIFY_TENANTS" ] || { echo "!! tenant_verify said: $verdict"; exit 1; }
echo "   $verify_s s ($verdict)"

[ "$MODE" = full ] || { echo "== smoke run ok"; exit 0; }
goal=$(python3 -c "import sys; print('met' if float(sys.argv[1]) < 60 else '**missed**')" "$verify_s")
cat >bench/ops.md <<EOF
## Tenant operations (\`make bench-ops\`, PostgreSQL $("$BIN/pg_config" --version | awk '{print $2}'), $(date -u +%Y-%m-%d))

| measurement | value | goal |
|---|---:|---|
| \`tenant_clone\` of the commerce fixture, $rows rows, s (median of $ROUNDS) | $(med "${CLONE[@]}") | |
| \`pg_dump -n tenant_src \| sed \| psql\` of the same schema, s (median of $ROUNDS) | $(med "${DUMP[@]}") | baseline |
| clone / dump-and-restore (median of the per-round ratios ${RATIO[*]}) | $(med "${RATIO[@]}") | |
| \`tenant_verify()\` of $VERIFY_TENANTS tenants of the 8-table template, s | $verify_s | < 60 s: $goal |
EOF
cat bench/ops.md
