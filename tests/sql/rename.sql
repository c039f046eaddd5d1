-- tenant_rename: a tenant's new name — slug, schema, role — in one transaction; its id,
-- data, migrations and privileges stay.
CREATE EXTENSION stash_tenancy;
SELECT stash.migration_add(1, 'orders', 'CREATE TABLE orders (id int PRIMARY KEY, item text)');
SELECT slug FROM stash.tenant_create('acme');
SELECT slug FROM stash.tenant_create('globex');
INSERT INTO tenant_acme.orders VALUES (1, 'anvil');
CREATE ROLE app;
SELECT stash.app_role_add('app');
SELECT id AS acme_id FROM stash.tenants WHERE slug = 'acme' \gset

SELECT stash.tenant_rename('acme', 'acme_corp');
SELECT slug, schema_name, id = :'acme_id' AS same_id FROM stash.tenants ORDER BY slug;
SELECT nspname FROM pg_namespace WHERE nspname LIKE 'tenant_acme%';
-- the role carries the new slug (its name ends with the id, as before)
SELECT stash.tenant_role('acme_corp') = 'stash_acme_corp_' || right(replace(:'acme_id', '-', ''), 12) AS role_renamed,
       (SELECT count(*) FROM pg_roles WHERE rolname = 'stash_acme_' || right(replace(:'acme_id', '-', ''), 12)) AS old_role_left;
SELECT detail FROM stash.events WHERE action = 'renamed';
SELECT slug, current_version FROM stash.tenant_status ORDER BY slug;

-- the data and the application role's way in are the same
SET ROLE app;
BEGIN;
SELECT stash.tenant_enter('acme_corp');
SELECT * FROM orders;
COMMIT;
BEGIN;
SELECT stash.tenant_enter('acme');
ROLLBACK;
RESET ROLE;

-- bad input: nothing changes
SELECT stash.tenant_rename('acme_corp', 'globex');
SELECT stash.tenant_rename('acme_corp', 'Bad Slug');
SELECT stash.tenant_rename('acme_corp', 'acme_corp');
SELECT stash.tenant_rename('nosuch', 'other');
CREATE SCHEMA tenant_taken;
SELECT stash.tenant_rename('acme_corp', 'taken');
SELECT slug, schema_name FROM stash.tenants ORDER BY slug;

-- administrators only
SET ROLE app;
SELECT stash.tenant_rename('acme_corp', 'acme');
RESET ROLE;

DROP SCHEMA tenant_taken;
SELECT stash.app_role_remove('app');
DROP ROLE app;
SELECT stash.tenant_drop('acme_corp');
SELECT stash.tenant_drop('globex');
