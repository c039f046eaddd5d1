"""make bench-citus: tenant_create and migrate_all on a 1 + 2 Citus cluster against one
plain PostgreSQL node (the same binaries, no Citus), all on this machine.

Per round, in alternating order, each side gets a fresh database with the commerce
template (7 tables) as migration 1; then N tenants are created one per transaction
(client loop, autocommit) and, after migration 2 (a new table, a column, an index) is
registered, one `CALL stash.migrate_all()` brings them all to version 2.  Reported:
tenants/s per side and round, and the median over rounds of the per-round ratio
cluster time / single-node time.  Both sides must end with every tenant at version 2 and,
on the cluster, no tenant table left local, or the run fails.

    python3 scripts/bench_citus.py BINDIR OUT.md TENANTS ROUNDS
"""
import os
import statistics
import sys
import time

from pgcluster import temp_dir

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tests", "integration"))
from citus_cluster import CitusCluster, Node  # noqa: E402

BINDIR, OUT, TENANTS, ROUNDS = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
COMMERCE = open(os.path.join(os.path.dirname(__file__), "..", "tests", "fixtures", "commerce.sql")).read()
MIGRATION_2 = """CREATE TABLE gift_cards (id bigserial PRIMARY KEY,
    customer_id bigint NOT NULL REFERENCES customers (id), cents integer NOT NULL);
ALTER TABLE orders ADD COLUMN gift_note text;
CREATE INDEX orders_gift_note_idx ON orders (gift_note);"""


def run_side(conn_factory, setup_db, drop_db, name, citus):
    setup_db(name)
    with conn_factory(name) as c:
        c.execute("SET client_min_messages = warning")
        c.execute("CREATE EXTENSION stash_tenancy")
        c.execute("SELECT stash.migration_add(1, 'commerce', %s)", (COMMERCE,))
        t0 = time.monotonic()
        for i in range(TENANTS):
            c.execute("SELECT stash.tenant_create(%s)", (f"t{i:05d}",))
        create_s = time.monotonic() - t0
        c.execute("SELECT stash.migration_add(2, 'gift cards', %s)", (MIGRATION_2,))
        t0 = time.monotonic()
        c.execute("CALL stash.migrate_all()")
        migrate_s = time.monotonic() - t0
        behind = c.execute("SELECT count(*) FROM stash.tenant_status WHERE current_version <> 2").fetchone()[0]
        if behind:
            sys.exit(f"{name}: {behind} tenant(s) not at version 2 after migrate_all")
        if citus:
            local = c.execute(
                "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
                " WHERE n.nspname LIKE 'tenant\\_%' AND c.relkind = 'r'"
                " AND NOT EXISTS (SELECT FROM pg_dist_partition p WHERE p.logicalrelid = c.oid)").fetchone()[0]
            workers = c.execute("SELECT count(DISTINCT node) FROM stash.tenant_list").fetchone()[0]
            if local or workers != 2:
                sys.exit(f"{name}: {local} tenant table(s) left local, tenants on {workers} worker(s)")
    drop_db(name)
    return create_s, migrate_s


rounds = []
with temp_dir("stash-bench-citus.") as root:
    cluster = CitusCluster(BINDIR, os.path.join(root, "cluster"))
    single = Node(BINDIR, root, "single", citus=False)
    try:
        cluster.start()
        single.start()

        def single_setup(name):
            with single.connect("postgres") as c:
                c.execute(f'CREATE DATABASE "{name}"')

        def single_drop(name):
            with single.connect("postgres") as c:
                c.execute(f'DROP DATABASE "{name}" WITH (FORCE)')

        for r in range(ROUNDS):
            sides = [("single", lambda n: single.connect(n), single_setup, single_drop, False),
                     ("cluster", lambda n: cluster.coordinator.connect(n), cluster.create_database,
                      cluster.drop_database, True)]
            if r % 2:
                sides.reverse()
            result = {}
            for label, factory, setup, drop, citus in sides:
                result[label] = run_side(factory, setup, drop, f"bench_{label}_{r}", citus)
                print(f"round {r + 1} {label}: tenant_create {TENANTS / result[label][0]:.1f}/s,"
                      f" migrate_all {TENANTS / result[label][1]:.1f} tenants/s", flush=True)
            rounds.append(result)
    finally:
        single.stop()
        cluster.stop()


def per_s(seconds):
    return TENANTS / seconds


lines = [
    f"| operation ({TENANTS} tenants, commerce template: 7 tables) | one node, tenants/s | 1 + 2 Citus cluster, tenants/s | cluster time / one-node time (median of {ROUNDS} rounds) | per round |",
    "|---|---|---|---|---|",
]
for i, what in enumerate(["tenant_create (one per transaction)", "migrate_all to version 2 (+1 table, +1 column, +1 index)"]):
    ratios = [r["cluster"][i] / r["single"][i] for r in rounds]
    lines.append(
        f"| {what} | {statistics.median(per_s(r['single'][i]) for r in rounds):.1f} "
        f"| {statistics.median(per_s(r['cluster'][i]) for r in rounds):.1f} "
        f"| {statistics.median(ratios):.2f}× | {', '.join(f'{x:.2f}' for x in ratios)} |")
table = "\n".join(lines)
print(table)
with open(OUT, "w") as f:
    f.write(f"""## Scale-out: Citus 1 + 2 nodes vs one node (`make bench-citus`)

{table}

All three cluster nodes and the single node run on this machine's 2 cores: the cluster
cannot be faster here, and these rows measure what Citus's distributed DDL costs per
tenant (each table becomes a shard on a worker, in a two-phase commit across nodes),
not the capacity that real extra machines add.  Rounds alternate which side goes first;
each side starts from a fresh database.  Both sides are checked: every tenant at
version 2, and on the cluster no tenant table left local and tenants on both workers.
""")
