"""make bench [PG=17]: every benchmark of BENCHMARKS.md, side by side with its baseline in
the same run, on a throwaway cluster; rewrites BENCHMARKS.md.
make bench-smoke: the same code at tiny sizes (seconds), run by make test so it cannot rot.

    $PG_ROOT/venv/bin/python scripts/bench.py full|smoke

The sections are in scripts/benchmarks/ (one file each), the report in
scripts/bench_report.py; the cluster comes from scripts/pgcluster.py.

BENCH_ONLY="tokens pool" runs only the named sections (any of: enter isolation migrate
provision tokens pool cli), e.g. `BENCH_ONLY="tokens pool" make bench PG=18`. The fleet they
need is still created (FLEET tenants for enter, isolation, migrate and cli; otherwise only
the N_MID that tokens and pool use; provision fills a database of its own with the mode's
FLEET of 8-table tenants either way); their rows are printed.
A full-mode run keeps its results in bench/results/pgN.tsv and rewrites BENCHMARKS.md:
PostgreSQL 17's run in full, and #26's goals for every version kept there, e.g.
`BENCH_ONLY="isolation migrate provision" make bench PG=15` adds PostgreSQL 15's column.  A
BENCH_ONLY run replaces only its sections' rows of the stored run (`run.by.SECTION` says
which run measured each section); on PG_DEFAULT (17) the first stored run must be whole. The cli section (`stash migrate --jobs 2` against `CALL stash.migrate_all()`, the
binary of `make cli`, rebuilt when cli/ is newer, or STASH_BIN) writes bench/cli.md in a
full run, which BENCHMARKS.md includes.
BENCH_RUNS=5 (full mode) gives the pgbench sections more interleaved rounds than 3.
BENCH_PG_CONFIG=/path/to/pg_config runs on another build of the same major, e.g. one
without --enable-cassert (make setup builds PostgreSQL 18 with assertions, which cost more
per transaction than most of what is measured here); the extension is then built against
that server's headers, in a cargo target directory of its own.
STASH_NO_INSTALL=1 (as for scripts/test.sh) benchmarks the extension already installed in
that PostgreSQL instead of building and installing it, e.g. while others test against
the same installation; BENCHMARKS.md then says so.
KEEP_BENCH_DIR=1 keeps /tmp/stash-bench.* (results, pgbench output, server log)."""
import datetime
import os
import re
import shutil
import signal
import subprocess
import sys
import time

import pgcluster
from benchmarks import cli, enter, isolation, migrate, pool, provision, tokens
from benchmarks.harness import ROOT, SECTIONS, Bench, secs

# the Makefile's PG_DEFAULT: the version BENCHMARKS.md shows in full
DEFAULT_PG = "17"
# full-mode results per version (pgN.tsv), which BENCHMARKS.md's goals table reads
RESULTS = "bench/results"

RUNNERS = {"enter": enter.run, "isolation": isolation.run, "migrate": migrate.run,
           "provision": provision.run, "tokens": tokens.run, "pool": pool.run, "cli": cli.run}


def pg_config_for(major):
    """The pg_config of MAJOR: make setup's, or BENCH_PG_CONFIG (which must be that major)."""
    cfg = os.environ.get("BENCH_PG_CONFIG")
    if not cfg:
        return pgcluster.pg_config_for(major)
    try:
        version = pgcluster.pg_config(cfg, "--version")
    except (OSError, subprocess.CalledProcessError):
        version = ""
    if not version.startswith(f"PostgreSQL {major}."):
        raise pgcluster.PgNotFound(f"BENCH_PG_CONFIG={cfg} is not PostgreSQL {major}")
    # cargo pgrx install --pg-config builds against the pg_config of ~/.pgrx/config.toml
    # unless PGRX_PG_CONFIG_PATH says otherwise
    os.environ["PGRX_PG_CONFIG_PATH"] = cfg
    os.environ["CARGO_TARGET_DIR"] = os.path.join(ROOT, "target", "bench-" + re.sub(r"[^A-Za-z0-9]", "_", cfg))
    return cfg


def utc(path):
    return datetime.datetime.fromtimestamp(os.path.getmtime(path), datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")


def extension(b, cfg):
    """Builds and installs the extension, or (STASH_NO_INSTALL=1) takes the installed one;
    returns what BENCHMARKS.md says about it."""
    if os.environ.get("STASH_NO_INSTALL", "0") == "1":
        so = os.path.join(pgcluster.pg_config(cfg, "--pkglibdir"), "stash_tenancy.so")
        if not os.path.isfile(so):
            sys.exit(f"STASH_NO_INSTALL=1, but {so} is not installed")
        print(f"   STASH_NO_INSTALL=1: the installed {so} ({utc(so)}), not rebuilt")
        size = subprocess.run(["du", "-h", so], capture_output=True, text=True).stdout.split("\t")[0]
        return f"not rebuilt: the installed library (`STASH_NO_INSTALL=1`; {size}, {utc(so)})"
    with open(b.path("install.log"), "w") as log:
        if subprocess.run(["bash", "scripts/install.sh", "install", cfg] + ([b.profile] if b.profile else []),
                          stdout=log, stderr=subprocess.STDOUT).returncode:
            print(open(b.path("install.log")).read(), end="")
            raise SystemExit(1)
    return f"built with `{b.profile or '--debug'}`"


def settings(cfg):
    """The bench cluster's settings.  pg_stat_statements (where the build has it) profiles
    the server side of the context switch and of a fleet migration: loaded throughout, but
    tracking nothing during the measured runs (track = none), so the hooks cost the same few
    instructions in every variant."""
    s = {"shared_buffers": "512MB", "max_connections": 60, "fsync": "off", "synchronous_commit": "off"}
    if os.path.exists(os.path.join(pgcluster.pg_config(cfg, "--pkglibdir"), "pg_stat_statements.so")):
        # 50,000 entries: the isolation section's application role files its statements under
        # each of the 10,000 tenant roles (three each), and an eviction would skew its means
        s.update({"shared_preload_libraries": "pg_stat_statements", "pg_stat_statements.track": "none",
                  "pg_stat_statements.max": 50000})
    return s


def fleet(b):
    b.step(f"creating {b.fleet} tenants (1-table template), one transaction each")
    with open(b.path("fleet.sql"), "w") as f:
        f.writelines(f"SELECT 1 FROM stash.tenant_create('t{i}');\n" for i in range(1, b.fleet + 1))
    t0 = time.monotonic()
    b.psql("-f", b.path("fleet.sql"), what="fleet creation")
    b.note("fleet.create_s", secs(t0))
    b.note("fleet.size", b.fleet)
    b.psql("-c", "VACUUM ANALYZE")


def note_run(b, pgv):
    """The facts bench_report.py needs to render these results later, from a file: a run on
    another version (PG=15) re-renders BENCHMARKS.md from the default version's stored run."""
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"],
                           capture_output=True, text=True).stdout.strip()
    b.note("run.pgv", pgv)
    b.note("run.pg_version", b.psql("-c", "SHOW server_version"))
    b.note("run.date", datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d"))
    b.note("run.commit", commit + (" + uncommitted changes" if dirty else ""))
    b.note("run.sections", " ".join(b.only) or "every section")
    b.note("run.dur", b.dur)
    b.note("run.clients", b.clients)
    b.note("run.n_mid", b.n_mid)


# which section measured a result, by the first part of its key (run.*, fleet.* and
# settings.* describe the run itself)
SECTION_OF_PREFIX = {"enter": "enter", "isolation": "isolation", "migrate_all": "migrate",
                     "provision": "provision", "create": "provision", "drop": "provision",
                     "tokens": "tokens", "pool": "pool", "cli": "cli"}


def read_results(path):
    """{key: value} of a results file, in its order."""
    with open(path) as f:
        return dict(line.rstrip("\n").split("\t", 1) for line in f if "\t" in line)


def merge_results(old, new, ran):
    """The stored run OLD with the sections in RAN replaced by NEW's rows.  Each section
    present gets `run.by.SECTION` (the date and commit that measured it), and run.commit /
    run.sections list them all, so BENCHMARKS.md's header says which run each figure is from."""
    def by(res, section):
        return res.get(f"run.by.{section}") or f"{res.get('run.date', '?')}, commit {res.get('run.commit', '?')}"

    def present(res):
        return {SECTION_OF_PREFIX[k.split(".", 1)[0]] for k in res if k.split(".", 1)[0] in SECTION_OF_PREFIX}

    kept = {k: v for k, v in old.items()
            if SECTION_OF_PREFIX.get(k.split(".", 1)[0]) not in (None, *ran)}
    merged = {k: v for k, v in new.items() if not k.startswith("run.by.")}
    merged.update(kept)
    sections = sorted(present(kept) | present(new), key=SECTIONS.index)
    provenance = {s: by(new, s) if s in ran else by(old, s) for s in sections}
    for s in sections:
        merged[f"run.by.{s}"] = provenance[s]
    groups = {}
    for s in sections:
        groups.setdefault(provenance[s], []).append(s)
    merged["run.commit"] = "; ".join(f"{' '.join(v)}: {k}" for k, v in groups.items())
    merged["run.sections"] = " ".join(sections)
    return merged


def report(b, pgv):
    """bench/cli.md (the cli section, in a full run) and BENCHMARKS.md (a full run of every
    section), by scripts/bench_report.py; with BENCH_ONLY, only shown."""
    env = dict(os.environ, BENCH_ONLY=" ".join(b.only))

    def render(out, *args, results=None, env=env):
        with open(b.path(out), "w") as f:
            if subprocess.run([sys.executable, "scripts/bench_report.py", *args, results or b.res],
                              stdout=f, env=env).returncode:
                b.fail(f"bench_report.py {' '.join(args)}".rstrip())
        return open(b.path(out)).read()

    if b.want("cli"):
        text = render("cli.md", "--cli")
        if b.mode == "full" and not b.failed and pgv == DEFAULT_PG:
            shutil.copy(b.path("cli.md"), "bench/cli.md")
            print("== wrote bench/cli.md")
        elif b.only:
            print(text, end="")
    text = render("BENCHMARKS.md")
    if b.only:
        print(f"== the rows of: {' '.join(b.only)}")
        print(text, end="")
    stored = os.path.join(RESULTS, f"pg{pgv}.tsv")
    if b.mode != "full" or b.failed or (b.only and pgv == DEFAULT_PG and not os.path.exists(stored)):
        return
    # A full-mode run keeps its results per version; a run of some sections (BENCH_ONLY)
    # replaces those sections' rows of the stored run and keeps the others, each section
    # saying which run measured it (a run on the default version with no stored run must
    # run every section: BENCHMARKS.md's body is rendered from it).  BENCHMARKS.md is then
    # rendered again: the default version's run in full, every version's goals.
    os.makedirs(RESULTS, exist_ok=True)
    rows = read_results(b.res)
    if b.only and os.path.exists(stored):
        rows = merge_results(read_results(stored), rows, b.only)
    with open(stored, "w") as f:
        f.writelines(f"{k}\t{v}\n" for k, v in rows.items())
    print(f"== wrote {stored}" + (f" (sections {' '.join(b.only)}; the others kept)" if b.only else ""))
    main = os.path.join(RESULTS, f"pg{DEFAULT_PG}.tsv")
    if not os.path.exists(main):
        main = b.res
    render("BENCHMARKS.md", results=main, env=dict(os.environ, BENCH_ONLY=""))
    shutil.copy(b.path("BENCHMARKS.md"), "BENCHMARKS.md")
    print(f"== wrote BENCHMARKS.md (PostgreSQL {DEFAULT_PG if main != b.res else pgv} in full, "
          f"the goals of every version in {RESULTS}/)")


def main():
    sys.stdout.reconfigure(line_buffering=True)  # in order with the output of psql & co
    os.chdir(ROOT)  # bench/*.sql, scripts/, a relative BENCH_PG_CONFIG: from the repository
    mode = sys.argv[1] if len(sys.argv) > 1 else "full"
    if mode not in ("full", "smoke"):
        sys.exit("usage: scripts/bench.py [full|smoke]")
    only = os.environ.get("BENCH_ONLY", "").split()
    for s in only:
        if s not in SECTIONS:
            print(f"BENCH_ONLY: unknown section '{s}' (sections: {' '.join(SECTIONS)})", file=sys.stderr)
            sys.exit(2)
    pgv = pgcluster.single_pg_version()
    try:
        cfg = pg_config_for(pgv)
    except pgcluster.PgNotFound as e:
        print(e, file=sys.stderr)
        sys.exit(2)
    bindir = pgcluster.pg_config(cfg, "--bindir")
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(130))
    with pgcluster.temp_dir("stash-bench.", keep=bool(os.environ.get("KEEP_BENCH_DIR"))) as dir:
        b = Bench(mode, only, dir, pgcluster.psql_path(), bindir)
        if not (b.want("enter") or b.want("isolation") or b.want("migrate") or b.want("cli")):
            b.fleet = b.n_mid
        print(f"== stash_tenancy benchmarks ({mode}) on PostgreSQL {pgv}" + (f", only: {' '.join(only)}" if only else ""))
        built = extension(b, cfg)
        cluster_settings = settings(cfg)
        b.pgss = "shared_preload_libraries" in cluster_settings
        # stopped, not removed: KEEP_BENCH_DIR keeps its server log
        pg = pgcluster.Cluster(bindir, b.path("pg"), settings=cluster_settings)
        try:
            pg.start()
            os.environ.update(pg.env())
            b.psql("-c", "CREATE DATABASE bench", "-c", "CREATE DATABASE prov", db="postgres")
            b.psql("-c", "CREATE EXTENSION stash_tenancy", "-f", "bench/setup.sql", fatal=True)
            if b.pgss:
                b.psql("-c", "CREATE EXTENSION pg_stat_statements", fatal=True)
            note_run(b, pgv)
            fleet(b)
            for section in SECTIONS:
                if b.want(section):
                    RUNNERS[section](b)
            if b.want("enter") and b.pgss:
                enter.goal(b)
            b.note("settings.max_locks_per_transaction", b.psql("-c", "SHOW max_locks_per_transaction"))
            b.note("settings.debug_assertions", b.psql("-c", "SHOW debug_assertions"))
            b.note("settings.extension", built)
            report(b, pgv)
        finally:
            pg.stop()
        if b.failed:
            print(f"== bench ({mode}): FAILED")
            sys.exit(1)
    print(f"== bench ({mode}): every step ran")


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        sys.exit(130)
    except pgcluster.ClusterError as e:
        sys.exit(str(e))
