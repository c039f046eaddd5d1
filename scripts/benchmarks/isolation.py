"""6. Isolation: the role switch of an application role.  The same pgbench script as (b),
run as a registered application role (tenant_enter makes the tenant's role the current
user; privileges are then checked for it) and as the superuser (an administrator: no
switch, the 0.1.0 path), interleaved; the floor (a) as the superuser too.  Then the
private memory of one backend that enters every tenant of the fleet."""
from .harness import median, per_round, rotated

VARIANTS = [("bench_app", "enter_stash", "app"), ("postgres", "enter_stash", "admin"),
            ("postgres", "enter_set_local", "floor")]

# server time per tenant_enter, per role (pg_stat_statements keeps one row per user; an
# application role's statement is recorded under the tenant role it switched to)
PGSS_ENTER = """
SELECT CASE WHEN userid = 'postgres'::regrole THEN 'admin' ELSE 'app' END,
       round((sum(total_exec_time) / sum(calls) * 1000)::numeric, 2)
  FROM pg_stat_statements
 WHERE dbid = (SELECT oid FROM pg_database WHERE datname = 'bench') AND query LIKE '%tenant_enter%'
 GROUP BY 1"""

# Enters per transaction of the memory walk.  Each tenant_enter holds a lock on its
# tenant's schema until the end of the transaction: 10,000 enters in one transaction
# overflow the lock table (max_locks_per_transaction = 64, bench/findings.md).
ENTERS_PER_TRANSACTION = 1000

RSS_ANON = r"SELECT substring(pg_read_file('/proc/self/status') from 'RssAnon:\s+(\d+)');"


def run(b):
    b.step(f"isolation: enter as an application role vs as an administrator: {b.runs} runs x {b.dur}s")
    b.app_role()
    for run in range(1, b.runs + 1):
        for user, script, key in rotated(VARIANTS, run):
            b.measure(run, key, f"iso_{key}", script, user=user, what=f"pgbench as {user}")
    for key in ("app", "admin", "floor"):
        b.note(f"isolation.tps.{key}", median(b.tps[f"iso_{key}"]))
    b.note("isolation.ratio.app_over_admin", per_round(b.tps["iso_app"], b.tps["iso_admin"]))
    b.note("isolation.ratio.app_over_floor", per_round(b.tps["iso_app"], b.tps["iso_floor"]))
    if b.pgss:
        b.pgss_track("top")
        b.pgbench("enter_stash", user="bench_app")
        b.pgbench("enter_stash", user="postgres")
        for k, us in b.rows(PGSS_ENTER, "pg_stat_statements (isolation)"):
            b.note(f"isolation.server_us_per_enter.{k}", us)
        b.pgss_track("none")

    # memory of one backend (one session) that enters every tenant once, as the superuser,
    # ENTERS_PER_TRANSACTION tenants a transaction
    walk = [RSS_ANON]
    for lo in range(1, b.fleet + 1, ENTERS_PER_TRANSACTION):
        hi = min(lo + ENTERS_PER_TRANSACTION - 1, b.fleet)
        walk += ["BEGIN;",
                 f"DO $$ BEGIN FOR i IN {lo}..{hi} LOOP PERFORM stash.tenant_enter('t' || i); END LOOP; END $$;",
                 "COMMIT;"]
    walk.append(RSS_ANON)
    out = b.psql(input="\n".join(walk) + "\n", what="memory").splitlines() + ["", ""]
    b.note("enter.backend_rss_anon_kb.before", out[0])
    b.note(f"enter.backend_rss_anon_kb.after_{b.fleet}_enters", out[1])
