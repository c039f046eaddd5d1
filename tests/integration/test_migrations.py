"""The migration engine with real sessions: parallel and interrupted fleet runs, and the
fixture templates from real projects as tenant migrations."""
import os
import threading
import time

import psycopg
import pytest

FIXTURES = os.path.join(os.path.dirname(__file__), "..", "fixtures")


def fixture(name):
    with open(os.path.join(FIXTURES, name)) as f:
        return f.read()


def make_fleet(conn, n, prefix="t"):
    conn.execute(
        "SELECT stash.migration_add(1, 'create_notes', 'CREATE TABLE notes (id int PRIMARY KEY, body text)')"
    )
    conn.execute(
        "SELECT count(stash.tenant_create(%s || lpad(i::text, 4, '0'))) FROM generate_series(1, %s) i",
        (prefix, n),
    )


def call_migrate_all(db, notices, errors, target=None):
    try:
        with db.connect() as conn:
            conn.add_notice_handler(lambda d: notices.append(d.message_primary))
            conn.execute("CALL stash.migrate_all(%s)", (target,))
    except psycopg.Error as e:  # pragma: no cover - reported by the assertions
        errors.append(f"{e.sqlstate}: {e}")


def finished_count(notices):
    """'finished, N tenant(s) migrated by this session' -> N"""
    done = [m for m in notices if "finished" in m]
    assert len(done) == 1, notices[-5:]
    return int(done[0].split("finished, ")[1].split(" ")[0])


def test_two_sessions_migrate_200_tenants_each_exactly_once(db):
    with db.connect() as conn:
        make_fleet(conn, 200)
        conn.execute("SELECT stash.migration_add(2, 'notes_author', 'ALTER TABLE notes ADD COLUMN author text')")
        conn.execute("SELECT stash.migration_add(3, 'notes_idx', 'CREATE INDEX ON notes (author)')")
    notices = ([], [])
    errors = []
    threads = [threading.Thread(target=call_migrate_all, args=(db, notices[i], errors)) for i in (0, 1)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(300)
    assert errors == []
    done = [finished_count(n) for n in notices]
    # together they migrated every tenant exactly once, and both did part of the work
    assert sum(done) == 200, done
    assert min(done) > 0, done
    with db.connect() as conn:
        per_tenant = conn.execute(
            "SELECT count(*) FILTER (WHERE n = 1), count(*) FROM ("
            "  SELECT t.slug, count(e.id) AS n FROM stash.tenants t"
            "  LEFT JOIN stash.events e ON e.tenant_id = t.id AND e.action = 'migrated'"
            "  GROUP BY t.slug) x"
        ).fetchone()
        assert per_tenant == (200, 200)
        assert conn.execute("SELECT count(*) FROM stash.events WHERE action = 'migration_failed'").fetchone()[0] == 0
        status = conn.execute(
            "SELECT min(current_version), max(current_version), sum(pending) FROM stash.tenant_status"
        ).fetchone()
        assert status == (3, 3, 0)
        indexes = conn.execute(
            "SELECT count(*) FROM pg_indexes WHERE schemaname LIKE 'tenant\\_%' AND indexdef LIKE '%(author)%'"
        ).fetchone()[0]
        assert indexes == 200


def consistent(conn):
    """Every tenant's schema matches its ledger: column 'author' exists iff version 2 is applied."""
    rows = conn.execute(
        "SELECT t.slug,"
        "       EXISTS (SELECT FROM stash.ledger l WHERE l.tenant_id = t.id AND l.version = 2),"
        "       EXISTS (SELECT FROM information_schema.columns c"
        "                WHERE c.table_schema = t.schema_name AND c.table_name = 'notes'"
        "                  AND c.column_name = 'author')"
        "  FROM stash.tenants t"
    ).fetchall()
    bad = [r for r in rows if r[1] != r[2]]
    assert bad == []
    return sum(1 for r in rows if r[1])


@pytest.mark.parametrize("how", ["pg_cancel_backend", "pg_terminate_backend"])
def test_an_interrupted_run_leaves_tenants_consistent_and_the_next_run_finishes(db, how):
    with db.connect() as conn:
        make_fleet(conn, 120)
        # slow enough per tenant that the interruption lands mid-fleet
        conn.execute(
            "SELECT stash.migration_add(2, 'notes_author',"
            " 'SELECT pg_sleep(0.02); ALTER TABLE notes ADD COLUMN author text')"
        )
    victim = db.connect()
    pid = victim.execute("SELECT pg_backend_pid()").fetchone()[0]
    outcome = {}

    def run():
        try:
            victim.execute("CALL stash.migrate_all()")
            outcome["error"] = None
        except psycopg.Error as e:
            outcome["error"] = e.sqlstate or type(e).__name__

    t = threading.Thread(target=run)
    t.start()
    with db.connect() as conn:
        # wait until some tenants are done, then interrupt
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            done = conn.execute(
                "SELECT count(*) FROM stash.ledger WHERE version = 2"
            ).fetchone()[0]
            if done >= 10:
                break
            time.sleep(0.05)
        assert done >= 10
        conn.execute(f"SELECT {how}(%s)", (pid,))
        t.join(60)
        assert outcome["error"] is not None, "the run was interrupted, not finished"
        migrated = consistent(conn)
        assert 10 <= migrated < 120
    victim.close()

    notices, errors = [], []
    call_migrate_all(db, notices, errors)
    assert errors == []
    assert finished_count(notices) == 120 - migrated
    with db.connect() as conn:
        assert consistent(conn) == 120
        assert conn.execute("SELECT count(*) FROM stash.events WHERE action = 'migration_failed'").fetchone()[0] == 0


def test_migrating_one_tenant_from_two_sessions_serializes(db):
    with db.connect() as a, db.connect() as b:
        a.execute("SELECT stash.migration_add(1, 'create_notes', 'CREATE TABLE notes (id int)')")
        a.execute("SELECT stash.tenant_create('acme')")
        a.execute("SELECT stash.migration_add(2, 'slow', 'SELECT pg_sleep(0.5); ALTER TABLE notes ADD COLUMN x int')")
        a.execute("BEGIN")
        first = a.execute("SELECT status FROM stash.tenant_migrate('acme')").fetchone()[0]
        result = {}
        t = threading.Thread(
            target=lambda: result.setdefault(
                "b", b.execute("SELECT status FROM stash.tenant_migrate('acme')").fetchone()[0]
            )
        )
        t.start()
        t.join(0.5)
        assert t.is_alive(), "the second migration waits for the first"
        # tenant_enter does not wait for the migration
        with db.connect() as c:
            c.execute("SET lock_timeout = '1s'")
            with c.transaction():
                c.execute("SELECT stash.tenant_enter('acme')")
        a.execute("COMMIT")
        t.join(30)
        assert (first, result["b"]) == ("ok", "up_to_date")


def test_drop_waits_for_a_running_migration(db):
    with db.connect() as a, db.connect() as b:
        a.execute("SELECT stash.migration_add(1, 'create_notes', 'CREATE TABLE notes (id int)')")
        a.execute("SELECT stash.tenant_create('acme')")
        a.execute("SELECT stash.migration_add(2, 'more', 'ALTER TABLE notes ADD COLUMN x int')")
        a.execute("BEGIN")
        a.execute("SELECT * FROM stash.tenant_migrate('acme')")
        t = threading.Thread(target=lambda: b.execute("SELECT stash.tenant_drop('acme')"))
        t.start()
        t.join(0.5)
        assert t.is_alive(), "tenant_drop waits for the migration's row lock"
        a.execute("COMMIT")
        t.join(30)
        assert not t.is_alive()
        assert a.execute("SELECT count(*) FROM stash.tenants").fetchone()[0] == 0
        assert a.execute("SELECT count(*) FROM stash.ledger").fetchone()[0] == 0


@pytest.mark.parametrize(
    "template, tables",
    [
        ("document_pipeline.sql", {"campaigns", "documents", "document_jobs", "processors",
                                   "processor_executions", "credentials", "usage_events", "audit_logs"}),
        ("commerce.sql", {"orders", "customers", "products", "creators", "payouts", "reviews", "blog_posts"}),
        ("files.sql", {"files", "documents"}),
    ],
)
def test_real_world_templates_work_as_tenant_migrations(db, template, tables):
    with db.connect() as conn:
        conn.execute("SELECT stash.migration_add(1, %s, %s)", (template, fixture(template)))
        for slug in ("acme", "globex"):
            conn.execute("SELECT stash.tenant_create(%s)", (slug,))
        for slug in ("acme", "globex"):
            got = {r[0] for r in conn.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = %s",
                ("tenant_" + slug,))}
            assert got == tables
        # the same later migration reaches both
        conn.execute("SELECT stash.migration_add(2, 'touch', 'CREATE TABLE settings (k text PRIMARY KEY, v jsonb)')")
        rows = conn.execute("SELECT slug, status FROM stash.tenant_migrate() ORDER BY slug").fetchall()
        assert rows == [("acme", "ok"), ("globex", "ok")]
        if template == "files.sql":
            # UNIQUE (user_id, filename) holds per tenant, not across tenants
            for slug in ("acme", "globex"):
                with conn.transaction():
                    conn.execute("SELECT stash.tenant_enter(%s)", (slug,))
                    conn.execute("INSERT INTO files (user_id, filename) VALUES (1, 'a.pdf')")
            with pytest.raises(psycopg.errors.UniqueViolation):
                with conn.transaction():
                    conn.execute("SELECT stash.tenant_enter('acme')")
                    conn.execute("INSERT INTO files (user_id, filename) VALUES (1, 'a.pdf')")
