-- tenant_reset: "migrate fresh" for development and tests.  Everything in the tenant's
-- schema is dropped and every migration applied again, in one transaction; refused
-- unless an administrator enables it for the session.
CREATE EXTENSION stash_tenancy;
SELECT stash.migration_add(1, 'orders', 'CREATE TABLE orders (id int PRIMARY KEY, item text)');
SELECT stash.migration_add(2, 'seed', 'INSERT INTO orders VALUES (1, ''seeded'')');
SELECT slug FROM stash.tenant_create('acme');
SELECT slug FROM stash.tenant_create('globex');
INSERT INTO tenant_acme.orders VALUES (2, 'mine');
INSERT INTO tenant_globex.orders VALUES (2, 'globex keeps this');
CREATE TABLE tenant_acme.scratch (x int);          -- not from a migration
CREATE ROLE auditor;
GRANT USAGE ON SCHEMA tenant_acme TO auditor;      -- a privilege on the schema itself
COMMENT ON SCHEMA tenant_acme IS 'acme''s schema';
CREATE ROLE app;
SELECT stash.app_role_add('app');

-- refused by default (42501), nothing changed
SELECT stash.tenant_reset('acme');
SELECT count(*) AS acme_orders FROM tenant_acme.orders;

SET stash.allow_reset = on;
SELECT stash.tenant_reset('acme');
SELECT * FROM tenant_acme.orders;
SELECT to_regclass('tenant_acme.scratch') AS scratch;
SELECT * FROM tenant_globex.orders ORDER BY id;
SELECT slug, current_version FROM stash.tenant_status ORDER BY slug;
SELECT detail FROM stash.events WHERE action = 'reset';
SELECT has_schema_privilege('auditor', 'tenant_acme', 'USAGE') AS auditor_kept,
       obj_description('tenant_acme'::regnamespace, 'pg_namespace') AS comment_kept;

-- the application role still enters, and reaches the new tables
SET ROLE app;
BEGIN;
SELECT stash.tenant_enter('acme');
INSERT INTO orders VALUES (3, 'after reset');
SELECT count(*) FROM orders;
COMMIT;
-- only an administrator may turn it on
SET stash.allow_reset = on;
RESET ROLE;

SELECT stash.tenant_reset('nosuch');
RESET stash.allow_reset;

SELECT stash.app_role_remove('app');
DROP ROLE app;
SELECT stash.tenant_drop('acme');
SELECT stash.tenant_drop('globex');
DROP ROLE auditor;
