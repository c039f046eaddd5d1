"""ALTER EXTENSION stash_tenancy UPDATE, proven from every released version.

Each released version (sql/RELEASES) starts under its REAL library: scripts/old_release.sh
builds it from its commit, scripts/test.sh passes its path (STASH_RELEASED_LIBS), and the
test installs it into the server's pkglibdir the way a package manager does (a copy beside
stash_tenancy.so, renamed over it), creates the extension at that version and fills the
database under it (tests/upgrade/state-VERSION.sql), then renames the new library back and
updates.  A 0.1.0 database is also restored from a real pg_dump (tests/upgrade/) with the
NEW library, as UPDATING.md tells an operator who rolls back.  A second database gets a
fresh CREATE EXTENSION.  Their extension catalogs must be identical, every row of the
extension's tables must survive the update, and the tenants must keep working afterwards.
Before the update, the new library refuses to work on the old schema (55000).

If an upgrade script misses a change that the fresh install script has (a function, a
grant, a column, a comment, a changed definition), test_upgrade_matches_fresh_install
fails and prints the difference."""
import contextlib
import difflib
import filecmp
import json
import os
import re
import shutil
import subprocess
import time
import uuid

import jwt
import psycopg
import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from conftest import RUN_DIR, bin_path, connect

HERE = os.path.dirname(__file__)
ROOT = os.path.join(HERE, "..", "..")
DUMP = os.path.join(ROOT, "tests", "upgrade", "stash_tenancy-0.1.0.dump.sql")
# the one psql of scripts/pg.sh (PostgreSQL 15's), whichever route installed it
PSQL = os.environ.get("PSQL", "psql")
OLD = "0.1.0"
LIBRARY = "stash_tenancy.so"


def library_version():
    with open(os.path.join(ROOT, "Cargo.toml")) as f:
        return re.search(r'^version = "([^"]+)"', f.read(), re.M).group(1)


def released_versions():
    """sql/RELEASES: the released versions, oldest first (VERSION COMMIT per line)."""
    with open(os.path.join(ROOT, "sql", "RELEASES")) as f:
        return [line.split()[0] for line in f if line.split() and not line.startswith("#")]


NEW = library_version()
RELEASED = released_versions()


def new_database():
    name = "up_" + uuid.uuid4().hex[:12]
    with connect("postgres") as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    return name


def drop_database(name):
    """Drops the database and the roles it made: the tenant roles and the group role
    (0.2.0 and later, or updated to it) and those tests/upgrade/state-*.sql created."""
    roles = []
    with contextlib.suppress(psycopg.OperationalError), connect(name) as conn:
        if conn.execute("SELECT to_regclass('stash.group_role') IS NOT NULL").fetchone()[0]:
            roles = [r[0] for r in conn.execute(
                "SELECT m.rolname FROM stash.group_role g JOIN pg_roles r ON r.rolname = g.role_name "
                "JOIN pg_auth_members a ON a.roleid = r.oid JOIN pg_roles m ON m.oid = a.member "
                "UNION ALL SELECT role_name FROM stash.group_role")]
    with connect("postgres") as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        for role in roles + STATE_ROLES:
            # tidying only: a role another live database still uses stays
            with contextlib.suppress(psycopg.errors.DependentObjectsStillExist):
                admin.execute(f'DROP ROLE IF EXISTS "{role}"')


def extversion(conn):
    return conn.execute(
        "SELECT extversion FROM pg_extension WHERE extname = 'stash_tenancy'").fetchone()[0]


def loaded_version(dbname):
    """stash.version() in a new backend: the version of the library a backend loads now
    (it reads no registry, so it answers whatever the schema's version)."""
    with connect(dbname) as conn:
        return conn.execute("SELECT stash.version()").fetchone()[0]


# ---- the released libraries, swapped in and out ------------------------------------------

def released_library(version):
    """The path of VERSION's real library for the PostgreSQL under test, from scripts/test.sh
    (STASH_RELEASED_LIBS="0.1.0=/path 0.2.0=/path", made by scripts/old_release.sh).  Not
    there is a failure, never a skip: without it nothing here proves an update works."""
    def parse(var):
        return dict(item.split("=", 1) for item in os.environ.get(var, "").split() if "=" in item)
    so = parse("STASH_RELEASED_LIBS").get(version)
    if so and os.path.isfile(so):
        return so
    log = parse("STASH_RELEASED_ERRORS").get(version)
    if log and os.path.isfile(log):
        with open(log, errors="replace") as f:
            tail = "".join(f.readlines()[-30:])
        pytest.fail(f"stash_tenancy {version}'s library could not be built "
                    f"(scripts/old_release.sh {version} {os.environ.get('STASH_PG_MAJOR', '?')}):\n{tail}")
    pytest.fail(f"no library of stash_tenancy {version} ({so or 'STASH_RELEASED_LIBS does not name it'}): "
                "run the suite through scripts/test.sh, or set STASH_RELEASED_LIBS=\"VERSION=PATH ...\" "
                "with the paths scripts/old_release.sh VERSION PGMAJOR prints")


def pkglibdir():
    """Where the server under test loads $libdir/stash_tenancy.so from (its own pg_config)."""
    with connect("postgres") as conn:
        return conn.execute("SELECT setting FROM pg_config WHERE name = 'PKGLIBDIR'").fetchone()[0]


def install_library(src, target):
    """Puts SRC at TARGET as a package manager does: a copy in the same directory, renamed
    over TARGET.  A backend that mapped the previous file keeps running it (the old inode);
    copying into TARGET in place would rewrite the pages such backends execute and crash
    them.  Backends that start afterwards load SRC's copy."""
    st = os.stat(target)
    tmp = os.path.join(os.path.dirname(target), f".{LIBRARY}.upgrade-test-{os.getpid()}")
    try:
        shutil.copy2(src, tmp)   # with its modification time: the new one comes back unchanged
        os.chmod(tmp, st.st_mode & 0o7777)
        os.chown(tmp, st.st_uid, st.st_gid)
        os.rename(tmp, target)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)


@pytest.fixture(scope="module")
def new_library():
    """A copy of the library installed for this run (the new one), made before any swap,
    after checking that it is the new one: a test killed inside a swap would have left an
    old library installed."""
    target = os.path.join(pkglibdir(), LIBRARY)
    os.makedirs(RUN_DIR, exist_ok=True)
    keep = os.path.join(RUN_DIR, f"{LIBRARY}.new-{os.getpid()}")
    shutil.copy2(target, keep)
    name = new_database()
    try:
        with connect(name) as conn:
            conn.execute("CREATE EXTENSION stash_tenancy")
        found = loaded_version(name)
    finally:
        drop_database(name)
    assert found == NEW, (f"{target} is stash_tenancy {found}, not {NEW}: an interrupted upgrade test "
                          "left an old library installed? Install this checkout's again (make install)")
    yield keep
    os.unlink(keep)


@contextlib.contextmanager
def library_swapped(so, new_copy):
    """The library at SO is the server's stash_tenancy.so inside the block; afterwards the
    new one is again, whatever happened.  Only backends started inside the block load it:
    open new connections after entering and after leaving."""
    target = os.path.join(pkglibdir(), LIBRARY)
    install_library(so, target)
    try:
        yield
    finally:
        install_library(new_copy, target)
        assert filecmp.cmp(new_copy, target, shallow=False), f"{target} was not restored"


# ---- databases at a released version -------------------------------------------------------

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


# the cluster-wide roles tests/upgrade/state-*.sql create (drop_database drops them)
STATE_ROLES = ["stash_up_web", "stash_up_api"]


def fill_under_release(name, version, new_copy):
    """The database NAME at VERSION, made and used under VERSION's real library:
    CREATE EXTENSION ... VERSION, then tests/upgrade/state-VERSION.sql through psql."""
    state = os.path.join(ROOT, "tests", "upgrade", f"state-{version}.sql")
    with open(state) as f:
        script = f.read()
    create = "CREATE EXTENSION stash_tenancy;\n"
    assert script.count(create) == 1, state
    # the state file's own CREATE EXTENSION is replaced by one that names the version (the
    # default version of the installed control file is the new one); the last line says
    # which library the backend that wrote the data had loaded
    script = script.replace(create, "") + "\nSELECT 'library ' || stash.version() AS loaded;\n"
    with open(os.path.join(ROOT, "tests", "fixtures", "commerce.sql")) as f:
        commerce = f.read()
    with library_swapped(released_library(version), new_copy):
        with connect(name) as conn:
            conn.execute(f"CREATE EXTENSION stash_tenancy VERSION '{version}'")
            assert extversion(conn) == version
            assert conn.execute("SELECT stash.version()").fetchone()[0] == version, \
                "the swapped-in library is not the released one"
        done = subprocess.run([PSQL, "-X", "-q", "-At", "-v", "ON_ERROR_STOP=1", "-v", f"commerce={commerce}",
                               "-d", name], input=script, text=True, capture_output=True)
        assert done.returncode == 0, f"{state} under the {version} library:\n{done.stdout}{done.stderr}"
        assert done.stdout.rstrip().endswith(f"library {version}"), done.stdout[-500:]
    assert loaded_version(name) == NEW


# Where each old database comes from: a released version's real library, or (0.1.0) the
# pg_dump made under it at the release, restored with the new library.
SOURCES = [f"{v}-library" for v in RELEASED] + [f"{OLD}-dump"]


@pytest.fixture(params=SOURCES)
def old_db(request, new_library):
    """(database at a released version, that version, every row of its tables) — not
    updated; the new library is installed again."""
    version, how = request.param.split("-")
    name = new_database()
    try:
        if how == "dump":
            restore_old_dump(name)
        else:
            fill_under_release(name, version, new_library)
        with connect(name) as conn:
            assert extversion(conn) == version
            before = table_rows(conn)
        yield name, version, before
    finally:
        drop_database(name)


@pytest.fixture
def upgraded(old_db):
    """(old database, then updated under the new library; rows before the update)."""
    name, version, before = old_db
    with connect(name) as conn:   # a new backend: the new library
        conn.execute("ALTER EXTENSION stash_tenancy UPDATE")
        assert extversion(conn) == NEW
    return name, before


@pytest.fixture
def fresh():
    name = new_database()
    try:
        with connect(name) as conn:
            conn.execute("CREATE EXTENSION stash_tenancy")
        yield name
    finally:
        drop_database(name)


# the extension's tables whose rows are the users' (0.1.0 had these; later versions add)
TABLES = ["tenants", "events", "migrations", "ledger", "migration_failures"]


def config_tables(conn):
    """The tables pg_dump dumps the rows of (pg_extension_config_dump), by name."""
    tables = [r[0] for r in conn.execute(
        "SELECT c.relname FROM pg_extension e, unnest(e.extconfig) AS cfg JOIN pg_class c ON c.oid = cfg "
        "WHERE e.extname = 'stash_tenancy' AND c.relkind = 'r' ORDER BY 1")]
    assert set(TABLES) <= set(tables), tables
    return tables


def table_rows(conn, tables=None):
    """Every row of the extension's tables, as JSON, per table."""
    return {
        t: conn.execute(f"SELECT to_jsonb(x) FROM stash.{t} x ORDER BY to_jsonb(x)::text").fetchall()
        for t in (tables or config_tables(conn))
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
               E'\ncost ' || p.procost || ' rows ' || p.prorows ||
               E'\nsettings ' || coalesce(array_to_string(p.proconfig, ' '), '-')
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
            for row in sorted(r[0] for r in conn.execute(sql).fetchall()):
                # a row's later lines carry its first (the object's name), so that a
                # difference in an ACL or a body says whose
                head, *rest = row.splitlines() or [""]
                lines += [f"{kind}: {head}"] + [f"{kind} [{head}]: {line}" for line in rest]
    dump = subprocess.run([bin_path("pg_dump"), "-s", "-n", "stash", "-d", dbname],
                          check=True, capture_output=True, text=True).stdout
    # \restrict / \unrestrict carry a random key per run
    lines += ["pg_dump: " + l for l in dump.splitlines() if not l.startswith(("\\restrict", "\\unrestrict"))]
    return lines


def test_every_released_version_is_tested():
    """sql/RELEASES names exactly the versions whose install scripts are frozen in sql/,
    so a release cannot be added to one and forgotten in the other."""
    frozen = sorted(re.fullmatch(r"stash_tenancy--([^-]+)\.sql", f).group(1)
                    for f in os.listdir(os.path.join(ROOT, "sql"))
                    if re.fullmatch(r"stash_tenancy--([^-]+)\.sql", f))
    assert sorted(RELEASED) == frozen
    assert NEW not in RELEASED and OLD == RELEASED[0]
    for v in RELEASED:
        assert os.path.isfile(os.path.join(ROOT, "tests", "upgrade", f"state-{v}.sql")), v


def test_upgrade_matches_fresh_install(upgraded, fresh, request):
    old, _ = upgraded
    a, b = describe(old), describe(fresh)
    source = request.node.callspec.params["old_db"]
    diff = list(difflib.unified_diff(b, a, "fresh CREATE EXTENSION", f"{source} + ALTER EXTENSION UPDATE",
                                     lineterm="", n=1))
    assert not diff, "the upgraded extension differs from a fresh install:\n" + "\n".join(diff[:200])


# rows of the states tests/upgrade/ makes, per version: what the update must carry over
STATE_ROWS = {
    "0.1.0": {"tenants": 3, "migration_failures": 1},
    "0.2.0": {"tenants": 5, "migration_failures": 1, "migrations": 4, "app_role_registry": 2,
              "token_keys": 2, "pool_table_registry": 1, "group_role": 1},
}


def test_every_row_survives_the_update(upgraded, old_db):
    name, before = upgraded
    version = old_db[1]
    with connect(name) as conn:
        after = table_rows(conn, list(before))
    for table in before:
        assert len(before[table]) == len(after[table]), table
        # every old column keeps its value; new columns may be added
        old = sorted(json_sorted(r[0]) for r in before[table])
        new = sorted(json_sorted({k: r[0][k] for k in before_keys(before[table])}) for r in after[table])
        assert old == new, table
    assert len(before["ledger"]) > 0
    assert len(before["migration_failures"]) == 1 and len(before["events"]) > 5
    for table, n in STATE_ROWS[version].items():
        assert len(before[table]) == n, (table, before[table])


def before_keys(rows):
    return set().union(*(r[0].keys() for r in rows)) if rows else set()


def json_sorted(obj):
    return json.dumps(obj, sort_keys=True)


def fix_globex_and_migrate(conn):
    """The states' failed tenant: its blocking column dropped by hand, then a new migration
    (4) over the whole fleet, which takes globex through its failed version too."""
    with conn.transaction():
        conn.execute("SELECT stash.tenant_enter('globex')")
        conn.execute("ALTER TABLE orders DROP COLUMN discount_cents")
    conn.execute("SELECT stash.migration_add(4, 'orders_shipped_at', "
                 "'ALTER TABLE orders ADD COLUMN shipped_at timestamptz')")
    conn.execute("CALL stash.migrate_all()")


@pytest.mark.parametrize("old_db", [s for s in SOURCES if s.startswith(OLD)], indirect=True)
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
        fix_globex_and_migrate(conn)
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


# tests/upgrade/state-0.2.0.sql's token keys: the HS256 secret, and the EC key whose public
# half it registered
HS_SECRET = "upgrade-fixture-hs256-secret-0123456789abcdef"
ES_KEY = ec.derive_private_key(0x5eed2020, ec.SECP256R1())


def token(slug, kid, key, alg):
    return jwt.encode({"tenant": slug, "exp": int(time.time()) + 300}, key, algorithm=alg,
                      headers={"kid": kid})


@pytest.mark.parametrize("old_db", ["0.2.0-library"], indirect=True)
def test_updated_020_tenants_keep_working(upgraded):
    """What 0.2.0 users set up — application roles, a token-only role and its keys, a pool
    table, the group role's grants, renamed/cloned/reset/suspended tenants, a failed
    migration — works the same after the update."""
    name, _ = upgraded
    E = psycopg.errors
    with connect(name) as conn:
        assert dict(conn.execute("SELECT slug, current_version FROM stash.tenant_status").fetchall()) == {
            "acme": 3, "acme_eu": 3, "globex": 2, "initech": 3, "piedpiper": 3}
        assert "already exists" in conn.execute(
            "SELECT last_error FROM stash.tenant_status WHERE slug = 'globex'").fetchone()[0]
        assert dict(conn.execute("SELECT slug, status FROM stash.tenants").fetchall())["initech"] == "suspended"

        # the web application's role enters by slug and gets that tenant's rights only:
        # its tables, its rows of the pool table, the shared table granted to the group role
        acme_role = conn.execute("SELECT stash.tenant_role('acme')").fetchone()[0]
        with conn.transaction():
            conn.execute("SET LOCAL ROLE stash_up_web")
            conn.execute("SELECT stash.tenant_enter('acme')")
            assert conn.execute("SELECT current_user").fetchone()[0] == acme_role
            assert conn.execute("SELECT count(*) FROM customers").fetchone()[0] == 2
            assert [r[0] for r in conn.execute("SELECT body FROM notes ORDER BY id")] == [
                "acme: call Ann back", "acme: ship order 1"]
            assert conn.execute("SELECT count(*) FROM countries").fetchone()[0] == 2
            conn.execute("INSERT INTO notes (body) VALUES ('acme: after the update')")
        with pytest.raises(E.InsufficientPrivilege):
            with conn.transaction():
                conn.execute("SET LOCAL ROLE stash_up_web")
                conn.execute("SELECT stash.tenant_enter('acme')")
                conn.execute("SELECT count(*) FROM tenant_globex.customers")
        with pytest.raises(E.ObjectNotInPrerequisiteState):
            with conn.transaction():
                conn.execute("SET LOCAL ROLE stash_up_web")
                conn.execute("SELECT stash.tenant_enter('initech')")

        # the API's role still enters by token only, with the keys registered under 0.2.0
        with pytest.raises(E.InsufficientPrivilege):
            with conn.transaction():
                conn.execute("SET LOCAL ROLE stash_up_api")
                conn.execute("SELECT stash.tenant_enter('acme')")
        for slug, kid, key, alg, notes in [
                ("acme", "hs-2026", HS_SECRET, "HS256", 3),
                ("globex", "es-2026", ES_KEY, "ES256", 1)]:
            with conn.transaction():
                conn.execute("SET LOCAL ROLE stash_up_api")
                conn.execute("SELECT stash.tenant_enter_token(%s)", (token(slug, kid, key, alg),))
                assert conn.execute("SELECT stash.current_tenant()").fetchone()[0] == slug
                assert conn.execute("SELECT count(*) FROM notes").fetchone()[0] == notes
        with pytest.raises(E.InvalidAuthorizationSpecification):   # the key removed under 0.2.0
            with conn.transaction():
                conn.execute("SET LOCAL ROLE stash_up_api")
                conn.execute("SELECT stash.tenant_enter_token(%s)", (
                    token("acme", "hs-2025", "a-rotated-out-hs256-secret-0123456789abcdef", "HS256"),))

        # the clone kept acme's rows (not its pool rows); the reset tenant is empty
        assert conn.execute("SELECT count(*) FROM tenant_acme_eu.customers").fetchone()[0] == 2
        assert conn.execute("SELECT count(*) FROM tenant_piedpiper.customers").fetchone()[0] == 0

        # the failure is fixed, the fleet migrated (the suspended tenant too), all verified
        fix_globex_and_migrate(conn)
        assert set(r[0] for r in conn.execute("SELECT current_version FROM stash.tenant_status")) == {4}
        assert conn.execute("SELECT count(*) FROM stash.tenant_status WHERE last_error IS NOT NULL"
                            ).fetchone()[0] == 0
        assert {r[0]: r[1] for r in conn.execute("SELECT slug, status FROM stash.tenant_verify()")} == {
            s: "ok" for s in ("acme", "acme_eu", "globex", "initech", "piedpiper")}

        # new tenants come and go as before; a dropped tenant takes its pool rows along
        conn.execute("SELECT stash.tenant_create('newco')")
        with conn.transaction():
            conn.execute("SET LOCAL ROLE stash_up_web")
            conn.execute("SELECT stash.tenant_enter('newco')")
            conn.execute("INSERT INTO notes (body) VALUES ('newco: hello')")
            assert conn.execute("SELECT count(*) FROM notes").fetchone()[0] == 1
        globex_role = conn.execute("SELECT stash.tenant_role('globex')").fetchone()[0]
        conn.execute("SELECT stash.tenant_drop('globex')")
        assert [r[0] for r in conn.execute("SELECT slug FROM stash.tenant_list ORDER BY 1")] == [
            "acme", "acme_eu", "initech", "newco", "piedpiper"]
        assert conn.execute("SELECT count(*) FROM public.notes WHERE body LIKE 'globex:%'").fetchone()[0] == 0
        assert conn.execute("SELECT count(*) FROM public.notes").fetchone()[0] == 4
        assert conn.execute("SELECT count(*) FROM pg_roles WHERE rolname = %s", (globex_role,)).fetchone()[0] == 0


def test_old_schema_with_new_library_is_refused_until_updated(old_db):
    """The library is newer than the database's extension: every function that reads the
    registry refuses with 55000 and the command that fixes it, and changes nothing."""
    name, version, before = old_db
    with connect(name) as conn:
        for sql in ["SELECT stash.tenant_create('evil')",
                    "SELECT stash.tenant_suspend('acme')",
                    "SELECT * FROM stash.tenant_migrate()"]:
            with pytest.raises(psycopg.errors.ObjectNotInPrerequisiteState) as e:
                conn.execute(sql)
            assert f"library is version {NEW}" in e.value.diag.message_primary
            assert f"extension at version {version}" in e.value.diag.message_primary
            assert "ALTER EXTENSION stash_tenancy UPDATE" in e.value.diag.message_hint
        with pytest.raises(psycopg.errors.ObjectNotInPrerequisiteState):
            with conn.transaction():
                conn.execute("SELECT stash.tenant_enter('acme')")
        assert conn.execute("SELECT count(*) FROM pg_namespace WHERE nspname = 'tenant_evil'").fetchone()[0] == 0
        assert conn.execute("SELECT count(*) FROM stash.tenants").fetchone()[0] == len(before["tenants"])
        assert table_rows(conn, list(before)) == before
        assert conn.execute("SELECT status FROM stash.tenants WHERE slug = 'acme'").fetchone()[0] == "active"
        assert extversion(conn) == version
        conn.execute("ALTER EXTENSION stash_tenancy UPDATE")
    # a new session (the old one may have cached nothing; be explicit)
    with connect(name) as conn:
        with conn.transaction():
            conn.execute("SELECT stash.tenant_enter('acme')")
            assert conn.execute("SELECT stash.current_tenant()").fetchone()[0] == "acme"


@pytest.mark.parametrize("version", RELEASED)
def test_old_install_script_finds_every_symbol_it_names(version):
    """CREATE EXTENSION ... VERSION '<released>' with check_function_bodies on (the
    default) makes PostgreSQL look up every C symbol of that script in the new library:
    what restoring a dump of that version does."""
    with open(os.path.join(ROOT, "sql", f"stash_tenancy--{version}.sql")) as f:
        symbols = set(re.findall(r"AS 'MODULE_PATHNAME', '(\w+)'", f.read()))
    assert len(symbols) > 15
    name = new_database()
    try:
        with connect(name) as conn:
            assert conn.execute("SHOW check_function_bodies").fetchone()[0] == "on"
            conn.execute(f"CREATE EXTENSION stash_tenancy VERSION '{version}'")
            found = {r[0] for r in conn.execute(
                "SELECT prosrc FROM pg_proc WHERE pronamespace = 'stash'::regnamespace AND prolang = "
                "(SELECT oid FROM pg_language WHERE lanname = 'c')")}
            assert symbols <= found
    finally:
        drop_database(name)
