-- The state of a database that has used stash_tenancy 0.1.0 for a while: the commerce
-- template and later migrations, data in two tenants, a failed migration, a suspended
-- tenant, a shared migration, and the events all of that wrote.  make_fixture.sh runs
-- this against the released 0.1.0 library and pg_dumps the result into
-- stash_tenancy-0.1.0.dump.sql, which the upgrade test restores (CREATE EXTENSION ...
-- VERSION '0.1.0' with the new library) and then updates.
\set ON_ERROR_STOP on
CREATE EXTENSION stash_tenancy;
SELECT stash.migration_add(1, 'commerce', :'commerce');
SELECT stash.migration_add(2, 'orders_note',
  'ALTER TABLE orders ADD COLUMN note text', 'ALTER TABLE orders DROP COLUMN note');

-- the shared schema: a table every tenant can read
SELECT stash.migration_add(100, 'countries',
  'CREATE TABLE countries (code text PRIMARY KEY, name text NOT NULL)', 'DROP TABLE countries',
  'shared');
SELECT slug, status FROM stash.shared_migrate();
INSERT INTO public.countries VALUES ('DE', 'Germany'), ('FR', 'France');

SELECT slug FROM stash.tenant_create('acme', 'Acme Corp', '{"plan": "pro"}');
SELECT slug FROM stash.tenant_create('globex', 'Globex');
SELECT slug FROM stash.tenant_create('initech');

BEGIN;
SELECT stash.tenant_enter('acme');
INSERT INTO customers (email, name) VALUES ('ann@acme.test', 'Ann'), ('bob@acme.test', 'Bob');
INSERT INTO orders (customer_id, status, total_cents, note) VALUES (1, 'paid', 1250, 'first');
COMMIT;
BEGIN;
SELECT stash.tenant_enter('globex');
INSERT INTO customers (email, name) VALUES ('gus@globex.test', 'Gus');
INSERT INTO orders (customer_id, total_cents) VALUES (1, 990);
-- someone added this column by hand in globex, so migration 3 fails there
ALTER TABLE orders ADD COLUMN discount_cents integer;
COMMIT;

SELECT stash.migration_add(3, 'orders_discount',
  'ALTER TABLE orders ADD COLUMN discount_cents integer NOT NULL DEFAULT 0',
  'ALTER TABLE orders DROP COLUMN discount_cents');
SELECT slug, status, error FROM stash.tenant_migrate();

SELECT stash.tenant_suspend('initech');
SELECT slug, current_version, pending, last_error FROM stash.tenant_status ORDER BY slug;
