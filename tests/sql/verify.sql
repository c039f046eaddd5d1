-- tenant_verify: does each tenant's schema match what its migrations make?  The
-- reference is the tenant's own migrations replayed into a scratch schema that is rolled
-- back; differences are listed in words.
CREATE EXTENSION stash_tenancy;
SELECT stash.migration_add(1, 'kitchen sink', $$
  CREATE TYPE status AS ENUM ('open', 'paid');
  CREATE DOMAIN money_cents AS bigint CHECK (VALUE >= 0);
  CREATE TABLE customers (id int GENERATED ALWAYS AS IDENTITY PRIMARY KEY, name text NOT NULL);
  CREATE TABLE orders (id serial PRIMARY KEY, customer_id int REFERENCES customers,
                       status status NOT NULL DEFAULT 'open', total money_cents, note varchar(20));
  CREATE INDEX orders_customer_idx ON orders (customer_id);
  CREATE VIEW open_orders AS SELECT id, total FROM orders WHERE status = 'open';
  CREATE FUNCTION order_total(o orders) RETURNS bigint LANGUAGE sql AS 'SELECT o.total';
  CREATE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql AS 'BEGIN RETURN NEW; END';
  CREATE TRIGGER orders_touch BEFORE UPDATE ON orders FOR EACH ROW EXECUTE FUNCTION touch();
  ALTER TABLE orders ENABLE ROW LEVEL SECURITY;
  CREATE POLICY orders_open ON orders USING (status = 'open');
  CREATE TABLE events (at date NOT NULL, what text) PARTITION BY RANGE (at);
  CREATE TABLE events_2026 PARTITION OF events FOR VALUES FROM ('2026-01-01') TO ('2027-01-01');
$$);
SELECT stash.migration_add(2, 'note wider', 'ALTER TABLE orders ALTER COLUMN note TYPE varchar(40)');
SELECT slug FROM stash.tenant_create('acme');
SELECT slug FROM stash.tenant_create('globex');
SELECT slug FROM stash.tenant_create('initech');
SELECT slug FROM stash.tenant_create('umbrella');

-- a fresh fleet matches its migrations
SELECT * FROM stash.tenant_verify();

-- drift of every kind, by hand, in three tenants
CREATE INDEX orders_total_idx ON tenant_acme.orders (total);                  -- extra index
ALTER TABLE tenant_acme.orders ALTER COLUMN note TYPE text;                    -- column type
ALTER TABLE tenant_acme.orders ALTER COLUMN status SET DEFAULT 'paid';         -- default
ALTER TABLE tenant_acme.customers ALTER COLUMN name DROP NOT NULL;             -- nullability
ALTER TABLE tenant_globex.orders DROP CONSTRAINT orders_customer_id_fkey;      -- constraint
CREATE TABLE tenant_globex.scratch (x int);                                    -- extra table
DROP POLICY orders_open ON tenant_globex.orders;                               -- policy
CREATE OR REPLACE VIEW tenant_globex.open_orders AS
  SELECT id, total FROM tenant_globex.orders WHERE status = 'paid';            -- view
CREATE OR REPLACE FUNCTION tenant_initech.touch() RETURNS trigger LANGUAGE plpgsql
  AS 'BEGIN NEW.total := 0; RETURN NEW; END';                                  -- function body
ALTER TABLE tenant_initech.orders DISABLE TRIGGER orders_touch;                -- trigger
ALTER TYPE tenant_initech.status ADD VALUE 'void';                             -- enum
ALTER TABLE tenant_initech.orders DROP COLUMN note;                            -- missing column
-- (a view's definition is shown as PostgreSQL deparses it, which differs between major
-- versions: here it is cut after the view's name)
SELECT slug, status,
       array_to_string(array(SELECT CASE WHEN d LIKE 'view %' THEN split_part(d, ':', 1) || ': …' ELSE d END
                               FROM unnest(differences) d), E'\n') AS differences
  FROM stash.tenant_verify();

-- one tenant; bad input
SELECT * FROM stash.tenant_verify('umbrella');
SELECT * FROM stash.tenant_verify('nosuch');
SELECT * FROM stash.tenant_verify('Bad Slug');

-- a tenant at an older version is compared with the migrations it has applied
SELECT stash.migration_add(3, 'shipped', 'ALTER TABLE orders ADD COLUMN shipped boolean');
SELECT slug, status FROM stash.tenant_migrate('umbrella');
SELECT slug, status, differences FROM stash.tenant_verify('umbrella');
SELECT slug, current_version FROM stash.tenant_status WHERE slug IN ('umbrella', 'acme') ORDER BY slug;

-- the reference was built in a scratch schema that is gone
SELECT count(*) AS scratch_schemas FROM pg_namespace WHERE nspname LIKE 'stash_verify_%';

-- a migration that cannot be replayed into the scratch schema leaves the tenant
-- unverifiable, with the migration's own error; the failed replay leaves nothing behind,
-- not even its CONTEXT line on a later error of the same statement
SELECT stash.migration_add(4, 'tenant schemas only', $$
  DO $do$ BEGIN
    IF current_schema() NOT LIKE 'tenant\_%' THEN
      RAISE EXCEPTION 'runs in tenant schemas only, not in %', current_schema();
    END IF;
  END $do$
$$);
SELECT slug, status FROM stash.tenant_migrate('acme');
SELECT status, 1 / (length(slug) - 4) AS then_an_error FROM stash.tenant_verify('acme');
SELECT slug, status, regexp_replace(array_to_string(differences, E'\n'), 'stash_verify_[0-9]+', 'stash_verify_PID', 'g')
  FROM stash.tenant_verify('acme');

-- administrators only
CREATE ROLE nobody;
SET ROLE nobody;
SELECT * FROM stash.tenant_verify();
RESET ROLE;
DROP ROLE nobody;

SELECT stash.tenant_drop(slug) FROM stash.tenants ORDER BY slug;
