"""ALTER EXTENSION stash_tenancy UPDATE, proven: a database of the released 0.1.0 (a real
pg_dump of one, tests/upgrade/) is restored with the NEW library and updated; a second
database gets a fresh CREATE EXTENSION.  Their extension catalogs must be identical, every
row must survive the update, and the tenants must keep working afterwards.

If an upgrade script misses a change that the fresh install script has (a function, a
grant, a column, a comment, a changed definition), test_upgrade_matches_fresh_install
fails and prints the difference."""
import difflib
import os
import re
import subprocess
import uuid

import psycopg
import pytest

from conftest import bin_path, connect

HERE = os.path.dirname(__file__)
ROOT = os.path.join(HERE, "..", "..")
DUMP = os.path.join(ROOT, "tests", "upgrade", "stash_tenancy-0.1.0.dump.sql")
# the one psql of scripts/pg.sh (PostgreSQL 15's), whichever route installed it
PSQL = os.environ.get("PSQL", "psql")
OLD = "0.1.0"


def library_version():
    with open(os.path.join(ROOT, "Cargo.toml")) as f:
        return re.search(r'^version = "([^"]+)"', f.read(), re.M).group(1)


NEW = library_version()


def new_database():
    name = "up_" + uuid.uuid4().hex[:12]
    with connect("postgres") as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    return name


def drop_database(name):
    with connect("postgres") as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def restore_old_dump(name):
    """The 0.1.0 dump, restored as an operator would, except that CREATE EXTENSION names
    the version the dump was made with (pg_dump omits it)."""
    with open(DUMP) as f:
        dump = f.read()
    create = "CREATE EXTENSION IF NOT EXISTS stash_tenancy WITH SCHEMA stash;"
    assert create in dump
    dump = dump.replace(create, f"CREATE EXTENSION stash_tenancy WITH SCHEMA stash VERSION '{OLD}';")
    subprocess.run([PSQL, "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", name],
                   input=dump, text=True, check=True, capture_output=True)


@pytest.fixture
def upgraded():
    """(old database restored from the 0.1.0 dump, then updated; rows before the update)."""
    name = new_database()
    try:
        restore_old_dump(name)
        with connect(name) as conn:
            assert extversion(conn) == OLD
            before = table_rows(conn)
            conn.execute("ALTER EXTENSION stash_tenancy UPDATE")
            assert extversion(conn) == NEW
        yield name, before
    finally:
        drop_database(name)


@pytest.fixture
def fresh():
    name = new_database()
    try:
        with connect(name) as conn:
            conn.execute("CREATE EXTENSION stash_tenancy")
        yield name
    finally:
        drop_database(name)


def extversion(conn):
    return conn.execute(
        "SELECT extversion FROM pg_extension WHERE extname = 'stash_tenancy'").fetchone()[0]


TABLES = ["tenants", "events", "migrations", "ledger", "migration_failures"]


def table_rows(conn):
    """Every row of the extension's tables, as JSON, per table."""
    return {
        t: conn.execute(f"SELECT to_jsonb(x) FROM stash.{t} x ORDER BY to_jsonb(x)::text").fetchall()
        for t in TABLES
    }


# One query per kind of object; each row is a line of the description.  Objects are the
# extension's members plus anything else in schema stash (an upgrade script that creates
# an object outside the extension would otherwise slip through).
DESCRIBE = {
    "members": """
        SELECT pg_describe_object(d.classid, d.objid, d.objsubid)
          FROM pg_depend d JOIN pg_extension e ON d.refobjid = e.oid
         WHERE d.refclassid = 'pg_extension'::regclass AND e.extname = 'stash_tenancy'
           AND d.deptype = 'e'""",
    "functions": """
        SELECT p.oid::regprocedure::text || E'\n' ||
               CASE WHEN p.prokind = 'a' THEN 'aggregate' ELSE pg_get_functiondef(p.oid) END ||
               E'\nowner ' || p.proowner::regrole::text ||
               E'\nacl ' || coalesce((SELECT string_agg(a::text, ' ' ORDER BY a::text)
                                        FROM unnest(p.proacl) a), 'default') ||
               E'\ncomment ' || coalesce(obj_description(p.oid, 'pg_proc'), '-') ||
               E'\ncost ' || p.procost || ' rows ' || p.prorows
          FROM pg_proc p WHERE p.pronamespace = 'stash'::regnamespace""",
    "relations": """
        SELECT c.oid::regclass::text || ' kind ' || c.relkind::text || ' persistence ' || c.relpersistence::text ||
               ' owner ' || c.relowner::regrole::text ||
               ' rls ' || c.relrowsecurity || '/' || c.relforcerowsecurity ||
               ' options ' || coalesce(c.reloptions::text, '-') ||
               ' acl ' || coalesce((SELECT string_agg(a::text, ' ' ORDER BY a::text)
                                      FROM unnest(c.relacl) a), 'default') ||
               ' comment ' || coalesce(obj_description(c.oid, 'pg_class'), '-')
          FROM pg_class c WHERE c.relnamespace = 'stash'::regnamespace""",
    # in column order: a column an upgrade appends must be appended in the fresh
    # install's CREATE TABLE too, so SELECT * looks the same on both
    "columns": """
        SELECT a.attrelid::regclass::text || ' #' ||
               row_number() OVER (PARTITION BY a.attrelid ORDER BY a.attnum) || ' ' ||
               a.attname || ' ' || format_type(a.atttypid, a.atttypmod) ||
               CASE WHEN a.attnotnull THEN ' not null' ELSE '' END ||
               coalesce(' default ' || pg_get_expr(ad.adbin, ad.adrelid), '') ||
               CASE a.attidentity WHEN '' THEN '' ELSE ' identity ' || a.attidentity::text END ||
               CASE a.attgenerated WHEN '' THEN '' ELSE ' generated ' || a.attgenerated::text END ||
               coalesce(' collate ' || NULLIF(a.attcollation, 0)::regcollation::text, '') ||
               coalesce(' acl ' || a.attacl::text, '') ||
               coalesce(' comment ' || col_description(a.attrelid, a.attnum), '')
          FROM pg_attribute a
          JOIN pg_class c ON c.oid = a.attrelid
          LEFT JOIN pg_attrdef ad ON ad.adrelid = a.attrelid AND ad.adnum = a.attnum
         WHERE c.relnamespace = 'stash'::regnamespace AND a.attnum > 0 AND NOT a.attisdropped""",
    "constraints": """
        SELECT conrelid::regclass::text || ' ' || conname || ' ' || pg_get_constraintdef(oid)
          FROM pg_constraint WHERE connamespace = 'stash'::regnamespace""",
    "indexes": """
        SELECT pg_get_indexdef(i.indexrelid) FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
         WHERE c.relnamespace = 'stash'::regnamespace""",
    "triggers": """
        SELECT pg_get_triggerdef(t.oid) || ' enabled ' || t.tgenabled::text
          FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
         WHERE c.relnamespace = 'stash'::regnamespace AND NOT t.tgisinternal""",
    "policies": """
        SELECT schemaname || '.' || tablename || ' ' || policyname || ' ' || permissive || ' ' ||
               roles::text || ' ' || cmd || ' ' || coalesce(qual, '-') || ' ' || coalesce(with_check, '-')
          FROM pg_policies WHERE schemaname = 'stash'""",
    "views": """
        SELECT c.oid::regclass::text || E'\n' || pg_get_viewdef(c.oid)
          FROM pg_class c WHERE c.relnamespace = 'stash'::regnamespace AND c.relkind IN ('v', 'm')""",
    "sequences": """
        SELECT s.seqrelid::regclass::text || ' ' || format_type(s.seqtypid, NULL) || ' ' ||
               s.seqstart || ' ' || s.seqincrement || ' ' || s.seqmax || ' ' || s.seqmin || ' ' ||
               s.seqcache || ' ' || s.seqcycle
          FROM pg_sequence s JOIN pg_class c ON c.oid = s.seqrelid
         WHERE c.relnamespace = 'stash'::regnamespace""",
    "types": """
        SELECT t.oid::regtype::text || ' ' || t.typtype::text || ' owner ' || t.typowner::regrole::text ||
               coalesce(' comment ' || obj_description(t.oid, 'pg_type'), '')
          FROM pg_type t WHERE t.typnamespace = 'stash'::regnamespace""",
    "schema": """
        SELECT n.nspname || ' owner ' || n.nspowner::regrole::text || ' acl ' ||
               coalesce((SELECT string_agg(a::text, ' ' ORDER BY a::text) FROM unnest(n.nspacl) a),
                        'default') ||
               ' comment ' || coalesce(obj_description(n.oid, 'pg_namespace'), '-')
          FROM pg_namespace n WHERE n.nspname = 'stash'""",
    "extension": """
        SELECT 'version ' || e.extversion || ' relocatable ' || e.extrelocatable ||
               ' schema ' || e.extnamespace::regnamespace::text
          FROM pg_extension e WHERE e.extname = 'stash_tenancy'""",
    # pg_extension_config_dump: which tables pg_dump dumps the rows of, with which filter
    "extconfig": """
        SELECT c.cfg::regclass::text || ' ' || coalesce(c.cond, '-')
          FROM pg_extension e, unnest(e.extconfig, e.extcondition) AS c(cfg, cond)
         WHERE e.extname = 'stash_tenancy'""",
    "default_privileges": """
        SELECT defaclrole::regrole::text || ' ' || coalesce(defaclnamespace::regnamespace::text, '*') ||
               ' ' || defaclobjtype::text || ' ' || defaclacl::text
          FROM pg_default_acl WHERE defaclnamespace IN (0, 'stash'::regnamespace)""",
    "event_triggers": """
        SELECT evtname || ' ' || evtevent || ' ' || evtfoid::regproc::text || ' ' || evtenabled::text ||
               ' ' || coalesce(evttags::text, '-')
          FROM pg_event_trigger""",
}


def describe(dbname):
    """Every line of the description, under its kind; sorted, so object order (oids) and
    the order in which scripts created things do not matter."""
    lines = []
    with connect(dbname) as conn:
        for kind, sql in DESCRIBE.items():
            rows = sorted(r[0] for r in conn.execute(sql).fetchall())
            lines += [f"{kind}: {line}" for row in rows for line in row.splitlines()]
    dump = subprocess.run([bin_path("pg_dump"), "-s", "-n", "stash", "-d", dbname],
                          check=True, capture_output=True, text=True).stdout
    # \restrict / \unrestrict carry a random key per run
    lines += ["pg_dump: " + l for l in dump.splitlines() if not l.startswith(("\\restrict", "\\unrestrict"))]
    return lines


def test_upgrade_matches_fresh_install(upgraded, fresh):
    old, _ = upgraded
    a, b = describe(old), describe(fresh)
    diff = list(difflib.unified_diff(b, a, "fresh CREATE EXTENSION", f"{OLD} + ALTER EXTENSION UPDATE",
                                     lineterm="", n=1))
    assert not diff, "the upgraded extension differs from a fresh install:\n" + "\n".join(diff[:200])


def test_every_row_survives_the_update(upgraded):
    name, before = upgraded
    with connect(name) as conn:
        after = table_rows(conn)
    for table in TABLES:
        assert len(before[table]) == len(after[table]), table
        # every old column keeps its value; new columns may be added
        old = sorted(json_sorted(r[0]) for r in before[table])
        new = sorted(json_sorted({k: r[0][k] for k in before_keys(before[table])}) for r in after[table])
        assert old == new, table
    assert len(before["tenants"]) == 3 and len(before["ledger"]) > 0
    assert len(before["migration_failures"]) == 1 and len(before["events"]) > 5


def before_keys(rows):
    return set().union(*(r[0].keys() for r in rows)) if rows else set()


def json_sorted(obj):
    import json
    return json.dumps(obj, sort_keys=True)


def test_updated_tenants_keep_working(upgraded):
    name, _ = upgraded
    with connect(name) as conn:
        status = dict(conn.execute(
            "SELECT slug, current_version FROM stash.tenant_status").fetchall())
        assert status == {"acme": 3, "globex": 2, "initech": 3}
        with conn.transaction():
            conn.execute("SELECT stash.tenant_enter('acme')")
            assert conn.execute("SELECT email FROM customers ORDER BY id").fetchall() == [
                ("ann@acme.test",), ("bob@acme.test",)]
            assert conn.execute("SELECT note, discount_cents FROM orders").fetchall() == [("first", 0)]
            assert conn.execute("SELECT count(*) FROM countries").fetchone()[0] == 2
        with pytest.raises(psycopg.errors.ObjectNotInPrerequisiteState):
            with conn.transaction():
                conn.execute("SELECT stash.tenant_enter('initech')")
        # globex's failure is still on record, and fixing the cause lets it through
        assert "already exists" in conn.execute(
            "SELECT last_error FROM stash.tenant_status WHERE slug = 'globex'").fetchone()[0]
        with conn.transaction():
            conn.execute("SELECT stash.tenant_enter('globex')")
            conn.execute("ALTER TABLE orders DROP COLUMN discount_cents")
        conn.execute("SELECT stash.migration_add(4, 'orders_shipped_at', "
                     "'ALTER TABLE orders ADD COLUMN shipped_at timestamptz')")
        conn.execute("CALL stash.migrate_all()")
        assert dict(conn.execute(
            "SELECT slug, current_version FROM stash.tenant_status").fetchall()) == {
                "acme": 4, "globex": 4, "initech": 4}
        # the update gave every existing tenant its role; an application role registered
        # afterwards enters through it and sees only its tenant
        roles = conn.execute("SELECT slug, stash.tenant_role(slug)::text, "
                             "EXISTS (SELECT FROM pg_roles WHERE rolname = stash.tenant_role(slug)) "
                             "FROM stash.tenants ORDER BY slug").fetchall()
        assert [r[2] for r in roles] == [True, True, True], roles
        conn.execute("DROP ROLE IF EXISTS upgrade_app")
        conn.execute("CREATE ROLE upgrade_app")
        conn.execute("SELECT stash.app_role_add('upgrade_app')")
        with conn.transaction():
            conn.execute("SET LOCAL ROLE upgrade_app")
            conn.execute("SELECT stash.tenant_enter('acme')")
            assert conn.execute("SELECT count(*) FROM customers").fetchone()[0] == 2
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute("SELECT count(*) FROM tenant_globex.customers")
        conn.execute("SELECT stash.app_role_remove('upgrade_app')")
        conn.execute("DROP ROLE upgrade_app")
        conn.execute("SELECT stash.tenant_create('newco')")
        conn.execute("SELECT stash.tenant_drop('globex')")
        assert [r[0] for r in conn.execute("SELECT slug FROM stash.tenant_list ORDER BY 1")] == [
            "acme", "initech", "newco"]
        assert conn.execute("SELECT count(*) FROM pg_namespace WHERE nspname = 'tenant_globex'"
                            ).fetchone()[0] == 0


def test_old_schema_with_new_library_is_refused_until_updated():
    """The library is newer than the database's extension: every function that reads the
    registry refuses with 55000 and the command that fixes it, and changes nothing."""
    name = new_database()
    try:
        restore_old_dump(name)
        with connect(name) as conn:
            for sql in ["SELECT stash.tenant_create('evil')",
                        "SELECT stash.tenant_suspend('acme')",
                        "SELECT * FROM stash.tenant_migrate()"]:
                with pytest.raises(psycopg.errors.ObjectNotInPrerequisiteState) as e:
                    conn.execute(sql)
                assert f"library is version {NEW}" in e.value.diag.message_primary
                assert "ALTER EXTENSION stash_tenancy UPDATE" in e.value.diag.message_hint
            with pytest.raises(psycopg.errors.ObjectNotInPrerequisiteState):
                with conn.transaction():
                    conn.execute("SELECT stash.tenant_enter('acme')")
            assert conn.execute("SELECT count(*) FROM stash.tenants").fetchone()[0] == 3
            assert conn.execute("SELECT status FROM stash.tenants WHERE slug = 'acme'").fetchone()[0] == "active"
            conn.execute("ALTER EXTENSION stash_tenancy UPDATE")
        # a new session (the old one may have cached nothing; be explicit)
        with connect(name) as conn:
            with conn.transaction():
                conn.execute("SELECT stash.tenant_enter('acme')")
                assert conn.execute("SELECT stash.current_tenant()").fetchone()[0] == "acme"
    finally:
        drop_database(name)


def test_old_install_script_finds_every_symbol_it_names():
    """CREATE EXTENSION ... VERSION '0.1.0' with check_function_bodies on (the default)
    makes PostgreSQL look up every C symbol of the 0.1.0 script in the new library."""
    with open(os.path.join(ROOT, "sql", f"stash_tenancy--{OLD}.sql")) as f:
        symbols = set(re.findall(r"AS 'MODULE_PATHNAME', '(\w+)'", f.read()))
    assert len(symbols) > 15
    name = new_database()
    try:
        with connect(name) as conn:
            assert conn.execute("SHOW check_function_bodies").fetchone()[0] == "on"
            conn.execute(f"CREATE EXTENSION stash_tenancy VERSION '{OLD}'")
            found = {r[0] for r in conn.execute(
                "SELECT prosrc FROM pg_proc WHERE pronamespace = 'stash'::regnamespace AND prolang = "
                "(SELECT oid FROM pg_language WHERE lanname = 'c')")}
            assert symbols <= found
    finally:
        drop_database(name)
