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


# ---- 0.2.0: honest reports, per-tenant timeouts, isolation levels ----------------------------

def test_a_tenant_locked_by_another_session_is_reported_as_still_pending(db):
    """SKIP LOCKED passes over a tenant whose registry row another session holds (an open
    tenant_suspend here); the run must not end with '0 failed' and say nothing."""
    with db.connect() as conn:
        make_fleet(conn, 4)
        conn.execute("SELECT stash.migration_add(2, 'author', 'ALTER TABLE notes ADD COLUMN author text')")
    holder = db.connect(autocommit=False)
    try:
        holder.execute("SELECT stash.tenant_suspend('t0002')")   # row lock held until commit
        notices = []
        with db.connect() as conn:
            conn.add_notice_handler(lambda d: notices.append(f"{d.severity}: {d.message_primary}"))
            conn.execute("CALL stash.migrate_all()")
        assert any(n.startswith("WARNING") and "1 tenant(s) still need work" in n for n in notices), notices
        assert "1 still pending" in notices[-1], notices[-1]
        assert "3 tenant(s) migrated by this session" in notices[-1], notices[-1]
    finally:
        holder.rollback()
        holder.close()
    with db.connect() as conn:
        conn.execute("CALL stash.migrate_all()")
        assert conn.execute("SELECT count(*) FROM stash.tenant_status WHERE current_version = 2").fetchone()[0] == 4


def test_lock_timeout_fails_the_tenant_and_the_end_of_the_run_retries_it(db):
    """An application transaction holds tenant t0002's table: with lock_timeout the fleet
    does not wait on it; t0002 fails with 55P03, is recorded, and is retried once at the
    end of the run — by which time the application has let go."""
    with db.connect() as conn:
        make_fleet(conn, 12)
        conn.execute("SELECT stash.migration_add(2, 'author', 'ALTER TABLE notes ADD COLUMN author text')")
    app = db.connect(autocommit=False)
    app.execute("LOCK tenant_t0002.notes IN ACCESS SHARE MODE")
    released = threading.Event()

    def on_notice(d):
        if d.severity == "WARNING" and "t0002 timed out" in d.message_primary:
            app.rollback()          # the application's transaction ends
            released.set()

    notices = []
    with db.connect() as conn:
        conn.add_notice_handler(lambda d: notices.append(f"{d.severity}: {d.message_primary}"))
        conn.add_notice_handler(on_notice)
        started = time.monotonic()
        conn.execute("CALL stash.migrate_all(lock_timeout => '300 ms')")
        elapsed = time.monotonic() - started
        events = conn.execute(
            "SELECT detail->>'sqlstate' FROM stash.events WHERE action = 'migration_failed' AND slug = 't0002'"
        ).fetchall()
        versions = dict(conn.execute("SELECT slug, current_version FROM stash.tenant_status").fetchall())
    app.close()
    assert released.is_set(), notices
    assert events == [("55P03",)], events          # recorded like any failure
    assert set(versions.values()) == {2}, versions  # and migrated on the retry
    assert "0 failed, 0 still pending" in notices[-1], notices
    assert elapsed < 30


def test_lock_timeout_that_persists_is_a_failure_and_does_not_block_the_fleet(db):
    with db.connect() as conn:
        make_fleet(conn, 5)
        conn.execute("SELECT stash.migration_add(2, 'author', 'ALTER TABLE notes ADD COLUMN author text')")
    app = db.connect(autocommit=False)
    app.execute("LOCK tenant_t0003.notes IN ACCESS SHARE MODE")
    try:
        notices = []
        with db.connect() as conn:
            conn.add_notice_handler(lambda d: notices.append(d.message_primary))
            conn.execute("CALL stash.migrate_all(lock_timeout => '100 ms')")
            status = dict(conn.execute("SELECT slug, current_version FROM stash.tenant_status").fetchall())
            error = conn.execute("SELECT last_error FROM stash.tenant_status WHERE slug = 't0003'").fetchone()[0]
    finally:
        app.rollback()
        app.close()
    assert status == {"t0001": 2, "t0002": 2, "t0003": 1, "t0004": 2, "t0005": 2}
    assert "55P03" in error
    assert "1 failed, 1 still pending" in notices[-1], notices[-1]


@pytest.mark.parametrize("isolation", ["REPEATABLE READ", "SERIALIZABLE"])
def test_tenant_migrate_under_repeatable_read_never_reapplies_what_another_session_applied(db, isolation):
    """Session 1 migrates acme and holds the lock; session 2, REPEATABLE READ, took its
    snapshot before and then waits for the lock.  Without care it would plan from its old
    snapshot and re-apply version 2 ('column already exists', a false migration_failed).
    It gets a serialization failure (40001) instead, and nothing is recorded."""
    with db.connect() as conn:
        make_fleet(conn, 1, prefix="acme")
        conn.execute("SELECT stash.migration_add(2, 'author', 'ALTER TABLE notes ADD COLUMN author text')")
    s1 = db.connect(autocommit=False)
    s2 = db.connect(autocommit=False)
    s1.execute("SELECT * FROM stash.tenant_migrate('acme0001')")         # holds the row lock
    s2.execute(f"SET TRANSACTION ISOLATION LEVEL {isolation}")
    s2.execute("SELECT 1")                                                # snapshot taken now
    result = {}

    def second():
        try:
            result["rows"] = s2.execute("SELECT status, error FROM stash.tenant_migrate('acme0001')").fetchall()
        except psycopg.Error as e:
            result["error"] = e

    t = threading.Thread(target=second)
    t.start()
    time.sleep(0.5)
    s1.commit()
    t.join(30)
    s2.rollback()
    s1.close()
    s2.close()
    assert isinstance(result.get("error"), psycopg.errors.SerializationFailure), result
    with db.connect() as conn:
        assert conn.execute("SELECT count(*) FROM stash.events WHERE action = 'migration_failed'").fetchone()[0] == 0
        assert conn.execute("SELECT current_version FROM stash.tenant_status").fetchone()[0] == 2
        # without a concurrent change, REPEATABLE READ migrates normally
        conn.execute("SELECT stash.migration_add(3, 'body_idx', 'CREATE INDEX ON notes (body)')")
        with conn.transaction():
            conn.execute(f"SET TRANSACTION ISOLATION LEVEL {isolation}")
            assert conn.execute("SELECT status FROM stash.tenant_migrate('acme0001')").fetchone()[0] == "ok"


def test_migrate_all_is_read_committed_whatever_the_session_default(db):
    with db.connect() as conn:
        make_fleet(conn, 3)
        conn.execute("SELECT stash.migration_add(2, 'author', 'ALTER TABLE notes ADD COLUMN author text')")
        conn.execute("SET default_transaction_isolation = 'serializable'")
        conn.execute("CALL stash.migrate_all()")
        assert conn.execute("SELECT count(*) FROM stash.tenant_status WHERE current_version = 2").fetchone()[0] == 3
