-- The state of a database that has used stash_tenancy 0.2.0 for a while: application roles
-- (one of them admitted by token only), token keys (one retired), the commerce template and
-- later migrations, a shared migration and a table the tenants' group role may read, a
-- pool table with rows of several tenants, tenants in every state (active, suspended,
-- renamed, cloned, reset, dropped) and a failed migration left on record by migrate_all,
-- and the events all of that wrote.
--
-- tests/integration/test_upgrade.py runs it under the REAL 0.2.0 library (built from its
-- commit by scripts/old_release.sh) with psql -v commerce=<tests/fixtures/commerce.sql>,
-- in a database where it has just run CREATE EXTENSION stash_tenancy VERSION '0.2.0'
-- (the line below is left out there), then swaps the new library in and updates.
-- The roles it creates are the cluster's: the test drops them afterwards.
\set ON_ERROR_STOP on
CREATE EXTENSION stash_tenancy;

-- application roles: the web application enters by slug, the API by signed token only
CREATE ROLE stash_up_web LOGIN;
CREATE ROLE stash_up_api LOGIN;
SELECT stash.app_role_add('stash_up_web');
SELECT stash.app_role_add('stash_up_api');
SELECT stash.app_role_require_token('stash_up_api');
-- the ES256 key is the public half of ec.derive_private_key(0x5eed2020, SECP256R1), which
-- the test derives again to sign with
SELECT stash.token_key_add('hs-2026', 'HS256', 'upgrade-fixture-hs256-secret-0123456789abcdef');
SELECT stash.token_key_add('es-2026', 'ES256', '-----BEGIN PUBLIC KEY-----
MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEnt/MmZhshEUKJOfM+mieOxS6GMjp
zzRl6veyE85JHMG8DRXKi0Pzcb37RNEuAyJ/3aqqU8AEfY9pRVCQoFQpog==
-----END PUBLIC KEY-----');
SELECT stash.token_key_add('hs-2025', 'HS256', 'a-rotated-out-hs256-secret-0123456789abcdef');
SELECT stash.token_key_remove('hs-2025');

SELECT stash.migration_add(1, 'commerce', :'commerce');
SELECT stash.migration_add(2, 'orders_note',
  'ALTER TABLE orders ADD COLUMN note text', 'ALTER TABLE orders DROP COLUMN note');

-- the shared schema: a table every tenant may read through the group role
SELECT stash.migration_add(100, 'countries',
  'CREATE TABLE countries (code text PRIMARY KEY, name text NOT NULL)', 'DROP TABLE countries',
  'shared');
SELECT slug, status FROM stash.shared_migrate();
INSERT INTO public.countries VALUES ('DE', 'Germany'), ('FR', 'France');
SELECT format('GRANT SELECT ON public.countries TO %I', stash.tenant_group_role()) \gexec

-- a pool table: every tenant's notes in one shared table, kept apart by row-level security
CREATE TABLE public.notes (
  id        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  tenant_id uuid   NOT NULL,
  body      text   NOT NULL
);
SELECT stash.pool_table_add('public.notes');
SELECT format('GRANT SELECT, INSERT, DELETE ON public.notes TO %I', stash.tenant_group_role()) \gexec

SELECT slug FROM stash.tenant_create('acme', 'Acme Corp', '{"plan": "pro"}');
SELECT slug FROM stash.tenant_create('globex', 'Globex');
SELECT slug FROM stash.tenant_create('initech');
SELECT slug FROM stash.tenant_create('hooli', 'Hooli');
SELECT stash.tenant_rename('hooli', 'piedpiper');
SELECT slug FROM stash.tenant_create('scratch');
SELECT stash.tenant_drop('scratch');

-- data, written the way the application writes it: as its role, inside the tenant
BEGIN;
SET LOCAL ROLE stash_up_web;
SELECT stash.tenant_enter('acme');
INSERT INTO customers (email, name) VALUES ('ann@acme.test', 'Ann'), ('bob@acme.test', 'Bob');
INSERT INTO orders (customer_id, status, total_cents, note) VALUES (1, 'paid', 1250, 'first');
INSERT INTO notes (body) VALUES ('acme: call Ann back'), ('acme: ship order 1');
COMMIT;
BEGIN;
SET LOCAL ROLE stash_up_web;
SELECT stash.tenant_enter('globex');
INSERT INTO customers (email, name) VALUES ('gus@globex.test', 'Gus');
INSERT INTO orders (customer_id, total_cents) VALUES (1, 990);
INSERT INTO notes (body) VALUES ('globex: quarterly review');
COMMIT;
BEGIN;
SET LOCAL ROLE stash_up_web;
SELECT stash.tenant_enter('piedpiper');
INSERT INTO customers (email, name) VALUES ('gil@piedpiper.test', 'Gilfoyle');
INSERT INTO notes (body) VALUES ('piedpiper: compression demo');
COMMIT;
-- someone added this column by hand in globex (as an administrator), so migration 3 fails there
BEGIN;
SELECT stash.tenant_enter('globex');
ALTER TABLE orders ADD COLUMN discount_cents integer;
COMMIT;

SELECT stash.migration_add(3, 'orders_discount',
  'ALTER TABLE orders ADD COLUMN discount_cents integer NOT NULL DEFAULT 0',
  'ALTER TABLE orders DROP COLUMN discount_cents');
CALL stash.migrate_all();

SELECT stash.tenant_suspend('initech');
-- a copy of acme with its data, and piedpiper started over (development)
SELECT slug FROM stash.tenant_clone('acme', 'acme_eu', 'Acme Europe');
SET stash.allow_reset = on;
SELECT stash.tenant_reset('piedpiper');
RESET stash.allow_reset;

SELECT slug, status FROM stash.tenant_verify() ORDER BY slug;
SELECT slug, status, current_version, pending, last_error FROM stash.tenant_status ORDER BY slug;
