"""Fixtures for the integration suite: real sessions against the real cluster that
scripts/test.sh started (PGHOST/PGPORT/PGUSER), one fresh database per test."""
import os
import shutil
import subprocess
import time
import uuid

import psycopg
import pytest

BINDIR = os.environ.get("STASH_PG_BINDIR", "")
RUN_DIR = os.environ.get("STASH_RUN_DIR", "/tmp/stash-it")


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
