-- tenant_create applies every tenant migration in the caller's transaction, without a
-- subtransaction per version: a failure fails the whole create, with the migration's own
-- error — SQLSTATE, message, DETAIL, HINT — and a CONTEXT line naming the version.
-- (80 subtransactions would overflow the backend's cache of 64, making every snapshot on
-- the primary and its standbys look into pg_subtrans while the create runs.)
CREATE EXTENSION stash_tenancy;
SELECT count(stash.migration_add(v, 'table_' || v, format('CREATE TABLE t%s (id int)', v)))
  FROM generate_series(1, 80) v;
BEGIN;
SELECT slug FROM stash.tenant_create('acme');
-- every subtransaction that writes gets a transaction id of its own, and holds a lock on
-- it until the top transaction ends: one id here means no subtransactions were used
SELECT count(*) AS transaction_ids_held FROM pg_locks
 WHERE locktype = 'transactionid' AND pid = pg_backend_pid();
COMMIT;
SELECT current_version, pending FROM stash.tenant_status WHERE slug = 'acme';

-- a failing version: its error as raised, plus the context line; nothing is created
SELECT stash.migration_add(81, 'checks_data', $$
DO $do$ BEGIN
  RAISE EXCEPTION 'orders need a currency'
    USING ERRCODE = 'check_violation', DETAIL = 'orders.currency is NULL in 3 rows',
          HINT = 'Backfill the currency first.';
END $do$
$$);
SELECT stash.tenant_create('globex');
SELECT count(*) AS globex_rows FROM stash.tenants WHERE slug = 'globex';
SELECT count(*) AS globex_schemas FROM pg_namespace WHERE nspname = 'tenant_globex';

-- migrations of existing tenants record the failure with its DETAIL and HINT
SELECT slug, status, error FROM stash.tenant_migrate('acme');
SELECT version, sqlstate, message, detail, hint FROM stash.migration_failures;
SELECT detail->>'detail' AS event_detail, detail->>'hint' AS event_hint
  FROM stash.events WHERE action = 'migration_failed';
