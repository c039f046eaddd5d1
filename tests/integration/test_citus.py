"""stash_tenancy on a real Citus cluster (schema-based sharding): one coordinator and two
workers on this machine (tests/integration/citus_cluster.py).  Runs on the default
PostgreSQL version only, and only where Citus is installed in it (the project does not
install Citus: docs/scale-out.md says how); otherwise it skips, saying why.
docs/scale-out.md is the design these tests hold to."""
import os
import threading
import time
import uuid
from pathlib import Path

import psycopg
import pytest

from citus_cluster import CitusCluster
from conftest import BINDIR, RUN_DIR, default_pg_only


def citus_installed():
    pkglib = os.popen(f"{os.path.join(BINDIR, 'pg_config')} --pkglibdir").read().strip()
    return os.path.exists(os.path.join(pkglib, "citus.so"))


# Citus 14 supports PostgreSQL 16-18; the suite runs on the default version only (make test
# PG=17), and there only where Citus is installed (scripts/test.sh repeats the reason).
pytestmark = [
    default_pg_only(
        "the Citus suite runs on the default PostgreSQL version only (17): "
        "Citus 14 has no PostgreSQL 15 build, and one version proves the cluster"),
    pytest.mark.skipif(
        not citus_installed(),
        reason=f"Citus not installed in PG {os.environ.get('STASH_PG_MAJOR', '?')} "
               "(docs/scale-out.md: installing Citus)"),
]

COMMERCE = (Path(__file__).resolve().parents[1] / "fixtures" / "commerce.sql").read_text()
COMMERCE_DOWN = "DROP TABLE blog_posts, reviews, payouts, orders, products, creators, customers"
APP_PASSWORD = "app-" + uuid.uuid4().hex


@pytest.fixture(scope="module")
def cluster():
    c = CitusCluster(BINDIR, os.path.join(RUN_DIR, "citus")).start()
    yield c
    c.stop()


@pytest.fixture(scope="module")
def dbname(cluster):
    """One database for the module: stash_tenancy created on the coordinator (Citus
    propagates it), the commerce template as migration 1, an application role."""
    name = cluster.create_database("stash_citus")
    with cluster.coordinator.connect(name) as c:
        c.execute("CREATE EXTENSION stash_tenancy")
        c.execute("SELECT stash.migration_add(1, 'commerce', %s, %s)", (COMMERCE, COMMERCE_DOWN))
        c.execute(f"CREATE ROLE citus_app LOGIN PASSWORD '{APP_PASSWORD}'")
        c.execute("SELECT stash.app_role_add('citus_app')")
    yield name
    cluster.drop_database(name)
    with cluster.coordinator.connect("postgres") as c:
        c.execute("DROP ROLE IF EXISTS citus_app")


def coordinator(cluster, dbname):
    return cluster.coordinator.connect(dbname)


def app(cluster, dbname, **kwargs):
    return cluster.coordinator.connect(dbname, user="citus_app", password=APP_PASSWORD, **kwargs)


def worker_of(cluster, label):
    return next(w for w in cluster.workers if w.label == label)


def shards_on(cluster, node, dbname, schema):
    """The tables of `schema` whose shard (<table>_<shardid>, per the coordinator's
    pg_dist_shard) exists on `node`.  Citus hides shards from pg_class unless asked, and
    a worker also holds metadata-only shell tables named like the tables themselves."""
    with cluster.coordinator.connect(dbname) as c:
        expected = dict(c.execute(
            "SELECT c.relname || '_' || s.shardid, c.relname FROM pg_dist_shard s"
            " JOIN pg_class c ON c.oid = s.logicalrelid WHERE c.relnamespace = %s::regnamespace",
            (schema,)).fetchall())
    with node.connect(dbname) as w:
        w.execute("SET citus.override_table_visibility = off")
        present = {r[0] for r in w.execute(
            "SELECT relname FROM pg_class WHERE relnamespace = %s::regnamespace AND relkind = 'r'",
            (schema,))}
    return {table for shard, table in expected.items() if shard in present}


def shard_names(cluster, dbname, schema):
    """{table: its shard's relation name} of `schema`, per the coordinator."""
    with cluster.coordinator.connect(dbname) as c:
        return dict(c.execute(
            "SELECT c.relname, c.relname || '_' || s.shardid FROM pg_dist_shard s"
            " JOIN pg_class c ON c.oid = s.logicalrelid WHERE c.relnamespace = %s::regnamespace",
            (schema,)).fetchall())


def tables_of(c, schema):
    return {r[0] for r in c.execute(
        "SELECT relname FROM pg_class WHERE relnamespace = %s::regnamespace AND relkind IN ('r', 'p')"
        " AND NOT relispartition", (schema,))}


def distributed_of(c, schema):
    """{table: colocation id} of the schema's Citus tables."""
    return dict(c.execute(
        "SELECT c.relname, p.colocationid FROM pg_dist_partition p JOIN pg_class c ON c.oid = p.logicalrelid"
        " WHERE c.relnamespace = %s::regnamespace", (schema,)).fetchall())


def node_of(c, slug):
    return c.execute("SELECT node FROM stash.tenant_list WHERE slug = %s", (slug,)).fetchone()[0]


def slug():
    return "t" + uuid.uuid4().hex[:10]


def test_tenant_create_makes_every_table_a_colocated_shard_on_one_worker(cluster, dbname):
    s = slug()
    with coordinator(cluster, dbname) as c:
        c.execute("SELECT stash.tenant_create(%s)", (s,))
        schema = f"tenant_{s}"
        tables = tables_of(c, schema)
        assert {"orders", "customers", "products", "creators"} <= tables
        dist = distributed_of(c, schema)
        assert set(dist) == tables, "every tenant table is a Citus table, none stays local"
        assert len(set(dist.values())) == 1, "all of them in one colocation group"
        assert c.execute("SELECT count(*) FROM pg_dist_schema WHERE schemaid = %s::regnamespace",
                         (schema,)).fetchone()[0] == 1
        assert c.execute("SELECT DISTINCT partmethod FROM pg_dist_partition p JOIN pg_class c"
                         " ON c.oid = p.logicalrelid WHERE c.relnamespace = %s::regnamespace",
                         (schema,)).fetchall() == [("n",)], "single-shard tables"
        node = node_of(c, s)
    assert node in {w.label for w in cluster.workers}
    assert tables == shards_on(cluster, worker_of(cluster, node), dbname, schema), \
        "the worker holds a shard of every table"
    other = next(w for w in cluster.workers if w.label != node)
    assert shards_on(cluster, other, dbname, schema) == set(), "and the other worker none"


def test_a_later_migration_reaches_every_tenant_shard_new_table_included(cluster, dbname):
    a, b = slug(), slug()
    with coordinator(cluster, dbname) as c:
        for s in (a, b):
            c.execute("SELECT stash.tenant_create(%s)", (s,))
        version = c.execute("SELECT max(version) + 1 FROM stash.migrations").fetchone()[0]
        c.execute("SELECT stash.migration_add(%s, 'gift cards', %s, %s)", (version, f"""
            CREATE TABLE gift_cards_{version} (id bigserial PRIMARY KEY,
                customer_id bigint NOT NULL REFERENCES customers (id), cents integer NOT NULL);
            ALTER TABLE orders ADD COLUMN gift_note_{version} text;
            CREATE INDEX orders_gift_note_{version}_idx ON orders (gift_note_{version});""",
            f"DROP TABLE gift_cards_{version}; ALTER TABLE orders DROP COLUMN gift_note_{version}"))
        c.execute("CALL stash.migrate_all()")
        for s in (a, b):
            schema = f"tenant_{s}"
            assert c.execute("SELECT current_version FROM stash.tenant_status WHERE slug = %s",
                             (s,)).fetchone()[0] == version
            dist = distributed_of(c, schema)
            assert f"gift_cards_{version}" in dist, "the new table is distributed, not local"
            assert dist[f"gift_cards_{version}"] == dist["orders"], "and colocated"
            node = node_of(c, s)
            with worker_of(cluster, node).connect(dbname) as w:
                w.execute("SET citus.override_table_visibility = off")
                column = w.execute(
                    "SELECT count(*) FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid"
                    " WHERE c.relnamespace = %s::regnamespace AND c.relname ~ '^orders_[0-9]+$'"
                    " AND a.attname = %s", (schema, f"gift_note_{version}")).fetchone()[0]
                index = w.execute(
                    "SELECT count(*) FROM pg_class WHERE relnamespace = %s::regnamespace"
                    " AND relkind = 'i' AND relname ~ %s",
                    (schema, f"^orders_gift_note_{version}_idx_[0-9]+$")).fetchone()[0]
                gift = w.execute(
                    "SELECT count(*) FROM pg_class WHERE relnamespace = %s::regnamespace"
                    " AND relkind = 'r' AND relname ~ %s",
                    (schema, f"^gift_cards_{version}_[0-9]+$")).fetchone()[0]
            assert (column, index, gift) == (1, 1, 1), f"{s} on {node}"


def test_enter_routes_every_protocol_to_the_tenant_and_the_role_wall_holds(cluster, dbname):
    a, b = slug(), slug()
    with coordinator(cluster, dbname) as c:
        for s in (a, b):
            c.execute("SELECT stash.tenant_create(%s)", (s,))
    with app(cluster, dbname, autocommit=False) as conn:
        for s, n in ((a, 3), (b, 1)):
            with conn.transaction():
                conn.execute("SELECT stash.tenant_enter(%s)", (s,))
                for i in range(n):
                    # extended protocol (bound parameters)
                    conn.execute("INSERT INTO customers (email, name) VALUES (%s, %s)",
                                 (f"{i}@{s}.example", s))
        for s, n in ((a, 3), (b, 1)):
            with conn.transaction():
                conn.execute("SELECT stash.tenant_enter(%s)", (s,))
                # simple protocol
                conn.pgconn.exec_(b"SELECT 1")
                simple = conn.pgconn.exec_(b"SELECT count(*) FROM customers").get_value(0, 0)
                assert int(simple) == n
                # a prepared statement, executed more than 5 times (generic plan)
                for _ in range(7):
                    prepared = conn.execute("SELECT count(*), min(name) FROM customers WHERE id > %s",
                                            (0,), prepare=True).fetchone()
                    assert prepared == (n, s)
                # PL/pgSQL, unqualified, in the tenant: raises (and fails the test) on a
                # wrong count
                conn.execute("""DO $$ BEGIN
                    IF (SELECT count(*) FROM customers) <> %s THEN RAISE 'wrong count'; END IF;
                    END $$""" % n)
        # the wall: inside tenant a, tenant b's tables are out of reach (on its worker too)
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            with conn.transaction():
                conn.execute("SELECT stash.tenant_enter(%s)", (a,))
                conn.execute(f"SELECT count(*) FROM tenant_{b}.customers")
        # outside any tenant the app role reaches no tenant table
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            with conn.transaction():
                conn.execute(f"SELECT count(*) FROM tenant_{a}.customers")


def test_nobody_logs_in_as_a_tenant_role_without_the_coordinators_password(cluster, dbname):
    s, other = slug(), slug()
    with coordinator(cluster, dbname) as c:
        for t in (s, other):
            c.execute("SELECT stash.tenant_create(%s)", (t,))
        c.execute(f"INSERT INTO tenant_{other}.customers (email, name) VALUES ('o@x', 'other')")
        role = c.execute("SELECT stash.tenant_role(%s)", (s,)).fetchone()[0]
        # the password lives in pg_dist_authinfo, readable by superusers only
        authinfo = c.execute("SELECT authinfo FROM pg_dist_authinfo WHERE rolename = %s",
                             (role,)).fetchone()[0]
        password = authinfo.removeprefix("password=")
        assert len(password) == 64
        node, other_node = node_of(c, s), node_of(c, other)
    with worker_of(cluster, node).connect(dbname) as w:
        assert w.execute("SELECT rolcanlogin FROM pg_roles WHERE rolname = %s", (role,)).fetchone()[0]
    with app(cluster, dbname) as a:
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            a.execute("SELECT rolename FROM pg_dist_authinfo")
    for node_ in cluster.nodes:
        with pytest.raises(psycopg.OperationalError, match="password"):
            node_.connect(dbname, user=role, password="guess").close()
        with pytest.raises(psycopg.OperationalError):
            node_.connect(dbname, user=role).close()
    # with the coordinator's password (what Citus uses), the role reaches its own shards on
    # its worker, and the privilege wall holds there too: another tenant's shards are out
    # of reach even where they are stored
    own = shard_names(cluster, dbname, f"tenant_{s}")
    theirs = shard_names(cluster, dbname, f"tenant_{other}")
    with worker_of(cluster, node).connect(dbname, user=role, password=password) as w:
        assert w.execute(f'SELECT count(*) FROM tenant_{s}."{own["customers"]}"').fetchone()[0] == 0
    with worker_of(cluster, other_node).connect(dbname, user=role, password=password) as w:
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            w.execute(f'SELECT * FROM tenant_{other}."{theirs["customers"]}"')
    # the application's own credentials, straight to the worker: no tenant's shard
    with worker_of(cluster, other_node).connect(dbname, user="citus_app", password=APP_PASSWORD) as w:
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            w.execute(f'SELECT * FROM tenant_{other}."{theirs["customers"]}"')


def test_the_tenant_password_never_reaches_a_log(cluster, dbname):
    """Citus forwards CREATE ROLE to the workers as written; the password is therefore
    set with ALTER ROLE, which Citus forwards with the stored hash.  With every statement
    logged on the workers and Citus logging what it sends, the password is in no log."""
    for node in cluster.workers:
        with node.connect("postgres") as w:
            w.execute("ALTER SYSTEM SET log_statement = 'all'")
            w.execute("SELECT pg_reload_conf()")
    try:
        s = slug()
        with coordinator(cluster, dbname) as c:
            c.execute("SET citus.log_remote_commands = on")
            c.execute("SELECT stash.tenant_create(%s)", (s,))
            role = c.execute("SELECT stash.tenant_role(%s)", (s,)).fetchone()[0]
            password = c.execute("SELECT authinfo FROM pg_dist_authinfo WHERE rolename = %s",
                                 (role,)).fetchone()[0].removeprefix("password=")
        time.sleep(0.3)
        logs = {n.name: open(os.path.join(n.dir, "server.log"), errors="replace").read()
                for n in cluster.nodes}
        assert all(role in logs[w.name] for w in cluster.workers), "the workers logged the role's DDL"
        assert [name for name, text in logs.items() if password in text] == []
    finally:
        for node in cluster.workers:
            with node.connect("postgres") as w:
                w.execute("ALTER SYSTEM RESET log_statement")
                w.execute("SELECT pg_reload_conf()")


def test_tenant_move_while_clients_keep_reading_and_writing(cluster, dbname):
    s = slug()
    with coordinator(cluster, dbname) as c:
        c.execute("SELECT stash.tenant_create(%s)", (s,))
    with app(cluster, dbname, autocommit=False) as conn:
        with conn.transaction():
            conn.execute("SELECT stash.tenant_enter(%s)", (s,))
            conn.execute("INSERT INTO customers (email, name) SELECT g || '@x', 'x' FROM generate_series(1, 100) g")
    stop, reads, writes, errors = threading.Event(), [], [], []

    def client(write):
        with app(cluster, dbname, autocommit=False) as r:
            i = 0
            while not stop.is_set():
                try:
                    with r.transaction():
                        r.execute("SELECT stash.tenant_enter(%s)", (s,))
                        if write:
                            i += 1
                            r.execute("INSERT INTO customers (email, name) VALUES (%s, 'during')",
                                      (f"w{i}@x",))
                            writes.append((time.monotonic(), f"w{i}@x"))
                        else:
                            n = r.execute("SELECT count(*) FROM customers WHERE name = 'x'").fetchone()[0]
                            reads.append((time.monotonic(), n))
                except psycopg.Error as e:
                    errors.append(e)
                time.sleep(0.01)

    threads = [threading.Thread(target=client, args=(w,)) for w in (False, True)]
    for t in threads:
        t.start()
    try:
        time.sleep(0.2)
        with coordinator(cluster, dbname) as c:
            before = node_of(c, s)
            other = next(w.label for w in cluster.workers if w.label != before)
            host, port = other.rsplit(":", 1)
            started = time.monotonic()
            c.execute("SELECT stash.tenant_move(%s, %s, %s)", (s, host, int(port)))
            ended = time.monotonic()
            after = node_of(c, s)
            event = c.execute("SELECT detail FROM stash.events WHERE slug = %s AND action = 'moved'",
                              (s,)).fetchone()[0]
        time.sleep(0.3)
    finally:
        stop.set()
        for t in threads:
            t.join()
    assert before != after == other
    assert event == {"from": before, "to": other, "transfer_mode": "auto"}, \
        "wal_level = logical on the workers and primary keys everywhere: auto"
    assert not errors, errors
    assert {n for _, n in reads} == {100}, "every read saw every row"
    assert any(started <= t <= ended for t, _ in reads), "reads went on during the move"
    assert any(t > ended for t, _ in writes), "writes go on after it"
    with coordinator(cluster, dbname) as c:
        stored = {r[0] for r in c.execute(f"SELECT email FROM tenant_{s}.customers WHERE name = 'during'")}
        c.execute("CALL citus_cleanup_orphaned_resources()")
    assert stored == {e for _, e in writes}, "no committed write was lost in the move"
    assert shards_on(cluster, worker_of(cluster, before), dbname, f"tenant_{s}") == set()
    assert "customers" in shards_on(cluster, worker_of(cluster, other), dbname, f"tenant_{s}")


def test_tenant_move_without_a_primary_key_blocks_writes_instead(cluster, dbname):
    s = slug()
    with coordinator(cluster, dbname) as c:
        c.execute("SELECT stash.tenant_create(%s)", (s,))
        # top level, so Citus itself makes it a tenant table
        c.execute(f"CREATE TABLE tenant_{s}.audit_log (at timestamptz, line text)")
        assert "audit_log" in distributed_of(c, f"tenant_{s}")
        before = node_of(c, s)
        host, port = next(w.label for w in cluster.workers if w.label != before).rsplit(":", 1)
        c.execute("SELECT stash.tenant_move(%s, %s, %s)", (s, host, int(port)))
        mode = c.execute("SELECT detail->>'transfer_mode' FROM stash.events WHERE slug = %s"
                         " AND action = 'moved'", (s,)).fetchone()[0]
        assert mode == "block_writes"
        assert node_of(c, s) == f"{host}:{port}"


def test_tenant_move_refuses_bad_input_and_changes_nothing(cluster, dbname):
    s = slug()
    with coordinator(cluster, dbname) as c:
        c.execute("SELECT stash.tenant_create(%s)", (s,))
        node = node_of(c, s)
        with pytest.raises(psycopg.errors.InvalidParameterValue, match="not an active worker"):
            c.execute("SELECT stash.tenant_move(%s, '/nowhere', 5432)", (s,))
        with pytest.raises(psycopg.errors.InvalidParameterValue, match="not an active worker"):
            c.execute("SELECT stash.tenant_move(%s, %s, 5432)", (s, cluster.coordinator.host))
        with pytest.raises(psycopg.errors.UndefinedObject):
            c.execute("SELECT stash.tenant_move('no_such_tenant', %s, 5432)", (cluster.workers[0].host,))
        with pytest.raises(psycopg.errors.InvalidParameterValue, match="transfer mode"):
            host, port = next(w.label for w in cluster.workers if w.label != node).rsplit(":", 1)
            c.execute("SELECT stash.tenant_move(%s, %s, %s, 'teleport')", (s, host, int(port)))
        with pytest.raises(psycopg.errors.NullValueNotAllowed):
            c.execute("SELECT stash.tenant_move(%s, NULL, 5432)", (s,))
        assert node_of(c, s) == node
        assert c.execute("SELECT count(*) FROM stash.events WHERE slug = %s AND action = 'moved'",
                         (s,)).fetchone()[0] == 0
    with app(cluster, dbname) as a:
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            a.execute("SELECT stash.tenant_move(%s, %s, 5432)", (s, cluster.workers[0].host))


def test_tenant_drop_leaves_nothing_on_any_node(cluster, dbname):
    s = slug()
    schema = f"tenant_{s}"
    with coordinator(cluster, dbname) as c:
        c.execute("SELECT stash.tenant_create(%s)", (s,))
        role = c.execute("SELECT stash.tenant_role(%s)", (s,)).fetchone()[0]
        shards = [r[0] for r in c.execute(
            "SELECT c.relname || '_' || s.shardid FROM pg_dist_shard s JOIN pg_class c"
            " ON c.oid = s.logicalrelid WHERE c.relnamespace = %s::regnamespace", (schema,))]
        assert len(shards) >= 7
        c.execute("SELECT stash.tenant_drop(%s)", (s,))
        assert c.execute("SELECT count(*) FROM pg_dist_partition p JOIN pg_class c ON c.oid = p.logicalrelid"
                         " JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = %s",
                         (schema,)).fetchone()[0] == 0
        assert c.execute("SELECT count(*) FROM pg_dist_authinfo WHERE rolename = %s",
                         (role,)).fetchone()[0] == 0
        c.execute("CALL citus_cleanup_orphaned_resources()")
    for node in cluster.nodes:
        with node.connect(dbname) as n:
            n.execute("SET citus.override_table_visibility = off")
            assert n.execute("SELECT count(*) FROM pg_namespace WHERE nspname = %s",
                             (schema,)).fetchone()[0] == 0, node.name
            assert n.execute("SELECT count(*) FROM pg_class WHERE relname = ANY(%s)",
                             (shards,)).fetchone()[0] == 0, node.name
            assert n.execute("SELECT count(*) FROM pg_roles WHERE rolname = %s",
                             (role,)).fetchone()[0] == 0, node.name


def test_fifty_tenants_spread_over_both_workers_and_migrate_all_reaches_them(cluster, dbname):
    slugs = [f"fleet{i:02d}_{uuid.uuid4().hex[:4]}" for i in range(50)]
    with coordinator(cluster, dbname) as c:
        for s in slugs:
            c.execute("SELECT stash.tenant_create(%s)", (s,))
        nodes = dict(c.execute("SELECT slug, node FROM stash.tenant_list WHERE slug = ANY(%s)",
                               (slugs,)).fetchall())
        per_node = {w.label: sum(1 for n in nodes.values() if n == w.label) for w in cluster.workers}
        assert sum(per_node.values()) == 50 and min(per_node.values()) >= 10, per_node
        version = c.execute("SELECT max(version) + 1 FROM stash.migrations").fetchone()[0]
        c.execute("SELECT stash.migration_add(%s, 'loyalty', %s, %s)",
                  (version, f"CREATE TABLE loyalty_{version} (customer_id bigint PRIMARY KEY REFERENCES customers (id))",
                   f"DROP TABLE loyalty_{version}"))
        c.execute("CALL stash.migrate_all()")
        behind = c.execute("SELECT count(*) FROM stash.tenant_status WHERE slug = ANY(%s) AND current_version <> %s",
                           (slugs, version)).fetchone()[0]
        local = c.execute(
            "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
            " WHERE n.nspname = ANY(%s) AND c.relkind = 'r'"
            " AND NOT EXISTS (SELECT FROM pg_dist_partition p WHERE p.logicalrelid = c.oid)",
            ([f"tenant_{s}" for s in slugs],)).fetchone()[0]
    assert behind == 0
    assert local == 0, "no tenant table left local on the coordinator"


def test_a_migration_citus_refuses_fails_that_tenant_cleanly(cluster, dbname):
    """A foreign key from a tenant table to a coordinator-local table is refused by Citus:
    the step fails with Citus's error, recorded as the tenant's failure, and the tenant
    stays at its version with nothing half-made."""
    s = slug()
    with coordinator(cluster, dbname) as c:
        c.execute("SELECT stash.tenant_create(%s)", (s,))
        c.execute("CREATE TABLE IF NOT EXISTS public.plans (id int PRIMARY KEY)")
        before = c.execute("SELECT current_version FROM stash.tenant_status WHERE slug = %s", (s,)).fetchone()[0]
        version = c.execute("SELECT max(version) + 1 FROM stash.migrations").fetchone()[0]
        c.execute("SELECT stash.migration_add(%s, 'plan fk', %s)",
                  (version, f"CREATE TABLE plan_links_{version} (plan_id int REFERENCES public.plans (id))"))
        try:
            result = c.execute("SELECT status, error FROM stash.tenant_migrate(%s)", (s,)).fetchone()
            assert result[0] == "failed", result
            assert "foreign key" in result[1].lower() or "reference" in result[1].lower(), result
            assert c.execute("SELECT current_version FROM stash.tenant_status WHERE slug = %s",
                             (s,)).fetchone()[0] == before
            assert f"plan_links_{version}" not in tables_of(c, f"tenant_{s}")
        finally:
            c.execute("DELETE FROM stash.migrations WHERE version = %s", (version,))


def test_tenant_operations_keep_the_tenant_distributed_and_enterable(cluster, dbname):
    """verify, clone (with data), rename (the role's login follows), reset, and a
    rollback to version 0 and back up: after each, every table is a Citus table on one
    worker and the application still enters and queries the tenant."""
    s, copy, renamed = slug(), slug(), slug()

    def enter_and_count(tenant):
        with app(cluster, dbname, autocommit=False) as conn:
            with conn.transaction():
                conn.execute("SELECT stash.tenant_enter(%s)", (tenant,))
                return conn.execute("SELECT count(*) FROM customers").fetchone()[0]

    def all_distributed(c, tenant):
        schema = f"tenant_{tenant}"
        tables = tables_of(c, schema)
        return bool(tables) and set(distributed_of(c, schema)) == tables and node_of(c, tenant) is not None

    with coordinator(cluster, dbname) as c:
        c.execute("SELECT stash.tenant_create(%s)", (s,))
        c.execute(f"INSERT INTO tenant_{s}.customers (email, name) VALUES ('a@x', 'a'), ('b@x', 'b')")
        assert c.execute("SELECT status FROM stash.tenant_verify(%s)", (s,)).fetchone()[0] == "ok"
        c.execute("SELECT stash.tenant_clone(%s, %s)", (s, copy))
        assert all_distributed(c, copy)
    assert enter_and_count(copy) == 2
    with coordinator(cluster, dbname) as c:
        c.execute("SELECT stash.tenant_rename(%s, %s)", (copy, renamed))
        role = c.execute("SELECT stash.tenant_role(%s)", (renamed,)).fetchone()[0]
        assert c.execute("SELECT count(*) FROM pg_dist_authinfo WHERE rolename = %s", (role,)).fetchone()[0] == 1
    assert enter_and_count(renamed) == 2, "the renamed role still logs in on its worker"
    with coordinator(cluster, dbname) as c:
        c.execute("SET stash.allow_reset = on")
        c.execute("SELECT stash.tenant_reset(%s)", (renamed,))
        assert all_distributed(c, renamed)
    assert enter_and_count(renamed) == 0
    with coordinator(cluster, dbname) as c:
        c.execute("SELECT * FROM stash.tenant_migrate(%s, 0)", (s,))
        assert tables_of(c, f"tenant_{s}") == set() and node_of(c, s) is None
        assert c.execute("SELECT count(*) FROM pg_dist_schema WHERE schemaid = %s::regnamespace",
                         (f"tenant_{s}",)).fetchone()[0] == 0, "an empty schema is not registered"
        status = c.execute("SELECT status FROM stash.tenant_migrate(%s)", (s,)).fetchone()[0]
        assert status == "ok"
        assert all_distributed(c, s)
    assert enter_and_count(s) == 0


def test_schema_based_sharding_switched_on_changes_nothing(cluster, dbname):
    """citus.enable_schema_based_sharding = on (Citus's documented setting) registers a
    schema at CREATE SCHEMA, before it has a table: tenant_create and tenant_reset still
    end with every table distributed."""
    s = slug()
    with coordinator(cluster, dbname) as c:
        c.execute("SET citus.enable_schema_based_sharding = on")
        c.execute("SELECT stash.tenant_create(%s)", (s,))
        schema = f"tenant_{s}"
        assert set(distributed_of(c, schema)) == tables_of(c, schema) != set()
        c.execute("SET stash.allow_reset = on")
        c.execute("SELECT stash.tenant_reset(%s)", (s,))
        assert set(distributed_of(c, schema)) == tables_of(c, schema) != set()


def test_migration_sql_shapes_are_split_and_distributed(cluster, dbname):
    """A step runs statement by statement under Citus: dollar quotes with semicolons, a
    last statement without one, non-ASCII text, a comment-only migration, a partitioned
    table and a partition added by a later step, CREATE TABLE AS (whose local copy is
    truncated), a materialized view (left alone, as Citus leaves it)."""
    s = slug()
    with coordinator(cluster, dbname) as c:
        c.execute("SELECT stash.tenant_create(%s)", (s,))
        v = c.execute("SELECT max(version) + 1 FROM stash.migrations").fetchone()[0]
        steps = [
            (v, "shapes", f"""-- naïve comment: déjà vu; with semicolons
                CREATE TABLE notes_{v} (id bigint PRIMARY KEY, body text DEFAULT 'a;b');
                DO $body$ BEGIN EXECUTE 'INSERT INTO notes_{v} VALUES (1, ''x;y'')'; END $body$;
                CREATE TABLE events_{v} (at date NOT NULL, what text) PARTITION BY RANGE (at);
                CREATE TABLE events_{v}_2026 PARTITION OF events_{v} FOR VALUES FROM ('2026-01-01') TO ('2027-01-01');
                CREATE TABLE copied_{v} AS SELECT id, body FROM notes_{v};
                CREATE MATERIALIZED VIEW note_count_{v} AS SELECT count(*) FROM notes_{v}
                """, f"DROP MATERIALIZED VIEW note_count_{v}; DROP TABLE copied_{v}, events_{v}, notes_{v}"),
            (v + 1, "comment only", "-- nothing to do in this version\n", "-- nor here"),
            (v + 2, "next partition", f"CREATE TABLE events_{v}_2027 PARTITION OF events_{v} FOR VALUES FROM ('2027-01-01') TO ('2028-01-01')",
             f"DROP TABLE events_{v}_2027"),
        ]
        try:
            for version, name, up, down in steps:
                c.execute("SELECT stash.migration_add(%s, %s, %s, %s)", (version, name, up, down))
            result = c.execute("SELECT status, error FROM stash.tenant_migrate(%s)", (s,)).fetchone()
            assert result == ("ok", None)
            schema = f"tenant_{s}"
            dist = distributed_of(c, schema)
            for table in (f"notes_{v}", f"events_{v}", f"copied_{v}"):
                assert table in dist and dist[table] == dist["customers"], table
            partitions = {r[0] for r in c.execute(
                "SELECT c.relname FROM pg_dist_partition p JOIN pg_class c ON c.oid = p.logicalrelid"
                " WHERE c.relnamespace = %s::regnamespace AND c.relispartition", (schema,))}
            assert partitions == {f"events_{v}_2026", f"events_{v}_2027"}
            assert c.execute(f"SELECT body FROM tenant_{s}.copied_{v}").fetchall() == [("x;y",)]
            assert c.execute(f"SELECT pg_relation_size('tenant_{s}.copied_{v}')").fetchone()[0] == 0, \
                "the coordinator's local copy of the CREATE TABLE AS rows is gone"
            assert c.execute("SELECT relkind FROM pg_class WHERE relname = %s",
                             (f"note_count_{v}",)).fetchone()[0] == "m"
        finally:
            c.execute("SELECT stash.tenant_drop(%s)", (s,))
            c.execute("DELETE FROM stash.migrations WHERE version >= %s", (v,))


def test_tenants_from_before_citus_are_brought_onto_the_cluster(cluster, dbname):
    """A database that had stash_tenancy (and tenants with rows) before Citus:
    tenant_distribute makes each tenant schema a distributed schema on a worker, its role
    a login, and the application enters it as before.  (`dbname` for the application role
    it creates.)"""
    name = "stash_before_citus"
    for node in cluster.nodes:
        with node.connect("postgres") as c:
            c.execute(f'CREATE DATABASE "{name}"')
    try:
        with cluster.coordinator.connect(name) as c:
            c.execute("CREATE EXTENSION stash_tenancy")
            c.execute("SELECT stash.migration_add(1, 'commerce', %s)", (COMMERCE,))
            for t in ("old_a", "old_b"):
                c.execute("SELECT stash.tenant_create(%s)", (t,))
                c.execute(f"INSERT INTO tenant_{t}.customers (email, name) VALUES ('{t}@x', %s)", (t,))
            assert c.execute("SELECT rolcanlogin FROM pg_roles WHERE rolname = stash.tenant_role('old_a')").fetchone()[0] is False
            c.execute("SELECT stash.app_role_add('citus_app')")
        for node in cluster.nodes:
            with node.connect(name) as c:
                c.execute("SET client_min_messages = warning")
                c.execute("CREATE EXTENSION citus")
        with cluster.coordinator.connect(name) as c:
            c.execute("SELECT citus_set_coordinator_host(%s, %s)", (cluster.coordinator.host, cluster.coordinator.port))
            for w in cluster.workers:
                c.execute("SELECT citus_add_node(%s, %s)", (w.host, w.port))
            placed = dict(c.execute("SELECT slug, node FROM stash.tenant_distribute()").fetchall())
            assert set(placed) == {"old_a", "old_b"}
            assert set(placed.values()) <= {w.label for w in cluster.workers}
            assert c.execute("SELECT bool_and(rolcanlogin) FROM pg_roles WHERE rolname IN"
                             " (stash.tenant_role('old_a'), stash.tenant_role('old_b'))").fetchone()[0]
            assert set(distributed_of(c, "tenant_old_a")) == tables_of(c, "tenant_old_a")
            again = dict(c.execute("SELECT slug, node FROM stash.tenant_distribute('old_a')").fetchall())
            assert again == {"old_a": placed["old_a"]}, "idempotent"
            with pytest.raises(psycopg.errors.UndefinedObject):
                c.execute("SELECT * FROM stash.tenant_distribute('no_such_tenant')")
        with app(cluster, name) as a:
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                a.execute("SELECT * FROM stash.tenant_distribute()")
        with app(cluster, name, autocommit=False) as conn:
            for t in ("old_a", "old_b"):
                with conn.transaction():
                    conn.execute("SELECT stash.tenant_enter(%s)", (t,))
                    assert conn.execute("SELECT name FROM customers").fetchall() == [(t,)]
    finally:
        cluster.drop_database(name)


def test_a_worker_added_later_takes_tenants(cluster, dbname):
    """Roles reach a new worker with their password hashes and pg_dist_authinfo's node 0
    rows cover it: a tenant moved there is entered and queried as before.  (Last: it
    changes the cluster.)"""
    from citus_cluster import Node
    worker3 = Node(cluster.coordinator.bindir, cluster.root, "worker3")
    worker3.start()
    cluster.workers.append(worker3)
    with worker3.connect("postgres") as w:
        w.execute(f'CREATE DATABASE "{dbname}"')
    with worker3.connect(dbname) as w:
        w.execute("SET client_min_messages = warning")
        w.execute("CREATE EXTENSION citus")
    s = slug()
    with coordinator(cluster, dbname) as c:
        c.execute("SELECT citus_add_node(%s, %s)", (worker3.host, worker3.port))
        c.execute("SELECT stash.tenant_create(%s)", (s,))
        c.execute(f"INSERT INTO tenant_{s}.customers (email, name) VALUES ('n@x', 'new node')")
        c.execute("SELECT stash.tenant_move(%s, %s, %s)", (s, worker3.host, worker3.port))
        assert node_of(c, s) == worker3.label
    with app(cluster, dbname, autocommit=False) as conn:
        with conn.transaction():
            conn.execute("SELECT stash.tenant_enter(%s)", (s,))
            assert conn.execute("SELECT name FROM customers").fetchall() == [("new node",)]
