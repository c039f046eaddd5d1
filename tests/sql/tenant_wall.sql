-- What an application role's tenant transaction may not change or leave behind: it
-- creates nothing (by any path), sets nothing for the session, and touches no role,
-- default privilege or large object.  Each refusal is 42501 and leaves nothing.
CREATE EXTENSION stash_tenancy;
SELECT stash.migration_add(1, 'orders', 'CREATE TABLE orders (id int PRIMARY KEY, secret text)');
SELECT slug FROM stash.tenant_create('acme');
INSERT INTO tenant_acme.orders VALUES (1, 'acme-secret');
CREATE ROLE wall_app;
SELECT stash.app_role_add('wall_app');
SELECT lo_create(4243);
CREATE FUNCTION public.make_temp() RETURNS void LANGUAGE sql AS 'CREATE TEMP TABLE t (x int)';
SET ROLE wall_app;

-- session-level settings: refused; SET LOCAL and SET TRANSACTION end with the transaction
BEGIN;
SELECT stash.tenant_enter('acme');
SET work_mem = '1MB';
ROLLBACK;
BEGIN;
SELECT stash.tenant_enter('acme');
RESET work_mem;
ROLLBACK;
BEGIN;
SELECT stash.tenant_enter('acme');
SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY;
ROLLBACK;
BEGIN;
SET TRANSACTION ISOLATION LEVEL REPEATABLE READ;
SELECT stash.tenant_enter('acme');
SET LOCAL work_mem = '2MB';
SELECT set_config('my.note', 'ends with the transaction', true);
SHOW work_mem;
COMMIT;
SHOW work_mem;
SELECT current_setting('my.note', true) AS note;

-- set_config(..., false) runs unseen, so the commit fails and takes it back
BEGIN;
SELECT stash.tenant_enter('acme');
SELECT set_config('my.loot', (SELECT string_agg(secret, ',') FROM orders), false) IS NOT NULL AS set;
COMMIT;
SELECT current_setting('my.loot', true) AS loot;

-- roles, default privileges, ownership
BEGIN;
SELECT stash.tenant_enter('acme');
ALTER ROLE CURRENT_USER SET work_mem = '1MB';
ROLLBACK;
BEGIN;
SELECT stash.tenant_enter('acme');
ALTER ROLE CURRENT_USER PASSWORD 'x';
ROLLBACK;
BEGIN;
SELECT stash.tenant_enter('acme');
ALTER DEFAULT PRIVILEGES GRANT ALL ON TABLES TO wall_app;
ROLLBACK;
BEGIN;
SELECT stash.tenant_enter('acme');
DROP OWNED BY CURRENT_USER;
ROLLBACK;

-- large objects belong to the database, not the tenant
BEGIN;
SELECT stash.tenant_enter('acme');
SELECT lo_from_bytea(0, convert_to((SELECT string_agg(secret, ',') FROM orders), 'UTF8'));
ROLLBACK;
BEGIN;
SELECT stash.tenant_enter('acme');
GRANT SELECT ON LARGE OBJECT 4243 TO PUBLIC;
ROLLBACK;

-- creation by every path, temporary objects and conversions included
BEGIN;
SELECT stash.tenant_enter('acme');
EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF) CREATE TEMP TABLE users AS SELECT 'bob@b.com'::text AS email;
ROLLBACK;
BEGIN;
SELECT stash.tenant_enter('acme');
SELECT public.make_temp();
ROLLBACK;
BEGIN;
SELECT stash.tenant_enter('acme');
CREATE CONVERSION pg_temp.c FOR 'LATIN1' TO 'UTF8' FROM iso8859_1_to_utf8;
ROLLBACK;
SELECT to_regclass('pg_temp.users') AS users, to_regclass('pg_temp.t') AS t;

-- stash.shared_schemas is the administrator's: an application role cannot set it, even
-- outside tenants
SET stash.shared_schemas = 'pg_temp, public';
RESET ROLE;
SELECT count(*) AS role_settings FROM pg_db_role_setting;
SELECT lomacl FROM pg_largeobject_metadata WHERE oid = 4243;
SELECT count(*) AS default_acls FROM pg_default_acl;

-- and even an administrator cannot put pg_temp or pg_catalog in it (22023)
SET stash.shared_schemas = 'pg_temp, public';
SET stash.shared_schemas = 'public, PG_CATALOG';
SET stash.shared_schemas = 'public, "unterminated';
SET stash.shared_schemas = 'shared, public';
SHOW stash.shared_schemas;

SELECT lo_unlink(4243);
SELECT stash.app_role_remove('wall_app');
DROP ROLE wall_app;
