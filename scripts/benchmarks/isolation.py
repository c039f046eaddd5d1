"""6. Isolation: the role switch of an application role.  The same pgbench script as (b),
run as a registered application role (tenant_enter makes the tenant's role the current
user; privileges are then checked for it) and as the superuser (an administrator: no
switch, the 0.1.0 path), interleaved; the floor (a) as the superuser too.  Then the
private memory of one backend that enters every tenant of the fleet.

The server time of a tenant transaction (#26's goal, where pg_stat_statements is loaded):
among N_SMALL and among FLEET tenants, in RUNS interleaved rounds (the first variant
alternating), fresh pgbench connections each run, pg_stat_statements `track = top` (its
counters read before and after each run, see below): (b) `enter_stash` as the application role, `tenant_enter` with its role
switch, and the floor (a) `enter_set_local`, `set_config('search_path', …, true)`, as the
superuser.  A variant's server µs per transaction is its enter (or set_config) statement's
mean plus the tenant's SELECT's: set_config only marks the path stale, the SELECT looks it
up, so neither statement alone is the cost.  The quotient of the round is (b) / (a).

Why the floor runs as the superuser: the application role may not read tenant schemas (that
is the wall), so it cannot run the floor's SELECT; a role that could (a member of every
tenant role) would be an application role without the wall.  The superuser with set_config
is the floor #26 names: no role switch, no registry lookup, no schema lock, and its SELECT's
privilege checks (the table, the schema in the path) short-circuit for a superuser, where
(b)'s are made for the tenant role.  All of that is counted against (b), as the goal
intends ("with an application role's role switch included").  COMMIT (which undoes (b)'s
SET LOCALs and its role) is noted for both but is not in the sum.  (b)'s statements are
filed under each tenant's role, one entry per role and statement: 30,000 among 10,000
tenants, so the cluster's pg_stat_statements.max is 50,000 (evictions are still counted), an
untimed warm-up run of each variant creates the entries, and a run's figures are the
difference of the counters read after and before it, not a reset's: an entry's creation (an
exclusive lock, a write of the query text) would otherwise be counted against (b) alone."""
import time

from .harness import median, per_round, rotated, rounds

VARIANTS = [("bench_app", "enter_stash", "app"), ("postgres", "enter_stash", "admin"),
            ("postgres", "enter_set_local", "floor")]

# the transaction's server time: (b) as the application role, the floor (a) as the superuser
TXN_VARIANTS = [("stash", "bench_app", "enter_stash", "enter"),
                ("floor", "postgres", "enter_set_local", "set_config")]

# server time per tenant_enter, per role (pg_stat_statements keeps one row per user; an
# application role's statement is recorded under the tenant role it switched to)
PGSS_ENTER = """
SELECT CASE WHEN userid = 'postgres'::regrole THEN 'admin' ELSE 'app' END,
       round((sum(total_exec_time) / sum(calls) * 1000)::numeric, 2)
  FROM pg_stat_statements
 WHERE dbid = (SELECT oid FROM pg_database WHERE datname = 'bench') AND query LIKE '%tenant_enter%'
 GROUP BY 1"""

# the statements' counters, all users together: calls and total µs of each, and how many
# times pg_stat_statements evicted entries since its reset (each time 5 % of them); a run's
# figures are the difference of a reading after it and one before it
PGSS_TXN = """
SELECT k, sum(calls), sum(total_exec_time) * 1000
  FROM (SELECT CASE WHEN query LIKE '%tenant_enter%' THEN 'enter'
                    WHEN query LIKE '%set_config%' THEN 'set_config'
                    WHEN query LIKE '%FROM items%' THEN 'select'
                    WHEN query ILIKE 'commit%' THEN 'commit' END AS k, *
          FROM pg_stat_statements
         WHERE dbid = (SELECT oid FROM pg_database WHERE datname = 'bench')) s
 WHERE k IS NOT NULL GROUP BY k
UNION ALL SELECT 'deallocs', dealloc, 0 FROM pg_stat_statements_info"""

# Enters per transaction of the memory walk.  Each tenant_enter holds a lock on its
# tenant's schema until the end of the transaction: 10,000 enters in one transaction
# overflow the lock table (max_locks_per_transaction = 64, bench/findings.md).
ENTERS_PER_TRANSACTION = 1000

RSS_ANON = r"SELECT substring(pg_read_file('/proc/self/status') from 'RssAnon:\s+(\d+)');"


def track_top(b):
    """pg_stat_statements.track = top, and every new connection knowing it: the reload is
    asynchronous, and a pgbench started before the postmaster read it would record nothing."""
    b.pgss_track("top")
    for _ in range(100):
        if b.psql("-c", "SHOW pg_stat_statements.track") == "top":
            return
        time.sleep(0.1)
    b.fail("pg_stat_statements.track = top not in force after 10 s")


def pgss_counters(b):
    """{statement kind: (calls, total µs)} and ("deallocs", (evictions, 0)) now."""
    return {k: (int(float(calls)), float(us)) for k, calls, us in b.rows(PGSS_TXN, "pg_stat_statements (transaction)")}


def transaction_us(b, run, n, key, user, script, head):
    """One run of the transaction measurement: pgbench SCRIPT as USER among N tenants; the
    statements' counters read before and after it (not reset: a reset would make every
    tenant role's entries new again, and an entry's creation — an exclusive lock and a write
    of the query text — would be counted against (b) alone).  Returns {statement: µs per
    call, ...} with "txn" (the HEAD statement + the SELECT), or None when pgbench or the
    statistics failed."""
    before = pgss_counters(b)
    tps = b.pgbench(script, user=user, ntenants=n, out="iso_txn.out",
                    what=f"pgbench {script} as {user} among {n}")
    after = pgss_counters(b)
    run_stats = {k: (c - before.get(k, (0, 0))[0], t - before.get(k, (0, 0))[1]) for k, (c, t) in after.items()}
    if not tps or any(run_stats.get(k, (0, 0))[0] <= 0 for k in (head, "select")):
        b.fail(f"isolation: no server time of {script} as {user} among {n}: {sorted(run_stats)}")
        return None
    us = {k: t / c for k, (c, t) in run_stats.items() if k != "deallocs" and c > 0}
    us["txn"] = us[head] + us["select"]
    us["deallocs"] = run_stats["deallocs"][0]
    print(f"   run {run} among {n} {key} as {user}: {tps} tps, {us['txn']:.2f} µs per transaction "
          f"({us[head]:.2f} {head} + {us['select']:.2f} select; {run_stats['select'][0]} calls)")
    return us


def transaction(b):
    """#26: (b) as the application role against the floor (a), server µs per transaction."""
    b.step(f"isolation: server time per tenant transaction, tenant_enter as an application role vs "
           f"set_config as the superuser, among {b.n_small} and {b.fleet}: {b.runs} rounds x {b.dur}s")
    track_top(b)
    # untimed: every tenant role's statements get their pg_stat_statements entries
    for n in (b.n_small, b.fleet):
        for key, user, script, head in TXN_VARIANTS:
            b.pgbench(script, user=user, ntenants=n, out="iso_txn.out", seconds=max(2, b.dur // 3),
                      what=f"warm-up: {script} as {user} among {n}")
    got = {}  # (n, key) -> [{statement: µs}, one per round]
    for run in range(1, b.runs + 1):
        for n in (b.n_small, b.fleet):
            for key, user, script, head in rotated(TXN_VARIANTS, run):
                got.setdefault((n, key), []).append(transaction_us(b, run, n, key, user, script, head) or {})
    b.pgss_track("none")
    for n in (b.n_small, b.fleet):
        prefix = f"isolation.txn_us.among_{n}"
        for key, _, _, head in TXN_VARIANTS:
            runs = got[(n, key)]
            for k in ("txn", head, "select", "commit"):
                b.note(f"{prefix}.{key}" + ("" if k == "txn" else f".{k}"),
                       median([u[k] for u in runs if k in u]))
            b.note(f"{prefix}.{key}.pgss_deallocs", sum(u.get("deallocs", 0) for u in runs))
        stash = [u.get("txn", 0) for u in got[(n, "stash")]]
        floor = [u.get("txn", 0) for u in got[(n, "floor")]]
        b.note(f"isolation.ratio.txn_us_stash_over_floor.among_{n}", per_round(stash, floor))
        b.note(f"isolation.ratio.txn_us_stash_over_floor.among_{n}.rounds", rounds(stash, floor))


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
        transaction(b)

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
