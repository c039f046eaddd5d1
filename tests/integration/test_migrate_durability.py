"""migrate_all commits each tenant without waiting for the disk and waits once before it
returns (src/pg/wal.rs): when the CALL has returned, a crash loses none of it; a crash in
the middle of a run undoes whole tenants only, never a schema without its ledger row.

Each test runs its own throwaway cluster with durable settings (fsync on) and a WAL writer
that waits 10 s between rounds, so that what the run does not flush itself is still in
shared memory when the server is killed (pg_ctl -m immediate: a crash)."""
import os
import sys
import threading
import time
import uuid

import psycopg
import pytest

from conftest import BINDIR, RUN_DIR

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "scripts"))
from pgcluster import Cluster  # noqa: E402

SETTINGS = {"fsync": "on", "synchronous_commit": "on", "wal_writer_delay": "10s",
            "wal_writer_flush_after": "1GB", "wal_buffers": "64MB"}
TENANTS = 60


@pytest.fixture
def cluster():
    if not BINDIR:
        pytest.skip("needs STASH_PG_BINDIR (scripts/test.sh sets it)")
    c = Cluster(BINDIR, os.path.join(RUN_DIR, "d" + uuid.uuid4().hex[:6]), settings=SETTINGS)
    c.start()
    yield c
    c.remove()


def fleet(c):
    with c.connect("postgres", autocommit=True) as conn:
        conn.execute("CREATE EXTENSION stash_tenancy")
        conn.execute("SELECT stash.migration_add(1, 'items', 'CREATE TABLE items (id int PRIMARY KEY)')")
        for i in range(TENANTS):
            conn.execute("SELECT stash.tenant_create(%s)", (f"t{i:03d}",))
        conn.execute("SELECT stash.migration_add(2, 'note', 'ALTER TABLE items ADD COLUMN note text')")
        conn.execute("CHECKPOINT")


def state(c):
    """(tenants with version 2 in the ledger, tenants whose table has the column, mismatches)"""
    with c.connect("postgres", autocommit=True) as conn:
        rows = conn.execute(
            "SELECT t.slug,"
            "       EXISTS (SELECT FROM stash.ledger l WHERE l.tenant_id = t.id AND l.version = 2),"
            "       EXISTS (SELECT FROM information_schema.columns c WHERE c.table_schema = t.schema_name"
            "                  AND c.table_name = 'items' AND c.column_name = 'note')"
            "  FROM stash.tenants t").fetchall()
    return (sum(r[1] for r in rows), sum(r[2] for r in rows), [r[0] for r in rows if r[1] != r[2]])


def test_what_a_returned_run_migrated_survives_a_crash(cluster):
    fleet(cluster)
    with cluster.connect("postgres", autocommit=True) as conn:
        conn.execute("CALL stash.migrate_all()")
        # each tenant's commit did not wait: the run's own wait is what made them durable
        assert conn.execute("SHOW synchronous_commit").fetchone()[0] == "on"
    cluster.stop()          # -m immediate: the WAL buffers are lost, the files are not
    cluster.resume()
    assert state(cluster) == (TENANTS, TENANTS, [])


def test_a_crash_in_the_middle_of_a_run_undoes_whole_tenants_only(cluster):
    fleet(cluster)
    with cluster.connect("postgres", autocommit=True) as conn:
        # slow steps, so that the crash comes in the middle of the run
        conn.execute("SELECT stash.migration_add(3, 'slow', 'SELECT pg_sleep(0.02)')")
    done = threading.Event()

    def run():
        try:
            with cluster.connect("postgres", autocommit=True) as conn:
                conn.execute("CALL stash.migrate_all()")
        except psycopg.Error:
            pass
        done.set()

    t = threading.Thread(target=run)
    t.start()
    with cluster.connect("postgres", autocommit=True) as conn:
        assert conn.execute("SELECT 1").fetchone()  # the server is up
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            n = conn.execute("SELECT count(*) FROM stash.ledger WHERE version = 3").fetchone()[0]
            if n >= TENANTS // 3:
                break
            time.sleep(0.01)
    cluster.stop()
    t.join(30)
    assert done.is_set()
    cluster.resume()
    ledger, columns, mismatched = state(cluster)
    assert mismatched == []            # never a schema without its ledger row, or the reverse
    # the crash came in the middle, and took the tenants whose commits were not yet on
    # disk (with this WAL writer, all of them since the run started: 0 here)
    assert ledger < TENANTS
    with cluster.connect("postgres", autocommit=True) as conn:
        conn.execute("CALL stash.migrate_all()")   # the next run finishes the rest
    assert state(cluster) == (TENANTS, TENANTS, [])
