-- target_version below the current version rolls back with down_sql, newest first;
-- then forward again.  A version without down_sql cannot be rolled back.
CREATE EXTENSION stash_tenancy;
SELECT stash.migration_add(1, 'create_customers',
  'CREATE TABLE customers (id bigserial PRIMARY KEY)', 'DROP TABLE customers');
SELECT stash.migration_add(2, 'create_orders',
  'CREATE TABLE orders (id bigserial PRIMARY KEY)', 'DROP TABLE orders');
SELECT stash.migration_add(3, 'orders_total',
  'ALTER TABLE orders ADD COLUMN total numeric', 'ALTER TABLE orders DROP COLUMN total');
SELECT slug FROM stash.tenant_create('acme');

SELECT * FROM stash.tenant_migrate('acme', 1);
SELECT table_name FROM information_schema.tables WHERE table_schema = 'tenant_acme' ORDER BY 1;
SELECT slug, current_version, pending FROM stash.tenant_status;
SELECT slug, action, detail->'versions' AS versions FROM stash.events WHERE action = 'rolled_back';

-- forward again, to a chosen version, then to the latest
SELECT * FROM stash.tenant_migrate('acme', 2);
SELECT * FROM stash.tenant_migrate('acme');
SELECT column_name FROM information_schema.columns
 WHERE table_schema = 'tenant_acme' AND table_name = 'orders' ORDER BY ordinal_position;

-- all the way down to 0 and back up
SELECT * FROM stash.tenant_migrate('acme', 0);
SELECT count(*) AS acme_tables FROM information_schema.tables WHERE table_schema = 'tenant_acme';
SELECT * FROM stash.tenant_migrate('acme');

-- a version without down_sql stops a rollback before anything is changed
SELECT stash.migration_add(4, 'irreversible', 'CREATE TABLE audit (id int)');
SELECT * FROM stash.tenant_migrate('acme');
SELECT * FROM stash.tenant_migrate('acme', 2);
SELECT slug, current_version FROM stash.tenant_status;
SELECT count(*) AS acme_tables FROM information_schema.tables WHERE table_schema = 'tenant_acme';
