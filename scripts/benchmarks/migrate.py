"""4. Fleet migration: `CALL stash.migrate_all()` with nothing pending; one ALTER TABLE over
the fleet with 1, 2 and 4 sessions (where one tenant's migration spends its time, from
pg_stat_statements, with 1); the same ALTER as a client loop, the baseline."""
import glob
import subprocess
import time

from .harness import median, secs

# the statements migrate_all runs, in microseconds per migrated tenant
PGSS_MIGRATE = """
SELECT regexp_replace(regexp_replace(left(query, 60), '\\s+', ' ', 'g'), '\\t', ' '),
       round((total_exec_time / {fleet} * 1000)::numeric, 1)
  FROM pg_stat_statements
 WHERE dbid = (SELECT oid FROM pg_database WHERE datname = 'bench') AND query NOT LIKE '%pg_stat_statements%'
 ORDER BY total_exec_time DESC LIMIT 12"""


def per_s(b, t0, t1):
    return f"{b.fleet / (t1 - t0):.0f}"


def run(b):
    b.step(f"fleet migration over {b.fleet} tenants")
    runs = []
    for _ in range(3):
        t0 = time.monotonic()
        b.psql("-c", "CALL stash.migrate_all()", what="migrate_all", stderr=subprocess.DEVNULL)
        runs.append(secs(t0))
    b.note("migrate_all.nothing_pending_s", median(runs))
    version = 2
    for sessions in (1, 2, 4):
        b.psql("-c", f"SELECT stash.migration_add({version}, 'c{version}', "
                     f"'ALTER TABLE items ADD COLUMN c{version} int')")
        profile = b.pgss and sessions == 1
        if profile:
            b.pgss_track("all")
        cmd = b.psql_cmd() + ["-c", "CALL stash.migrate_all()"]
        t0 = time.monotonic()
        procs = []
        for s in range(1, sessions + 1):
            with open(b.path(f"ma{s}.log"), "w") as log:
                procs.append(subprocess.Popen(cmd, stderr=log))
        for p in procs:
            p.wait()
        t1 = time.monotonic()
        if profile:
            for n, (q, us) in enumerate(b.rows(PGSS_MIGRATE.format(fleet=b.fleet),
                                               "pg_stat_statements (migrate)"), 1):
                b.note(f"migrate_all.profile.{n}", f"{us}\t{q}")
            b.pgss_track("none")
        done = b.psql("-c", f"SELECT count(*) FROM stash.ledger WHERE version = {version}")
        if done != str(b.fleet):
            b.fail(f"migrate_all with {sessions} sessions reached {done} of {b.fleet}")
        errors = [line for f in sorted(glob.glob(b.path("ma*.log"))) for line in open(f) if "ERROR" in line]
        if errors:
            print("".join(errors), end="")
            b.fail("migrate_all errors")
        b.note(f"migrate_all.alter.sessions_{sessions}.per_s", per_s(b, t0, t1))
        version += 1
    loop = b.psql("-c", "SELECT format('SET search_path = %I; ALTER TABLE items ADD COLUMN baseline int;', "
                        "schema_name) FROM stash.tenants")
    with open(b.path("loop.sql"), "w") as f:
        f.write(loop + "\n")
    t0 = time.monotonic()
    b.psql("-f", b.path("loop.sql"), what="client loop")
    b.note("migrate_all.alter.client_loop.per_s", per_s(b, t0, time.monotonic()))
