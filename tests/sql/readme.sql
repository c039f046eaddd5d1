-- The README's 30-second taste, verbatim, so the README cannot drift from the product.
CREATE EXTENSION stash_tenancy;

-- migrations are registered once, written unqualified
SELECT stash.migration_add(1, 'create_orders',
  'CREATE TABLE orders (id bigint PRIMARY KEY, total numeric)', 'DROP TABLE orders');

SELECT slug, schema_name FROM stash.tenant_create('acme', 'Acme Corp');
--  acme | tenant_acme        (created with every migration applied, or not at all)

BEGIN;
SELECT stash.tenant_enter('acme');           -- search_path = tenant_acme, public
INSERT INTO orders VALUES (1, 9.99);
SELECT stash.current_tenant();               -- acme
COMMIT;                                      -- the context ends with the transaction

SELECT stash.migration_add(2, 'orders_status', 'ALTER TABLE orders ADD COLUMN status text');
CALL stash.migrate_all();                    -- every tenant, one transaction each, resumable
SELECT slug, current_version, pending, last_error FROM stash.tenant_status;

SELECT stash.tenant_suspend('acme');         -- tenant_enter('acme') now fails (55000)
SELECT stash.tenant_resume('acme');
SELECT slug, status, size_bytes FROM stash.tenant_list;
SELECT stash.tenant_drop('acme');            -- schema, data and registry row gone
