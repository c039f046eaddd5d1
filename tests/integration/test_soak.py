"""The isolation soak: many clients, many tenants, one PgBouncer in transaction mode.

Every transaction logs in as the application role, enters a random tenant, writes a row
stamped with that tenant and its client, and reads back everything it can see.  At the
end: no transaction ever saw a row of another tenant, and every committed write is there.
`make test` runs it for STASH_SOAK_SECONDS=10 (default here); `make soak` runs 60 s with
the issue's sizes and prints the figures BENCHMARKS.md records.  The figures of the last
run are written to $STASH_RUN_DIR/soak.json."""
import json
import os
import random
import threading
import time

import psycopg
import pytest

from conftest import start_pgbouncer

SECONDS = float(os.environ.get("STASH_SOAK_SECONDS", "10"))
CLIENTS = int(os.environ.get("STASH_SOAK_CLIENTS", "50"))
TENANTS = int(os.environ.get("STASH_SOAK_TENANTS", "100"))
POOL = int(os.environ.get("STASH_SOAK_POOL", "8"))
APP = "soak_app"


@pytest.fixture
def soak_world(db, run_dir):
    with db.connect() as admin:
        admin.execute(f"DROP ROLE IF EXISTS {APP}")
        admin.execute(f"CREATE ROLE {APP} LOGIN")
        admin.execute(f"SELECT stash.app_role_add('{APP}')")
        admin.execute("SELECT stash.migration_add(1, 'log', 'CREATE TABLE log (id bigserial PRIMARY KEY, "
                      "tenant text NOT NULL, client int NOT NULL, seq int NOT NULL)')")
        for i in range(TENANTS):
            admin.execute("SELECT stash.tenant_create(%s)", (f"s{i:03d}",))
    proc, kwargs = start_pgbouncer(run_dir, "pgbouncer-soak", 6434, db.name, [APP],
                                   pool_size=POOL, max_clients=CLIENTS + 10)
    yield dict(kwargs, user=APP)
    proc.terminate()
    proc.wait(10)
    with db.connect() as admin:
        for i in range(TENANTS):
            admin.execute("SELECT stash.tenant_drop(%s)", (f"s{i:03d}",))
        admin.execute(f"SELECT stash.app_role_remove('{APP}')")
        admin.execute(f"DROP ROLE {APP}")


def test_soak_no_tenant_ever_sees_another(db, soak_world, run_dir):
    stop = time.monotonic() + SECONDS
    committed = {}          # (tenant, client, seq) of every committed write
    foreign = []            # rows of another tenant that a transaction saw
    errors = []
    counts = [0] * CLIENTS
    lock = threading.Lock()

    def client(n):
        rng = random.Random(n)
        try:
            with psycopg.connect(**soak_world, autocommit=True, prepare_threshold=None) as conn:
                seq = 0
                while time.monotonic() < stop:
                    slug = f"s{rng.randrange(TENANTS):03d}"
                    seq += 1
                    with conn.transaction():
                        conn.execute("SELECT stash.tenant_enter(%s)", (slug,))
                        conn.execute("INSERT INTO log (tenant, client, seq) VALUES (%s, %s, %s)", (slug, n, seq))
                        seen = conn.execute("SELECT DISTINCT tenant FROM log").fetchall()
                    with lock:
                        committed[(slug, n, seq)] = True
                        foreign.extend((slug, t) for (t,) in seen if t != slug)
                    counts[n] += 1
        except Exception as e:  # reported by the assertion below
            errors.append(repr(e))

    started = time.monotonic()
    threads = [threading.Thread(target=client, args=(n,)) for n in range(CLIENTS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(SECONDS + 120)
    elapsed = time.monotonic() - started

    assert errors == []
    assert foreign == [], foreign[:10]
    # every committed write is there, in its own tenant, and nothing else is
    with db.connect() as admin:
        stored = set()
        for i in range(TENANTS):
            slug = f"s{i:03d}"
            for tenant, client_n, seq in admin.execute(
                    f"SELECT tenant, client, seq FROM tenant_{slug}.log").fetchall():
                assert tenant == slug
                stored.add((tenant, client_n, seq))
    assert stored == set(committed), (len(stored), len(committed))
    total = sum(counts)
    assert total > 0
    figures = {"seconds": round(elapsed, 1), "clients": CLIENTS, "tenants": TENANTS, "pool": POOL,
               "transactions": total, "tps": round(total / elapsed, 1), "foreign_rows_seen": len(foreign),
               "writes_lost": len(set(committed) - stored)}
    with open(os.path.join(run_dir, "soak.json"), "w") as f:
        json.dump(figures, f)
    print("soak:", json.dumps(figures))
