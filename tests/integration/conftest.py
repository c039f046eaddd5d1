"""Fixtures for the integration suite: real sessions against the real cluster that
scripts/test.sh started (PGHOST/PGPORT/PGUSER), one fresh database per test."""
import os
import re
import shutil
import subprocess
import time
import uuid
from pathlib import Path

import psycopg
import pytest

BINDIR = os.environ.get("STASH_PG_BINDIR", "")
RUN_DIR = os.environ.get("STASH_RUN_DIR", "/tmp/stash-it")
ROOT = Path(__file__).resolve().parents[2]
STASH_BIN = ROOT / "target" / "release" / "stash"
PG_ROOT = os.environ.get("PG_ROOT", "/opt/stash-pg")

# The client-stack recipes (and Citus) run on one PostgreSQL version, the default one: they
# test the clients, not the server, and together take minutes.  Elsewhere they skip, saying so.
def default_pg_only(reason):
    """A skip mark for every version but the default one, saying why."""
    return pytest.mark.skipif(
        os.environ.get("STASH_PG_MAJOR", "") != os.environ.get("STASH_PG_DEFAULT", "17"),
        reason=reason)


on_default_pg_only = default_pg_only(
    "client stacks run on the default PostgreSQL version only (make test PG=17)")


def bin_path(name):
    """A program of the PostgreSQL version under test (pg_dump, pg_ctl, ...)."""
    return os.path.join(BINDIR, name) if BINDIR else name


def connect(dbname, **kwargs):
    kwargs.setdefault("autocommit", True)
    return psycopg.connect(dbname=dbname, **kwargs)


class Database:
    def __init__(self, name):
        self.name = name

    def connect(self, **kwargs):
        return connect(self.name, **kwargs)

    def dsn(self):
        return f"dbname={self.name}"


@pytest.fixture
def db():
    name = "it_" + uuid.uuid4().hex[:12]
    with connect("postgres") as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    database = Database(name)
    with database.connect() as conn:
        conn.execute("CREATE EXTENSION stash_tenancy")
    yield database
    with connect("postgres") as admin:
        admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')


RECIPES = ROOT / "docs" / "recipes"
RECIPE_BLOCK = re.compile(r"<!-- recipe-file: (\S+) -->\s*```[\w-]*\n(.*?)```", re.S)


def extract_recipe(recipe, into):
    """Writes each fenced block of docs/recipes/RECIPE that is preceded by
    `<!-- recipe-file: PATH -->` to INTO/PATH (directories made as needed); returns the
    paths in the order the page shows them.  The page is the program: it cannot drift."""
    files = RECIPE_BLOCK.findall((RECIPES / recipe).read_text())
    assert files, f"{recipe} has no recipe-file blocks"
    for name, code in files:
        path = Path(into) / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(code)
    return [name for name, _ in files]


def run_program(cmd, cwd, env, timeout=120):
    """Runs a recipe's program (or a tool it needs) and returns its stdout; a non-zero exit
    fails the test with everything it printed."""
    done = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, f"{cmd} exited {done.returncode}:\n{done.stdout}{done.stderr}"
    return done.stdout


def load_migrations(stash_bin, directory, cwd, env, added):
    """`stash migrations load DIRECTORY` (from CWD), which must register ADDED new files."""
    out = run_program([stash_bin, "migrations", "load", str(directory)], cwd, env)
    assert f"{added} added, 0 already registered" in out, out


@pytest.fixture
def app_role(db):
    """A LOGIN role unique to the test (roles are cluster-wide), for a recipe's program to
    register and run as.  Afterwards the database's tenants are dropped (their roles are
    cluster-wide too), then the role."""
    name = "app_" + uuid.uuid4().hex[:10]
    with db.connect() as admin:
        admin.execute(f"CREATE ROLE {name} LOGIN")
    yield name
    with db.connect() as admin:
        admin.execute("SELECT stash.tenant_drop(slug, force => true) FROM stash.tenants")
        admin.execute(f"DROP OWNED BY {name}")
        admin.execute(f"DROP ROLE {name}")


@pytest.fixture(scope="session")
def stash_bin():
    """target/release/stash, rebuilt when cli/ changed since it was built."""
    sources = [ROOT / "cli" / "Cargo.toml", *sorted((ROOT / "cli" / "src").glob("*.rs"))]
    lock = ROOT / "cli" / "Cargo.lock"
    if lock.exists():
        sources.append(lock)
    newest = max(p.stat().st_mtime for p in sources)
    if not STASH_BIN.exists() or STASH_BIN.stat().st_mtime < newest:
        cargo = shutil.which("cargo") or os.path.expanduser("~/.cargo/bin/cargo")
        subprocess.run(
            [cargo, "build", "--release", "--manifest-path", "cli/Cargo.toml", "--target-dir", "target"],
            cwd=ROOT, check=True)
    return str(STASH_BIN)


@pytest.fixture
def run_dir():
    os.makedirs(RUN_DIR, exist_ok=True)
    return RUN_DIR


def as_postgres(cmd, **kwargs):
    """Run a server-side program as the postgres OS user (initdb & co refuse root)."""
    if os.geteuid() == 0:
        cmd = ["sudo", "-u", "postgres", "--"] + cmd
    return subprocess.run(cmd, check=True, capture_output=True, text=True, **kwargs)


def wait_until(predicate, timeout=30.0, interval=0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return False


def find_pgbouncer():
    return shutil.which("pgbouncer") or "/usr/sbin/pgbouncer"


def start_pgbouncer(run_dir, name, port, dbname, users, pool_size=1, max_clients=20,
                    server_user=None):
    """A real PgBouncer in transaction mode with POOL_SIZE server connections (one by
    default, so consecutive transactions of different clients share a backend).  Clients
    log in as themselves (trust auth for USERS) and the server connection uses the
    client's user — or, with SERVER_USER, any client name is accepted and every server
    connection is SERVER_USER's.  Returns (process, connection kwargs without the user);
    terminate the process when done."""
    d = os.path.join(run_dir, name)
    os.makedirs(d, exist_ok=True)
    os.chmod(d, 0o777)
    ini = os.path.join(d, "pgbouncer.ini")
    userlist = os.path.join(d, "userlist.txt")
    if server_user is None:
        server, auth = "", f"auth_type = trust\nauth_file = {userlist}"
    else:
        server, auth = f" user={server_user}", "auth_type = any"
    with open(ini, "w") as f:
        f.write(f"""[databases]
{dbname} = host={os.environ['PGHOST']} port={os.environ['PGPORT']} dbname={dbname}{server}
[pgbouncer]
listen_addr =
listen_port = {port}
unix_socket_dir = {d}
{auth}
pool_mode = transaction
default_pool_size = {pool_size}
max_client_conn = {max_clients}
server_reset_query =
logfile = {d}/pgbouncer.log
pidfile = {d}/pgbouncer.pid
""")
    with open(userlist, "w") as f:
        for user in users:
            f.write(f'"{user}" ""\n')
    for path in (ini, userlist):
        os.chmod(path, 0o644)
    cmd = [find_pgbouncer(), ini]
    if os.geteuid() == 0:
        cmd = ["sudo", "-u", "postgres", "--"] + cmd
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    assert wait_until(lambda: os.path.exists(os.path.join(d, f".s.PGSQL.{port}")), 10)
    return proc, {"host": d, "port": port, "dbname": dbname}
