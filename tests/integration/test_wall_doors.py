"""The doors the 0.2.0 attack runs found in the wall (issue 24), each one tried again.

Every reproduction runs as the application role the way an attacker with SQL injection in
one tenant's request would: on one server connection that a pooler hands from request to
request — directly (one connection plays every client) and through a real PgBouncer in
transaction mode with one server connection (each request its own client) — and with
entry by name and by token with stash.app_role_require_token on.  Each asserts the
refusal at the first step that matters and, afterwards, as an administrator, that the
other tenant's rows and the database's settings are exactly what they were."""
import os
import subprocess
import time

import jwt
import psycopg
import pytest

from conftest import start_pgbouncer

APP = "app_wall"
E = psycopg.errors
SECRET = "wall-wall-wall-wall-wall-wall-0123456789"
DOORS = ["name", "token"]
ROUTES = ["direct", "pgbouncer"]


def token(slug):
    return jwt.encode({"tenant": slug, "exp": int(time.time()) + 300}, SECRET, algorithm="HS256",
                      headers={"kid": "k"})


@pytest.fixture
def fleet(db):
    with db.connect() as admin:
        admin.execute(f"DROP ROLE IF EXISTS {APP}")
        admin.execute(f"CREATE ROLE {APP} LOGIN")
        admin.execute("SELECT stash.migration_add(1, 'orders', $$"
                      "CREATE TABLE orders (id int PRIMARY KEY, secret text)$$)")
        for slug in ("acme", "globex"):
            admin.execute("SELECT stash.tenant_create(%s)", (slug,))
            admin.execute(f"INSERT INTO tenant_{slug}.orders VALUES (1, '{slug}-secret')")
        group = admin.execute("SELECT stash.tenant_group_role()").fetchone()[0]
        admin.execute(f"SELECT stash.app_role_add('{APP}')")
        admin.execute("SELECT stash.token_key_add('k', 'HS256', %s)", (SECRET,))
        # a shared table every tenant reads, and a pool table every tenant writes
        admin.execute("CREATE TABLE public.countries (code text PRIMARY KEY, name text)")
        admin.execute("INSERT INTO public.countries VALUES ('de', 'Germany')")
        admin.execute(f'GRANT SELECT ON public.countries TO "{group}", {APP}')
        admin.execute("CREATE TABLE public.items (tenant_id uuid NOT NULL, id int, body text, "
                      "PRIMARY KEY (tenant_id, id))")
        admin.execute("SELECT stash.pool_table_add('public.items')")
        admin.execute(f'GRANT SELECT, INSERT ON public.items TO "{group}"')
        # the administrator's default privileges for the group: new shared tables reach tenants
        admin.execute(f'ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT ON TABLES TO "{group}"')
        admin.execute("SELECT lo_create(4242)")
        # an administrator's functions and a trigger that create objects as whoever calls them
        admin.execute("CREATE FUNCTION public.make_temp_sql() RETURNS void LANGUAGE sql AS "
                      "'CREATE TEMP TABLE t (x int)'")
        admin.execute("CREATE FUNCTION public.make_temp_trigger() RETURNS trigger LANGUAGE plpgsql AS "
                      "$$ BEGIN CREATE TEMP TABLE IF NOT EXISTS t (x int); RETURN NEW; END $$")
        admin.execute("CREATE TABLE public.audited (x int)")
        admin.execute("CREATE TRIGGER audited BEFORE INSERT ON public.audited "
                      "FOR EACH ROW EXECUTE FUNCTION public.make_temp_trigger()")
        admin.execute(f'GRANT INSERT ON public.audited TO "{group}"')
        roles = dict(admin.execute("SELECT slug, stash.tenant_role(slug)::text FROM stash.tenants").fetchall())
    world = {"db": db, "group": group, "roles": roles}
    world["before"] = snapshot(world)
    yield world
    with db.connect() as admin:
        for slug in ("acme", "globex"):
            admin.execute("SELECT stash.tenant_drop(%s, force => true)", (slug,))
        admin.execute("SELECT lo_unlink(4242)")
        admin.execute("DROP TABLE public.countries, public.items, public.audited")
        admin.execute("DROP FUNCTION public.make_temp_sql(), public.make_temp_trigger()")
        admin.execute(f'ALTER DEFAULT PRIVILEGES IN SCHEMA public REVOKE SELECT ON TABLES FROM "{group}"')
        admin.execute(f"DROP OWNED BY {APP}")
        admin.execute(f"DROP ROLE {APP}")


def snapshot(world):
    """What no tenant transaction may change: the other tenants' rows, shared rows, roles'
    and the database's settings, default privileges, large objects, conversions, and the
    objects the tenant roles own."""
    with world["db"].connect() as admin:
        q = lambda sql: admin.execute(sql).fetchall()  # noqa: E731
        return {
            "globex": q("SELECT * FROM tenant_globex.orders ORDER BY id"),
            "acme": q("SELECT * FROM tenant_acme.orders ORDER BY id"),
            "countries": q("SELECT * FROM public.countries ORDER BY code"),
            "items": q("SELECT tenant_id, id, body FROM public.items ORDER BY 1, 2"),
            "role_settings": q("SELECT setrole::regrole::text, setconfig FROM pg_db_role_setting ORDER BY 1"),
            "passwords": q("SELECT rolname, rolpassword IS NOT NULL FROM pg_authid "
                           "WHERE rolname LIKE 'stash%' OR rolname = 'app_wall' ORDER BY 1"),
            "default_acl": q("SELECT defaclrole::regrole::text, defaclnamespace, defaclobjtype, defaclacl::text "
                             "FROM pg_default_acl ORDER BY 1, 2, 3"),
            "large_objects": q("SELECT oid, lomowner::regrole::text, lomacl::text FROM pg_largeobject_metadata ORDER BY 1"),
            "conversions": q("SELECT count(*) FROM pg_conversion WHERE connamespace <> 'pg_catalog'::regnamespace"),
            "tenant_owned": q("SELECT count(*) FROM pg_class c JOIN pg_roles r ON r.oid = c.relowner "
                              "WHERE r.rolname LIKE 'stash_t%' OR r.rolname = 'app_wall'"),
        }


class Server:
    """One server connection, handed from request to request as a pooler does: each
    request() is a fresh client (through PgBouncer) or the same connection (direct)."""

    def __init__(self, world, route, door, bouncer):
        self.world, self.route, self.door, self.bouncer = world, route, door, bouncer
        self.direct = None
        if route == "direct":
            self.direct = psycopg.connect(dbname=world["db"].name, user=APP, autocommit=True)

    def request(self):
        if self.direct is not None:
            return NoClose(self.direct)
        return psycopg.connect(**self.bouncer, autocommit=True, prepare_threshold=None)

    def enter(self, conn, slug, begin=True):
        if begin:
            conn.execute("BEGIN")
        if self.door == "token":
            conn.execute("SELECT stash.tenant_enter_token(%s)", (token(slug),))
        else:
            conn.execute("SELECT stash.tenant_enter(%s)", (slug,))

    def close(self):
        if self.direct is not None:
            self.direct.close()


class NoClose:
    """The direct connection, lent to one request: leaving the `with` does not close it."""

    def __init__(self, conn):
        self.conn = conn

    def __enter__(self):
        return self.conn

    def __exit__(self, *exc):
        if self.conn.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
            self.conn.execute("ROLLBACK")


@pytest.fixture
def bouncer(fleet, run_dir):
    proc, kwargs = start_pgbouncer(run_dir, "pgbouncer-wall", 6441, fleet["db"].name, [APP])
    yield {**kwargs, "user": APP}
    proc.terminate()
    proc.wait(10)


@pytest.fixture(params=[(r, d) for r in ROUTES for d in DOORS], ids=lambda p: f"{p[0]}-{p[1]}")
def server(request, fleet, bouncer):
    route, door = request.param
    if door == "token":
        with fleet["db"].connect() as admin:
            admin.execute(f"SELECT stash.app_role_require_token('{APP}')")
    s = Server(fleet, route, door, bouncer)
    yield s
    s.close()
    assert snapshot(fleet) == fleet["before"]


def refused(server, slug, statements, error=E.InsufficientPrivilege):
    """Runs statements inside tenant `slug` as one request; the last one must raise."""
    with server.request() as c:
        server.enter(c, slug)
        for sql in statements[:-1]:
            c.execute(sql)
        with pytest.raises(error):
            c.execute(statements[-1])
        c.execute("ROLLBACK")


# ---- F1: stash.shared_schemas decides what a tenant transaction resolves ---------------------

def test_f1_shared_schemas_cannot_be_set_by_the_application_role(server):
    for sql in ("SET stash.shared_schemas = 'pg_temp, public'", "SET stash.shared_schemas = ''",
                "SET LOCAL stash.shared_schemas = 'pg_temp, public'"):
        refused(server, "acme", [sql])
        with server.request() as c:  # outside any tenant too
            with pytest.raises(E.InsufficientPrivilege):
                with c.transaction():
                    c.execute(sql)
    with server.request() as c:
        c.execute("SELECT stash.version()")  # the library loaded: the setting is defined
        with pytest.raises(E.InsufficientPrivilege):
            c.execute(f"ALTER ROLE {APP} SET stash.shared_schemas = 'pg_temp, public'")


def test_f1_objects_planted_outside_tenants_never_shadow_shared_tables(server):
    """The 0.2.0 reproduction: a temporary view named like a shared table, over a function
    that copies and damages the tenant's rows, planted by one request; the next request,
    for globex, reads `countries`.  Also a temporary table named like a pool table."""
    with server.request() as c:
        c.execute("CREATE TEMP TABLE loot (who name, body text)")
        c.execute("GRANT INSERT ON loot TO PUBLIC")
        c.execute("CREATE FUNCTION pg_temp.grab() RETURNS boolean LANGUAGE plpgsql AS $$ BEGIN "
                  "INSERT INTO pg_temp.loot SELECT current_user, string_agg(secret, ',') FROM orders; "
                  "UPDATE orders SET secret = 'PWNED' WHERE id = 1; RETURN true; END $$")
        c.execute("CREATE TEMP VIEW countries WITH (security_invoker = true) AS "
                  "SELECT c.* FROM public.countries c WHERE pg_temp.grab()")
        c.execute("GRANT SELECT ON countries TO PUBLIC")
        c.execute("CREATE TEMP TABLE items (tenant_id uuid, id int, body text)")
        c.execute("GRANT ALL ON items TO PUBLIC")
        pid = c.execute("SELECT pg_backend_pid()").fetchone()[0]
    with server.request() as c:
        server.enter(c, "globex")
        assert c.execute("SELECT pg_backend_pid()").fetchone()[0] == pid, "one server connection"
        assert c.execute("SELECT name FROM countries WHERE code = 'de'").fetchall() == [("Germany",)]
        c.execute("INSERT INTO items (id, body) VALUES (7, 'globex item')")
        c.execute("COMMIT")
    with server.request() as c:
        assert c.execute("SELECT count(*) FROM pg_temp.loot").fetchone()[0] == 0
        assert c.execute("SELECT count(*) FROM pg_temp.items").fetchone()[0] == 0
        c.execute("DROP VIEW pg_temp.countries")
        c.execute("DROP TABLE pg_temp.loot, pg_temp.items")
        c.execute("DROP FUNCTION pg_temp.grab()")
    with server.world["db"].connect() as admin:
        assert admin.execute("SELECT body FROM public.items").fetchall() == [("globex item",)]
        admin.execute("DELETE FROM public.items")


# ---- F2, F3: what a tenant transaction may not change or leave behind -------------------------

LEFTOVERS = [
    ("drop_owned_group", ["DROP OWNED BY {group}"]),
    ("drop_owned_self", ["DROP OWNED BY CURRENT_USER"]),
    ("reassign_owned", ["REASSIGN OWNED BY CURRENT_USER TO {group}"]),
    ("password", ["ALTER ROLE CURRENT_USER PASSWORD 'x'"]),
    ("role_setting", ["ALTER ROLE CURRENT_USER SET work_mem = '1MB'"]),
    ("default_privileges", [f"ALTER DEFAULT PRIVILEGES GRANT ALL ON TABLES TO {APP}"]),
    ("conversion", ["CREATE CONVERSION pg_temp.c FOR 'LATIN1' TO 'UTF8' FROM iso8859_1_to_utf8"]),
    ("lo_from_bytea", ["SELECT lo_from_bytea(0, convert_to((SELECT string_agg(secret, ',') FROM orders), 'UTF8'))"]),
    ("lo_create", ["SELECT lo_create(0)"]),
    ("lo_grant", ["GRANT SELECT ON LARGE OBJECT 4242 TO PUBLIC"]),
    ("session_set", ["SET work_mem = '1MB'"]),
    ("session_reset", ["RESET work_mem"]),
    ("session_characteristics", ["SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY"]),
    ("session_set_in_do", ["DO $$ BEGIN EXECUTE 'SET application_name = ''x'''; END $$"]),
    # F5: creation by every path, temporary objects included
    ("explain_analyze_ctas", ["EXPLAIN (ANALYZE) CREATE TEMP TABLE users AS "
                              "SELECT 'bob@b.com'::text AS email, 'acme'::text AS tenant"]),
    ("explain_analyze_select_into", ["EXPLAIN (ANALYZE) SELECT 1 AS x INTO TEMP loot"]),
    ("ctas_execute", ["PREPARE p AS SELECT * FROM orders", "CREATE TEMP TABLE t AS EXECUTE p"]),
    ("create_in_sql_function", ["SELECT public.make_temp_sql()"]),
    ("create_in_trigger", ["INSERT INTO public.audited VALUES (1)"]),
    ("create_in_do", ["DO $$ BEGIN CREATE TEMP TABLE t (x int); END $$"]),
    ("materialized_view", ["CREATE MATERIALIZED VIEW pg_temp.m AS SELECT 1"]),
]


@pytest.mark.parametrize("name,statements", LEFTOVERS, ids=[x[0] for x in LEFTOVERS])
def test_f2_f3_f5_a_tenant_transaction_changes_nothing_outside_its_tenant(server, name, statements):
    group = '"' + server.world["group"] + '"'
    refused(server, "acme", [s.replace("{group}", group) for s in statements])
    with server.request() as c:  # the next request finds nothing left
        assert c.execute("SELECT to_regclass('pg_temp.users'), to_regclass('pg_temp.t'), "
                         "to_regclass('pg_temp.loot'), current_setting('work_mem')").fetchone() \
            == (None, None, None, "4MB")


def test_f5_even_with_create_on_public_granted_a_tenant_creates_nothing_there(server):
    """An administrator granted the group CREATE on public: a tenant's table there (with a
    DEFAULT a later shared migration would evaluate as the database owner) is refused."""
    group = server.world["group"]
    with server.world["db"].connect() as admin:
        admin.execute(f'GRANT CREATE ON SCHEMA public TO "{group}"')
    try:
        refused(server, "acme", ["CREATE TABLE public.features (name text DEFAULT "
                                 "query_to_xml('select rolname, rolpassword from pg_authid', true, true, '')::text)"])
        refused(server, "acme", ["EXPLAIN (ANALYZE) CREATE TABLE public.features AS SELECT 1 AS x"])
    finally:
        with server.world["db"].connect() as admin:
            admin.execute(f'REVOKE CREATE ON SCHEMA public FROM "{group}"')
            assert admin.execute("SELECT to_regclass('public.features')").fetchone()[0] is None


def test_f3_set_config_for_the_session_fails_the_commit(server):
    """set_config(…, false) is a function call no hook sees when it runs; the commit of
    the tenant transaction fails, so nothing of it reaches the next request."""
    for setting, value in (("my.x", "(SELECT string_agg(secret, ',') FROM orders)"),
                           ("work_mem", "'1MB'"), ("search_path", "'pg_temp, public'")):
        with server.request() as c:
            server.enter(c, "acme")
            c.execute(f"SELECT set_config('{setting}', {value}, false)")
            with pytest.raises(E.InsufficientPrivilege, match="for the session inside a tenant"):
                c.execute("COMMIT")
        with server.request() as c:
            assert c.execute(f"SELECT current_setting('{setting}', true)").fetchone()[0] \
                in (None, "", "4MB", '"$user", public')
    # what ends with the transaction is allowed (SET TRANSACTION comes before any query)
    with server.request() as c:
        c.execute("BEGIN")
        c.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        server.enter(c, "acme", begin=False)
        c.execute("SELECT set_config('my.x', 'local', true)")
        c.execute("SET LOCAL work_mem = '2MB'")
        c.execute("COMMIT")


# ---- F6: every migration path runs as the schema owner on a path nobody else writes ----------

PLANT = ("CREATE FUNCTION public.lower(varchar) RETURNS text LANGUAGE sql AS "
         "$$ INSERT INTO public.planted_ran VALUES (current_user) RETURNING 'x' $$")


@pytest.fixture
def public_writable(fleet):
    """A database upgraded from PostgreSQL <= 14: CREATE on public for PUBLIC; a tenant
    migration that calls lower() on a varchar."""
    with fleet["db"].connect() as admin:
        admin.execute("CREATE TABLE public.planted_ran (who name)")
        admin.execute("GRANT INSERT ON public.planted_ran TO PUBLIC")
        admin.execute("SELECT stash.migration_add(2, 'states', $$"
                      "CREATE TABLE order_states (code varchar PRIMARY KEY, label text);"
                      "INSERT INTO order_states VALUES ('NEW', NULL);"
                      "UPDATE order_states SET label = lower(code)$$)")
        admin.execute("SELECT stash.migration_add(3, 'shared states', $$"
                      "CREATE TABLE shared_states (code varchar PRIMARY KEY, label text);"
                      "INSERT INTO shared_states VALUES ('NEW', NULL);"
                      "UPDATE shared_states SET label = lower(code)$$, scope => 'shared')")
        admin.execute("SELECT * FROM stash.tenant_migrate('acme')")  # acme at 2, globex at 1
        admin.execute("GRANT CREATE ON SCHEMA public TO PUBLIC")
    with psycopg.connect(dbname=fleet["db"].name, user=APP, autocommit=True) as c:
        c.execute(PLANT)
    yield fleet
    with fleet["db"].connect() as admin:
        admin.execute("DROP FUNCTION IF EXISTS public.lower(varchar)")
        admin.execute("REVOKE CREATE ON SCHEMA public FROM PUBLIC")
        admin.execute("DROP TABLE public.planted_ran")
        admin.execute("DROP TABLE IF EXISTS public.shared_states")


F6_CALLS = [
    "SELECT * FROM stash.tenant_migrate('globex')",
    "SELECT * FROM stash.tenant_verify('acme')",
    "SELECT stash.tenant_create('initech')",
    "SELECT stash.tenant_clone('acme', 'acme2')",
    "SELECT * FROM stash.shared_migrate()",
]


@pytest.mark.parametrize("call", F6_CALLS)
def test_f6_no_migration_path_runs_on_a_schema_others_can_plant_in(public_writable, call):
    group = public_writable["group"]
    with public_writable["db"].connect() as admin:
        ran = lambda: admin.execute("SELECT count(*) FROM public.planted_ran").fetchone()[0]  # noqa: E731
        with pytest.raises(E.InsufficientPrivilege, match='shared schema "public" is writable by PUBLIC'):
            admin.execute(call)
        assert ran() == 0
        # revoked, but what was planted while it was writable is still there
        admin.execute("REVOKE CREATE ON SCHEMA public FROM PUBLIC")
        with pytest.raises(E.InsufficientPrivilege, match=r"holds function public\.lower\(character varying\), owned by role app_wall"):
            admin.execute(call)
        assert ran() == 0
        admin.execute("DROP FUNCTION public.lower(varchar)")
        # the tenant group role (every tenant role is a member) is a lower-privileged role too
        admin.execute(f'GRANT CREATE ON SCHEMA public TO "{group}"')
        with pytest.raises(E.InsufficientPrivilege, match=f'is writable by role "?{group}'):
            admin.execute(call)
        admin.execute(f'REVOKE CREATE ON SCHEMA public FROM "{group}"')
        assert ran() == 0
        admin.execute(call)  # a clean path: it runs
        admin.execute("GRANT CREATE ON SCHEMA public TO PUBLIC")  # for the fixture's teardown
        for slug in ("initech", "acme2"):
            admin.execute("SELECT stash.tenant_drop(%s, force => true) FROM stash.tenants WHERE slug = %s",
                          (slug, slug))


# ---- F7: nobody holds the fleet up -----------------------------------------------------------

def test_f7_an_advisory_lock_does_not_hold_shared_migrate(fleet):
    with psycopg.connect(dbname=fleet["db"].name, user=APP, autocommit=True) as c:
        c.execute("SELECT pg_advisory_lock(hashtext('stash.shared_migrate'))")
        with pytest.raises(E.InsufficientPrivilege):
            with c.transaction():
                c.execute("LOCK TABLE stash.migrations IN SHARE UPDATE EXCLUSIVE MODE")
        with fleet["db"].connect() as admin:
            admin.execute("SET statement_timeout = '20s'")
            row = admin.execute("SELECT status FROM stash.shared_migrate()").fetchone()
            assert row == ("up_to_date",)


def test_f7_shared_migrate_waits_for_another_one_at_most_its_lock_timeout(fleet):
    with fleet["db"].connect() as a, fleet["db"].connect() as b:
        a.execute("BEGIN")
        a.execute("SELECT * FROM stash.shared_migrate()")
        b.execute("SET lock_timeout = '300ms'")
        t0 = time.monotonic()
        with pytest.raises(E.LockNotAvailable) as e:
            b.execute("SELECT * FROM stash.shared_migrate()")
        assert time.monotonic() - t0 < 10
        assert "another stash.shared_migrate() holds" in (e.value.diag.context or "")
        a.execute("ROLLBACK")


def test_f7_a_tenant_holding_a_lock_cannot_stall_stash_migrate(fleet, stash_bin):
    with fleet["db"].connect() as admin:
        for slug in ("initech", "hooli"):
            admin.execute("SELECT stash.tenant_create(%s)", (slug,))
        admin.execute("SELECT stash.migration_add(2, 'col', 'ALTER TABLE orders ADD COLUMN note text')")
    holder = psycopg.connect(dbname=fleet["db"].name, user=APP, autocommit=True)
    try:
        holder.execute("BEGIN")
        holder.execute("SELECT stash.tenant_enter('acme')")
        holder.execute("SELECT * FROM orders")
        env = {"PGDATABASE": fleet["db"].name, "PATH": "/usr/bin:/bin"}
        env.update({k: os.environ[k] for k in ("PGHOST", "PGPORT", "PGUSER")})
        t0 = time.monotonic()
        r = subprocess.run([stash_bin, "migrate", "--lock-timeout", "1s"], capture_output=True,
                           text=True, env=env, timeout=120)
        took = time.monotonic() - t0
    finally:
        holder.close()
    assert r.returncode == 1, r.stdout + r.stderr
    assert took < 60
    assert "3 tenant(s) migrated" in r.stdout, r.stdout
    assert "failed acme" in r.stdout and "lock timeout" in r.stdout, r.stdout
    with fleet["db"].connect() as admin:
        assert dict(admin.execute("SELECT slug, current_version FROM stash.tenant_status").fetchall()) \
            == {"acme": 1, "globex": 2, "initech": 2, "hooli": 2}
        for slug in ("initech", "hooli"):
            admin.execute("SELECT stash.tenant_drop(%s, force => true)", (slug,))


# ---- F8: integrity and hygiene ---------------------------------------------------------------

def test_f8_an_edited_migration_is_refused_everywhere(fleet):
    with fleet["db"].connect() as admin:
        admin.execute("SELECT stash.migration_add(2, 'col', 'ALTER TABLE orders ADD COLUMN note text')")
        admin.execute("SELECT * FROM stash.tenant_migrate('acme')")
        admin.execute("UPDATE stash.migrations SET up_sql = up_sql || '; CREATE TABLE backdoor (x int)' "
                      "WHERE version = 2")
        with pytest.raises(E.DataCorrupted, match="does not match its checksum"):
            admin.execute("SELECT * FROM stash.tenant_migrate('globex')")
        with pytest.raises(E.DataCorrupted):
            admin.execute("SELECT stash.tenant_create('initech')")
        with pytest.raises(E.ObjectNotInPrerequisiteState) as e:  # the source is unverifiable
            admin.execute("SELECT stash.tenant_clone('acme', 'acme2')")
        assert "does not match its checksum" in e.value.diag.message_detail
        verdict = admin.execute("SELECT status, differences FROM stash.tenant_verify('acme')").fetchone()
        assert verdict[0] == "unverifiable" and "does not match its checksum" in verdict[1][0]
        assert admin.execute("SELECT to_regclass('tenant_globex.backdoor')").fetchone()[0] is None
        admin.execute("UPDATE stash.migrations SET up_sql = 'ALTER TABLE orders ADD COLUMN note text' "
                      "WHERE version = 2")
        assert admin.execute("SELECT status FROM stash.tenant_migrate('globex')").fetchone()[0] == "ok"


def test_f8_clone_with_seed_rows_in_a_unique_table(fleet):
    with fleet["db"].connect() as admin:
        admin.execute("SELECT stash.migration_add(2, 'plans', $$"
                      "CREATE TABLE plans (code text PRIMARY KEY, price int);"
                      "INSERT INTO plans VALUES ('free', 0), ('pro', 10)$$)")
        admin.execute("SELECT * FROM stash.tenant_migrate('acme')")
        admin.execute("UPDATE tenant_acme.plans SET price = 12 WHERE code = 'pro'")
        admin.execute("DELETE FROM tenant_acme.plans WHERE code = 'free'")
        admin.execute("SELECT stash.tenant_clone('acme', 'acme2')")
        assert admin.execute("SELECT * FROM tenant_acme2.plans").fetchall() == [("pro", 12)]
        assert admin.execute("SELECT * FROM tenant_acme2.orders").fetchall() == [(1, "acme-secret")]
        admin.execute("SELECT stash.tenant_drop('acme2', force => true)")


def test_f8_a_cancelled_migration_carries_no_backtrace(fleet):
    """The test cluster runs with RUST_BACKTRACE=1 (scripts/pg.sh), the setting under
    which 0.2.0 put a Rust backtrace with build paths into DETAIL."""
    with fleet["db"].connect() as admin:
        admin.execute("SELECT stash.migration_add(2, 'slow', 'SELECT pg_sleep(5)', scope => 'shared')")
        admin.execute("SET statement_timeout = '200ms'")
        with pytest.raises(E.QueryCanceled) as e:
            admin.execute("SELECT * FROM stash.shared_migrate()")
        detail = e.value.diag.message_detail or ""
        assert ".rs:" not in detail and "backtrace" not in detail.lower(), detail
        admin.execute("RESET statement_timeout")
        admin.execute("SELECT stash.migration_remove(2)")
