"""tenant_restore with the real tools: last night's `pg_dump -Fc` (two migrations behind),
one tenant's schema pg_restored into a scratch database, renamed there, dumped with
`pg_dump -n` and restored into production as restore_acme (the runbook of
docs/operations.md), then adopted — while another session is inside the tenant."""
import os
import subprocess
import threading
import time
import uuid

import psycopg
import pytest

from conftest import bin_path, connect

E = psycopg.errors


def run(*cmd):
    done = subprocess.run(list(cmd), capture_output=True, text=True)
    assert done.returncode == 0, f"{cmd}: {done.stderr}"


@pytest.fixture
def prod(db, run_dir):
    with db.connect() as admin:
        admin.execute("DROP ROLE IF EXISTS restore_app")
        admin.execute("CREATE ROLE restore_app LOGIN")
        admin.execute("SELECT stash.app_role_add('restore_app')")
        admin.execute("SELECT stash.migration_add(1, 'orders', "
                      "'CREATE TABLE orders (id serial PRIMARY KEY, item text NOT NULL)')")
        for slug in ("acme", "globex"):
            admin.execute("SELECT stash.tenant_create(%s)", (slug,))
        admin.execute("INSERT INTO tenant_acme.orders (item) VALUES ('anvil'), ('rocket'), ('magnet')")
        admin.execute("INSERT INTO tenant_globex.orders (item) VALUES ('globex stays')")
    backup = os.path.join(run_dir, f"nightly-{db.name}.dump")
    run(bin_path("pg_dump"), "-Fc", "-f", backup, "-d", db.name)
    with db.connect() as admin:
        # two migrations after the backup, applied to the fleet
        admin.execute("SELECT stash.migration_add(2, 'note', "
                      "'ALTER TABLE orders ADD COLUMN note text NOT NULL DEFAULT ''n/a''', "
                      "'ALTER TABLE orders DROP COLUMN note')")
        admin.execute("SELECT stash.migration_add(3, 'item index', 'CREATE INDEX orders_item_idx ON orders (item)', "
                      "'DROP INDEX orders_item_idx')")
        for slug in ("acme", "globex"):
            admin.execute("SELECT * FROM stash.tenant_migrate(%s)", (slug,))
        # 10:42: acme loses rows
        admin.execute("DELETE FROM tenant_acme.orders WHERE item <> 'anvil'")
        admin.execute("INSERT INTO tenant_acme.orders (item) VALUES ('written after the loss')")
    yield {"db": db, "backup": backup, "run_dir": run_dir}
    with db.connect() as admin:
        admin.execute("SET lock_timeout = '20s'")  # a failed test may leave a session inside
        for (slug,) in admin.execute("SELECT slug FROM stash.tenants").fetchall():
            admin.execute("SELECT stash.tenant_drop(%s, force => true)", (slug,))
        admin.execute("SELECT stash.app_role_remove('restore_app')")
        admin.execute("DROP ROLE restore_app")


def bring_back(prod, slug="acme", as_name="restore_acme"):
    """The runbook: the tenant's schema from the backup into production as `as_name`."""
    scratch = "scratch_" + uuid.uuid4().hex[:8]
    with connect("postgres") as admin:
        admin.execute(f'CREATE DATABASE "{scratch}"')
    try:
        with connect(scratch) as c:  # pg_restore -n restores what is in the schema, not the schema
            c.execute(f'CREATE SCHEMA "tenant_{slug}"')
        run(bin_path("pg_restore"), "-d", scratch, "-n", f"tenant_{slug}", prod["backup"])
        with connect(scratch) as c:
            c.execute(f'ALTER SCHEMA "tenant_{slug}" RENAME TO "{as_name}"')
        part = os.path.join(prod["run_dir"], f"{as_name}-{scratch}.dump")
        run(bin_path("pg_dump"), "-Fc", "-n", as_name, "-f", part, "-d", scratch)
        run(bin_path("pg_restore"), "-d", prod["db"].name, part)
    finally:
        with connect("postgres") as admin:
            admin.execute(f'DROP DATABASE "{scratch}" WITH (FORCE)')


def test_restore_one_tenant_from_last_night_while_a_session_is_inside(prod):
    db = prod["db"]
    bring_back(prod)
    with db.connect() as admin:
        globex_before = admin.execute("SELECT xmin::text, * FROM tenant_globex.orders").fetchall()

    inside = psycopg.connect(dbname=db.name, user="restore_app", autocommit=True)
    restorer = db.connect()
    try:
        inside.execute("BEGIN")
        inside.execute("SELECT stash.tenant_enter('acme')")
        assert inside.execute("SELECT count(*) FROM orders").fetchone() == (2,)

        result = {}

        def restore():
            try:
                restorer.execute("SELECT stash.tenant_restore('acme', 'restore_acme')")
            except Exception as e:  # noqa: BLE001
                result["error"] = e

        thread = threading.Thread(target=restore)
        thread.start()
        time.sleep(0.5)
        assert thread.is_alive(), "the swap waits for the transaction inside acme"
        assert inside.execute("SELECT count(*) FROM orders").fetchone() == (2,), "never a mix"
        inside.execute("COMMIT")
        thread.join(30)
        assert "error" not in result, result.get("error")

        # acme has last night's rows, at today's version (the column and index of 2 and 3)
        with inside.transaction():
            inside.execute("SELECT stash.tenant_enter('acme')")
            assert inside.execute("SELECT id, item, note FROM orders ORDER BY id").fetchall() == [
                (1, "anvil", "n/a"), (2, "rocket", "n/a"), (3, "magnet", "n/a")]
            inside.execute("INSERT INTO orders (item) VALUES ('after the restore')")
    finally:  # a failure must not leave a transaction holding the tenant's lock
        inside.close()
        restorer.close()
    with db.connect() as admin:
        assert admin.execute("SELECT slug, status, differences FROM stash.tenant_verify('acme')").fetchone() == (
            "acme", "ok", [])
        detail = admin.execute("SELECT detail FROM stash.events WHERE action = 'restored'").fetchone()[0]
        assert detail["detected_version"] == 1 and detail["migrated_to"] == 3
        old = detail["old_schema"]
        assert old.startswith("tenant_acme_old_")
        # the old content is kept for inspection, out of the tenant role's reach
        assert admin.execute(f'SELECT count(*) FROM "{old}".orders').fetchone() == (2,)
        role = admin.execute("SELECT stash.tenant_role('acme')::text").fetchone()[0]
        assert admin.execute("SELECT has_schema_privilege(%s, %s, 'USAGE')", (role, old)).fetchone() == (False,)
        assert admin.execute("SELECT count(*) FROM pg_namespace WHERE nspname = 'restore_acme'").fetchone() == (0,)
        # globex was not touched
        assert admin.execute("SELECT xmin::text, * FROM tenant_globex.orders").fetchall() == globex_before


def test_restore_without_keeping_the_old_schema(prod):
    bring_back(prod)
    with prod["db"].connect() as admin:
        admin.execute("SELECT stash.tenant_restore('acme', 'restore_acme', keep_old => false)")
        assert admin.execute("SELECT count(*) FROM pg_namespace WHERE nspname LIKE 'tenant_acme_old%'"
                             ).fetchone() == (0,)
        assert admin.execute("SELECT count(*) FROM tenant_acme.orders").fetchone() == (3,)
        assert admin.execute("SELECT detail->>'old_schema' FROM stash.events WHERE action = 'restored'"
                             ).fetchone() == (None,)


def test_bad_sources_are_refused_and_nothing_changes(prod):
    db = prod["db"]
    with db.connect() as admin:
        admin.execute("CREATE SCHEMA junk")
        admin.execute("CREATE TABLE junk.orders (id serial PRIMARY KEY)")
        # what migration 3 makes, by hand: newer than a tenant rolled back to version 1
        admin.execute("CREATE SCHEMA future")
        admin.execute("CREATE TABLE future.orders (id serial PRIMARY KEY, item text NOT NULL, "
                      "note text NOT NULL DEFAULT 'n/a')")
        admin.execute("CREATE INDEX orders_item_idx ON future.orders (item)")
        admin.execute("SELECT * FROM stash.tenant_migrate('globex', 1)")
        # ... and a schema newer than the catalog (a migration this fleet does not have)
        admin.execute("CREATE SCHEMA beyond")
        admin.execute("CREATE TABLE beyond.orders (id serial PRIMARY KEY, item text NOT NULL, "
                      "note text NOT NULL DEFAULT 'n/a', shipped boolean)")
        admin.execute("CREATE INDEX orders_item_idx ON beyond.orders (item)")
        before = admin.execute("SELECT * FROM tenant_acme.orders ORDER BY id").fetchall()
        for args, exc, message in [
            (("acme", "tenant_globex"), E.ObjectInUse, 'is the schema of tenant "globex"'),
            (("acme", "tenant_acme"), E.InvalidParameterValue, "already the schema"),
            (("acme", "nosuch"), E.InvalidSchemaName, "does not exist"),
            (("acme", "public"), E.InvalidParameterValue, "cannot become"),
            (("nosuch", "junk"), E.UndefinedObject, "does not exist"),
            (("acme", "junk"), E.ObjectNotInPrerequisiteState, "closest is version 1"),
            (("globex", "future"), E.ObjectNotInPrerequisiteState,
             r'at version 3, newer than tenant "globex" \(version 1\)'),
            (("acme", "beyond"), E.ObjectNotInPrerequisiteState, "closest is version 3"),
        ]:
            with pytest.raises(exc, match=message) as info:
                admin.execute("SELECT stash.tenant_restore(%s, %s)", args)
            if args == ("acme", "junk"):
                assert "column orders.item" in info.value.diag.message_detail
            if args == ("acme", "beyond"):
                assert info.value.diag.message_detail == "extra column orders.shipped"
        assert admin.execute("SELECT * FROM tenant_acme.orders ORDER BY id").fetchall() == before
        assert admin.execute("SELECT count(*) FROM stash.events WHERE action = 'restored'").fetchone() == (0,)
        assert admin.execute("SELECT to_regnamespace('junk') IS NOT NULL").fetchone() == (True,)
        admin.execute("DROP SCHEMA junk, future, beyond CASCADE")
    with psycopg.connect(dbname=db.name, user="restore_app", autocommit=True) as app:
        with pytest.raises(E.InsufficientPrivilege):
            app.execute("SELECT stash.tenant_restore('acme', 'junk')")
