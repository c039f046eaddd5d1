-- The tenant context lives exactly as long as the transaction, like SET LOCAL: COMMIT
-- and ROLLBACK end it, and ROLLBACK TO SAVEPOINT undoes an enter made after the
-- savepoint.  This is what makes it safe behind a transaction-mode pooler.
CREATE EXTENSION stash_tenancy;
SELECT slug FROM stash.tenant_create('acme');
SELECT slug FROM stash.tenant_create('globex');
SET search_path = public;

-- COMMIT ends the context
BEGIN;
SELECT stash.tenant_enter('acme');
SHOW search_path;
COMMIT;
SHOW search_path;
SELECT stash.current_tenant() IS NULL AS no_tenant;

-- ROLLBACK ends it too
BEGIN;
SELECT stash.tenant_enter('acme');
ROLLBACK;
SHOW search_path;
SELECT stash.current_tenant() IS NULL AS no_tenant;

-- ROLLBACK TO SAVEPOINT undoes an enter made after the savepoint ...
BEGIN;
SELECT stash.tenant_enter('acme');
SAVEPOINT s1;
SELECT stash.tenant_enter('globex');
SELECT stash.current_tenant();
ROLLBACK TO SAVEPOINT s1;
SELECT stash.current_tenant();
SHOW search_path;
-- ... and RELEASE keeps it
SAVEPOINT s2;
SELECT stash.tenant_enter('globex');
RELEASE SAVEPOINT s2;
SELECT stash.current_tenant();
-- tenant_exit after switching tenants returns to the path from before the first enter
SELECT stash.tenant_exit();
SHOW search_path;
SELECT stash.current_tenant() IS NULL AS no_tenant;
-- exiting twice is harmless
SELECT stash.tenant_exit();
COMMIT;

-- an enter rolled back by an error inside a savepoint is undone as well
BEGIN;
SAVEPOINT s;
SELECT stash.tenant_enter('acme');
SELECT 1 / 0;
ROLLBACK TO SAVEPOINT s;
SELECT stash.current_tenant() IS NULL AS no_tenant;
SHOW search_path;
COMMIT;

-- tenant_exit returns to the path in force at this transaction's first enter: not an
-- earlier transaction's, nor the one before an enter that a savepoint rolled back
SET search_path = public, pg_catalog;
BEGIN;
SELECT stash.tenant_enter('acme');
COMMIT;
SET search_path = "$user", public;
BEGIN;
SET LOCAL search_path = pg_catalog, public;
SAVEPOINT s;
SELECT stash.tenant_enter('globex');
ROLLBACK TO SAVEPOINT s;
SET LOCAL search_path = public;
SELECT stash.tenant_enter('acme');
SELECT stash.tenant_exit();
SHOW search_path;
SELECT stash.tenant_enter('globex');
SELECT stash.tenant_exit();
SHOW search_path;
COMMIT;
SHOW search_path;
SET search_path = public;

-- stash.shared_schemas chooses what follows the tenant schema in search_path
CREATE SCHEMA shared;
SET stash.shared_schemas = 'shared, public';
BEGIN;
SELECT stash.tenant_enter('globex');
SHOW search_path;
COMMIT;
SET stash.shared_schemas = '';
BEGIN;
SELECT stash.tenant_enter('globex');
SHOW search_path;
COMMIT;
RESET stash.shared_schemas;
SHOW stash.shared_schemas;
-- (the backend caches each tenant's search_path; a changed setting still applies at once)
BEGIN;
SELECT stash.tenant_enter('globex');
SHOW search_path;
COMMIT;
-- the stash. prefix is reserved: a misspelt setting is an error, not silently ignored
SET stash.shared_schema = 'shared';
