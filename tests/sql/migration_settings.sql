-- A migration's settings end with its step.  pg_dump output pasted as a migration starts
-- with SET statement_timeout, SET row_security and friends; none of that may reach the
-- session that ran the migration (on a pooled admin connection, the next client's).
-- Whatever a step sets — SET, SET LOCAL, set_config() — is undone after the step, on
-- success and on failure, in tenant_create, tenant_migrate, migrate_all and shared_migrate.
CREATE EXTENSION stash_tenancy;
SELECT stash.migration_add(1, 'pg_dump_style', $$
SET statement_timeout = '1ms';
SET row_security = off;
SET LOCAL work_mem = '77MB';
CREATE TABLE public_looking (id int);
SELECT pg_catalog.set_config('search_path', 'pg_catalog', false);
$$);
SHOW statement_timeout;
SHOW row_security;
SHOW work_mem;
SHOW search_path;

SELECT slug FROM stash.tenant_create('acme');
-- the same as before, and the next create does not die of a 1ms timeout
SHOW statement_timeout;
SHOW row_security;
SHOW work_mem;
SHOW search_path;
SELECT slug FROM stash.tenant_create('globex');
SELECT count(*) AS tables_named_public_looking FROM pg_tables
 WHERE tablename = 'public_looking' AND schemaname IN ('tenant_acme', 'tenant_globex');

-- a failing step's settings go too
SELECT stash.migration_add(2, 'sets_then_fails', $$
SET statement_timeout = '1ms';
SET lock_timeout = '1ms';
SELECT 1 / 0;
$$);
SELECT slug, status, error FROM stash.tenant_migrate();
SHOW statement_timeout;
SHOW lock_timeout;
SELECT stash.migration_remove(2);

-- through migrate_all
SELECT stash.migration_add(3, 'sets_in_fleet', $$SET client_min_messages = error; SET datestyle = 'German'$$);
CALL stash.migrate_all();
SHOW client_min_messages;
SHOW datestyle;

-- and shared migrations
SELECT stash.migration_add(10, 'shared_sets', $$SET enable_seqscan = off; CREATE TABLE shared_things (id int)$$,
  'DROP TABLE shared_things', 'shared');
SELECT slug, status FROM stash.shared_migrate();
SHOW enable_seqscan;

-- SET inside a transaction of the caller's survives as the caller made it
BEGIN;
SET LOCAL work_mem = '5MB';
SELECT stash.migration_add(4, 'another', 'CREATE TABLE more_things (id int)');
SELECT slug, status FROM stash.tenant_migrate('acme');
SHOW work_mem;
COMMIT;
