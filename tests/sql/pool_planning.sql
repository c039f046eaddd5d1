-- How queries on a pool table are planned.  The policy reads the tenant id through a
-- sub-SELECT, an InitPlan: once per statement, whatever the plan.  When a SELECT of the
-- one pool table runs as an index scan, stash_tenancy's planner hook makes the plain call
-- the index condition instead — PostgreSQL evaluates an index condition once, when the
-- scan starts — which plans faster.  Any other plan keeps the InitPlan.  The rows are
-- the same either way; a generic plan reads the tenant when it runs, not when planned.
CREATE EXTENSION stash_tenancy;
SELECT slug FROM stash.tenant_create('acme');
SELECT slug FROM stash.tenant_create('globex');
CREATE ROLE app;
SELECT stash.app_role_add('app');
CREATE TABLE public.events (tenant_id uuid NOT NULL, id int NOT NULL, payload text,
                            PRIMARY KEY (tenant_id, id));
\set ECHO none
SELECT format('GRANT SELECT, INSERT ON public.events TO %I', stash.tenant_group_role()) \gexec
\set ECHO all
SELECT stash.pool_table_add('public.events');
-- what a plan does with the tenant id, in words the same on every PostgreSQL version
CREATE FUNCTION public.tenant_id_read(query text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE line text; scan text; how text := 'not read';
BEGIN
  FOR line IN EXECUTE 'EXPLAIN (COSTS OFF) ' || query LOOP
    scan := coalesce(scan, substring(line FROM '((Seq|Index Only|Index|Bitmap Heap) Scan)'));
    IF line ~ 'InitPlan' THEN how := 'once, by an InitPlan';
    ELSIF line ~ 'Index Cond: .*stash\.current_tenant_id\(\)' THEN how := 'once, as the index condition';
    ELSIF line ~ 'stash\.current_tenant_id\(\)' THEN how := 'once per row: ' || btrim(line);
    END IF;
  END LOOP;
  RETURN scan || ', tenant id read ' || how;
END $$;
SET ROLE app;
BEGIN;
SELECT stash.tenant_enter('acme');
INSERT INTO events (id, payload) SELECT g, 'acme ' || g FROM generate_series(1, 200) g;
COMMIT;
BEGIN;
SELECT stash.tenant_enter('globex');
INSERT INTO events (id, payload) SELECT g, 'globex ' || g FROM generate_series(1, 300) g;
COMMIT;
RESET ROLE;
-- rows of 20,000 other owners (a superuser is not subject to row-level security): each
-- tenant's rows are a small part of the table, as in production
INSERT INTO public.events SELECT gen_random_uuid(), g, 'other' FROM generate_series(1, 20000) g;
VACUUM ANALYZE public.events;

SET ROLE app;
BEGIN;
SELECT stash.tenant_enter('acme');
-- a point lookup and a count through the index: the call is the index condition
SELECT public.tenant_id_read('SELECT payload FROM events WHERE id = 7');
SELECT payload FROM events WHERE id = 7;
SELECT public.tenant_id_read('SELECT count(*) FROM events');
SELECT count(*) FROM events;
-- a sequential or bitmap scan would call it once per row: the InitPlan stays
SET LOCAL enable_indexscan = off;
SET LOCAL enable_indexonlyscan = off;
SET LOCAL max_parallel_workers_per_gather = 0;
SELECT public.tenant_id_read('SELECT count(*) FROM events');
SELECT count(*) FROM events;
SET LOCAL enable_bitmapscan = off;
SELECT public.tenant_id_read('SELECT count(*) FROM events');
SELECT count(*) FROM events;
SET LOCAL enable_indexscan TO DEFAULT;
SET LOCAL enable_indexonlyscan TO DEFAULT;
SET LOCAL enable_bitmapscan TO DEFAULT;
-- a join: the InitPlan stays (an inner index scan would be started once per outer row)
SELECT public.tenant_id_read('SELECT e.payload FROM events e JOIN (VALUES (1), (2)) v(id) ON e.id = v.id');
SELECT e.payload FROM events e JOIN (VALUES (1), (2)) v(id) ON e.id = v.id ORDER BY 1;
COMMIT;

-- one prepared statement, its generic plan used in both tenants: each time the tenant of
-- the moment (and outside any tenant, the application role cannot read the table at all)
SET plan_cache_mode = force_generic_plan;
PREPARE point(int) AS SELECT payload FROM events WHERE id = $1;
PREPARE total AS SELECT count(*) FROM events;
BEGIN;
SELECT stash.tenant_enter('acme');
SELECT public.tenant_id_read('EXECUTE point(7)');
EXECUTE point(7);
EXECUTE point(250);
EXECUTE total;
COMMIT;
BEGIN;
SELECT stash.tenant_enter('globex');
EXECUTE point(7);
EXECUTE point(250);
EXECUTE total;
COMMIT;
EXECUTE point(7);
EXECUTE total;
RESET plan_cache_mode;
RESET ROLE;

-- a cursor keeps the InitPlan: rewinding it evaluates index conditions again, an
-- InitPlan not.  An administrator who is not a superuser (row-level security applies)
-- enters acme, opens a cursor, enters globex, and rewinds: still acme's row, as the
-- stored policy reads it.
CREATE ROLE ops;
SELECT format('GRANT %I TO ops', (SELECT rolname FROM pg_roles r JOIN pg_class c ON c.relowner = r.oid
                                   WHERE c.oid = 'stash.tenants'::regclass)) \gexec
GRANT SELECT ON public.events TO ops;
SET ROLE ops;
BEGIN;
SELECT stash.tenant_enter('acme');
DECLARE c SCROLL CURSOR FOR SELECT payload FROM events WHERE id = 7;
FETCH c;
SELECT stash.tenant_enter('globex');
FETCH FIRST FROM c;
COMMIT;
RESET ROLE;

-- an index that may ask to recheck its rows (hash) keeps the InitPlan too: a recheck
-- evaluates the condition row by row
CREATE TABLE public.events_hashed (tenant_id uuid NOT NULL, id int NOT NULL, payload text);
CREATE INDEX ON public.events_hashed USING hash (tenant_id);
INSERT INTO public.events_hashed SELECT tenant_id, id, payload FROM public.events;
\set ECHO none
SELECT format('GRANT SELECT ON public.events_hashed TO %I', stash.tenant_group_role()) \gexec
\set ECHO all
SELECT stash.pool_table_add('public.events_hashed');
VACUUM ANALYZE public.events_hashed;
SET ROLE app;
BEGIN;
SELECT stash.tenant_enter('acme');
SET LOCAL enable_seqscan = off;      -- the hash index, whatever the estimates
SET LOCAL enable_bitmapscan = off;
SELECT public.tenant_id_read('SELECT payload FROM events_hashed WHERE id = 7');
SELECT payload FROM events_hashed WHERE id = 7;
COMMIT;
RESET ROLE;
DROP TABLE public.events_hashed;
DROP TABLE public.events;
DROP FUNCTION public.tenant_id_read(text);
SELECT stash.tenant_drop('acme');
SELECT stash.tenant_drop('globex');
DROP ROLE app;
DROP ROLE ops;
