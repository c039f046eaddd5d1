"""8. The pool model: row-level security against an explicit WHERE tenant_id = $1.
N_MID tenants x POOL_ROWS rows in public.events (a pool table); the baseline is the same
rows in public.events_plain (no RLS) queried with an explicit WHERE tenant_id = $1 by the
same application role in the same session flow (\\gset of the tenant's id and slug, then
tenant_enter); as a cross-check, the administrator (a superuser bypasses RLS) runs the
explicit query on public.events itself."""
import re
import time

from .harness import median, per_round, rotated, rounds, secs

VARIANTS = [("bench_app", "rls"), ("bench_app", "explicit"), ("postgres", "admin")]
QUERIES = ("count", "point")

# the plans pgbench gets (generic plans of prepared statements), as the application role in
# t1, executed once: the index on the tenant column, the tenant id read once
EXPLAIN = r"""
SELECT id AS tid FROM bench.tenant_ids WHERE t = 1 \gset
BEGIN;
SELECT stash.tenant_enter('t1');
SET LOCAL plan_cache_mode = force_generic_plan;
PREPARE count_rls AS SELECT count(*) FROM events;
PREPARE count_explicit(uuid) AS SELECT count(*) FROM events_plain WHERE tenant_id = $1;
PREPARE point_rls(bigint) AS SELECT payload FROM events WHERE id = $1;
PREPARE point_explicit(uuid, bigint) AS SELECT payload FROM events_plain WHERE tenant_id = $1 AND id = $2;
\o {dir}/plan.count.rls
EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF, BUFFERS OFF) EXECUTE count_rls;
\o {dir}/plan.count.explicit
EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF, BUFFERS OFF) EXECUTE count_explicit(:'tid');
\o {dir}/plan.point.rls
EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF, BUFFERS OFF) EXECUTE point_rls(1);
\o {dir}/plan.point.explicit
EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF, BUFFERS OFF) EXECUTE point_explicit(:'tid', 1);
\o
COMMIT;
"""

PGSS_POOL = r"""
SELECT k, round((sum(total_exec_time) / sum(calls) * 1000)::numeric, 2),
       round((sum(total_plan_time) / sum(calls) * 1000)::numeric, 2)
  FROM (SELECT CASE WHEN query ~ '^SELECT count\(\*\) FROM events;?$' THEN 'count.rls'
                    WHEN query ~ '^SELECT count\(\*\) FROM events_plain WHERE' THEN 'count.explicit'
                    WHEN query ~ '^SELECT count\(\*\) FROM events WHERE' THEN 'count.admin'
                    WHEN query ~ '^SELECT payload FROM events WHERE id' THEN 'point.rls'
                    WHEN query ~ '^SELECT payload FROM events_plain WHERE' THEN 'point.explicit'
                    WHEN query ~ '^SELECT payload FROM events WHERE tenant_id' THEN 'point.admin'
                    WHEN query LIKE '%FROM bench.tenant_ids%' THEN 'gset' END AS k, *
          FROM pg_stat_statements
         WHERE dbid = (SELECT oid FROM pg_database WHERE datname = 'bench')) s
 WHERE k IS NOT NULL GROUP BY k ORDER BY k"""


def setup(b):
    """The pool tables, vacuumed until every page is all-visible (index-only scans)."""
    t0 = time.monotonic()
    b.psql("-v", f"ntenants={b.n_mid}", "-v", f"rows={b.pool_rows}", "-f", "bench/pool_setup.sql",
           what="pool setup")
    for _ in range(30):
        b.psql("-c", "VACUUM ANALYZE public.events", "-c", "VACUUM ANALYZE public.events_plain",
               what="pool VACUUM")
        left = b.psql("-c", "SELECT sum(relpages - relallvisible) FROM pg_class WHERE oid IN "
                            "('public.events'::regclass, 'public.events_plain'::regclass)")
        if left == "0":
            break
        time.sleep(2)
    if left != "0":
        b.fail(f"pool: {left} pages still not all-visible after 30 VACUUMs")
    b.note("pool.setup_s", secs(t0))
    b.note("pool.rows", b.psql("-c", "SELECT count(*) FROM public.events_plain"))
    b.note("pool.tenants", b.psql("-c", "SELECT count(DISTINCT tenant_id) FROM public.events_plain"))


def plans(b):
    """Notes each plan (one line: its lines joined by a literal \\n, which bench_report.py
    splits) and checks the RLS count(*)'s."""
    b.psql(user="bench_app", input=EXPLAIN.replace("{dir}", b.dir), what="pool EXPLAIN")
    text = {}
    for q in QUERIES:
        for v in ("rls", "explicit"):
            with open(b.path(f"plan.{q}.{v}")) as f:
                text[q, v] = f.read()
            b.note(f"pool.plan.{q}.{v}", "\\n".join(line.rstrip() for line in text[q, v].splitlines()))
    # the index, and the tenant id read once: as the index condition (src/pool/planner.rs)
    # or by an InitPlan; never in a per-row Filter
    count_rls = text["count", "rls"]
    if not ("Index" in count_rls
            and re.search(r"InitPlan|Index Cond: \(tenant_id = stash\.current_tenant_id\(\)\)", count_rls)
            and not re.search(r"Filter: .*current_tenant_id\(\)", count_rls)):
        b.fail("pool: the RLS count(*) does not use the index with the tenant id read once")


def run(b):
    b.step(f"pool model: {b.n_mid * b.pool_rows} rows across {b.n_mid} tenants, RLS vs explicit WHERE: "
          f"{b.runs} rounds x {b.dur}s")
    b.app_role()
    setup(b)
    # what the application role sees in tenant t1, through RLS and with the explicit WHERE
    got = b.as_app(r"""
SELECT id AS tid FROM bench.tenant_ids WHERE t = 1 \gset
BEGIN;
SELECT stash.tenant_enter('t1');
SELECT (SELECT count(*) FROM events) || ' ' || (SELECT count(*) FROM events_plain WHERE tenant_id = :'tid')
       || ' ' || (SELECT count(*) FROM events WHERE tenant_id <> :'tid');
COMMIT;
""")
    if got != f"{b.pool_rows} {b.pool_rows} 0":
        b.fail(f"pool table as bench_app in t1: {got} (want {b.pool_rows} {b.pool_rows} 0)")
    plans(b)
    for run in range(1, b.runs + 1):
        for q in QUERIES:
            for user, key in rotated(VARIANTS, run):
                b.measure(run, f"{q} {key}", f"pool_{q}_{key}", f"pool_{q}_{key}", user=user, out="pool.out",
                          nrows=True, what=f"pgbench pool_{q}_{key}")
    for q in QUERIES:
        rls, explicit, admin = (b.tps[f"pool_{q}_{key}"] for key in ("rls", "explicit", "admin"))
        for key in ("rls", "explicit", "admin"):
            b.note(f"pool.tps.{q}.{key}", median(b.tps[f"pool_{q}_{key}"]))
        b.note(f"pool.ratio.{q}.rls_over_explicit", per_round(rls, explicit))
        b.note(f"pool.ratio.{q}.rounds", rounds(rls, explicit))
        b.note(f"pool.ratio.{q}.rls_over_admin", per_round(rls, admin))
    # the profile: RLS and explicit mixed in one run as the application role, then the
    # administrator's scripts; server time per statement, execution and planning (every
    # transaction plans its statement again: tenant_enter changes search_path and, for the
    # application role, the current user)
    if b.pgss:
        b.psql("-c", "ALTER SYSTEM SET pg_stat_statements.track_planning = on", db="postgres")
        b.pgss_track("top")
    b.pgbench("pool_count_rls", "pool_count_explicit", "pool_point_rls", "pool_point_explicit",
              user="bench_app", out="pool_mixed.out", nrows=True, what="mixed pgbench (pool)")
    for i, s in enumerate(("count.rls", "count.explicit", "point.rls", "point.explicit"), 1):
        b.note(f"pool.mixed.latency_ms.{s}", b.mixed_latency("pool_mixed.out", i))
    if b.pgss:
        b.pgbench("pool_count_admin", "pool_point_admin", user="postgres", out="pool_admin.out",
                  nrows=True, what="pgbench pool admin (profile)")
        for k, us, plan_us in b.rows(PGSS_POOL, "pg_stat_statements (pool)"):
            b.note(f"pool.server_us_per_call.{k}", us)
            b.note(f"pool.server_plan_us_per_call.{k}", plan_us)
        b.psql("-c", "ALTER SYSTEM RESET pg_stat_statements.track_planning", db="postgres")
        b.pgss_track("none")
