-- stash.cache_limit bounds the catalog-cache memory of a backend that serves many tenants:
-- past the limit, tenant_enter releases the caches (PostgreSQL's own invalidate-everything
-- path) before it enters.  Nothing running notices: prepared statements are re-planned,
-- open cursors go on, the tenant context and the role switch hold.
CREATE EXTENSION stash_tenancy;
SELECT stash.migration_add(1, 'tables', $$
CREATE TABLE a (id int PRIMARY KEY, v text);
CREATE TABLE b (id int PRIMARY KEY, a_id int REFERENCES a, note text);
CREATE INDEX ON b (a_id);
CREATE TABLE c (id int GENERATED ALWAYS AS IDENTITY, payload jsonb, at timestamptz DEFAULT now());
CREATE VIEW ab AS SELECT a.id, b.note FROM a JOIN b ON b.a_id = a.id;
$$);
SELECT count(stash.tenant_create('t' || i)) FROM generate_series(1, 80) i;
SHOW stash.cache_limit;    -- the default (defined once the library is loaded in the session)
SELECT cache_resets FROM stash.backend_stats();

-- one fresh connection walks every tenant as an application role without a limit,
-- another with a limit this walk passes quickly
CREATE ROLE app;
SELECT stash.app_role_add('app');
\c
SET stash.cache_limit = 0;
SET ROLE app;
\o /dev/null
\set ECHO none
SELECT format('BEGIN; SELECT stash.tenant_enter(%L); INSERT INTO a VALUES (1, %L); SELECT count(*) FROM ab; SELECT count(*) FROM c; COMMIT;',
              't' || i, 't' || i) FROM generate_series(1, 80) i \gexec
\set ECHO all
\o
RESET ROLE;
SELECT cache_bytes AS unbounded_bytes, cache_resets = 0 AS no_release FROM stash.backend_stats() \gset
SELECT :'no_release' AS no_release_without_limit;
\c
SET stash.cache_limit = '1MB';
SET ROLE app;
\o /dev/null
\set ECHO none
SELECT format('BEGIN; SELECT stash.tenant_enter(%L); SELECT count(*) FROM a; SELECT count(*) FROM ab; SELECT count(*) FROM c; COMMIT;',
              't' || i) FROM generate_series(1, 80) i \gexec
\set ECHO all
\o
RESET ROLE;
SELECT cache_resets > 0 AS released, cache_bytes < :unbounded_bytes AS smaller_than_without_limit,
       cache_limit_bytes = 1024 * 1024 AS limit_in_bytes
  FROM stash.backend_stats();
SET stash.cache_limit = '2MB';
SET ROLE app;
BEGIN;
SELECT stash.tenant_enter('t1');
PREPARE count_a AS SELECT count(*) FROM a;
COMMIT;
RESET ROLE;

-- across a release: the prepared statement (made before it), the context and the role
-- switch (a changed limit is checked at the next tenant_enter, and 1kB is always exceeded)
SELECT cache_resets AS before FROM stash.backend_stats() \gset
BEGIN;
SET LOCAL stash.cache_limit = '1kB';
SET LOCAL ROLE app;
SELECT stash.tenant_enter('t7');
EXECUTE count_a;
SELECT v FROM a;
SELECT current_user LIKE 'stash_t7_%' AS switched;
COMMIT;
SELECT cache_resets > :before AS released_before_execute FROM stash.backend_stats();

-- an open cursor outlives releases made by later tenant_enters in its transaction
-- (an administrator may enter several tenants in one transaction; a changed limit is
-- checked at the next tenant_enter, and 1kB is always exceeded)
SELECT cache_resets AS before FROM stash.backend_stats() \gset
BEGIN;
SELECT stash.tenant_enter('t1');
DECLARE cur CURSOR FOR SELECT v, g FROM a, generate_series(1, 3) g ORDER BY g;
FETCH 1 FROM cur;
SET LOCAL stash.cache_limit = '1kB';
SELECT stash.tenant_enter('t2');   -- releases the caches
SELECT cache_resets > :before AS released_with_the_cursor_open FROM stash.backend_stats();
DO $$ BEGIN
  FOR i IN 1..80 LOOP
    PERFORM stash.tenant_enter('t' || i);
    EXECUTE 'SELECT count(*) FROM ab';
  END LOOP;
END $$;
FETCH 2 FROM cur;
SELECT stash.current_tenant();
COMMIT;
SELECT cache_resets > :before AS released_meanwhile FROM stash.backend_stats();

-- 0 turns it off; only administrators set it
SET stash.cache_limit = 0;
SELECT cache_resets AS before FROM stash.backend_stats() \gset
BEGIN;
DO $$ BEGIN
  FOR i IN 1..80 LOOP
    PERFORM stash.tenant_enter('t' || i);
    EXECUTE 'SELECT count(*) FROM ab';
  END LOOP;
END $$;
COMMIT;
SELECT cache_resets = :before AS no_release FROM stash.backend_stats();
SET ROLE app;
SET stash.cache_limit = '1GB';
RESET ROLE;
DO $$ BEGIN
  SET stash.cache_limit = -1;
EXCEPTION WHEN invalid_parameter_value THEN
  RAISE NOTICE 'stash.cache_limit = -1: SQLSTATE %', SQLSTATE;
END $$;
SELECT stash.app_role_remove('app');
SELECT count(stash.tenant_drop('t' || i)) FROM generate_series(1, 80) i;
DROP ROLE app;
