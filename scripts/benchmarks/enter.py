"""1+2. The context switch: `stash.tenant_enter(slug)` (b) against the floor, `SET LOCAL
search_path` via set_config (a), and a hand-written PL/pgSQL enter (c); (b) and (a) among
10 tenants and among the whole fleet; the server time of each enter statement from
pg_stat_statements."""
import re

from .harness import median, ratio, rotated

VARIANTS = ["enter_set_local", "enter_stash", "enter_plpgsql"]

# server µs per call of each enter variant and of the tenant's SELECT
PGSS_ENTER = """
SELECT CASE WHEN query LIKE '%set_config%' THEN 'set_local' WHEN query LIKE '%tenant_enter%' THEN 'stash'
            WHEN query LIKE '%plpgsql_enter%' THEN 'plpgsql' ELSE 'select' END,
       round((sum(total_exec_time) / sum(calls) * 1000)::numeric, 2)
  FROM pg_stat_statements
 WHERE dbid = (SELECT oid FROM pg_database WHERE datname = 'bench')
   AND (query LIKE '%enter%' OR query LIKE '%set_config%' OR query LIKE '%FROM items%')
 GROUP BY 1"""


def halves(b, script, n):
    """A run of two DUR periods among N tenants: fresh connections first fill their catalog
    caches (cold), then run warm, as pooled connections do.  Returns (cold tps, warm tps):
    the first period's from pgbench's progress report, the second's from the total count
    (the report of the very last period is not always printed); None when it failed."""
    out = b.run_pgbench([script], "halves.out", ntenants=n, seconds=2 * b.dur, extra=["-P", str(b.dur)])
    first = re.search(r"^progress: .* s, ([0-9.]*) tps", out or "", re.M)
    total = re.search(r"^number of transactions actually processed: ([0-9]*)", out or "", re.M)
    if not (first and total):
        return None
    f, d = float(first.group(1)), b.dur
    return f"{f:.1f}", f"{(float(total.group(1)) - f * d) / d:.1f}"


def pgss_note(b, prefix):
    for k, us in b.rows(PGSS_ENTER, f"pg_stat_statements ({prefix})"):
        b.note(f"{prefix}.{k}", us)


def run(b):
    b.step(f"context switch: {b.runs} interleaved runs x {b.dur}s, {b.clients} clients, "
          f"random tenant among {b.n_mid}")
    for run in range(1, b.runs + 1):
        for v in rotated(VARIANTS, run):
            b.measure(run, v, v, v, what=f"pgbench {v}")
        # (b) at two fleet sizes, with the floor (a) at the same sizes as the control: what
        # the server itself loses with more tenants is not tenant_enter's cost.  Both halves
        # of each run are reported.
        for n in (b.n_small, b.fleet):
            for v in ("enter_stash", "enter_set_local"):
                cold, warm = halves(b, v, n) or (0, 0)
                if not warm:
                    b.fail(f"pgbench {v} n={n}")
                b.tps[f"{v}_{n}"].append(warm)
                b.tps[f"{v}_{n}_cold"].append(cold)
                print(f"   run {run} {v} among {n}: {cold} tps cold, {warm} tps warm")
    a, s, c = (median(b.tps[v]) for v in VARIANTS)
    b.note("enter.tps.set_local", a)
    b.note("enter.tps.stash", s)
    b.note("enter.tps.plpgsql", c)
    b.note("enter.ratio.stash_over_set_local", ratio(s, a))
    b.note("enter.ratio.stash_over_plpgsql", ratio(s, c))
    for v in ("stash", "set_local"):
        for phase in ("", "_cold"):
            small = median(b.tps[f"enter_{v}_{b.n_small}{phase}"])
            large = median(b.tps[f"enter_{v}_{b.fleet}{phase}"])
            b.note(f"enter.tps.{v}_among_{b.n_small}{phase}", small)
            b.note(f"enter.tps.{v}_among_{b.fleet}{phase}", large)
            b.note(f"enter.ratio.{v}_large_over_small{phase}", ratio(large, small))

    # tenant_enter's own server time at both fleet sizes: the tps above move with
    # everything else in the transaction and with the machine; this isolates the statement.
    if b.pgss:
        for n in (b.n_small, b.fleet):
            b.pgss_track("top")
            b.pgbench("enter_stash", ntenants=n)
            pgss_note(b, f"enter.server_us_per_call.among_{n}")
        b.pgss_track("none")

    # The profile of the context switch: all three variants in ONE pgbench run (each client
    # picks a script per transaction), so they share every moment of machine noise; the
    # server-side time of each enter statement comes from pg_stat_statements.
    b.step(f"context switch profile: the three variants mixed in one {b.dur}s run")
    if b.pgss:
        b.pgss_track("top")
    b.pgbench(*VARIANTS, out="mixed.out", what="mixed pgbench")
    for i, v in enumerate(("set_local", "stash", "plpgsql"), 1):
        b.note(f"enter.mixed.latency_ms.{v}", b.mixed_latency("mixed.out", i))
    if b.pgss:
        pgss_note(b, "enter.server_us_per_call")
        b.pgss_track("none")


def goal(b):
    """The goal of 0.2.0, once every section ran: server time of tenant_enter among the
    whole fleet, fresh connections (which fill their caches), over among 10."""
    r = b.results
    b.note("enter.ratio.server_us_large_over_small",
           ratio(r.get(f"enter.server_us_per_call.among_{b.fleet}.stash"),
                 r.get(f"enter.server_us_per_call.among_{b.n_small}.stash")))
