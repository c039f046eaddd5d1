"""Tenant operations under concurrency: tenant_rename, tenant_reset and tenant_drop wait
for the transactions inside the tenant (tenant_enter holds a share lock on the tenant's
schema until its transaction ends), and a transaction that enters while they run waits
and then sees their result — never a schema renamed or replaced under its feet."""
import threading
import time

import psycopg
import pytest

E = psycopg.errors


@pytest.fixture
def fleet(db):
    with db.connect() as admin:
        admin.execute("SELECT stash.migration_add(1, 'orders', "
                      "'CREATE TABLE orders (id int PRIMARY KEY, item text)')")
        admin.execute("SELECT stash.tenant_create('acme')")
        admin.execute("INSERT INTO tenant_acme.orders VALUES (1, 'anvil')")
    yield db
    with db.connect() as admin:  # tenant roles belong to the cluster: drop them
        admin.execute("SET lock_timeout = '20s'")  # a failed test may leave a session inside
        for (slug,) in admin.execute("SELECT slug FROM stash.tenants").fetchall():
            admin.execute("SELECT stash.tenant_drop(%s, force => true)", (slug,))


def in_background(fn):
    result = {}

    def run():
        try:
            result["value"] = fn()
        except Exception as e:  # noqa: BLE001 - handed to the test
            result["error"] = e

    thread = threading.Thread(target=run)
    thread.start()
    return thread, result


def waiting_on_lock(db, pid):
    with db.connect() as admin:
        return admin.execute("SELECT wait_event_type = 'Lock' FROM pg_stat_activity WHERE pid = %s",
                             (pid,)).fetchone()[0]


def test_rename_waits_for_the_transaction_inside_and_then_the_old_slug_is_gone(fleet):
    inside = fleet.connect()
    inside.execute("BEGIN")
    inside.execute("SELECT stash.tenant_enter('acme')")
    assert inside.execute("SELECT item FROM orders").fetchone() == ("anvil",)

    renamer = fleet.connect()
    renamer_pid = renamer.execute("SELECT pg_backend_pid()").fetchone()[0]
    thread, result = in_background(lambda: renamer.execute("SELECT stash.tenant_rename('acme', 'acme_corp')"))
    time.sleep(0.5)
    assert thread.is_alive() and waiting_on_lock(fleet, renamer_pid), "the rename waits"

    # a transaction that enters now queues behind the rename ...
    late = fleet.connect()
    late_pid = late.execute("SELECT pg_backend_pid()").fetchone()[0]
    late.execute("BEGIN")
    late_thread, late_result = in_background(lambda: late.execute("SELECT stash.tenant_enter('acme')"))
    time.sleep(0.3)
    assert late_thread.is_alive() and waiting_on_lock(fleet, late_pid)

    # ... while the one inside keeps working with its tenant until it commits
    assert inside.execute("SELECT count(*) FROM orders").fetchone() == (1,)
    inside.execute("INSERT INTO orders VALUES (2, 'written before the rename')")
    inside.execute("COMMIT")
    thread.join(10)
    assert "error" not in result, result.get("error")

    late_thread.join(10)
    assert isinstance(late_result.get("error"), E.UndefinedObject), late_result
    late.execute("ROLLBACK")
    with fleet.connect() as c, c.transaction():
        c.execute("SELECT stash.tenant_enter('acme_corp')")
        assert c.execute("SELECT count(*) FROM orders").fetchone() == (2,)
    for c in (inside, renamer, late):
        c.close()


def test_a_transaction_that_entered_during_a_reset_sees_the_fresh_schema(fleet):
    resetter = fleet.connect()
    resetter.execute("SET stash.allow_reset = on")
    resetter.execute("BEGIN")
    resetter.execute("SELECT stash.tenant_reset('acme')")  # holds the schema lock until COMMIT

    reader = fleet.connect()
    reader.execute("BEGIN")
    thread, result = in_background(lambda: (reader.execute("SELECT stash.tenant_enter('acme')"),
                                            reader.execute("SELECT count(*) FROM orders").fetchone()))
    time.sleep(0.3)
    assert thread.is_alive(), "entering waits for the reset"
    resetter.execute("COMMIT")
    thread.join(10)
    assert "error" not in result, result.get("error")
    assert result["value"][1] == (0,), "the new, empty schema: never the old one or a mix"
    reader.execute("COMMIT")
    resetter.close()
    reader.close()


def test_drop_waits_for_the_transaction_inside(fleet):
    inside = fleet.connect()
    inside.execute("BEGIN")
    inside.execute("SELECT stash.tenant_enter('acme')")
    dropper = fleet.connect()
    thread, result = in_background(lambda: dropper.execute("SELECT stash.tenant_drop('acme')"))
    time.sleep(0.3)
    assert thread.is_alive()
    assert inside.execute("SELECT item FROM orders").fetchone() == ("anvil",)
    inside.execute("COMMIT")
    thread.join(10)
    assert "error" not in result, result.get("error")
    inside.close()
    dropper.close()
