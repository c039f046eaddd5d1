"""Throwaway PostgreSQL clusters for the Python scripts: where each PostgreSQL lives, and a
cluster initdb'd into a directory of its own, listening only on a unix socket there (so no
port can collide with anything), run as `postgres` when we are root (initdb refuses root),
stopped and removed afterwards.

The Python counterpart of scripts/pg.sh (which the shell scripts and scripts/test.sh use):
the same $PG_ROOT/pgNN.source records, the same initdb.  Used by scripts/bench.py (make
bench), tests/integration/citus_cluster.py (the Citus suite, scripts/demo_citus.py and
scripts/bench_citus.py).

    with temp_dir("stash-x.") as root, Cluster(bindir_for(17), os.path.join(root, "pg"),
                                              settings={"fsync": "off"}) as pg:
        with pg.connect("postgres") as conn: ...

Only the standard library is needed, except psycopg for Cluster.connect."""
import contextlib
import os
import shutil
import subprocess
import tempfile

PG_ROOT = os.environ.get("PG_ROOT", "/opt/stash-pg")
SUPPORTED = ("15", "16", "17", "18")


class PgNotFound(Exception):
    """The PostgreSQL asked for is not installed (or not supported); the message says why."""


class ClusterError(Exception):
    """initdb or pg_ctl failed; the message has their output and the end of the server log."""


def pg_config_for(major):
    """pg_config of PostgreSQL MAJOR, as make setup recorded it ($PG_ROOT/pgNN.source)."""
    major = str(major)
    if major not in SUPPORTED:
        raise PgNotFound(f"unsupported PostgreSQL version: {major} (supported: {' '.join(SUPPORTED)})")
    cfg = ""
    with contextlib.suppress(OSError):
        with open(os.path.join(PG_ROOT, f"pg{major}.source")) as f:
            cfg = next((line.strip().split("=", 1)[1] for line in f if line.startswith("pg_config=")), "")
    if not cfg or not os.access(cfg, os.X_OK):
        raise PgNotFound(f"PostgreSQL {major} is not installed under {PG_ROOT} "
                         f"(no {PG_ROOT}/pg{major}.source): run make setup")
    return cfg


def pg_config(cfg, what):
    """One answer of a pg_config: pg_config(cfg, "--bindir")."""
    return subprocess.run([cfg, what], check=True, capture_output=True, text=True).stdout.strip()


def bindir_for(major):
    return pg_config(pg_config_for(major), "--bindir")


def single_pg_version():
    """The one version a demo or benchmark runs on: $PG, or 17 when $PG is a list (the smoke
    runs inside `make test` inherit PG="15 16 17 18")."""
    pg = os.environ.get("PG") or "17"
    return "17" if " " in pg.strip() else pg.strip()


def psql_path():
    """One psql for every server version (PostgreSQL 15's), as scripts/pg.sh chooses it."""
    if os.environ.get("PSQL"):
        return os.environ["PSQL"]
    with contextlib.suppress(PgNotFound, subprocess.CalledProcessError):
        path = os.path.join(bindir_for(15), "psql")
        if os.access(path, os.X_OK):
            return path
    return shutil.which("psql") or "psql"


def as_postgres(cmd, check=True, **kwargs):
    """Run a server-side program as the postgres OS user when we are root; output captured."""
    if os.geteuid() == 0:
        cmd = ["sudo", "-u", "postgres", "--"] + list(cmd)
    return subprocess.run(cmd, check=check, capture_output=True, text=True, **kwargs)


@contextlib.contextmanager
def temp_dir(prefix, keep=False):
    """A private directory under /tmp that postgres can enter (0755), removed afterwards
    unless KEEP."""
    path = tempfile.mkdtemp(prefix=prefix, dir="/tmp")
    os.chmod(path, 0o755)
    try:
        yield path
    finally:
        if not keep:
            shutil.rmtree(path, ignore_errors=True)


def conf_literal(value):
    """VALUE as a postgresql.conf string."""
    return "'" + str(value).replace("'", "''") + "'"


class Cluster:
    """One throwaway cluster in DIR: data in DIR/data, the server log in DIR/server.log, the
    socket in DIR (its host name), port PORT.  SETTINGS go into postgresql.conf (so ALTER
    SYSTEM can still change them), HBA, if given, replaces pg_hba.conf.  start() makes it,
    stop() stops it, remove() stops it and deletes DIR; as a context manager, both."""

    def __init__(self, bindir, dir, settings=None, hba=None, port=5432):
        self.bindir, self.dir, self.port = bindir, dir, port
        self.name = os.path.basename(dir.rstrip("/"))
        self.settings, self.hba = dict(settings or {}), hba
        self.data = os.path.join(dir, "data")
        self.log = os.path.join(dir, "server.log")

    @property
    def host(self):
        return self.dir

    @property
    def label(self):
        return f"{self.host}:{self.port}"

    def _run(self, program, *args):
        try:
            return as_postgres([os.path.join(self.bindir, program), *args])
        except subprocess.CalledProcessError as e:
            log = ""
            with contextlib.suppress(OSError):
                log = open(self.log).read()[-4000:]
            raise ClusterError(f"{program} failed for the cluster in {self.dir}:\n"
                               f"{e.stdout}{e.stderr}{log}") from None

    def start(self):
        os.makedirs(self.dir, exist_ok=True)
        if os.geteuid() == 0:
            shutil.chown(self.dir, "postgres", "postgres")
        self._run("initdb", "-D", self.data, "-U", "postgres", "--auth=trust", "--no-sync",
                  "-E", "UTF8", "--locale=C")
        # appended to (not replacing) the files initdb wrote, so they stay postgres's
        if self.settings:
            with open(os.path.join(self.data, "postgresql.conf"), "a") as f:
                f.write("\n# throwaway cluster (scripts/pgcluster.py)\n")
                f.writelines(f"{k} = {conf_literal(v)}\n" for k, v in self.settings.items())
        if self.hba is not None:
            with open(os.path.join(self.data, "pg_hba.conf"), "w") as f:
                f.write(self.hba)
        return self.resume()

    def resume(self):
        """Starts the cluster's existing data directory (after stop(), which is a crash)."""
        self._run("pg_ctl", "-D", self.data, "-l", self.log, "-w", "-o",
                  f"-c listen_addresses='' -k {self.dir} -p {self.port}", "start")
        return self

    def stop(self):
        if os.path.isdir(self.data):
            as_postgres([os.path.join(self.bindir, "pg_ctl"), "-D", self.data, "-m", "immediate",
                         "stop"], check=False)

    def remove(self):
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self):
        try:
            return self.start()
        except BaseException:
            self.remove()
            raise

    def __exit__(self, *exc):
        self.remove()

    def env(self, dbname=None):
        """libpq variables reaching this cluster as the superuser."""
        env = {"PGHOST": self.host, "PGPORT": str(self.port), "PGUSER": "postgres"}
        if dbname:
            env["PGDATABASE"] = dbname
        return env

    def connect(self, dbname, user="postgres", **kwargs):
        import psycopg  # only the callers that connect need it
        kwargs.setdefault("autocommit", True)
        return psycopg.connect(host=self.host, port=self.port, dbname=dbname, user=user, **kwargs)
