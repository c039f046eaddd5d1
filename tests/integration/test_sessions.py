"""Two real sessions: what one commits, the other's tenant_enter sees at once."""
import threading

import psycopg
import pytest
from psycopg import errors


def enter(conn, slug):
    """One BEGIN; tenant_enter; COMMIT round, returning the tenant seen inside."""
    with conn.transaction():
        conn.execute("SELECT stash.tenant_enter(%s)", (slug,))
        return conn.execute("SELECT stash.current_tenant()").fetchone()[0]


def test_suspend_in_a_makes_enter_fail_in_b_at_once(db):
    with db.connect() as a, db.connect() as b:
        a.execute("SELECT stash.tenant_create('acme')")
        # b has looked the tenant up (and cached it) before the suspend
        assert enter(b, "acme") == "acme"
        assert enter(b, "acme") == "acme"
        a.execute("SELECT stash.tenant_suspend('acme')")
        with pytest.raises(errors.ObjectNotInPrerequisiteState, match='tenant "acme" is suspended'):
            enter(b, "acme")
        a.execute("SELECT stash.tenant_resume('acme')")
        assert enter(b, "acme") == "acme"


def test_suspend_is_seen_inside_an_already_open_transaction(db):
    with db.connect() as a, db.connect() as b:
        a.execute("SELECT stash.tenant_create('acme')")
        assert enter(b, "acme") == "acme"
        # b's transaction (and its snapshot) begins before the suspend commits
        b.execute("BEGIN ISOLATION LEVEL REPEATABLE READ")
        b.execute("SELECT count(*) FROM pg_class")
        a.execute("SELECT stash.tenant_suspend('acme')")
        with pytest.raises(errors.ObjectNotInPrerequisiteState):
            b.execute("SELECT stash.tenant_enter('acme')")
        b.execute("ROLLBACK")


def test_uncommitted_suspend_does_not_block_or_leak(db):
    with db.connect() as a, db.connect() as b:
        a.execute("SELECT stash.tenant_create('acme')")
        a.execute("BEGIN")
        a.execute("SELECT stash.tenant_suspend('acme')")
        # b neither waits for a's row lock nor sees its uncommitted change
        b.execute("SET lock_timeout = '2s'")
        assert enter(b, "acme") == "acme"
        a.execute("ROLLBACK")
        assert enter(b, "acme") == "acme"


def test_drop_in_a_makes_enter_fail_in_b_at_once(db):
    with db.connect() as a, db.connect() as b:
        a.execute("SELECT stash.tenant_create('acme')")
        assert enter(b, "acme") == "acme"
        a.execute("SELECT stash.tenant_drop('acme')")
        with pytest.raises(errors.UndefinedObject, match='tenant "acme" does not exist'):
            enter(b, "acme")
        # and a re-created tenant of the same slug is a new tenant with a new id
        old_id = None
        a.execute("SELECT stash.tenant_create('acme')")
        with b.transaction():
            b.execute("SELECT stash.tenant_enter('acme')")
            new_id = b.execute("SELECT stash.current_tenant_id()").fetchone()[0]
            old_id = a.execute("SELECT id FROM stash.tenants WHERE slug = 'acme'").fetchone()[0]
        assert new_id == old_id


def test_catalog_cache_releases_keep_registry_changes_visible(db):
    """stash.cache_limit releases b's catalog caches at every tenant_enter (1kB is always
    exceeded); the registry cache survives a release (it changes no catalog), so what a
    commits must still reach b through the invalidation it sends: a suspend, a reset
    (the schema gets a new oid, which b had cached), a drop."""
    with db.connect() as a, db.connect() as b:
        a.execute("SELECT stash.migration_add(1, 'items', 'CREATE TABLE items (v int)')")
        for slug in ("acme", "globex"):
            a.execute("SELECT stash.tenant_create(%s)", (slug,))
        b.execute("SET stash.cache_limit = '1kB'")
        resets = lambda: b.execute("SELECT cache_resets FROM stash.backend_stats()").fetchone()[0]
        before = resets()
        for slug in ("acme", "globex", "acme"):
            assert enter(b, slug) == slug
        assert resets() >= before + 2
        a.execute("SELECT stash.tenant_suspend('acme')")
        with pytest.raises(errors.ObjectNotInPrerequisiteState, match='tenant "acme" is suspended'):
            enter(b, "acme")
        a.execute("SELECT stash.tenant_resume('acme')")
        with b.transaction():
            b.execute("SELECT stash.tenant_enter('acme')")
            b.execute("INSERT INTO items VALUES (1)")
        a.execute("SET stash.allow_reset = on")
        a.execute("SELECT stash.tenant_reset('acme')")
        with b.transaction():
            b.execute("SELECT stash.tenant_enter('globex')")
            b.execute("SELECT stash.tenant_enter('acme')")
            # the fresh schema, locked by its new oid: the reset emptied it
            assert b.execute("SELECT count(*) FROM items").fetchone()[0] == 0
            locked = b.execute(
                "SELECT count(*) FROM pg_locks WHERE locktype = 'object' AND pid = pg_backend_pid()"
                " AND classid = 'pg_namespace'::regclass AND objid = 'tenant_acme'::regnamespace"
            ).fetchone()[0]
            assert locked == 1
        a.execute("SELECT stash.tenant_drop('acme')")
        with pytest.raises(errors.UndefinedObject, match='tenant "acme" does not exist'):
            enter(b, "acme")
        assert enter(b, "globex") == "globex"


def test_concurrent_create_of_one_slug_yields_one_tenant(db):
    with db.connect() as a, db.connect() as b:
        a.execute("BEGIN")
        a.execute("SELECT stash.tenant_create('acme')")
        outcome = {}

        def create_in_b():
            try:
                b.execute("SELECT stash.tenant_create('acme')")
                outcome["b"] = "created"
            except psycopg.Error as e:
                outcome["b"] = e.sqlstate

        t = threading.Thread(target=create_in_b)
        t.start()
        t.join(1.0)
        assert t.is_alive(), "b must wait for a's uncommitted tenant, not race past it"
        a.execute("COMMIT")
        t.join(30)
        assert outcome["b"] == "23505"
        check = a.execute(
            "SELECT (SELECT count(*) FROM stash.tenants WHERE slug = 'acme'),"
            "       (SELECT count(*) FROM pg_namespace WHERE nspname = 'tenant_acme'),"
            "       (SELECT count(*) FROM stash.events WHERE slug = 'acme' AND action = 'created')"
        ).fetchone()
        assert check == (1, 1, 1)


def test_concurrent_create_after_rollback_lets_the_waiter_win(db):
    with db.connect() as a, db.connect() as b:
        a.execute("BEGIN")
        a.execute("SELECT stash.tenant_create('acme')")
        result = {}
        t = threading.Thread(
            target=lambda: result.setdefault(
                "slug", b.execute("SELECT slug FROM stash.tenant_create('acme')").fetchone()[0]
            )
        )
        t.start()
        t.join(0.5)
        a.execute("ROLLBACK")
        t.join(30)
        assert result == {"slug": "acme"}
        assert a.execute("SELECT count(*) FROM stash.tenants").fetchone()[0] == 1


def test_many_sessions_creating_overlapping_slugs_never_deadlock(db):
    slugs = [f"t{i}" for i in range(12)]
    failures = []

    def worker(offset):
        with db.connect() as conn:
            for i in range(len(slugs)):
                slug = slugs[(i + offset) % len(slugs)]
                try:
                    with conn.transaction():
                        conn.execute("SELECT stash.tenant_create(%s)", (slug,))
                        conn.execute("SELECT stash.tenant_create(%s)", (slug + "_b",))
                except psycopg.Error as e:
                    if e.sqlstate != "23505":
                        failures.append(e.sqlstate)

    threads = [threading.Thread(target=worker, args=(k * 3,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert failures == []
    with db.connect() as conn:
        rows = conn.execute(
            "SELECT count(*), count(DISTINCT slug),"
            "       (SELECT count(*) FROM pg_namespace WHERE nspname LIKE 'tenant\\_t%')"
            "  FROM stash.tenants"
        ).fetchone()
    assert rows == (24, 24, 24)
