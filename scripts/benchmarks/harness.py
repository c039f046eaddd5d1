"""What every section of `make bench` (scripts/bench.py) uses: the sizes of a run, psql
and pgbench against the bench cluster, the results file that scripts/bench_report.py
turns into BENCHMARKS.md, pg_stat_statements switched on and off, and the statistics
(medians of interleaved rounds, the median of the per-round ratios)."""
import collections
import os
import re
import statistics
import subprocess
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
SECTIONS = ("enter", "isolation", "migrate", "provision", "tokens", "pool", "cli")

# fleet: tenants of the 1-table template; n_mid: the tenants pgbench picks among; dur: s per
# pgbench run; runs: interleaved rounds; n_prov: tenants provisioned (and dropped) of each kind
# in each of the provision section's two databases
SIZES = {
    "full": dict(fleet=10000, n_mid=1000, n_small=10, dur=30, runs=3, clients=4, n_prov=500,
                 profile="--release", pool_rows=1000, cli_rounds=5),
    "smoke": dict(fleet=200, n_mid=50, n_small=10, dur=2, runs=1, clients=2, n_prov=10,
                  profile="", pool_rows=100, cli_rounds=1),
}


def secs(t0, t1=None):
    """Seconds since T0 (time.monotonic()), as the results file has them."""
    return f"{(time.monotonic() if t1 is None else t1) - t0:.3f}"


def median(values):
    values = [float(v) for v in values]
    return f"{statistics.median(values):.3f}" if values else ""


def ratio(a, b):
    try:
        return f"{float(a) / float(b):.3f}" if float(b) else "n/a"
    except (TypeError, ValueError):
        return "n/a"


def _per_round(a, b):
    return [float(x) / float(y) if float(y) else 0 for x, y in zip(a, b)]


def per_round(a, b):
    """The median over rounds of A_i / B_i: each round's variants share its noise."""
    return median(_per_round(a, b))


def rounds(a, b):
    """The per-round ratios A_i / B_i: "0.987, 1.012, 0.954"."""
    return ", ".join(f"{x:.3f}" for x in _per_round(a, b))


def rotated(variants, run):
    """The order of VARIANTS in round RUN (from 1): each round starts with the next one, so
    a drift of the machine hits all of them alike."""
    k = (run - 1) % len(variants)
    return variants[k:] + variants[:k]


def tail(path, n=5):
    with open(path, errors="replace") as f:
        print("".join(f.readlines()[-n:]), end="")


class Bench:
    """One run: MODE's sizes as attributes (fleet, n_mid, dur, ...), DIR for its files, the
    results (DIR/results and self.results), whether anything failed."""

    def __init__(self, mode, only, dir, psql, bindir):
        self.__dict__.update(SIZES[mode])
        if mode == "full":
            self.runs = int(os.environ.get("BENCH_RUNS", self.runs))
        self.mode, self.only, self.dir = mode, only, dir
        self.psql_bin, self.pgbench_bin = psql, os.path.join(bindir, "pgbench")
        self.res = self.path("results")
        open(self.res, "w").close()
        self.results = {}
        self.failed = False
        self.pgss = False          # pg_stat_statements loaded (not in the PG16 wheel)
        self.tps = collections.defaultdict(list)  # variant -> tps of each round, as printed
        self.has_app_role = False

    def path(self, name):
        return os.path.join(self.dir, name)

    def want(self, section):
        return not self.only or section in self.only

    def step(self, title):
        """The progress line that opens a section (or a long step of one)."""
        print(f"-- {title}")

    def note(self, key, value):
        self.results[key] = value
        with open(self.res, "a") as f:
            f.write(f"{key}\t{value}\n")
        print(f"  {key:<44} {value}")

    def fail(self, what):
        print(f"!! {what}")
        self.failed = True

    def psql_cmd(self, db="bench", user=None):
        return [self.psql_bin, "-X", "-q", "-At", "-v", "ON_ERROR_STOP=1", "-d", db] + (["-U", user] if user else [])

    def psql(self, *args, db="bench", user=None, input=None, what=None, fatal=False, stderr=None):
        """psql -X -q -At -v ON_ERROR_STOP=1 -d DB [-U USER] ARGS, INPUT on stdin; returns
        its output without the last newline.  On an error: fail(WHAT), or with FATAL end the
        run.  STDERR: where psql's errors go (the terminal; subprocess.STDOUT: the output)."""
        p = subprocess.run(self.psql_cmd(db, user) + list(args), input=input, stdout=subprocess.PIPE,
                           stderr=stderr, text=True)
        if p.returncode:
            if fatal:
                raise SystemExit(1)
            if what:
                self.fail(what)
                if stderr == subprocess.STDOUT:  # else psql's errors are on the terminal already
                    print("\n".join(p.stdout.splitlines()[-5:]))
        return p.stdout.rstrip("\n")

    def as_app(self, sql):
        """The last line psql prints, errors included, running SQL as the application role."""
        out = self.psql(input=sql, user="bench_app", stderr=subprocess.STDOUT)
        return out.splitlines()[-1] if out else ""

    def rows(self, sql, what=None, db="bench"):
        """The rows of SQL, each a list of its columns as text; fail(WHAT) on an error."""
        out = self.psql("-F", "\t", "-c", sql, db=db, what=what)
        return [line.split("\t") for line in out.splitlines()]

    def run_pgbench(self, scripts, out, user=None, ntenants=None, seconds=None, nrows=False, extra=()):
        """pgbench -n -M prepared, CLIENTS clients on 2 threads, for SECONDS (DUR), a random
        tenant among NTENANTS (N_MID) (and, with NROWS, the pool table's rows per tenant),
        with bench/SCRIPT.sql (several are mixed: each transaction picks one), as USER; all
        its output in DIR/OUT.  Returns that output, or None when pgbench failed."""
        cmd = [self.pgbench_bin, "-n", "-M", "prepared"] + (["-U", user] if user else [])
        cmd += ["-c", str(self.clients), "-j", "2", "-T", str(seconds or self.dur), *extra,
                "-D", f"ntenants={ntenants or self.n_mid}"]
        if nrows:
            cmd += ["-D", f"nrows={self.pool_rows}"]
        for s in scripts:
            cmd += ["-f", f"bench/{s}.sql"]
        with open(self.path(out), "w") as f:
            rc = subprocess.run(cmd + ["bench"], stdout=f, stderr=subprocess.STDOUT).returncode
        with open(self.path(out)) as f:
            text = f.read()
        return None if rc else text

    def pgbench(self, *scripts, out="pgb.out", what=None, **kwargs):
        """The tps of a run_pgbench(SCRIPTS) as pgbench printed it; None (and fail(WHAT),
        with the end of pgbench's output) when it failed."""
        text = self.run_pgbench(scripts, out, **kwargs)
        m = re.search(r"^tps = ([0-9.]*)", text or "", re.M)
        if not m and what:
            self.fail(what)
            tail(self.path(out))
        return m.group(1) if m else None

    def measure(self, run, label, key, *scripts, what, **kwargs):
        """One run of round RUN: the tps of pgbench(SCRIPTS) appended to tps[KEY] (0 when it
        failed, with fail(WHAT)) and printed as LABEL's."""
        tps = self.pgbench(*scripts, what=what, **kwargs) or 0
        self.tps[key].append(tps)
        print(f"   run {run} {label}: {tps} tps")

    def mixed_latency(self, out, i):
        """The average latency (ms) of the I-th script (from 1) of a mixed pgbench run."""
        with open(self.path(out)) as f:
            blocks = re.split(r"^SQL script ", f.read(), flags=re.M)
        block = next((b for b in blocks if b.startswith(f"{i}:")), "")
        m = re.search(r"^ - latency average = ([0-9.]*) ms", block, re.M)
        return m.group(1) if m else ""

    def pgss_track(self, level):
        """What pg_stat_statements records from now on (none | top | all), reset."""
        self.psql("-c", f"ALTER SYSTEM SET pg_stat_statements.track = '{level}'",
                  "-c", "SELECT pg_reload_conf()", db="postgres")
        self.psql("-c", "SELECT pg_stat_statements_reset()")

    def app_role(self):
        """The application role of the isolation, tokens and pool sections, registered once."""
        if not self.has_app_role:
            self.psql("-c", "CREATE ROLE bench_app LOGIN", "-c", "SELECT stash.app_role_add('bench_app')",
                      what="bench_app")
            self.has_app_role = True
