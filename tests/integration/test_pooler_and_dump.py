"""The tenant context behind a real PgBouncer in transaction mode, the registry through a
real pg_dump / restore, and tenant_enter (by name and by token, with a pool table) on a
real hot standby."""
import os
import subprocess
import time

import jwt
import psycopg
import pytest

from conftest import as_postgres, bin_path, connect, start_pgbouncer, wait_until

STANDBY_SECRET = "standby-secret-standby-secret-0123456789"


@pytest.fixture
def pgbouncer(db, run_dir):
    """PgBouncer in transaction mode with ONE server connection, so consecutive
    transactions of different clients are guaranteed to share a backend."""
    proc, kwargs = start_pgbouncer(run_dir, "pgbouncer", 6432, db.name, [],
                                   server_user=os.environ["PGUSER"])
    yield dict(kwargs, user=os.environ["PGUSER"])
    proc.terminate()
    proc.wait(10)


def test_context_never_leaks_to_the_next_client_of_a_pooled_connection(db, pgbouncer):
    with db.connect() as admin:
        admin.execute("SELECT stash.tenant_create('acme')")
        admin.execute("SELECT stash.tenant_create('globex')")
    # prepare_threshold=None: plain simple/extended protocol, no server-side prepares,
    # as transaction-mode poolers require
    c1 = psycopg.connect(**pgbouncer, autocommit=True, prepare_threshold=None)
    c2 = psycopg.connect(**pgbouncer, autocommit=True, prepare_threshold=None)
    try:
        baseline = c2.execute("SHOW search_path").fetchone()[0]
        for round_ in range(3):
            with c1.transaction():
                pid1 = c1.execute("SELECT pg_backend_pid()").fetchone()[0]
                c1.execute("SELECT stash.tenant_enter('acme')")
                assert c1.execute("SHOW search_path").fetchone()[0].startswith("tenant_acme")
            # the next transaction, from another client, lands on the same backend ...
            with c2.transaction():
                pid2 = c2.execute("SELECT pg_backend_pid()").fetchone()[0]
                path = c2.execute("SHOW search_path").fetchone()[0]
                tenant = c2.execute(
                    "SELECT stash.current_tenant(), stash.current_tenant_id()"
                ).fetchone()
            assert pid1 == pid2, "the pool has one server connection"
            # ... and finds no trace of the first client's tenant
            assert path == baseline
            assert tenant == (None, None)
            # an aborted transaction leaves nothing either
            with pytest.raises(psycopg.errors.DivisionByZero):
                with c1.transaction():
                    c1.execute("SELECT stash.tenant_enter('globex')")
                    c1.execute("SELECT 1/0")
            assert c2.execute("SELECT stash.current_tenant()").fetchone()[0] is None
            assert c2.execute("SHOW search_path").fetchone()[0] == baseline
    finally:
        c1.close()
        c2.close()


def test_pg_dump_keeps_the_registry_and_the_tenant_schemas(db, run_dir):
    with db.connect() as conn:
        conn.execute("SELECT stash.tenant_create('acme', 'Acme', '{\"plan\": \"pro\"}')")
        conn.execute("SELECT stash.tenant_create('globex')")
        conn.execute("SELECT stash.tenant_suspend('globex')")
        with conn.transaction():
            conn.execute("SELECT stash.tenant_enter('acme')")
            conn.execute("CREATE TABLE orders (id int PRIMARY KEY)")
            conn.execute("INSERT INTO orders VALUES (1), (2)")
        before = conn.execute(
            "SELECT id, slug, name, schema_name, status, settings FROM stash.tenants ORDER BY slug"
        ).fetchall()
        events_before = conn.execute("SELECT id, slug, action FROM stash.events ORDER BY id").fetchall()
        # tenant schemas are ordinary schemas, never members of the extension
        members = conn.execute(
            "SELECT count(*) FROM pg_depend d JOIN pg_namespace n ON d.objid = n.oid"
            " WHERE d.classid = 'pg_namespace'::regclass AND d.deptype = 'e'"
            "   AND n.nspname LIKE 'tenant\\_%'"
        ).fetchone()[0]
        assert members == 0

    dump = os.path.join(run_dir, f"{db.name}.dump")
    subprocess.run([bin_path("pg_dump"), "-Fc", "-f", dump, db.name], check=True)
    restored = db.name + "_r"
    with connect("postgres") as admin:
        admin.execute(f'CREATE DATABASE "{restored}"')
    try:
        subprocess.run([bin_path("pg_restore"), "-d", restored, dump], check=True)
        with connect(restored) as conn:
            after = conn.execute(
                "SELECT id, slug, name, schema_name, status, settings FROM stash.tenants ORDER BY slug"
            ).fetchall()
            assert after == before
            assert conn.execute("SELECT id, slug, action FROM stash.events ORDER BY id").fetchall() == events_before
            # the event counter was dumped too: new events do not collide with restored ones
            conn.execute("SELECT stash.tenant_resume('globex')")
            with conn.transaction():
                conn.execute("SELECT stash.tenant_enter('acme')")
                assert conn.execute("SELECT count(*) FROM orders").fetchone()[0] == 2
                assert conn.execute("SELECT stash.current_tenant()").fetchone()[0] == "acme"
        # a single tenant can be dumped on its own with -n
        out = subprocess.run(
            [bin_path("pg_dump"), "-n", "tenant_acme", db.name], check=True, capture_output=True, text=True
        ).stdout
        assert "CREATE TABLE tenant_acme.orders" in out
        assert "tenant_globex" not in out
    finally:
        with connect("postgres") as admin:
            admin.execute(f'DROP DATABASE "{restored}" WITH (FORCE)')


def test_tenant_enter_works_on_a_hot_standby(db, run_dir):
    with db.connect() as conn:
        conn.execute("SELECT stash.tenant_create('acme')")
        conn.execute("SELECT stash.tenant_create('globex')")
        conn.execute("DROP ROLE IF EXISTS standby_app")
        conn.execute("CREATE ROLE standby_app LOGIN")
        conn.execute("SELECT stash.app_role_add('standby_app')")
        conn.execute("CREATE TABLE tenant_acme.notes (body text)")
        conn.execute("GRANT SELECT ON tenant_acme.notes TO " + conn.execute("SELECT stash.tenant_role('acme')").fetchone()[0])
        conn.execute("INSERT INTO tenant_acme.notes VALUES ('acme only')")
        acme_role = conn.execute("SELECT stash.tenant_role('acme')::text").fetchone()[0]
        # signed entry and a pool table, read on the standby
        conn.execute("SELECT stash.token_key_add('sb', 'HS256', %s)", (STANDBY_SECRET,))
        conn.execute("CREATE TABLE public.sb_pool (tenant_id uuid NOT NULL, body text)")
        conn.execute("SELECT stash.pool_table_add('public.sb_pool')")
        group = conn.execute("SELECT stash.tenant_group_role()").fetchone()[0]
        conn.execute(f'GRANT SELECT ON public.sb_pool TO "{group}", standby_app')
        conn.execute("INSERT INTO public.sb_pool SELECT id, slug || ' pooled' FROM stash.tenants")
        conn.execute("SELECT stash.app_role_require_token('standby_app')")
    standby = os.path.join(run_dir, "standby")
    subprocess.run(["rm", "-rf", standby], check=True)
    os.makedirs(standby)
    os.chmod(standby, 0o777)
    data = os.path.join(standby, "data")
    as_postgres([bin_path("pg_basebackup"), "-h", os.environ["PGHOST"], "-p", os.environ["PGPORT"],
                 "-U", os.environ["PGUSER"], "-D", data, "-R", "-X", "stream", "-c", "fast"])
    as_postgres([bin_path("pg_ctl"), "-D", data, "-l", os.path.join(standby, "log"), "-w", "-o",
                 f"-c listen_addresses='' -k {standby} -p 5433 -c hot_standby=on", "start"])
    try:
        def standby_conn():
            return psycopg.connect(host=standby, port=5433, dbname=db.name,
                                   user=os.environ["PGUSER"], autocommit=True)

        # the application role's switch works read-only: nothing is written to enter
        with psycopg.connect(host=standby, port=5433, dbname=db.name, user="standby_app",
                             autocommit=True) as app:
            assert app.execute("SELECT pg_is_in_recovery()").fetchone()[0]
            with app.transaction():
                token = jwt.encode({"tenant": "acme", "exp": int(time.time()) + 300},
                                   STANDBY_SECRET, algorithm="HS256")
                app.execute("SELECT stash.tenant_enter_token(%s)", (token,))
                assert app.execute("SELECT current_user::text").fetchone()[0] == acme_role
                assert app.execute("SELECT body FROM notes").fetchall() == [("acme only",)]
                assert app.execute("SELECT body FROM public.sb_pool").fetchall() == [("acme pooled",)]
                with pytest.raises(psycopg.errors.InsufficientPrivilege):
                    app.execute("SELECT * FROM tenant_globex.pg_class_does_not_matter")
            assert app.execute("SELECT current_user::text").fetchone()[0] == "standby_app"
            assert app.execute("SELECT count(*) FROM public.sb_pool").fetchone()[0] == 0
            # the role must enter by token: by name it is refused on the standby too
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                with app.transaction():
                    app.execute("SELECT stash.tenant_enter('acme')")
        with standby_conn() as s:
            assert s.execute("SELECT pg_is_in_recovery()").fetchone()[0]
            with s.transaction():
                s.execute("SELECT stash.tenant_enter('acme')")
                assert s.execute("SELECT stash.current_tenant()").fetchone()[0] == "acme"
            # a suspend on the primary reaches the standby's cache through WAL replay
            with db.connect() as primary:
                primary.execute("SELECT stash.tenant_suspend('acme')")
                lsn = primary.execute("SELECT pg_current_wal_lsn()").fetchone()[0]
            assert wait_until(lambda: s.execute(
                "SELECT pg_last_wal_replay_lsn() >= %s::pg_lsn", (lsn,)).fetchone()[0], 30)
            with pytest.raises(psycopg.errors.ObjectNotInPrerequisiteState):
                with s.transaction():
                    s.execute("SELECT stash.tenant_enter('acme')")
            with s.transaction():
                s.execute("SELECT stash.tenant_enter('globex')")
                assert s.execute("SELECT stash.current_tenant()").fetchone()[0] == "globex"
    finally:
        as_postgres([bin_path("pg_ctl"), "-D", data, "-m", "immediate", "stop"])
        with db.connect() as conn:
            conn.execute("SELECT stash.app_role_remove('standby_app')")
            conn.execute("DROP TABLE public.sb_pool")
            conn.execute("SELECT stash.tenant_drop('acme')")
            conn.execute("SELECT stash.tenant_drop('globex')")
            conn.execute("DROP ROLE standby_app")
