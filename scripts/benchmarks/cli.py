"""9. The CLI: `stash migrate --jobs 2` against `CALL stash.migrate_all()` in one session.
Migration N+1 (a column and an index on items) is registered with its down SQL; each round
migrates the whole fleet to it once with `CALL stash.migrate_all()` in one psql session and
once with `stash migrate --jobs 2` (order alternating between rounds), checks that every
tenant has the column, the index and the ledger row, and rolls the fleet back to N with
`CALL stash.migrate_all(target_version => N)` (untimed) after each.  Wall time of the
client process; also the server's own span (first to last ledger row of N+1)."""
import collections
import os
import re
import resource
import subprocess
import time

from .harness import ROOT, median, per_round, rounds, secs, tail

JOBS = 2

# ledger rows of UP, tenant schemas with its index, tenants still needing work (for TARGET)
CHECK = """
SELECT (SELECT count(*) FROM stash.ledger WHERE version = {up} AND tenant_id IS NOT NULL),
       (SELECT count(*) FROM stash.tenants t JOIN pg_namespace n ON n.nspname = t.schema_name
          JOIN pg_class c ON c.relnamespace = n.oid AND c.relname = 'items_cli_k_idx'
          JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = 'cli_k'),
       stash._migrate_all_pending({target})"""

# the server's span of a migration to UP (first to last ledger row), its summed steps (ms)
SPAN = """
SELECT round(extract(epoch FROM max(applied_at) - min(applied_at))::numeric, 3),
       round(sum(duration_ms)::numeric, 1) FROM stash.ledger WHERE version = {up}"""

PGSS_CLI = """
SELECT calls, round(total_exec_time::numeric, 1), round((total_exec_time / calls)::numeric, 2),
       regexp_replace(regexp_replace(left(query, 70), '\\s+', ' ', 'g'), '\\t', ' ')
  FROM pg_stat_statements
 WHERE dbid = (SELECT oid FROM pg_database WHERE datname = 'bench') AND query NOT LIKE '%pg_stat_statements%'
   AND query NOT LIKE 'CHECKPOINT%' AND query NOT LIKE '%pg_attribute%' AND query NOT LIKE '%duration_ms%'
 ORDER BY total_exec_time DESC LIMIT 6"""


def stash_bin(b):
    """$STASH_BIN, or the binary of `make cli`, rebuilt when cli/ is newer."""
    if os.environ.get("STASH_BIN"):
        return os.environ["STASH_BIN"]
    path = os.path.join(ROOT, "target", "release", "stash")
    sources = ["cli/Cargo.toml", "cli/Cargo.lock"] + [os.path.join(d, f) for d, _, fs in os.walk("cli/src") for f in fs]
    built = os.path.getmtime(path) if os.access(path, os.X_OK) else None
    if built is None or any(os.path.exists(s) and os.path.getmtime(s) > built for s in sources):
        b.step("building the CLI (make cli)")
        with open(b.path("cli_build.log"), "w") as log:
            if subprocess.run(["make", "--no-print-directory", "-C", ROOT, "cli"], stdout=log,
                              stderr=subprocess.STDOUT).returncode:
                print(open(b.path("cli_build.log")).read(), end="")
                b.fail("make cli")
    return path


def idle_jiffies():
    with open("/proc/stat") as f:
        cpu = f.readline().split()
    return int(cpu[4]) + int(cpu[5])  # idle + iowait


class Section:
    def __init__(self, b):
        self.b, self.bin = b, stash_bin(b)
        self.n = int(b.psql("-c", "SELECT max(version) FROM stash.migrations WHERE scope = 'tenant'"))
        self.up = self.n + 1
        self.reset_rounds()

    def reset_rounds(self):
        # per variant (sql | cli): wall s, server span s, client CPU s, summed step ms, the
        # machine's idle cores (all processes: others' work on the same cores shows here),
        # the CLI's own summary line s
        self.wall, self.span, self.cpu, self.step, self.idle, self.says = (
            collections.defaultdict(list) for _ in range(6))

    def check(self, want, what):
        """"ledger rows of UP, tenant schemas with the index, tenants still needing work (for
        UP when WANT is the fleet, for N when it is 0)" must be "WANT WANT 0"."""
        target = self.n if want == 0 else "NULL"
        rows = self.b.rows(CHECK.format(up=self.up, target=target))
        got = " ".join(rows[0]) if rows else ""
        if got != f"{want} {want} 0":
            self.b.fail(f'cli: {what} left the fleet at "{got}" (ledger rows of {self.up}, indexes, pending), '
                        f'want "{want} {want} 0"')

    def run_one(self, v, round, quiet=False):
        """One timed migration of the fleet to UP by VARIANT (sql | cli)."""
        b, out = self.b, self.b.path(f"cli_{v}.out")
        b.psql("-c", "CHECKPOINT")
        if v == "sql":
            cmd, env = b.psql_cmd() + ["-c", "CALL stash.migrate_all()"], None
        else:
            cmd = [self.bin, "migrate", "--jobs", str(JOBS)]
            env = {k: val for k, val in os.environ.items() if k != "DATABASE_URL"}
            env["PGDATABASE"] = "bench"
        cpu0 = resource.getrusage(resource.RUSAGE_CHILDREN)
        i0, t0 = idle_jiffies(), time.monotonic()
        with open(out, "w") as f:
            rc = subprocess.run(cmd, env=env, stdout=f, stderr=subprocess.STDOUT).returncode
        t1, i1 = time.monotonic(), idle_jiffies()
        cpu1 = resource.getrusage(resource.RUSAGE_CHILDREN)
        idle = f"{(i1 - i0) / os.sysconf('SC_CLK_TCK') / (t1 - t0):.2f}"
        cpu = f"{cpu1.ru_utime - cpu0.ru_utime + cpu1.ru_stime - cpu0.ru_stime:.2f}"
        text = open(out).read()
        if rc:
            b.fail(f"cli: {v} exited with {rc}")
            tail(out)
        warnings = [line for line in text.splitlines() if "WARNING" in line]
        if warnings:
            b.fail(f"cli: {v} warned")
            print("\n".join(warnings[:5]))
        if v == "cli":
            if not re.search(rf"^migrating {b.fleet} tenant\(s\) in {JOBS} session\(s\)", text, re.M):
                b.fail(f"cli: stash migrate did not start {JOBS} sessions for {b.fleet} tenants")
                print(text, end="")
            says = re.search(r"^summary: .* migrated in ([0-9.]*)s", text, re.M)
            if says:
                self.says[v].append(says.group(1))
        self.check(b.fleet, v)
        span, step = (b.rows(SPAN.format(up=self.up)) or [["", ""]])[0]
        self.wall[v].append(secs(t0, t1))
        self.span[v].append(span or "0")
        self.cpu[v].append(cpu)
        self.step[v].append(step or "0")
        self.idle[v].append(idle)
        if not quiet:
            print(f"   round {round} {v}: {secs(t0, t1)} s wall, {span or '?'} s server span, {cpu} s client CPU, "
                  f"{idle} cores idle")

    def reset(self):
        """The fleet back to N (untimed)."""
        b = self.b
        b.psql("-c", f"CALL stash.migrate_all(target_version => {self.n})", what=f"cli: rollback to {self.n}",
               stderr=subprocess.STDOUT)
        self.check(0, f"the rollback to {self.n}")


def run(b):
    s = Section(b)
    b.step(f"CLI: stash migrate --jobs {JOBS} vs CALL stash.migrate_all(), {b.fleet} tenants, "
          f"version {s.n} -> {s.up}: {b.cli_rounds} rounds")
    if b.psql("-c", "SELECT stash._migrate_all_pending(NULL)") != "0":
        b.fail(f"cli: the fleet is not at version {s.n} before the section")
    b.psql(what=f"cli: migration_add({s.up})", input=f"""SELECT stash.migration_add({s.up}, 'cli_bench',
  'ALTER TABLE items ADD COLUMN cli_k int; CREATE INDEX items_cli_k_idx ON items (cli_k)',
  'DROP INDEX items_cli_k_idx; ALTER TABLE items DROP COLUMN cli_k');
""")
    # the first migration of a fresh catalog is not a round: once up and down, untimed
    s.run_one("cli", "warm-up")
    s.reset()
    s.reset_rounds()
    t_section = time.monotonic()
    for round in range(1, b.cli_rounds + 1):
        for v in ("sql", "cli") if round % 2 else ("cli", "sql"):
            s.run_one(v, round)
            s.reset()
    fleet = b.fleet
    for v in ("sql", "cli"):
        b.note(f"cli.{v}.wall_s.rounds", " ".join(s.wall[v]))
        b.note(f"cli.{v}.span_s.rounds", " ".join(s.span[v]))
        b.note(f"cli.{v}.client_cpu_s.rounds", " ".join(s.cpu[v]))
        b.note(f"cli.{v}.idle_cores.rounds", " ".join(s.idle[v]))
        wall, span = median(s.wall[v]), median(s.span[v])
        b.note(f"cli.{v}.wall_s", wall)
        b.note(f"cli.{v}.per_s", f"{fleet / float(wall):.0f}")
        b.note(f"cli.{v}.span_per_s", f"{fleet / float(span):.0f}" if float(span) else "n/a")
        b.note(f"cli.{v}.step_us_per_tenant", f"{float(median(s.step[v])) / fleet * 1000:.1f}")
    b.note("cli.cli.says_s.rounds", " ".join(s.says["cli"]))
    b.note("cli.ratio.wall.cli_over_sql", per_round(s.wall["cli"], s.wall["sql"]))
    b.note("cli.ratio.wall.rounds", rounds(s.wall["cli"], s.wall["sql"]))
    b.note("cli.ratio.span.cli_over_sql", per_round(s.span["cli"], s.span["sql"]))
    b.note("cli.ratio.span.rounds", rounds(s.span["cli"], s.span["sql"]))
    b.note("cli.fleet", fleet)
    b.note("cli.jobs", JOBS)
    b.note("cli.from_version", s.n)
    b.note("cli.rounds", b.cli_rounds)
    b.note("cli.loadavg", " ".join(open("/proc/loadavg").read().split()[:3]))
    # the profile: one more `stash migrate --jobs 2`, every top-level statement of it in
    # pg_stat_statements (its two CALLs, the progress poll, the summary), then rolled back
    if b.pgss:
        b.pgss_track("top")
        s.run_one("cli", "profile", quiet=True)
        profile = b.rows(PGSS_CLI, "pg_stat_statements (cli)")
        b.pgss_track("none")
        for n, row in enumerate(profile, 1):
            b.note(f"cli.profile.{n}", "\t".join(row))
        b.note("cli.profile.wall_s", s.wall["cli"][-1])
        s.reset()
    b.note("cli.section_s", secs(t_section))
