"""The attack suite: an application role inside tenant A tries to read or change tenant B.

Setup as in the README: two tenants with data, an application role registered with
stash.app_role_add that logs in itself (so no superuser session is involved), the group
role granted SELECT on a shared table.  Every attack runs in a fresh connection of the
application role, inside tenant A, asserts the documented error, and afterwards an
administrator checks that B's rows are exactly what they were (nothing read is checked by
the error: the statement returned no rows to the attacker)."""
import os
import subprocess
import uuid

import psycopg
import pytest

from conftest import bin_path, connect, start_pgbouncer

APP = "app_iso"
E = psycopg.errors


def b_state(admin):
    return admin.execute("SELECT id, note FROM tenant_globex.orders ORDER BY id").fetchall()


@pytest.fixture
def world(db):
    with db.connect() as admin:
        admin.execute(f"DROP ROLE IF EXISTS {APP}")
        admin.execute(f"CREATE ROLE {APP} LOGIN")
        admin.execute(
            "SELECT stash.migration_add(1, 'orders', $$"
            "CREATE TABLE orders (id serial PRIMARY KEY, note text);"
            "CREATE VIEW open_orders AS SELECT * FROM orders;"
            "CREATE FUNCTION order_count() RETURNS bigint LANGUAGE sql AS 'SELECT count(*) FROM orders';"
            "$$)")
        for slug in ("acme", "globex", "initech"):
            admin.execute("SELECT stash.tenant_create(%s)", (slug,))
        admin.execute("SELECT stash.tenant_suspend('initech')")
        admin.execute("INSERT INTO tenant_acme.orders (note) VALUES ('acme-1'), ('acme-2')")
        admin.execute("INSERT INTO tenant_globex.orders (note) VALUES ('globex-secret-1'), ('globex-secret-2')")
        admin.execute(f"SELECT stash.app_role_add('{APP}')")
        group = admin.execute("SELECT stash.tenant_group_role()").fetchone()[0]
        admin.execute("CREATE SCHEMA shared")
        admin.execute(f'GRANT USAGE ON SCHEMA shared TO "{group}", {APP}')
        admin.execute("CREATE TABLE shared.plans (code text PRIMARY KEY)")
        admin.execute("INSERT INTO shared.plans VALUES ('pro')")
        admin.execute(f'GRANT SELECT ON shared.plans TO "{group}"')
        # an administrator's convenience view, SECURITY INVOKER: it must not become a door
        admin.execute("CREATE VIEW shared.globex_orders WITH (security_invoker = true) AS "
                      "SELECT * FROM tenant_globex.orders")
        admin.execute(f'GRANT SELECT ON shared.globex_orders TO "{group}", {APP}')
        roles = dict(admin.execute("SELECT slug, stash.tenant_role(slug)::text FROM stash.tenants").fetchall())
        before = b_state(admin)
    yield {"db": db, "roles": roles, "before": before, "group": group}
    with db.connect() as admin:
        for slug in ("acme", "globex", "initech"):
            admin.execute("SELECT stash.tenant_drop(%s, force => true)", (slug,))
        admin.execute("DROP SCHEMA shared CASCADE")
        admin.execute(f"REASSIGN OWNED BY {APP} TO postgres")
        admin.execute(f"DROP OWNED BY {APP}")
        admin.execute(f"DROP ROLE {APP}")


def app_connect(world, **kw):
    return psycopg.connect(dbname=world["db"].name, user=APP, autocommit=True, **kw)


def in_tenant_a(conn):
    conn.execute("BEGIN")
    conn.execute("SELECT stash.tenant_enter('acme')")


B_ROLE = "{globex}"

# (name, statements run inside tenant A after entering it, expected error class)
ATTACKS = [
    ("select", ["SELECT * FROM tenant_globex.orders"], E.InsufficientPrivilege),
    ("insert", ["INSERT INTO tenant_globex.orders (note) VALUES ('x')"], E.InsufficientPrivilege),
    ("update", ["UPDATE tenant_globex.orders SET note = 'x'"], E.InsufficientPrivilege),
    ("delete", ["DELETE FROM tenant_globex.orders"], E.InsufficientPrivilege),
    ("merge", ["MERGE INTO tenant_globex.orders o USING (SELECT 1 AS id) s ON o.id = s.id "
               "WHEN MATCHED THEN UPDATE SET note = 'x'"], E.InsufficientPrivilege),
    ("copy_to", ["COPY tenant_globex.orders TO STDOUT"], E.InsufficientPrivilege),
    ("copy_from_query", ["COPY (SELECT * FROM tenant_globex.orders) TO STDOUT"], E.InsufficientPrivilege),
    ("truncate", ["TRUNCATE tenant_globex.orders"], E.InsufficientPrivilege),
    ("lock", ["LOCK TABLE tenant_globex.orders IN ACCESS EXCLUSIVE MODE"], E.InsufficientPrivilege),
    ("alter", ["ALTER TABLE tenant_globex.orders ADD COLUMN x int"], E.InsufficientPrivilege),
    ("drop", ["DROP TABLE tenant_globex.orders"], E.InsufficientPrivilege),
    ("create_index", ["CREATE INDEX ON tenant_globex.orders (note)"], E.InsufficientPrivilege),
    ("grant", [f"GRANT SELECT ON tenant_globex.orders TO {APP}"], E.InsufficientPrivilege),
    ("comment", ["COMMENT ON TABLE tenant_globex.orders IS 'x'"], E.InsufficientPrivilege),
    ("subquery", ["SELECT (SELECT count(*) FROM tenant_globex.orders)"], E.InsufficientPrivilege),
    ("cte", ["WITH x AS (SELECT * FROM tenant_globex.orders) SELECT * FROM x"], E.InsufficientPrivilege),
    ("do_block", ["DO $$ BEGIN PERFORM * FROM tenant_globex.orders; END $$"], E.InsufficientPrivilege),
    ("prepare", ["PREPARE p AS SELECT * FROM tenant_globex.orders"], E.InsufficientPrivilege),
    ("cursor", ["DECLARE c CURSOR FOR SELECT * FROM tenant_globex.orders"], E.InsufficientPrivilege),
    ("temp_view", ["CREATE TEMP VIEW v AS SELECT * FROM tenant_globex.orders"], E.InsufficientPrivilege),
    ("b_function", ["SELECT tenant_globex.order_count()"], E.InsufficientPrivilege),
    ("b_view", ["SELECT * FROM tenant_globex.open_orders"], E.InsufficientPrivilege),
    ("invoker_view_in_shared_schema", ["SELECT * FROM shared.globex_orders"], E.InsufficientPrivilege),
    ("reset_role", ["RESET ROLE"], E.InsufficientPrivilege),
    ("set_role_self", [f"SET ROLE {APP}"], E.InsufficientPrivilege),
    ("set_role_b", ['SET ROLE "{globex}"'], E.InsufficientPrivilege),
    ("set_local_role_b", ['SET LOCAL ROLE "{globex}"'], E.InsufficientPrivilege),
    ("set_session_authorization", [f"SET SESSION AUTHORIZATION {APP}"], E.InsufficientPrivilege),
    ("set_config_role", ["SELECT set_config('role', '{globex}', true)"], E.InsufficientPrivilege),
    ("exit_then_read", ["SELECT stash.tenant_exit()", "SELECT * FROM tenant_globex.orders"],
     E.InsufficientPrivilege),
    ("exit_then_read_own", ["SELECT stash.tenant_exit()", "SELECT * FROM tenant_acme.orders"],
     E.InsufficientPrivilege),
    ("enter_b_too", ["SELECT stash.tenant_enter('globex')"], E.InsufficientPrivilege),
    ("enter_b_by_id", ["SELECT stash.tenant_enter((SELECT id FROM stash.tenants WHERE slug = 'globex'))"],
     E.InsufficientPrivilege),
    ("with_hold_cursor", ["DECLARE h CURSOR WITH HOLD FOR SELECT * FROM orders"], E.InsufficientPrivilege),
    ("listen", ["LISTEN globex_channel"], E.InsufficientPrivilege),
    ("registry", ["SELECT * FROM stash.tenants"], E.InsufficientPrivilege),
    ("tenant_role_name", ["SELECT stash.tenant_role('globex')"], E.InsufficientPrivilege),
    ("create_in_public", ["CREATE TABLE public.exfil AS SELECT * FROM orders"], E.InsufficientPrivilege),
    ("security_definer_planted", ["CREATE FUNCTION tenant_acme.f() RETURNS int LANGUAGE sql "
                                  "SECURITY DEFINER AS 'SELECT 1'"], E.InsufficientPrivilege),
    # temporary objects would outlive the transaction on a pooled connection and run (or
    # shadow names) as the next tenant's role
    ("temp_table", ["CREATE TEMP TABLE stash_leak AS SELECT * FROM orders"], E.InsufficientPrivilege),
    ("temp_table_plain", ["CREATE TEMP TABLE t (id int)"], E.InsufficientPrivilege),
    ("select_into_temp", ["SELECT * INTO TEMP stash_leak FROM orders"], E.InsufficientPrivilege),
    ("temp_view", ["CREATE TEMP VIEW orders AS SELECT 1 AS id"], E.InsufficientPrivilege),
    ("temp_function", ["CREATE FUNCTION pg_temp.steal() RETURNS int LANGUAGE sql AS 'SELECT 1'"],
     E.InsufficientPrivilege),
    ("temp_sequence", ["CREATE TEMP SEQUENCE s"], E.InsufficientPrivilege),
]


@pytest.mark.parametrize("name,statements,error", ATTACKS, ids=[a[0] for a in ATTACKS])
def test_attack_from_inside_tenant_a(world, name, statements, error):
    assert len(ATTACKS) >= 30
    with app_connect(world) as conn:
        in_tenant_a(conn)
        with pytest.raises(error):
            for sql in statements:
                conn.execute(sql.replace("{globex}", world["roles"]["globex"]))
        conn.execute("ROLLBACK")
        assert conn.execute("SELECT current_user").fetchone()[0] == APP
    with world["db"].connect() as admin:
        assert b_state(admin) == world["before"]


def test_with_hold_cursor_of_b_never_reaches_a(world):
    """Refused at DECLARE inside a tenant; and nothing named like it exists afterwards."""
    with app_connect(world) as conn:
        conn.execute("BEGIN")
        conn.execute("SELECT stash.tenant_enter('globex')")
        with pytest.raises(E.InsufficientPrivilege):
            conn.execute("DECLARE h CURSOR WITH HOLD FOR SELECT * FROM orders")
        conn.execute("ROLLBACK")
        in_tenant_a(conn)
        with pytest.raises(E.InvalidCursorName):
            conn.execute("FETCH ALL FROM h")
        conn.execute("ROLLBACK")


def test_temp_objects_left_outside_a_tenant_never_shadow_its_tables(world):
    """Temporary objects cannot be created inside a tenant (attacks above); ones the
    application role made outside come after the tenant's schema in search_path."""
    with app_connect(world) as conn:
        conn.execute("CREATE TEMP TABLE orders (id int, note text)")
        conn.execute("INSERT INTO orders VALUES (99, 'planted')")
        in_tenant_a(conn)
        assert [r[0] for r in conn.execute("SELECT note FROM orders ORDER BY id")] == ["acme-1", "acme-2"]
        assert conn.execute("SHOW search_path").fetchone()[0].endswith("pg_temp")
        conn.execute("ROLLBACK")


def test_tenant_enter_refuses_to_switch_inside_a_security_definer_function(world):
    """The identity to restore at COMMIT must be the session's: entering from inside a
    SECURITY DEFINER function (whose exit would undo the switch) is refused."""
    with world["db"].connect() as admin:
        admin.execute("DROP SCHEMA IF EXISTS appfns CASCADE")
        admin.execute(f"CREATE SCHEMA appfns AUTHORIZATION {APP}")
    with app_connect(world) as conn:
        conn.execute("CREATE FUNCTION appfns.enter(s text) RETURNS void LANGUAGE sql SECURITY DEFINER "
                     "AS 'SELECT stash.tenant_enter(s)'")
        conn.execute("BEGIN")
        with pytest.raises(E.InsufficientPrivilege):
            conn.execute("SELECT appfns.enter('acme')")
        conn.execute("ROLLBACK")
        assert conn.execute("SELECT current_user").fetchone()[0] == APP
        conn.execute("RESET ROLE")            # the session is not stuck in a definer context
    with world["db"].connect() as admin:
        admin.execute("DROP SCHEMA appfns CASCADE")


def test_an_operator_planted_in_search_path_does_not_run_as_the_registry_owner(world):
    """tenant_enter has no SET search_path clause (it must SET LOCAL the caller's); the
    registry queries it runs as the owner (a superuser) use a fixed search_path, so an
    operator a role planted in a schema it put first never runs with the owner's rights."""
    with world["db"].connect() as admin:
        admin.execute("DROP ROLE IF EXISTS mallory")
        admin.execute("CREATE ROLE mallory LOGIN")
        admin.execute("CREATE SCHEMA mallory AUTHORIZATION mallory")
    try:
        with psycopg.connect(dbname=world["db"].name, user="mallory", autocommit=True) as m:
            m.execute("""CREATE FUNCTION mallory.eq(name, name) RETURNS boolean LANGUAGE plpgsql AS $$
                         BEGIN
                           IF (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) THEN
                             EXECUTE 'ALTER ROLE mallory SUPERUSER';
                           END IF;
                           RETURN $1 OPERATOR(pg_catalog.=) $2;
                         END $$""")
            m.execute("CREATE OPERATOR mallory.= (LEFTARG = name, RIGHTARG = name, FUNCTION = mallory.eq)")
            m.execute("CREATE FUNCTION mallory.eq(text, text) RETURNS boolean LANGUAGE sql "
                      "AS 'SELECT mallory.eq($1::name, $2::name)'")
            m.execute("CREATE OPERATOR mallory.= (LEFTARG = text, RIGHTARG = text, FUNCTION = mallory.eq)")
            m.execute("SET search_path = mallory, pg_catalog")
            for _ in range(2):
                with pytest.raises(E.InsufficientPrivilege):
                    with m.transaction():
                        m.execute("SELECT stash.tenant_enter('acme')")
        with world["db"].connect() as admin:
            assert admin.execute("SELECT rolsuper FROM pg_roles WHERE rolname = 'mallory'").fetchone()[0] is False
    finally:
        with world["db"].connect() as admin:
            admin.execute("DROP SCHEMA mallory CASCADE")
            admin.execute("DROP ROLE mallory")


def test_prepared_statement_of_b_reads_only_the_tenant_it_runs_in(world):
    with app_connect(world, prepare_threshold=0) as conn:
        conn.execute("BEGIN")
        conn.execute("SELECT stash.tenant_enter('globex')")
        conn.execute("PREPARE notes AS SELECT note FROM orders ORDER BY id")
        assert conn.execute("EXECUTE notes").fetchall()[0][0].startswith("globex")
        conn.execute("COMMIT")
        with pytest.raises(E.UndefinedTable):      # outside: the name resolves to nothing
            conn.execute("EXECUTE notes")
        in_tenant_a(conn)
        assert [r[0] for r in conn.execute("EXECUTE notes")] == ["acme-1", "acme-2"]
        conn.execute("ROLLBACK")


def test_session_state_left_by_b_grants_nothing(world):
    """A session-level SET inside B is refused (it would survive the commit); a session
    advisory lock is released at commit; a session SET made outside any tenant naming B's
    schema grants nothing — the privileges are the wall."""
    with app_connect(world) as conn:
        conn.execute("BEGIN")
        conn.execute("SELECT stash.tenant_enter('globex')")
        with pytest.raises(E.InsufficientPrivilege):
            conn.execute("SET search_path = tenant_globex, public")
        conn.execute("ROLLBACK")
        conn.execute("BEGIN")
        conn.execute("SELECT stash.tenant_enter('globex')")
        conn.execute("SELECT pg_advisory_lock(4242)")
        conn.execute("COMMIT")
        assert conn.execute("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' "
                            "AND pid = pg_backend_pid()").fetchone()[0] == 0
        conn.execute("SET search_path = tenant_globex, public")
        # the schema it names is skipped (no USAGE): the name resolves to nothing
        with pytest.raises(E.UndefinedTable):
            conn.execute("SELECT * FROM orders")
        in_tenant_a(conn)
        assert [r[0] for r in conn.execute("SELECT note FROM orders ORDER BY id")] == ["acme-1", "acme-2"]
        conn.execute("ROLLBACK")


def test_outside_any_tenant_the_application_role_has_nothing(world):
    with app_connect(world) as conn:
        for sql in ["SELECT * FROM tenant_acme.orders", "SELECT * FROM tenant_globex.orders",
                    f'SET ROLE "{world["roles"]["acme"]}"',
                    f"SELECT set_config('role', '{world['roles']['acme']}', false)"]:
            with pytest.raises(E.InsufficientPrivilege):
                conn.execute(sql)


def test_unregistered_role_cannot_tell_which_tenants_exist(world):
    with world["db"].connect() as admin:
        admin.execute("DROP ROLE IF EXISTS outsider")
        admin.execute("CREATE ROLE outsider LOGIN")
    try:
        messages = []
        with psycopg.connect(dbname=world["db"].name, user="outsider", autocommit=True) as conn:
            for slug in ("acme", "initech", "no_such_tenant"):   # existing, suspended, unknown
                with pytest.raises(E.InsufficientPrivilege) as e:
                    with conn.transaction():
                        conn.execute("SELECT stash.tenant_enter(%s)", (slug,))
                messages.append(e.value.diag.message_primary)
        assert len(set(messages)) == 1, messages
    finally:
        with world["db"].connect() as admin:
            admin.execute("DROP ROLE outsider")


def test_positive_path_dml_shared_tables_and_admins(world):
    with app_connect(world) as conn:
        in_tenant_a(conn)
        conn.execute("INSERT INTO orders (note) VALUES ('acme-3')")
        conn.execute("UPDATE orders SET note = note || '!' WHERE note = 'acme-3'")
        conn.execute("DELETE FROM orders WHERE note = 'acme-3!'")
        assert conn.execute("SELECT code FROM shared.plans").fetchall() == [("pro",)]
        assert conn.execute("SELECT order_count()").fetchone()[0] == 2
        conn.execute("COMMIT")
        assert conn.execute("SELECT current_user").fetchone()[0] == APP
    with world["db"].connect() as admin:     # administrators: no switch, all tenants
        with admin.transaction():
            admin.execute("SELECT stash.tenant_enter('globex')")
            assert admin.execute("SELECT current_user").fetchone()[0] == "postgres"
            assert admin.execute("SELECT count(*) FROM tenant_acme.orders").fetchone()[0] == 2


@pytest.fixture
def app_pgbouncer(world, run_dir):
    """PgBouncer in transaction mode, ONE server connection, clients log in as the
    application role (the server connection uses the client's user)."""
    proc, kwargs = start_pgbouncer(run_dir, "pgbouncer-app", 6433, world["db"].name, [APP])
    yield {**kwargs, "user": APP}
    proc.terminate()
    proc.wait(10)


def test_through_pgbouncer_the_next_client_is_itself_and_in_no_tenant(world, app_pgbouncer):
    c1 = psycopg.connect(**app_pgbouncer, autocommit=True, prepare_threshold=None)
    c2 = psycopg.connect(**app_pgbouncer, autocommit=True, prepare_threshold=None)
    try:
        for _ in range(3):
            with c1.transaction():
                pid1 = c1.execute("SELECT pg_backend_pid()").fetchone()[0]
                c1.execute("SELECT stash.tenant_enter('globex')")
                assert c1.execute("SELECT current_user").fetchone()[0] == world["roles"]["globex"]
                c1.execute("SELECT pg_advisory_lock(77)")
            with c2.transaction():
                pid2 = c2.execute("SELECT pg_backend_pid()").fetchone()[0]
                who = c2.execute("SELECT current_user, session_user, stash.current_tenant()").fetchone()
                locks = c2.execute("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' "
                                   "AND pid = pg_backend_pid()").fetchone()[0]
            assert pid1 == pid2, "one server connection"
            assert who == (APP, APP, None)
            assert locks == 0
            with pytest.raises(E.InsufficientPrivilege):
                with c2.transaction():
                    c2.execute("SELECT * FROM tenant_globex.orders")
            # an aborted tenant transaction leaves nothing either
            with pytest.raises(E.DivisionByZero):
                with c1.transaction():
                    c1.execute("SELECT stash.tenant_enter('globex')")
                    c1.execute("SELECT 1/0")
            assert c2.execute("SELECT current_user, stash.current_tenant()").fetchone() == (APP, None)
    finally:
        c1.close()
        c2.close()


def test_restore_into_another_cluster_recreates_roles_with_repair(world, run_dir):
    """Roles are not in a database dump.  Restore into a cluster without them (simulated:
    the source database and its roles are gone), pg_restore reports the GRANTs to missing
    roles, tenant_roles_repair recreates roles and privileges, the application works."""
    db = world["db"]
    dump = os.path.join(run_dir, f"{db.name}-roles.dump")
    subprocess.run([bin_path("pg_dump"), "-Fc", "-f", dump, db.name], check=True)
    restored = "rs_" + uuid.uuid4().hex[:10]
    roles = world["roles"]
    with connect(db.name) as admin:   # the source database goes away with its roles
        for slug in roles:
            admin.execute("SELECT stash.tenant_drop(%s, force => true)", (slug,))
        group = world["group"]
        admin.execute(f'DROP OWNED BY "{group}"')
    with connect("postgres") as admin:
        admin.execute(f'DROP ROLE "{group}"')
        assert admin.execute("SELECT count(*) FROM pg_roles WHERE rolname = ANY(%s)",
                             (list(roles.values()) + [group],)).fetchone()[0] == 0
        admin.execute(f'CREATE DATABASE "{restored}"')
    try:
        r = subprocess.run([bin_path("pg_restore"), "-d", restored, dump], capture_output=True, text=True)
        assert r.returncode != 0 and "does not exist" in r.stderr     # the GRANTs to missing roles
        with connect(restored) as conn:
            repaired = conn.execute("SELECT slug, role, created FROM stash.tenant_roles_repair() ORDER BY slug").fetchall()
            assert repaired == [(s, roles[s], True) for s in sorted(roles)]
            # what the administrator had granted to the group role: lost with the role
            conn.execute(f'GRANT USAGE ON SCHEMA shared TO "{group}"')
            conn.execute(f'GRANT SELECT ON shared.plans TO "{group}"')
            conn.execute("SELECT stash.tenant_resume('initech')")
        with psycopg.connect(dbname=restored, user=APP, autocommit=True) as app:
            with app.transaction():
                app.execute("SELECT stash.tenant_enter('globex')")
                assert [r[0] for r in app.execute("SELECT note FROM orders ORDER BY id")] == [
                    "globex-secret-1", "globex-secret-2"]
                assert app.execute("SELECT code FROM shared.plans").fetchall() == [("pro",)]
                with pytest.raises(E.InsufficientPrivilege):
                    app.execute("SELECT * FROM tenant_acme.orders")
    finally:
        with connect(restored) as conn:
            for slug in roles:
                conn.execute("SELECT stash.tenant_drop(%s, force => true)", (slug,))
        with connect("postgres") as admin:
            admin.execute(f'DROP DATABASE "{restored}" WITH (FORCE)')
        # the world fixture's teardown drops tenants that no longer exist: recreate them
        with connect(db.name) as admin:
            for slug in roles:
                admin.execute("SELECT stash.tenant_create(%s)", (slug,))


def test_two_sessions_create_the_first_tenants_of_a_database_at_once(db):
    """Both need the database's group role, which the first tenant_create makes: the
    second waits for the first and uses the same role (a race once made it fail with
    23505)."""
    import threading
    errors = []
    holder = db.connect(autocommit=False)
    holder.execute("SELECT stash.tenant_create('first_a')")      # group role row, uncommitted

    def second():
        try:
            with db.connect() as conn:
                conn.execute("SELECT stash.tenant_create('first_b')")
        except psycopg.Error as e:
            errors.append(e)

    t = threading.Thread(target=second)
    t.start()
    import time
    time.sleep(0.5)
    holder.commit()
    holder.close()
    t.join(30)
    assert errors == []
    with db.connect() as conn:
        group = conn.execute("SELECT stash.tenant_group_role()::text").fetchone()[0]
        members = conn.execute(
            "SELECT count(*) FROM pg_auth_members m WHERE m.roleid = %s::regrole", (group,)).fetchone()[0]
        assert members == 2
        conn.execute("SELECT stash.tenant_drop('first_a')")
        conn.execute("SELECT stash.tenant_drop('first_b')")
