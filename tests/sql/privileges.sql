-- Who may do what.  After CREATE EXTENSION:
--   * everyone may call tenant_enter, tenant_exit, current_tenant, current_tenant_id, but
--     only application roles (stash.app_role_add) and administrators get into a tenant
--     (tests/sql/tenant_roles.sql has the whole model);
--   * nobody but the extension owner may call tenant_create, tenant_drop, tenant_suspend,
--     tenant_resume until granted EXECUTE;
--   * nobody but the owner may read or write stash.tenants / stash.events directly.
CREATE EXTENSION stash_tenancy;
SELECT slug FROM stash.tenant_create('acme');

SELECT p.oid::regprocedure AS function, has_function_privilege('public', p.oid, 'EXECUTE') AS public_may_execute
  FROM pg_proc p WHERE p.pronamespace = 'stash'::regnamespace ORDER BY p.oid::regprocedure::text;

CREATE ROLE app_user;
CREATE ROLE tenant_admin;
CREATE ROLE stranger;
SELECT stash.app_role_add('app_user');
-- a role that is neither gets the same 42501 for every slug: it learns nothing
SET ROLE stranger;
BEGIN;
SELECT stash.tenant_enter('acme');
ROLLBACK;
BEGIN;
SELECT stash.tenant_enter('no_such_tenant');
ROLLBACK;
-- the internals of migrate_all check the caller may run migrate_all
SELECT stash._migrate_all_pending(NULL);
RESET ROLE;
-- ... and granting EXECUTE on the procedure is all it takes
GRANT EXECUTE ON PROCEDURE stash.migrate_all(bigint, bigint, interval, interval, bigint) TO stranger;
SET ROLE stranger;
SELECT stash._migrate_all_pending(NULL) AS tenants_with_work;
RESET ROLE;
REVOKE EXECUTE ON PROCEDURE stash.migrate_all(bigint, bigint, interval, interval, bigint) FROM stranger;
-- without the procedure (an incomplete install), the internals say so rather than
-- refusing a grant nobody could give
BEGIN;
ALTER PROCEDURE stash.migrate_all(bigint, bigint, interval, interval, bigint) RENAME TO migrate_all_gone;
SELECT * FROM stash._migrate_all_next(NULL, '', '{}', NULL, NULL);
ROLLBACK;
SET ROLE app_user;
-- the application role can enter tenants ...
BEGIN;
SELECT stash.tenant_enter('acme');
SELECT stash.current_tenant();
COMMIT;
-- ... but not manage them, nor read the registry
SELECT stash.tenant_create('evil');
SELECT stash.tenant_drop('acme');
SELECT stash.tenant_suspend('acme');
SELECT * FROM stash.tenants;
INSERT INTO stash.events (action) VALUES ('created');
RESET ROLE;

-- An administrator role needs EXECUTE and the right to create schemas; the tenant
-- schemas it creates are its own.
GRANT EXECUTE ON FUNCTION stash.tenant_create(text, text, jsonb), stash.tenant_drop(text, boolean),
  stash.tenant_suspend(text), stash.tenant_resume(text) TO tenant_admin;
SELECT format('GRANT CREATE ON DATABASE %I TO tenant_admin', current_database()) \gexec
SET ROLE tenant_admin;
SELECT slug, schema_name FROM stash.tenant_create('initech');
SELECT nspowner::regrole AS owner FROM pg_namespace WHERE nspname = 'tenant_initech';
SELECT stash.tenant_suspend('initech');
SELECT stash.tenant_resume('initech');
-- dropping needs ownership of the schema: acme belongs to the superuser that made it
SELECT stash.tenant_drop('acme');
SELECT stash.tenant_drop('initech');
RESET ROLE;
SELECT slug FROM stash.tenants ORDER BY slug;
SELECT slug, action, actor FROM stash.events ORDER BY id;

SELECT format('REVOKE CREATE ON DATABASE %I FROM tenant_admin', current_database()) \gexec
REVOKE ALL ON FUNCTION stash.tenant_create(text, text, jsonb), stash.tenant_drop(text, boolean),
  stash.tenant_suspend(text), stash.tenant_resume(text) FROM tenant_admin;
SELECT stash.app_role_remove('app_user');
DROP ROLE app_user;
DROP ROLE tenant_admin;
DROP ROLE stranger;
