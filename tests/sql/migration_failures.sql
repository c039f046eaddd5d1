-- One tenant's failing migration does not hold back the others: the failing version is
-- rolled back for that tenant alone (earlier versions stay), the failure is recorded,
-- and the run goes on.  After a fix, the next run resumes where it stopped.
CREATE EXTENSION stash_tenancy;
SELECT stash.migration_add(1, 'create_customers',
  $$CREATE TABLE customers (id bigserial PRIMARY KEY, email text NOT NULL)$$);
SELECT t.slug FROM unnest(ARRAY['acme', 'globex', 'initech']) AS s(slug),
  LATERAL stash.tenant_create(s.slug) AS t;

-- each tenant has its own data; only globex has a duplicate email
BEGIN;
SELECT stash.tenant_enter('acme');
INSERT INTO customers (email) VALUES ('a@acme.test'), ('b@acme.test');
SELECT stash.tenant_enter('globex');
INSERT INTO customers (email) VALUES ('x@globex.test'), ('x@globex.test');
SELECT stash.tenant_enter('initech');
INSERT INTO customers (email) VALUES ('p@initech.test');
COMMIT;

SELECT stash.migration_add(2, 'customers_lower_email',
  $$UPDATE customers SET email = lower(email)$$);
SELECT stash.migration_add(3, 'customers_unique_email',
  $$ALTER TABLE customers ADD CONSTRAINT customers_email_key UNIQUE (email)$$);
SELECT stash.migration_add(4, 'create_orders',
  $$CREATE TABLE orders (id bigserial PRIMARY KEY, customer_id bigint REFERENCES customers)$$);

SELECT * FROM stash.tenant_migrate();

-- globex kept version 2 and stopped at 3; the others are done
SELECT slug, current_version, latest_version, pending, last_error FROM stash.tenant_status ORDER BY slug;
SELECT slug, detail->>'version' AS version, detail->>'sqlstate' AS sqlstate
  FROM stash.events WHERE action = 'migration_failed';
SELECT count(*) AS globex_orders_tables FROM pg_tables
 WHERE schemaname = 'tenant_globex' AND tablename = 'orders';

-- fix the data, run again: globex resumes at version 3; the others have nothing to do
BEGIN;
SELECT stash.tenant_enter('globex');
DELETE FROM customers WHERE id = (SELECT max(id) FROM customers);
COMMIT;
SELECT * FROM stash.tenant_migrate();
SELECT slug, current_version, pending, last_error FROM stash.tenant_status ORDER BY slug;

-- tenant_create applies every migration in its own transaction: a failure fails the
-- creation, naming the version, with the original SQLSTATE, and nothing remains
SELECT stash.migration_add(5, 'needs_a_missing_table',
  $$CREATE INDEX ON no_such_table (id)$$);
SELECT stash.tenant_create('hooli');
SELECT count(*) AS hooli_rows FROM stash.tenants WHERE slug = 'hooli';
SELECT count(*) AS hooli_schemas FROM pg_namespace WHERE nspname = 'tenant_hooli';
SELECT count(*) AS hooli_events FROM stash.events WHERE slug = 'hooli';
