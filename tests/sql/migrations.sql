-- Migrations: register versions once, and every tenant gets them.
CREATE EXTENSION stash_tenancy;

-- SQL is written unqualified: it runs with search_path set to the tenant's schema.
SELECT stash.migration_add(1, 'create_customers',
  $$CREATE TABLE customers (id bigserial PRIMARY KEY, email text NOT NULL)$$,
  $$DROP TABLE customers$$);
SELECT stash.migration_add(2, 'create_orders',
  $$CREATE TABLE orders (id bigserial PRIMARY KEY,
                         customer_id bigint REFERENCES customers,
                         total numeric NOT NULL DEFAULT 0)$$,
  $$DROP TABLE orders$$);
SELECT version, name, scope, length(checksum) AS checksum_length FROM stash.migrations ORDER BY version;

-- a new tenant is created fully migrated
SELECT slug FROM stash.tenant_create('acme');
SELECT table_name FROM information_schema.tables WHERE table_schema = 'tenant_acme' ORDER BY 1;
SELECT slug, current_version, latest_version, pending, last_error FROM stash.tenant_status;

-- registering is idempotent: the same version with the same SQL changes nothing
SELECT stash.migration_add(2, 'create_orders',
  $$CREATE TABLE orders (id bigserial PRIMARY KEY,
                         customer_id bigint REFERENCES customers,
                         total numeric NOT NULL DEFAULT 0)$$,
  $$DROP TABLE orders$$);
-- ... but a version cannot be re-registered with other SQL (42710), naming who has it
SELECT stash.migration_add(2, 'create_orders', 'CREATE TABLE orders (id int)');

-- a new migration is pending until tenant_migrate applies it
SELECT stash.migration_add(3, 'orders_status',
  $$ALTER TABLE orders ADD COLUMN status text NOT NULL DEFAULT 'new'
      CHECK (status IN ('new', 'paid', 'shipped'))$$,
  $$ALTER TABLE orders DROP COLUMN status$$);
SELECT slug, current_version, latest_version, pending FROM stash.tenant_status;
SELECT * FROM stash.tenant_migrate('acme');
SELECT slug, current_version, latest_version, pending FROM stash.tenant_status;
-- nothing left to do
SELECT * FROM stash.tenant_migrate('acme');

-- the ledger records what each tenant applied, with checksum and duration
SELECT l.version, l.checksum = m.checksum AS checksum_ok, l.duration_ms >= 0 AS timed
  FROM stash.ledger l JOIN stash.migrations m USING (version)
  JOIN stash.tenants t ON t.id = l.tenant_id WHERE t.slug = 'acme' ORDER BY 1;
SELECT slug, action, detail - 'target' AS detail FROM stash.events WHERE action = 'migrated';

-- a migration applied anywhere cannot be removed (2BP01); an unused one can
SELECT stash.migration_remove(3);
SELECT stash.migration_add(4, 'unused', 'CREATE TABLE unused ()');
SELECT stash.migration_remove(4);
SELECT stash.migration_remove(4);

-- bad input is refused and changes nothing
SELECT stash.migration_add(0, 'zero', 'SELECT 1');
SELECT stash.migration_add(NULL, 'null', 'SELECT 1');
SELECT stash.migration_add(5, '', 'SELECT 1');
SELECT stash.migration_add(5, 'empty', '  ');
SELECT stash.migration_add(5, 'odd_scope', 'SELECT 1', NULL, 'global');
SELECT * FROM stash.tenant_migrate('nosuch');
SELECT * FROM stash.tenant_migrate('acme', -1);
SELECT count(*) AS migrations FROM stash.migrations;
