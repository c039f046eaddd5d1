"""Turn the results of scripts/bench.py into BENCHMARKS.md: machine, settings, the command,
and a table of medians and ratios against the baselines measured in the same run.
With BENCH_ONLY="tokens pool" (the sections that ran), only their rows, and no appendices.
`bench_report.py --cli RESULTS` renders the cli section alone (bench.py writes it to
bench/cli.md, which BENCHMARKS.md includes, as it includes bench/ops.md)."""
import datetime
import os
import platform
import shlex
import sys

CLI_ONLY = sys.argv[1] == "--cli"
r = dict(line.rstrip("\n").split("\t", 1) for line in open(sys.argv[-1]) if "\t" in line)


def f(key):
    return float(r[key])


def cpu():
    for line in open("/proc/cpuinfo"):
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor()


mem_gb = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
fleet = r.get("fleet.size") or next(k.split("_")[-2] for k in r if k.startswith("enter.backend_rss_anon_kb.after_"))
only = os.environ.get("BENCH_ONLY", "").split()


def run_value(name, env, default):
    """A fact of the run: the results' `run.NAME` (bench.py notes it, so a stored run renders
    as it ran), else bench.py's environment variable ENV, else DEFAULT."""
    return r.get(f"run.{name}") or os.environ.get(env) or default


def want(section):
    return not only or section in only


def ratio(a, b):
    return f"{float(a) / float(b):.3f}" if a and b and float(b) else "n/a"


def verdict(ok):
    return "met" if ok else "**missed**"


def opt(key):
    return r.get(key, "n/a (no pg_stat_statements in this build)")


def enter_rows():
    return [
    ("1. context switch: tps (median of 3 × 30 s, 4 clients, random tenant among 1,000)", "", ""),
    ("(a) `SET LOCAL search_path` via set_config — the floor", r["enter.tps.set_local"], ""),
    ("(b) `stash.tenant_enter(slug)`", r["enter.tps.stash"], ""),
    ("(c) PL/pgSQL hand-written enter", r["enter.tps.plpgsql"], ""),
    ("(b) / (a)", r["enter.ratio.stash_over_set_local"],
     f"≥ 0.95: {verdict(f('enter.ratio.stash_over_set_local') >= 0.95)}"),
    ("(b) / (c)", r["enter.ratio.stash_over_plpgsql"],
     f"> 1: {verdict(f('enter.ratio.stash_over_plpgsql') > 1.0)}"),
    ("profile: (a), (b), (c) mixed in one run — latency (a), ms", r["enter.mixed.latency_ms.set_local"], ""),
    ("… latency (b), ms", r["enter.mixed.latency_ms.stash"], ""),
    ("… latency (c), ms", r["enter.mixed.latency_ms.plpgsql"], ""),
    ("… latency (a) / latency (b) — the same noise for both", ratio(r["enter.mixed.latency_ms.set_local"], r["enter.mixed.latency_ms.stash"]), ""),
    ("… server time per enter statement (pg_stat_statements), (a), µs", opt("enter.server_us_per_call.set_local"), ""),
    ("… (b), µs", opt("enter.server_us_per_call.stash"), ""),
    ("… (c), µs", opt("enter.server_us_per_call.plpgsql"), ""),
    ("… the tenant's `SELECT v FROM items WHERE id = $1`, µs", opt("enter.server_us_per_call.select"), ""),
    ("2. (b) among 10 tenants, tps (warm: second 30 s of a 60 s run)", r["enter.tps.stash_among_10"], ""),
    (f"(b) among {fleet} tenants, tps (warm)", r[f"enter.tps.stash_among_{fleet}"], ""),
    (f"(b) {fleet} / (b) 10, warm", r["enter.ratio.stash_large_over_small"],
     f"≥ 0.9: {verdict(f('enter.ratio.stash_large_over_small') >= 0.9)}"),
    (f"(b) {fleet} / (b) 10, cold (first 30 s of fresh connections)", r["enter.ratio.stash_large_over_small_cold"], ""),
    ("profile: server time per `tenant_enter` among 10 tenants (pg_stat_statements), µs", opt("enter.server_us_per_call.among_10.stash"), ""),
    (f"… among {fleet} tenants, µs", opt(f"enter.server_us_per_call.among_{fleet}.stash"), ""),
    (f"… among {fleet} / among 10 (fresh connections; 0.2.0 fills a backend's cache from the whole registry after 16 misses)",
     opt("enter.ratio.server_us_large_over_small"),
     f"≤ 1.5: {verdict(f('enter.ratio.server_us_large_over_small') <= 1.5)}" if "enter.ratio.server_us_large_over_small" in r else ""),
    ("… the tenant's SELECT among 10 tenants, µs", opt("enter.server_us_per_call.among_10.select"), ""),
    (f"… among {fleet} tenants, µs", opt(f"enter.server_us_per_call.among_{fleet}.select"), ""),
    ("control: (a) among 10 tenants, tps (warm)", r["enter.tps.set_local_among_10"], ""),
    (f"control: (a) among {fleet} tenants, tps (warm)", r[f"enter.tps.set_local_among_{fleet}"], ""),
    (f"control: (a) {fleet} / (a) 10, warm — what the server alone loses", r["enter.ratio.set_local_large_over_small"], ""),
    (f"control: (a) {fleet} / (a) 10, cold", r["enter.ratio.set_local_large_over_small_cold"], ""),
    ]


def isolation_rows():
    return [
    ("6. isolation: `tenant_enter` as an application role (role switch), tps", r["isolation.tps.app"], ""),
    ("… the same script as an administrator (no switch, the 0.1.0 path), tps", r["isolation.tps.admin"], "baseline"),
    ("… (a) the floor, tps", r["isolation.tps.floor"], ""),
    ("application role / administrator (median of the per-round ratios)", r["isolation.ratio.app_over_admin"],
     f"≥ 0.9 (switch costs ≤ 10 %): {verdict(f('isolation.ratio.app_over_admin') >= 0.9)}"),
    ("application role / floor (a) (median of the per-round ratios)", r["isolation.ratio.app_over_floor"], ""),
    ("… server time per `tenant_enter`, application role, µs", opt("isolation.server_us_per_enter.app"), ""),
    ("… administrator, µs", opt("isolation.server_us_per_enter.admin"), ""),
    *transaction_rows(),
    ("backend private memory (RssAnon) before, KB", r["enter.backend_rss_anon_kb.before"], ""),
    (f"… after entering {fleet} different tenants in one session, KB",
     r[f"enter.backend_rss_anon_kb.after_{fleet}_enters"], ""),
    ]


def transaction_rows():
    """#26: a tenant transaction's server time, (b) as the application role against the floor."""
    def txn(key, head):
        if key not in r:
            return opt(key)
        return f"{r[key]} ({r.get(f'{key}.{head}', '?')} + {r.get(f'{key}.select', '?')})"

    rows = [("6. isolation, a tenant transaction's server time (pg_stat_statements, `track = top`, counters read before and after each run, after an untimed warm-up): "
             "the enter or floor statement + the tenant's `SELECT v FROM items WHERE id = $1` (set_config leaves "
             "the path's lookup to the SELECT); (b) `tenant_enter` as the application role, role switch included, "
             "against the floor (a) `set_config('search_path', …, true)` as the administrator; fresh connections, "
             "rounds interleaved", "", "")]
    for n in ("10", fleet):
        k = f"isolation.txn_us.among_{n}"
        q = f"isolation.ratio.txn_us_stash_over_floor.among_{n}"
        per = f" {r[q + '.rounds']}" if q + ".rounds" in r else ""
        rows += [
            (f"among {int(n):,} tenants: (b) as the application role, µs per transaction (tenant_enter + SELECT; "
             "medians of the rounds)",
             txn(f"{k}.stash", "enter"), ""),
            ("… (a) the floor as the administrator, µs (set_config + SELECT)", txn(f"{k}.floor", "set_config"),
             "baseline"),
            (f"… (b) / (a) (median of the per-round ratios{per})", opt(q), judge(q, lambda x: x <= 1.15, "≤ 1.15")),
            ("… COMMIT, not in the sum, (b) / (a), µs",
             f"{r[f'{k}.stash.commit']} / {r[f'{k}.floor.commit']}" if f"{k}.stash.commit" in r else opt(f"{k}.stash.commit"),
             ""),
            ("… times pg_stat_statements evicted entries during (b)'s runs (one entry per tenant role and statement; "
             "the means are those of the entries left)", opt(f"{k}.stash.pgss_deallocs"), ""),
        ]
    return rows


def judge(key, test, text):
    """"TEXT: met" when TEST(the value of KEY) holds, "**missed**" when not; TEXT alone when
    the value is missing or not a number."""
    try:
        return f"{text}: {verdict(test(f(key)))}"
    except (KeyError, ValueError):
        return text


def provision_rows():
    small, big = int(r["provision.small.tenants"]), int(r["provision.fleet.tenants"])
    chunks, chunk = r["provision.chunks"], r["provision.chunk_tenants"]
    rows = [(f"3. provisioning with the 8-table template (tests/fixtures/document_pipeline.sql): "
             f"{int(chunks) * int(chunk):,} tenants of each kind in {chunks} interleaved chunks, "
             "`tenant_create` against the same DDL raw in a fresh schema (the floor); "
             "each chunk pair dropped again, statement by statement, alternating (5.)", "", "")]
    for key, where in (("small", f"{small:,} tenants present (database prov)"),
                       ("fleet", f"the fleet present: {big:,} tenants of the template (database prov_big)")):
        create = r[f"create.{key}.ratio.time_over_raw"]
        drop = r[f"drop.{key}.ratio.time_over_raw"]
        rows += [
            (f"{where}: raw DDL, tenants/s", r[f"create.{key}.raw_ddl.per_s"], "baseline"),
            ("… `tenant_create`, tenants/s", r[f"create.{key}.tenant_create.per_s"], ""),
            ("… time(tenant_create) / time(raw), median of the per-chunk ratios", create,
             judge(f"create.{key}.ratio.time_over_raw", lambda x: x <= 1.2, "≤ 1.2") if key == "fleet" else ""),
            ("… 5. `DROP SCHEMA … CASCADE` of a template tenant, median ms", r[f"drop.{key}.raw_drop_schema.median_ms"],
             "baseline"),
            ("… `tenant_drop`, median ms", r[f"drop.{key}.tenant_drop.median_ms"], ""),
            ("… time(tenant_drop) / time(DROP SCHEMA), median of the per-pair ratios", drop,
             judge(f"drop.{key}.ratio.time_over_raw", lambda x: x <= 1.3, "≤ 1.3") if key == "fleet" else ""),
        ]
    rows.append((f"create ratio (tenant_create / raw) with {big:,} present / the same with {small:,} present",
                 r["create.ratio.fleet_over_small"],
                 judge("create.ratio.fleet_over_small", lambda x: x <= 1.1, "≤ 1.1")))
    rows.append((f"… filling prov_big with its {big:,} tenants (untimed for the goals), s; the whole section, s",
                 f"{r['provision.fleet.fill_s']}; {r['provision.section_s']}", ""))
    return rows


def rounds_of(n):
    return f"{n} round{'s' if n != 1 else ''}"


def migrate_rows():
    d = int(r["migrate_all.durable.rounds"])
    o = int(r["migrate_all.fsync_off.rounds"])
    s = int(r["migrate_all.sessions.rounds"])

    def per_s(key):
        return ", ".join(r[key].split())

    return [
    (f"4. fleet of {fleet}: `CALL stash.migrate_all()` with nothing pending, s (median of 3)",
     r["migrate_all.nothing_pending_s"], judge("migrate_all.nothing_pending_s", lambda x: x < 0.2, "< 0.2 s")),
    (f"ALTER … ADD COLUMN over the fleet with durable commits (`fsync = on`, `synchronous_commit = on`): "
     f"{rounds_of(d)}, interleaved, one new migration each, `migrate_all` first in odd rounds", "", ""),
    (f"client script (`SET search_path; ALTER` per tenant, one file, `psql -f`), tenants/s "
     f"(median; rounds {per_s('migrate_all.durable.script.per_s.rounds')})", r["migrate_all.durable.script.per_s"],
     "baseline"),
    (f"`migrate_all`, 1 session, tenants/s (median; rounds {per_s('migrate_all.durable.migrate_all.per_s.rounds')})",
     r["migrate_all.durable.migrate_all.per_s"], ""),
    (f"rate `migrate_all` / script (median of the per-round ratios {r['migrate_all.durable.ratio.rounds']})",
     r["migrate_all.durable.ratio.migrate_all_over_script"],
     judge("migrate_all.durable.ratio.migrate_all_over_script", lambda x: x >= 1.0, "≥ 1.0")),
    (f"rollback after each forward run, `migrate_all(target_version => N-1)`, tenants/s, first / last round "
     f"(rounds {per_s('migrate_all.rollback.per_s.rounds')})",
     f"{r['migrate_all.rollback.per_s.first']} / {r['migrate_all.rollback.per_s.last']}", ""),
    (f"rate rollback / forward of the same round (median of the per-round ratios "
     f"{r['migrate_all.rollback.ratio.rounds']})", r["migrate_all.rollback.ratio.back_over_forward"],
     judge("migrate_all.rollback.ratio.back_over_forward", lambda x: x >= 0.9, "≥ 0.9")),
    (f"`migrate_all`, 2 concurrent sessions, tenants/s (median of {rounds_of(s)} interleaved with 1 session's, "
     f"{r['migrate_all.sessions_1.per_s']}/s)", r["migrate_all.sessions_2.per_s"], ""),
    (f"rate 2 sessions / 1 session (median of the per-round ratios {r['migrate_all.sessions.ratio.rounds']})",
     r["migrate_all.sessions.ratio.two_over_one"],
     judge("migrate_all.sessions.ratio.two_over_one", lambda x: x >= 1.6, "≥ 1.6")),
    (f"the same under the cluster's `fsync = off`, informative ({rounds_of(o)}, interleaved: `migrate_all` commits "
     "each tenant with `synchronous_commit = off` and waits for the WAL once, which pays off only when commits flush)",
     "", ""),
    (f"client script, tenants/s (rounds {per_s('migrate_all.fsync_off.script.per_s.rounds')})",
     r["migrate_all.fsync_off.script.per_s"], "baseline"),
    (f"`migrate_all`, 1 session, tenants/s (rounds {per_s('migrate_all.fsync_off.migrate_all.per_s.rounds')})",
     r["migrate_all.fsync_off.migrate_all.per_s"], ""),
    (f"rate `migrate_all` / script (median of the per-round ratios {r['migrate_all.fsync_off.ratio.rounds']})",
     r["migrate_all.fsync_off.ratio.migrate_all_over_script"], ""),
    ]


def tokens_rows():
    return [
    (f"7. signed entry as the application role: tps (median of {len(r['tokens.ratio.rounds'].split(','))} × "
     f"{duration} s, {clients} clients, random tenant among {n_mid}; both fetch the "
     "tenant's token and slug with `\\gset`, then enter, then the tenant's SELECT)", "", ""),
    ("(A) `stash.tenant_enter(slug)`", r["tokens.tps.slug"], ""),
    ("(B) `stash.tenant_enter_token(token)`, HS256", r["tokens.tps.token"], ""),
    (f"(B) / (A) (median of the per-round ratios {r['tokens.ratio.rounds']})", r["tokens.ratio.token_over_slug"],
     f"≥ 0.8: {verdict(f('tokens.ratio.token_over_slug') >= 0.8)}"),
    ("profile: (A) and (B) mixed in one run — latency (A), ms", r["tokens.mixed.latency_ms.slug"], ""),
    ("… latency (B), ms", r["tokens.mixed.latency_ms.token"], ""),
    ("… latency (A) / latency (B) — the same noise for both",
     ratio(r["tokens.mixed.latency_ms.slug"], r["tokens.mixed.latency_ms.token"]), ""),
    ("… server time per `tenant_enter(slug)` (pg_stat_statements), µs", opt("tokens.server_us_per_call.slug"), ""),
    ("… per `tenant_enter_token(token)`, µs", opt("tokens.server_us_per_call.token"), ""),
    ("… the tenant's `SELECT v FROM items WHERE id = $1`, µs", opt("tokens.server_us_per_call.select"), ""),
    ]


def pool_rows():
    rows = [
        (f"8. pool model: {int(r['pool.rows']):,} rows across {int(r['pool.tenants']):,} tenants in one pool table "
         "(PRIMARY KEY (tenant_id, id)), tps (median of "
         f"{len(r['pool.ratio.count.rounds'].split(','))} × {duration} s, {clients} clients, random tenant); "
         "every variant: `\\gset` of the tenant's id and slug, `tenant_enter`, the query", "", ""),
    ]
    for q, label, rls_sql, explicit_sql in [
        ("count", "`count(*)`", "SELECT count(*) FROM events",
         "SELECT count(*) FROM events_plain WHERE tenant_id = $1"),
        ("point", "point lookup", "SELECT payload FROM events WHERE id = $1",
         "SELECT payload FROM events_plain WHERE tenant_id = $1 AND id = $2"),
    ]:
        admin_sql = explicit_sql.replace("events_plain", "events")
        rows += [
            (f"{label}, RLS: `{rls_sql}` as the application role", r[f"pool.tps.{q}.rls"], ""),
            (f"{label}, explicit: `{explicit_sql}` (the same rows, no RLS), same role", r[f"pool.tps.{q}.explicit"], "baseline"),
            (f"{label}, RLS / explicit (median of the per-round ratios {r[f'pool.ratio.{q}.rounds']})",
             r[f"pool.ratio.{q}.rls_over_explicit"],
             f"≥ 0.95: {verdict(f(f'pool.ratio.{q}.rls_over_explicit') >= 0.95)}"),
            (f"{label}, cross-check: `{admin_sql}` as the administrator (bypasses RLS, no role switch)",
             r[f"pool.tps.{q}.admin"], ""),
            (f"{label}, RLS / administrator (median of the per-round ratios)", r[f"pool.ratio.{q}.rls_over_admin"], ""),
            ("… profile: RLS and explicit mixed in one run — latency explicit / latency RLS",
             ratio(r[f"pool.mixed.latency_ms.{q}.explicit"], r[f"pool.mixed.latency_ms.{q}.rls"]), ""),
            ("… server time per statement (pg_stat_statements), execution + planning, RLS, µs",
             both(f"{q}.rls"), ""),
            ("… explicit, µs", both(f"{q}.explicit"), ""),
            ("… administrator, µs", both(f"{q}.admin"), ""),
        ]
    return rows


def both(key):
    e, p = r.get(f"pool.server_us_per_call.{key}"), r.get(f"pool.server_plan_us_per_call.{key}")
    return f"{e} + {p}" if e and p else opt(f"pool.server_us_per_call.{key}")


def fleet_rows():
    # the goal is for 10,000 tenants; other sizes (smoke, BENCH_ONLY) are not judged
    judged = judge("fleet.create_s", lambda x: x <= 40, "≤ 40 s") if fleet == "10000" else f"≤ 40 s at 10,000 (not judged at {fleet})"
    return [(f"fleet of {int(fleet):,} one-table tenants created (`tenant_create`, one transaction each, one session), s",
             r["fleet.create_s"], judged)]


def cli_section():
    """bench/cli.md: `stash migrate --jobs N` against `CALL stash.migrate_all()` in one session."""
    n, up, jobs, rounds = r["cli.from_version"], int(r["cli.from_version"]) + 1, r["cli.jobs"], r["cli.rounds"]
    pg = run_value("pg_version", "PG_VERSION", "?")
    asserts = " (built with --enable-cassert)" if r.get("settings.debug_assertions") == "on" else " (without assertions)"
    env = [f"{k}={shlex.quote(os.environ[k])}" for k in ("STASH_NO_INSTALL", "BENCH_ONLY", "BENCH_PG_CONFIG")
           if os.environ.get(k)]
    cmd = " ".join(env + ["make bench", f"PG={run_value('pgv', 'BENCH_PGV', '17')}"])
    plural = "s" if rounds != "1" else ""
    out = [f"""## `stash migrate --jobs {jobs}` vs `CALL stash.migrate_all()` (`{cmd}`, PostgreSQL {pg}, {datetime.date.today()})

{int(r['cli.fleet']):,} tenants of the 1-table template (`items`, 100 rows), all at version {n}; migration {up}
adds a column and an index to `items` (`ALTER TABLE items ADD COLUMN cli_k int; CREATE INDEX
items_cli_k_idx ON items (cli_k)`, with its down SQL). Each of {rounds} round{plural} migrates the fleet to
{up} once with `CALL stash.migrate_all()` in one psql session and once with `stash migrate --jobs {jobs}`
(target/release/stash), the order alternating between rounds, and rolls it back to {n} after each
(`CALL stash.migrate_all(target_version => {n})`, untimed); a run counts only if every tenant then has
the ledger row of {up}, the column and the index, and none has work left. Wall time of the client
process (for the CLI: its connections, the progress poll twice a second and the summary); the server
span is first to last ledger row of {up} (`applied_at`). PostgreSQL {pg}{asserts}, extension
{r.get('settings.extension', 'built with `--release`')}; `shared_buffers = 512MB`, `fsync = off`,
`synchronous_commit = off`; load average after the rounds: {r['cli.loadavg']} (other work on the
same {os.cpu_count()} cores).

| measurement | value | goal |
|---|---:|---|"""]

    def rows_of(key):
        return ", ".join(r[key].split())

    def per_s(key):
        return f"{r[f'cli.{key}.per_s']} ({r[f'cli.{key}.wall_s']} s)"

    def both(key):
        return f"{rows_of(f'cli.sql.{key}.rounds')} / {rows_of(f'cli.cli.{key}.rounds')}"

    rows = [
        ("`CALL stash.migrate_all()`, 1 session: tenants/s (median wall time)", per_s("sql"), "baseline"),
        (f"`stash migrate --jobs {jobs}`: tenants/s (median wall time)", per_s("cli"), ""),
        (f"time(`stash migrate --jobs {jobs}`) / time(`migrate_all`), wall: median of the per-round ratios "
         f"{r['cli.ratio.wall.rounds']}", r["cli.ratio.wall.cli_over_sql"], ""),
        (f"… server span: median of the per-round ratios {r['cli.ratio.span.rounds']}",
         r["cli.ratio.span.cli_over_sql"], ""),
        ("wall s per round, `migrate_all` / CLI", both("wall_s"), ""),
        ("… the CLI's own summary line, s", rows_of("cli.cli.says_s.rounds"), ""),
        ("server span s per round, `migrate_all` / CLI", both("span_s"), ""),
        ("server span, tenants/s (median), `migrate_all` / CLI",
         f"{r['cli.sql.span_per_s']} / {r['cli.cli.span_per_s']}", ""),
        ("the migration's steps (ledger `duration_ms`), µs per tenant (median), `migrate_all` / CLI",
         f"{r['cli.sql.step_us_per_tenant']} / {r['cli.cli.step_us_per_tenant']}", ""),
        ("client CPU (user + sys) per run, s, psql / stash", both("client_cpu_s"), ""),
        (f"idle cores of the machine's {os.cpu_count()} during each run (/proc/stat; others' work included), "
         "`migrate_all` / CLI", both("idle_cores"), ""),
    ]
    out += [f"| {a} | {b} | {c} |" for a, b, c in rows]
    profile = sorted((int(k.rsplit(".", 1)[1]), v) for k, v in r.items()
                     if k.startswith("cli.profile.") and k.rsplit(".", 1)[1].isdigit())
    if profile:
        out.append(f"""
Where one more `stash migrate --jobs {jobs}` ({r['cli.profile.wall_s']} s wall) spends the server's time:
its top-level statements (pg_stat_statements, `track = top`; each `CALL` contains its session's
migrations, the poll is the progress bar's count of the tenants left).

| calls | total ms | ms per call | statement |
|---:|---:|---:|---|""")
        for _, v in profile:
            calls, total, mean, query = v.split("\t", 3)
            out.append(f"| {calls} | {total} | {mean} | `{query.strip().replace('|', chr(92) + '|')}` |")
    out.append(f"\nSection time (warm-up, rounds, rollbacks, checks, profile): {r['cli.section_s']} s; "
               f"fleet creation {r.get('fleet.create_s', '?')} s.")
    return "\n".join(out)


if CLI_ONLY:
    print(cli_section())
    sys.exit(0)

# the sizes of this run (bench.py passes them; the defaults are make bench's)
duration = run_value("dur", "BENCH_DUR", "30")
clients = run_value("clients", "BENCH_CLIENTS", "4")
n_mid = f'{int(run_value("n_mid", "BENCH_N_MID", "1000")):,}'
rows = []
for section, make in [("enter", enter_rows), ("isolation", isolation_rows), ("provision", provision_rows),
                      ("migrate", migrate_rows), ("tokens", tokens_rows), ("pool", pool_rows)]:
    if want(section):
        rows += make()
rows += fleet_rows()

pg = run_value("pg_version", "PG_VERSION", "?")
asserts = (" **built with --enable-cassert (assertions on): absolute numbers are not production numbers**"
           if r.get("settings.debug_assertions") == "on" else "")
print(f"""# Benchmarks

Reproduce with `make bench` (PostgreSQL 17 by default; `make bench PG=16`). Every number
below comes from one run on one throwaway cluster, side by side with its baseline;
machines here are noisy, so compare ratios, not absolute times.

- machine: {cpu()}, {os.cpu_count()} cores, {mem_gb:.0f} GiB, {platform.system()} {platform.release()}
- PostgreSQL {pg}{asserts}; `shared_buffers = 512MB`, `fsync = off`, `synchronous_commit = off`
  (except the durable rounds of 4., which switch both on), `max_connections = 60`, `max_locks_per_transaction = {r['settings.max_locks_per_transaction']}` (the default);
  extension {r.get('settings.extension', 'built with `--release`')}
- pgbench: `-M prepared -c 4 -j 2 -T 30`, scripts in `bench/`; runs of (a), (b), (c)
  interleaved, each run starting with another variant; pg_stat_statements loaded with
  `track = none` except while profiling

| measurement | value | goal |
|---|---:|---|""")
for name, value, goal in rows:
    if value == "":
        print(f"| **{name}** | | |")
    else:
        print(f"| {name} | {value} | {goal} |")

# #26's goals, one column per PostgreSQL version: this run's results, and those of the
# latest full-mode run on each other version (bench.py keeps them in bench/results/)
GOALS = [
    ("`CALL stash.migrate_all()` / the streamed client script, durable commits (4.)",
     "migrate_all.durable.ratio.migrate_all_over_script", lambda x: x >= 1.0, "≥ 1.0"),
    ("2 sessions / 1 session (4.)", "migrate_all.sessions.ratio.two_over_one", lambda x: x >= 1.6, "≥ 1.6"),
    ("nothing pending over the fleet, s (4.)", "migrate_all.nothing_pending_s", lambda x: x < 0.2, "< 0.2"),
    ("rollbacks / forward migrations, same round (4.)", "migrate_all.rollback.ratio.back_over_forward",
     lambda x: x >= 0.9, "≥ 0.9"),
    ("`tenant_create` / raw DDL, the fleet present (3.)", "create.fleet.ratio.time_over_raw",
     lambda x: x <= 1.2, "≤ 1.2"),
    ("… that ratio with the fleet / with 100 present (3.)", "create.ratio.fleet_over_small",
     lambda x: x <= 1.1, "≤ 1.1"),
    ("`tenant_drop` / `DROP SCHEMA … CASCADE`, the fleet present (5.)", "drop.fleet.ratio.time_over_raw",
     lambda x: x <= 1.3, "≤ 1.3"),
    ("10,000 one-table tenants created, s", "fleet.create_s", lambda x: x <= 40, "≤ 40"),
    ("a tenant transaction's server time, `tenant_enter` as the application role / the floor, "
     "among 10 (6.)", "isolation.ratio.txn_us_stash_over_floor.among_10", lambda x: x <= 1.15, "≤ 1.15"),
    ("… among the fleet (6.)", "isolation.ratio.txn_us_stash_over_floor.among_{fleet}",
     lambda x: x <= 1.15, "≤ 1.15"),
]


def results_by_version():
    """{major: results} of bench/results/pg*.tsv, this run's own in place of its version's."""
    out = {}
    here = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "bench", "results")
    for name in sorted(os.listdir(here)) if os.path.isdir(here) else []:
        if name.startswith("pg") and name.endswith(".tsv"):
            with open(os.path.join(here, name)) as fh:
                out[name[2:-4]] = dict(line.rstrip("\n").split("\t", 1) for line in fh if "\t" in line)
    out[run_value("pgv", "BENCH_PGV", "17")] = r
    return dict(sorted(out.items(), key=lambda kv: int(kv[0]) if kv[0].isdigit() else 0))


def goal_cell(res, key, test):
    key = key.replace("{fleet}", res.get("fleet.size", ""))
    if key not in res:
        return "not run"
    if key == "fleet.create_s" and res.get("fleet.size") != "10000":
        return f"{res[key]} (at {res.get('fleet.size')}: not judged)"
    try:
        return f"{res[key]}: {verdict(test(float(res[key])))}"
    except ValueError:
        return res[key]


if not only:
    runs = results_by_version()
    print("\n### #26's goals by PostgreSQL version\n")
    print("Each column is one `make bench PG=N` run (the fleet of 10,000 tenants; the sections named); "
          "every value is judged against a baseline measured in the same run.\n")
    print("| goal | " + " | ".join(f"PostgreSQL {res.get('run.pg_version', v)}" for v, res in runs.items())
          + " | goal |")
    print("|---|" + "---:|" * len(runs) + "---|")
    def run_cell(res):
        if any(k.startswith("run.by.") for k in res):  # merged from runs of some sections each
            return res.get("run.commit", "?")
        return f"{res.get('run.date', '?')}, commit {res.get('run.commit', '?')}, {res.get('run.sections', 'every section')}"

    print("| run | " + " | ".join(run_cell(res) for res in runs.values()) + " | |")
    for label, key, test, text in GOALS:
        print(f"| {label} | " + " | ".join(goal_cell(res, key, test) for res in runs.values()) + f" | {text} |")

if want("pool"):
    print("""
### The pool model's plans

Generic plans (what pgbench's prepared statements run), `EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF)`
as the application role inside tenant t1. The tenant id is read once per statement: as the
index condition when the plan is a lone index scan (src/pool/planner.rs), otherwise by the
policy's InitPlan, `(SELECT stash.current_tenant_id())`.
""")
    for q in ("count", "point"):
        for v in ("rls", "explicit"):
            print(f"{q}, {'RLS' if v == 'rls' else 'explicit WHERE (events_plain)'}:\n")
            print("```")
            print(r[f"pool.plan.{q}.{v}"].replace("\\n", "\n"))
            print("```\n")

if only:
    sys.exit(0)

profile = sorted(((int(k.rsplit(".", 1)[1]), v) for k, v in r.items() if k.startswith("migrate_all.profile.")))
if profile:
    print("""
### Where one tenant's migration goes (1 session, `fsync = off`, pg_stat_statements `track = all`)

Microseconds per migrated tenant, by statement; nested statements are also counted in the
statement that runs them (`CALL` contains everything, `_migrate_all_next` all but the COMMITs).

| µs per tenant | statement |
|---:|---|""")
    for _, v in profile:
        us, query = v.split("\t", 1)
        query = query.strip().replace("|", "\\|")
        print(f"| {us} | `{query}` |")

# The results other commands write, in this order; findings.md (the profiles) always.
BENCH_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "bench")
for part, optional in (("memory.md", True),   # make bench-memory
                       ("ops.md", True),      # make bench-ops
                       ("cli.md", True),      # the cli section of make bench
                       ("citus.md", True),    # make bench-citus
                       ("findings.md", False)):
    path = os.path.join(BENCH_DIR, part)
    if optional and not os.path.exists(path):
        continue
    print()
    print(open(path).read().rstrip())
