"""4. Fleet migration over the FLEET one-table tenants of database bench, each goal side by
side with its baseline measured in the same run, in interleaved rounds (the median of the
per-round ratios):

- nothing pending: `CALL stash.migrate_all()` with no migration pending, median of 3 runs.
- durable rounds (5 full, 2 smoke), with `fsync = on` and `synchronous_commit = on` (ALTER
  SYSTEM + pg_reload_conf(), reset afterwards, also on failure), as in production: each
  round registers one migration N (`ALTER TABLE items ADD COLUMN cN int`, with its down SQL)
  and applies it with `CALL stash.migrate_all()` from one session, and runs the streamed
  client script, the baseline (`SET search_path = <schema>; ALTER TABLE items ADD COLUMN sN
  int;` for every tenant, one file, `psql -f`); which of the two goes first alternates.
  After its forward run migrate_all rolls the fleet back to N-1 (`target_version => N-1`,
  timed: the rollback rate against the forward rate of the same round) and applies N again
  (untimed), so the fleet's history grows round after round as in production.
- sessions (3 rounds full, 1 smoke, durable too): one migration applied by 2 concurrent
  `CALL stash.migrate_all()` against another applied by 1, the order alternating.
- the rounds of migrate_all against the script again under the cluster's own `fsync = off`
  (3 full, 1 smoke), informative: migrate_all commits each tenant with synchronous_commit
  off and waits for the WAL once at the end, which only pays off when commits flush.
- where one forward migrate_all spends its time (pg_stat_statements, `track = all`), one
  more untimed migration under fsync = off.
Every run starts after a CHECKPOINT (untimed), so no run pays for the previous one's
dirty pages; every migrate_all run is checked against the ledger, every script run
against pg_attribute."""
import contextlib
import glob
import os
import statistics
import subprocess
import time

from .harness import median, per_round, rounds

# rounds per mode: durable migrate_all vs script, 2 vs 1 sessions, fsync = off migrate_all vs script
ROUNDS = {"full": dict(durable=5, sessions=3, fsync_off=3), "smoke": dict(durable=2, sessions=1, fsync_off=1)}

# the statements migrate_all runs, in microseconds per migrated tenant
PGSS_MIGRATE = """
SELECT regexp_replace(regexp_replace(left(query, 60), '\\s+', ' ', 'g'), '\\t', ' '),
       round((total_exec_time / {fleet} * 1000)::numeric, 1)
  FROM pg_stat_statements
 WHERE dbid = (SELECT oid FROM pg_database WHERE datname = 'bench') AND query NOT LIKE '%pg_stat_statements%'
   AND query NOT LIKE 'CHECKPOINT%'
 ORDER BY total_exec_time DESC LIMIT 12"""

# tenants whose items table has column NAME
HAS_COLUMN = """
SELECT count(*) FROM stash.tenants t JOIN pg_namespace n ON n.nspname = t.schema_name
  JOIN pg_class c ON c.relnamespace = n.oid AND c.relname = 'items'
  JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = '{name}' AND NOT a.attisdropped"""


SETTINGS = "SELECT current_setting('fsync') || ' ' || current_setting('synchronous_commit')"


def set_durable(b, on, want):
    """fsync and synchronous_commit on (ON) or back to the cluster's own settings (WANT:
    "fsync synchronous_commit"), for every new session: ALTER SYSTEM, reloaded, and waited
    for until a new session sees WANT."""
    if on:
        sql = ["ALTER SYSTEM SET fsync = on", "ALTER SYSTEM SET synchronous_commit = on"]
    else:
        sql = ["ALTER SYSTEM RESET fsync", "ALTER SYSTEM RESET synchronous_commit"]
    args = [a for s in sql + ["SELECT pg_reload_conf()"] for a in ("-c", s)]
    b.psql(*args, db="postgres", what=f"migrate: durable commits {'on' if on else 'off'}", stderr=subprocess.STDOUT)
    for _ in range(100):  # the postmaster rereads the files asynchronously
        got = b.psql("-c", SETTINGS)
        if got == want:
            return
        time.sleep(0.05)
    b.fail(f"migrate: fsync, synchronous_commit are '{got}', want '{want}'")


@contextlib.contextmanager
def durable(b):
    """fsync = on and synchronous_commit = on inside, the cluster's own settings after."""
    own = b.psql("-c", SETTINGS)
    try:
        set_durable(b, True, "on on")
        b.psql("-c", "CHECKPOINT")  # what fsync = off left unflushed, before any round
        yield
    finally:
        set_durable(b, False, own)


class Section:
    def __init__(self, b):
        self.b = b
        self.version = int(b.psql("-c", "SELECT coalesce(max(version), 0) FROM stash.migrations"))

    def add(self):
        """Registers the next migration N (column cN, with its down SQL); returns N."""
        self.version += 1
        v = self.version
        self.b.psql("-c", f"SELECT stash.migration_add({v}, 'c{v}', 'ALTER TABLE items ADD COLUMN c{v} int', "
                          f"'ALTER TABLE items DROP COLUMN c{v}')", what=f"migrate: migration_add({v})")
        return v

    def migrate_all(self, v, sessions=1, target=None, what="migrate_all"):
        """Seconds of SESSIONS concurrent `CALL stash.migrate_all([target_version => TARGET])`,
        after a CHECKPOINT; checks that the fleet then has (TARGET None) or has not the ledger
        rows of V."""
        b = self.b
        b.psql("-c", "CHECKPOINT")
        call = "CALL stash.migrate_all()" if target is None else f"CALL stash.migrate_all(target_version => {target})"
        for old in glob.glob(b.path("ma*.log")):
            os.remove(old)
        t0 = time.monotonic()
        procs = []
        for s in range(1, sessions + 1):
            with open(b.path(f"ma{s}.log"), "w") as log:
                procs.append(subprocess.Popen(b.psql_cmd() + ["-c", call], stdout=subprocess.DEVNULL, stderr=log))
        codes = [p.wait() for p in procs]
        took = time.monotonic() - t0
        # (a WARNING that tenants still need work is normal with 2 sessions: the other's)
        errors = [line for f in sorted(glob.glob(b.path("ma*.log"))) for line in open(f) if "ERROR" in line]
        if any(codes) or errors:
            print("".join(errors[:5]), end="")
            b.fail(f"migrate: {what} ({call}, {sessions} session(s)) failed")
        done = b.psql("-c", f"SELECT count(*) FROM stash.ledger WHERE version = {v} AND tenant_id IS NOT NULL")
        want = str(b.fleet) if target is None else "0"
        if done != want:
            b.fail(f"migrate: {what} left {done} ledger rows of version {v}, want {want}")
        return took

    def script(self, v):
        """Seconds of the client script adding column sV to every tenant's items (psql -f of
        one file, each ALTER its own transaction), after a CHECKPOINT."""
        b = self.b
        path = b.path(f"script_{v}.sql")
        with open(path, "w") as f:
            f.write(b.psql("-c", f"SELECT format('SET search_path = %I; ALTER TABLE items ADD COLUMN s{v} int;', "
                                 "schema_name) FROM stash.tenants ORDER BY schema_name") + "\n")
        b.psql("-c", "CHECKPOINT")
        t0 = time.monotonic()
        b.psql("-f", path, what=f"migrate: client script s{v}")
        took = time.monotonic() - t0
        done = b.psql("-c", HAS_COLUMN.format(name=f"s{v}"))
        if done != str(b.fleet):
            b.fail(f"migrate: the client script added s{v} to {done} tenants of {b.fleet}")
        return took

    def per_s(self, seconds):
        return f"{self.b.fleet / seconds:.0f}" if seconds else "0"

    def against_script(self, key, n, rollback=False):
        """N rounds of migrate_all (one new migration, one session) against the client
        script, the order alternating; with ROLLBACK, migrate_all's forward run is followed by
        a timed rollback and an untimed reapply.  Notes the results under migrate_all.KEY."""
        b = self.b
        ma, sc, back = [], [], []
        for run in range(1, n + 1):
            v = self.add()
            for side in ("migrate_all", "script") if run % 2 else ("script", "migrate_all"):
                if side == "script":
                    sc.append(self.script(v))
                    continue
                ma.append(self.migrate_all(v, what=f"{key} round {run}"))
                if rollback:
                    back.append(self.migrate_all(v, target=v - 1, what=f"{key} round {run} rollback"))
                    self.migrate_all(v, what=f"{key} round {run} reapply")
            line = f"   {key} round {run}: migrate_all {ma[-1]:.3f} s, script {sc[-1]:.3f} s"
            print(line + (f", rollback {back[-1]:.3f} s" if rollback else ""))
        b.note(f"migrate_all.{key}.rounds", n)
        b.note(f"migrate_all.{key}.migrate_all.per_s.rounds", " ".join(self.per_s(t) for t in ma))
        b.note(f"migrate_all.{key}.script.per_s.rounds", " ".join(self.per_s(t) for t in sc))
        b.note(f"migrate_all.{key}.migrate_all.per_s", self.per_s(statistics.median(ma)))
        b.note(f"migrate_all.{key}.script.per_s", self.per_s(statistics.median(sc)))
        # time(script) / time(migrate_all): >= 1 when migrate_all is the faster
        b.note(f"migrate_all.{key}.ratio.migrate_all_over_script", per_round(sc, ma))
        b.note(f"migrate_all.{key}.ratio.rounds", rounds(sc, ma))
        if rollback:
            rates = [self.per_s(t) for t in back]
            b.note("migrate_all.rollback.per_s.rounds", " ".join(rates))
            b.note("migrate_all.rollback.per_s.first", rates[0])
            b.note("migrate_all.rollback.per_s.last", rates[-1])
            # rate(rollback) / rate(forward) of the same round = time(forward) / time(rollback)
            b.note("migrate_all.rollback.ratio.back_over_forward", per_round(ma, back))
            b.note("migrate_all.rollback.ratio.rounds", rounds(ma, back))

    def sessions(self, n):
        """N rounds of one migration by 2 concurrent migrate_all against another by 1, the
        order alternating."""
        b = self.b
        took = {1: [], 2: []}
        for run in range(1, n + 1):
            for sessions in (1, 2) if run % 2 else (2, 1):
                took[sessions].append(self.migrate_all(self.add(), sessions=sessions,
                                                       what=f"sessions round {run}, {sessions} session(s)"))
            print(f"   sessions round {run}: 1 session {took[1][-1]:.3f} s, 2 sessions {took[2][-1]:.3f} s")
        b.note("migrate_all.sessions.rounds", n)
        for sessions in (1, 2):
            b.note(f"migrate_all.sessions_{sessions}.per_s.rounds", " ".join(self.per_s(t) for t in took[sessions]))
            b.note(f"migrate_all.sessions_{sessions}.per_s", self.per_s(statistics.median(took[sessions])))
        # rate(2 sessions) / rate(1 session) = time(1) / time(2)
        b.note("migrate_all.sessions.ratio.two_over_one", per_round(took[1], took[2]))
        b.note("migrate_all.sessions.ratio.rounds", rounds(took[1], took[2]))

    def profile(self):
        """pg_stat_statements (track = all) of one more forward migrate_all, untimed."""
        b = self.b
        v = self.add()
        b.pgss_track("all")
        self.migrate_all(v, what="profile")
        for n, (q, us) in enumerate(b.rows(PGSS_MIGRATE.format(fleet=b.fleet), "pg_stat_statements (migrate)"), 1):
            b.note(f"migrate_all.profile.{n}", f"{us}\t{q}")
        b.pgss_track("none")


def run(b):
    n = ROUNDS[b.mode]
    b.step(f"fleet migration over {b.fleet} tenants: {n['durable']} durable rounds of migrate_all (with rollbacks) "
           f"vs the client script, {n['sessions']} of 2 sessions vs 1, {n['fsync_off']} under fsync = off")
    s = Section(b)
    runs = []
    for _ in range(3):
        t0 = time.monotonic()
        b.psql("-c", "CALL stash.migrate_all()", what="migrate_all (nothing pending)", stderr=subprocess.STDOUT)
        runs.append(time.monotonic() - t0)
    b.note("migrate_all.nothing_pending_s", median(runs))
    with durable(b):
        s.against_script("durable", n["durable"], rollback=True)
        s.sessions(n["sessions"])
    s.against_script("fsync_off", n["fsync_off"])
    if b.pgss:
        s.profile()
