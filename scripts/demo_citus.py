"""make demo-citus: stash_tenancy on a throwaway Citus cluster (a coordinator and two
workers on unix sockets in a private temp dir).  A tenant is created (its tables become
shards on one worker), a client keeps querying it while it moves to the other worker,
then it is dropped and nothing of it is left on any node.  Exits non-zero if any step
does not do what it says.  Run by scripts/demo_citus.sh, which installs the extension."""
import os
import sys
import threading
import time

from pgcluster import temp_dir

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tests", "integration"))
from citus_cluster import CitusCluster  # noqa: E402

import psycopg  # noqa: E402

BINDIR = sys.argv[1]
COMMERCE = open(os.path.join(os.path.dirname(__file__), "..", "tests", "fixtures", "commerce.sql")).read()
failed = False


def step(title):
    print(f"\n\033[1m-- {title}\033[0m", flush=True)


def show(conn, sql, args=()):
    print(f"=> {sql}" if not args else f"=> {sql}   -- {[a if len(str(a)) < 40 else str(a)[:37] + '...' for a in args]}")
    cur = conn.execute(sql, args)
    if cur.description:
        rows = cur.fetchall()
        for r in rows:
            print("   ", " | ".join("" if v is None else str(v) for v in r))
        return rows
    return []


def check(ok, what):
    global failed
    if not ok:
        failed = True
        print(f"!! check failed: {what}")


with temp_dir("stash-demo-citus.") as root:
    cluster = CitusCluster(BINDIR, os.path.join(root, "cluster"))
    try:
        step("Start a coordinator and two workers (shared_preload_libraries = citus)")
        cluster.start()
        db = cluster.create_database("demo")
        with cluster.coordinator.connect(db) as c:
            show(c, "SELECT nodename, nodeport, groupid FROM pg_dist_node ORDER BY nodeid")

            step("CREATE EXTENSION stash_tenancy on the coordinator; the commerce template as migration 1")
            show(c, "CREATE EXTENSION stash_tenancy")
            show(c, "SELECT stash.migration_add(1, 'commerce', %s)", (COMMERCE,))
            show(c, "CREATE ROLE demo_app LOGIN PASSWORD 'demo'")
            show(c, "SELECT stash.app_role_add('demo_app')")

            step("tenant_create: the tenant's schema becomes a distributed schema, its tables shards on one worker")
            show(c, "SELECT slug FROM stash.tenant_create('acme')")
            before = show(c, "SELECT slug, node FROM stash.tenant_list")[0][1]
            shards = show(c, "SELECT table_name, nodename || ':' || nodeport AS node FROM citus_shards"
                             " WHERE table_name::text LIKE 'tenant_acme.%%' ORDER BY 1")
            check(len(shards) >= 7 and {s[1] for s in shards} == {before}, "every table on the tenant's worker")

        app = cluster.coordinator.connect(db, user="demo_app", password="demo", autocommit=False)
        step("The application enters the tenant and writes, unqualified (Citus routes to the worker)")
        with app.transaction():
            show(app, "SELECT stash.tenant_enter('acme')")
            show(app, "INSERT INTO customers (email, name) SELECT g || '@acme.example', 'c' || g"
                      " FROM generate_series(1, 1000) g")
        app.commit()

        step("tenant_move to the other worker while a client keeps reading it")
        stop, counts, errors = threading.Event(), [], []

        def reader():
            with cluster.coordinator.connect(db, user="demo_app", password="demo", autocommit=False) as r:
                while not stop.is_set():
                    try:
                        with r.transaction():
                            r.execute("SELECT stash.tenant_enter('acme')")
                            counts.append(r.execute("SELECT count(*) FROM customers").fetchone()[0])
                    except psycopg.Error as e:
                        errors.append(str(e))
                    time.sleep(0.005)

        t = threading.Thread(target=reader)
        t.start()
        time.sleep(0.2)
        with cluster.coordinator.connect(db) as c:
            host, port = next(w.label for w in cluster.workers if w.label != before).rsplit(":", 1)
            started = time.monotonic()
            show(c, "SELECT stash.tenant_move('acme', %s, %s)", (host, int(port)))
            took = time.monotonic() - started
            time.sleep(0.2)
            stop.set()
            t.join()
            after = show(c, "SELECT slug, node FROM stash.tenant_list")[0][1]
            show(c, "SELECT action, detail FROM stash.events WHERE action = 'moved'")
        print(f"   the move took {took:.2f} s; the client ran {len(counts)} transactions meanwhile,"
              f" saw {sorted(set(counts))} customers, {len(errors)} errors")
        check(after != before, "the tenant changed worker")
        check(set(counts) == {1000} and not errors, "the client saw every row, without an error")

        step("tenant_drop: nothing of the tenant is left on any node")
        app.close()
        with cluster.coordinator.connect(db) as c:
            role = c.execute("SELECT stash.tenant_role('acme')").fetchone()[0]
            show(c, "SELECT stash.tenant_drop('acme')")
        for node in cluster.nodes:
            with node.connect(db) as n:
                left = n.execute("SELECT (SELECT count(*) FROM pg_namespace WHERE nspname = 'tenant_acme')"
                                 " + (SELECT count(*) FROM pg_roles WHERE rolname = %s)", (role,)).fetchone()[0]
                print(f"    {node.name}: {left} schema(s)/role(s) of acme left")
                check(left == 0, f"nothing left on {node.name}")
    finally:
        cluster.stop()

print("\ndemo-citus:", "FAILED" if failed else "every step did what it says")
sys.exit(1 if failed else 0)
