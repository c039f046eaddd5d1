-- The settings stash.tenant and stash.tenant_id show the tenant context: SHOW and
-- current_setting() print what current_tenant() and current_tenant_id() return, at every
-- savepoint level and in parallel workers.
-- Nobody sets them by hand, superusers included.
CREATE EXTENSION stash_tenancy;
SELECT slug FROM stash.tenant_create('acme');
SELECT slug FROM stash.tenant_create('globex');
CREATE FUNCTION public.context_matches() RETURNS boolean LANGUAGE sql AS $$
  SELECT current_setting('stash.tenant') = coalesce(stash.current_tenant(), '')
     AND current_setting('stash.tenant_id') = coalesce(stash.current_tenant_id()::text, '')
$$;

-- outside a tenant: empty
SHOW stash.tenant;
SELECT current_setting('stash.tenant_id') = '' AS empty_id, public.context_matches();

-- inside: the tenant's slug and id
BEGIN;
SELECT stash.tenant_enter('acme');
SHOW stash.tenant;
SELECT current_setting('stash.tenant_id')::uuid = (SELECT id FROM stash.tenants WHERE slug = 'acme') AS acme_id,
       public.context_matches();

-- nested savepoints: a released inner level hands its tenant to the outer one, and a
-- rollback of the outer one undoes both
SAVEPOINT outer_sp;
SAVEPOINT inner_sp;
SELECT stash.tenant_enter('globex');
RELEASE SAVEPOINT inner_sp;
SHOW stash.tenant;
ROLLBACK TO SAVEPOINT outer_sp;
SHOW stash.tenant;
SELECT public.context_matches();
-- tenant_exit inside a savepoint, rolled back: the tenant is back
SAVEPOINT exit_sp;
SELECT stash.tenant_exit();
SELECT current_setting('stash.tenant') = '' AS exited, public.context_matches();
ROLLBACK TO SAVEPOINT exit_sp;
SHOW stash.tenant;
COMMIT;
SHOW stash.tenant;

-- a PL/pgSQL EXCEPTION block is a subtransaction too: what it entered before the error
-- is undone with it
BEGIN;
SELECT stash.tenant_enter('acme');
DO $$
BEGIN
  BEGIN
    PERFORM stash.tenant_enter('globex');
    RAISE EXCEPTION 'undo';
  EXCEPTION WHEN raise_exception THEN
    NULL;
  END;
  RAISE NOTICE 'after the block: %', current_setting('stash.tenant');
END $$;
SELECT stash.current_tenant(), public.context_matches();
COMMIT;

-- nobody sets them by hand: not an ordinary role (the settings are superuser-only) ...
CREATE ROLE app_user;
SET ROLE app_user;
SET stash.tenant = 'acme';
RESET ROLE;
-- ... and not a superuser, by SET, SET LOCAL, set_config or ALTER ROLE ... SET
SET stash.tenant = 'acme';
BEGIN;
SELECT stash.tenant_enter('acme');
SET LOCAL stash.tenant_id = '00000000-0000-0000-0000-000000000000';
ROLLBACK;
SELECT set_config('stash.tenant', 'globex', false);
ALTER ROLE app_user SET stash.tenant = 'acme';
-- nothing changed
SHOW stash.tenant;
SELECT count(*) AS role_settings FROM pg_db_role_setting s JOIN pg_roles r ON r.oid = s.setrole WHERE r.rolname = 'app_user';
DROP ROLE app_user;

-- parallel workers see the context of their leader: a query run entirely in a worker
-- (debug_parallel_query, called force_parallel_mode before PostgreSQL 16) reads it
BEGIN;
SELECT set_config(CASE WHEN current_setting('server_version_num')::int >= 160000
                       THEN 'debug_parallel_query' ELSE 'force_parallel_mode' END, 'on', true) IS NOT NULL AS parallel_on;
SET LOCAL parallel_setup_cost = 0;
SET LOCAL max_parallel_workers_per_gather = 2;
SELECT stash.tenant_enter('globex');
CREATE FUNCTION pg_temp.workers_launched(query text) RETURNS int LANGUAGE plpgsql AS $$
DECLARE plan json;
BEGIN
  EXECUTE 'EXPLAIN (ANALYZE, FORMAT JSON, COSTS OFF, TIMING OFF) ' || query INTO plan;
  RETURN (plan -> 0 -> 'Plan' ->> 'Workers Launched')::int;
END $$;
SELECT pg_temp.workers_launched('SELECT stash.current_tenant_id() FROM generate_series(1, 3)') > 0 AS ran_in_a_worker;
SELECT DISTINCT stash.current_tenant() AS in_worker, current_setting('stash.tenant') AS setting_in_worker,
       stash.current_tenant_id() = (SELECT id FROM stash.tenants WHERE slug = 'globex') AS id_in_worker
  FROM generate_series(1, 3);
-- after tenant_exit, the workers see no tenant either
SELECT stash.tenant_exit();
SELECT DISTINCT stash.current_tenant() IS NULL AS none_in_worker, current_setting('stash.tenant') AS setting_in_worker
  FROM generate_series(1, 3);
ROLLBACK;
