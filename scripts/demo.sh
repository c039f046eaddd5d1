#!/usr/bin/env bash
# make demo [PG=17]: builds and installs the extension, starts a throwaway cluster of its
# own (unix socket in a private temp dir: no port to collide with, nothing touched
# outside the repo and /tmp), and walks through a real session, printing each statement
# and its result.  Exits non-zero if any step does not do what it says.
#
# make psql [PG=17]: the same cluster with the extension created, and psql on it.
set -uo pipefail
cd "$(dirname "$0")/.."
source scripts/pg.sh
MODE=${1:-demo}
PGV=$(single_pg_version)
pg_config_for "$PGV" >/dev/null || exit 2

DIR=$(mktemp -d /tmp/stash-demo.XXXXXX)
chmod 755 "$DIR"
cleanup() { cluster_stop "$PGV" "$DIR"; rm -rf "$DIR"; }
trap cleanup EXIT
trap 'exit 130' INT TERM

echo "== building and installing stash_tenancy into PostgreSQL $PGV"
cargo pgrx install --pg-config "$(pg_config_for "$PGV")" >"$DIR/install.log" 2>&1 \
  || { cat "$DIR/install.log"; exit 1; }
echo "== starting a throwaway PostgreSQL $PGV cluster in $DIR"
cluster_start "$PGV" "$DIR" || exit 1
"$PSQL" -X -q -d postgres -c "CREATE DATABASE demo" || exit 1

if [ "$MODE" = psql ]; then
  "$PSQL" -X -q -d demo -c "CREATE EXTENSION stash_tenancy" || exit 1
  echo "== psql on a throwaway cluster with stash_tenancy created; \\q to leave (the cluster goes too)"
  "$PSQL" -X -d demo
  exit
fi

FAILED=0
# step TITLE EXPECT [CHECK]: run the SQL on stdin with echo; EXPECT is "ok" or a SQLSTATE.
# CHECK, if given, is a query that must return true afterwards.
step() {
  local title=$1 expect=$2 check=${3:-} out rc
  printf '\n\033[1m-- %s\033[0m\n' "$title"
  out=$("$PSQL" -X -a -v ON_ERROR_STOP=1 -v VERBOSITY=verbose -d demo 2>&1)
  rc=$?
  grep -v '^LOCATION:  ' <<<"$out"
  if [ "$expect" = ok ]; then
    [ $rc = 0 ] || { echo "!! step failed: $title"; FAILED=1; return; }
  else
    if [ $rc = 0 ] || ! grep -q "ERROR:  $expect:" <<<"$out"; then
      echo "!! expected SQLSTATE $expect: $title"; FAILED=1; return
    fi
    echo "(refused with SQLSTATE $expect, as it should be)"
  fi
  if [ -n "$check" ] && [ "$("$PSQL" -X -At -d demo -c "$check" 2>&1)" != t ]; then
    echo "!! check failed: $check"; FAILED=1
  fi
}

step "Install the extension" ok "SELECT stash.version() IS NOT NULL" <<'SQL'
CREATE EXTENSION stash_tenancy;
SELECT stash.version();
SQL

step "Register the commerce template (tests/fixtures/commerce.sql) as a tenant migration" ok \
  "SELECT count(*) = 1 FROM stash.migrations" <<'SQL'
\set commerce `cat tests/fixtures/commerce.sql`
SELECT stash.migration_add(1, 'commerce_template', :'commerce');
SELECT version, name, scope, left(checksum, 12) AS checksum FROM stash.migrations;
SQL

step "Create three tenants: each is a schema, fully migrated" ok \
  "SELECT count(*) = 3 FROM stash.tenant_status WHERE current_version = 1" <<'SQL'
SELECT slug, schema_name, status FROM stash.tenant_create('acme', 'Acme Corp');
SELECT slug, schema_name, status FROM stash.tenant_create('globex', 'Globex');
SELECT slug, schema_name, status FROM stash.tenant_create('initech', 'Initech');
SELECT slug, current_version, pending FROM stash.tenant_status ORDER BY slug;
SQL

step "Enter acme and insert orders (the context lasts one transaction)" ok \
  "SELECT count(*) = 2 FROM tenant_acme.orders" <<'SQL'
BEGIN;
SELECT stash.tenant_enter('acme');
SHOW search_path;
INSERT INTO customers (email, name) VALUES ('wile@acme.test', 'Wile E. Coyote');
INSERT INTO orders (customer_id, total_cents) VALUES (1, 1999), (1, 4999);
SELECT id, customer_id, status, total_cents FROM orders;
COMMIT;
SHOW search_path;
SQL

step "Another tenant sees none of them" ok \
  "SELECT count(*) = 0 FROM tenant_globex.orders" <<'SQL'
BEGIN;
SELECT stash.tenant_enter('globex');
SELECT count(*) AS orders_seen_by_globex FROM orders;
COMMIT;
SQL

step "Add a migration and roll it out to every tenant" ok \
  "SELECT bool_and(current_version = 2 AND pending = 0) FROM stash.tenant_status" <<'SQL'
SELECT stash.migration_add(2, 'orders_currency',
  $$ALTER TABLE orders ADD COLUMN currency char(3) NOT NULL DEFAULT 'EUR'$$,
  'ALTER TABLE orders DROP COLUMN currency');
CALL stash.migrate_all();
SQL

step "Where is every tenant?" ok <<'SQL'
SELECT slug, status, current_version, latest_version, pending, last_error FROM stash.tenant_status ORDER BY slug;
SQL

step "Suspend initech" ok \
  "SELECT status = 'suspended' FROM stash.tenants WHERE slug = 'initech'" <<'SQL'
SELECT stash.tenant_suspend('initech');
SQL

step "... and entering it is refused" 55000 <<'SQL'
BEGIN;
SELECT stash.tenant_enter('initech');
ROLLBACK;
SQL

step "Drop globex: nothing of it remains" ok \
  "SELECT NOT EXISTS (SELECT FROM pg_namespace WHERE nspname = 'tenant_globex') AND NOT EXISTS (SELECT FROM stash.tenants WHERE slug = 'globex') AND NOT EXISTS (SELECT FROM stash.ledger l WHERE NOT EXISTS (SELECT FROM stash.tenants t WHERE t.id = l.tenant_id))" <<'SQL'
SELECT stash.tenant_drop('globex');
SELECT count(*) AS globex_schemas FROM pg_namespace WHERE nspname = 'tenant_globex';
SELECT slug, status, size_bytes FROM stash.tenant_list ORDER BY slug;
SELECT slug, action, detail FROM stash.events WHERE slug = 'globex';
SQL

echo
if [ $FAILED = 0 ]; then
  echo "== demo: every step did what it says (PostgreSQL $PGV)"
else
  echo "== demo: some steps FAILED (PostgreSQL $PGV)"; exit 1
fi
