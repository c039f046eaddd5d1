-- The pool-model benchmark (scripts/benchmarks/pool.py); psql -v ntenants=N -v rows=R.
-- public.events: R rows for each of the tenants t1..tN in one shared table, made a pool
-- table (row-level security on the entered tenant).  public.events_plain: the same rows in
-- the same physical order, without row-level security: the baseline, queried with an
-- explicit WHERE tenant_id = $1 by the same role in the same session flow.
-- bench.tenant_ids: each tenant's id, which the pgbench scripts fetch with \gset.
CREATE TABLE bench.tenant_ids (t int PRIMARY KEY, id uuid NOT NULL);
INSERT INTO bench.tenant_ids
SELECT substr(slug::text, 2)::int, id FROM stash.tenants
 WHERE slug::text ~ '^t[0-9]+$' AND substr(slug::text, 2)::int <= :ntenants;

CREATE TABLE public.events (
    tenant_id uuid   NOT NULL,
    id        bigint NOT NULL,
    payload   text,
    PRIMARY KEY (tenant_id, id)
) WITH (autovacuum_enabled = off);
-- rows arrive interleaved across tenants (as events do over time): a tenant's rows are
-- spread over the heap, not clustered
INSERT INTO public.events
SELECT b.id, g, md5(b.t || ':' || g) FROM bench.tenant_ids b, generate_series(1, :rows) g
 ORDER BY g, b.t;
CREATE TABLE public.events_plain (LIKE public.events INCLUDING ALL) WITH (autovacuum_enabled = off);
INSERT INTO public.events_plain SELECT * FROM public.events;

SELECT stash.pool_table_add('public.events');
SELECT format('GRANT SELECT ON public.events, public.events_plain TO %I', stash.tenant_group_role()) \gexec
GRANT USAGE ON SCHEMA bench TO bench_app;
GRANT SELECT ON bench.tenant_ids TO bench_app;
VACUUM ANALYZE bench.tenant_ids;
-- The harness then VACUUMs both tables until every page is all-visible (an autovacuum of the
-- fleet's tables holding back the xmin horizon leaves pages that are not, and the planner
-- would then prefer a bitmap heap scan to an index-only scan for one table and not the
-- other); autovacuum is off for them (read-only here) so that it cannot interfere.
