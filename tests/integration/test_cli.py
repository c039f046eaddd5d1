"""The `stash` command-line tool (cli/): built once per session, run as a subprocess
against the test cluster (PGHOST/PGPORT/PGUSER from scripts/test.sh, PGDATABASE = the
test's database)."""
import os
import signal
import subprocess
import time

import pytest

from conftest import wait_until



@pytest.fixture
def stash(stash_bin, db):
    """stash(*args) -> CompletedProcess, connected to the test's database."""
    def run(*args, env=None, timeout=300):
        e = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
        e["PGDATABASE"] = db.name
        e.update(env or {})
        return subprocess.run([stash_bin, *args], capture_output=True, text=True, env=e,
                              timeout=timeout)
    return run


def write(d, files):
    d.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (d / name).write_text(text)
    return d


def catalog(db):
    with db.connect() as c:
        return c.execute("SELECT version, name, up_sql, down_sql, scope FROM stash.migrations"
                         " ORDER BY version").fetchall()


def versions(db):
    with db.connect() as c:
        return dict(c.execute("SELECT slug, current_version FROM stash.tenant_status").fetchall())


# ---- migrations load ---------------------------------------------------------------------

def test_load_flyway(stash, db, tmp_path):
    d = write(tmp_path / "m", {
        "V1__create_orders.sql": "CREATE TABLE orders (id int)",
        "U1__create_orders.sql": "DROP TABLE orders",
        "V2__add_note.sql": "ALTER TABLE orders ADD COLUMN note text",
        "README.md": "not a migration",
    })
    r = stash("migrations", "load", str(d))
    assert r.returncode == 0, r.stderr
    assert "added 1 create_orders (tenant, with down)" in r.stdout
    assert "2 added, 0 already registered" in r.stdout
    assert catalog(db) == [
        (1, "create_orders", "CREATE TABLE orders (id int)", "DROP TABLE orders", "tenant"),
        (2, "add_note", "ALTER TABLE orders ADD COLUMN note text", None, "tenant"),
    ]


def test_load_golang_migrate_and_mixed(stash, db, tmp_path):
    d = write(tmp_path / "m", {
        "000001_create_plans.up.sql": "CREATE TABLE plans (code text)",
        "000001_create_plans.down.sql": "DROP TABLE plans",
        "20240101120000_add_price.up.sql": "ALTER TABLE plans ADD price int",
    })
    r = stash("migrations", "load", str(d), "--scope", "shared")
    assert r.returncode == 0, r.stderr
    assert catalog(db) == [
        (1, "create_plans", "CREATE TABLE plans (code text)", "DROP TABLE plans", "shared"),
        (20240101120000, "add_price", "ALTER TABLE plans ADD price int", None, "shared"),
    ]
    # a mixed directory: both layouts at once
    mixed = write(tmp_path / "mixed", {
        "V5__a.sql": "CREATE TABLE a (id int)", "U5__a.sql": "DROP TABLE a",
        "6_b.up.sql": "CREATE TABLE b (id int)", "6_b.down.sql": "DROP TABLE b",
        # dbmate's single file
        "7_c.sql": "-- migrate:up\nCREATE TABLE c (id int);\n\n-- migrate:down\nDROP TABLE c;\n",
        "8_d.sql": "-- migrate:up\nCREATE TABLE d (id int);\n",
    })
    r = stash("migrations", "load", str(mixed))
    assert r.returncode == 0, r.stderr
    assert catalog(db)[1:5] == [(5, "a", "CREATE TABLE a (id int)", "DROP TABLE a", "tenant"),
                                (6, "b", "CREATE TABLE b (id int)", "DROP TABLE b", "tenant"),
                                (7, "c", "CREATE TABLE c (id int);", "DROP TABLE c;", "tenant"),
                                (8, "d", "CREATE TABLE d (id int);", None, "tenant")]
    r = stash("migrations", "load", str(mixed))
    assert r.returncode == 0 and "0 added, 4 already registered" in r.stdout


def test_load_is_idempotent(stash, db, tmp_path):
    d = write(tmp_path / "m", {"V1__a.sql": "CREATE TABLE a (id int)", "U1__a.sql": "DROP TABLE a"})
    assert stash("migrations", "load", str(d)).returncode == 0
    before = catalog(db)
    r = stash("migrations", "load", str(d))
    assert r.returncode == 0, r.stderr
    assert "0 added, 1 already registered" in r.stdout
    assert catalog(db) == before
    write(d, {"V2__b.sql": "CREATE TABLE b (id int)"})
    r = stash("migrations", "load", str(d))
    assert r.returncode == 0 and "1 added, 1 already registered" in r.stdout
    assert [row[0] for row in catalog(db)] == [1, 2]


def test_load_conflict_changes_nothing(stash, db, tmp_path):
    with db.connect() as c:
        c.execute("SELECT stash.migration_add(1, 'a', 'CREATE TABLE a (id int)')")
    d = write(tmp_path / "m", {
        "V1__a.sql": "CREATE TABLE a (id bigint)",   # other content under version 1
        "V2__b.sql": "CREATE TABLE b (id int)",
    })
    r = stash("migrations", "load", str(d))
    assert r.returncode != 0
    assert "version 1 (V1__a.sql) is registered with other content: up SQL differs" in r.stderr
    assert "nothing registered" in r.stderr
    assert catalog(db) == [(1, "a", "CREATE TABLE a (id int)", None, "tenant")]
    # the same version with another down SQL, or another scope, is a conflict too
    d2 = write(tmp_path / "m2", {"V1__a.sql": "CREATE TABLE a (id int)", "U1__a.sql": "DROP TABLE a"})
    r = stash("migrations", "load", str(d2))
    assert r.returncode != 0 and "down SQL differs" in r.stderr
    r = stash("migrations", "load", str(write(tmp_path / "m3", {"V1__a.sql": "CREATE TABLE a (id int)"})),
              "--scope", "shared")
    assert r.returncode != 0 and "scope tenant, loading as shared" in r.stderr
    assert len(catalog(db)) == 1


@pytest.mark.parametrize("files, message", [
    (None, "cannot read directory"),
    ({"V1__a.sql": "SELECT 1", "V1.1__b.sql": "SELECT 2"}, "cannot read migration file name \"V1.1__b.sql\""),
    ({"V1__a.sql": "SELECT 1", "2_b.sql": "SELECT 2"}, "2_b.sql has no \"-- migrate:up\" line"),
    ({"V1__a.sql": "SELECT 1", "R__b.sql": "SELECT 2"}, "repeatable migrations (R__) are not supported"),
    ({"1_a.sql": "-- migrate:up\nSELECT 1", "U1__a.sql": "SELECT 2"}, "two files for version 1: 1_a.sql and U1__a.sql"),
    ({"V1__a.sql": "SELECT 1", "0001_b.up.sql": "SELECT 2"}, "two files for version 1 (up): 0001_b.up.sql and V1__a.sql"),
    ({"V1__a.sql": "SELECT 1", "U2__b.sql": "SELECT 2"}, "version 2: U2__b.sql has no up file"),
    ({"V1__a.sql": "SELECT 1", "V2__b.sql": "  \n"}, "version 2: V2__b.sql is empty"),
])
def test_load_refuses_bad_directories(stash, db, tmp_path, files, message):
    d = tmp_path / "m"
    if files is not None:
        write(d, files)
    r = stash("migrations", "load", str(d))
    assert r.returncode == 1
    assert message in r.stderr
    assert catalog(db) == []


def test_load_dry_run(stash, db, tmp_path):
    d = write(tmp_path / "m", {"V1__a.sql": "CREATE TABLE a (id int)", "V2__b.sql": "CREATE TABLE b (id int)"})
    with db.connect() as c:
        c.execute("SELECT stash.migration_add(1, 'a', 'CREATE TABLE a (id int)')")
    r = stash("migrations", "load", str(d), "--dry-run")
    assert r.returncode == 0, r.stderr
    assert "would add 2 b (tenant) from V2__b.sql" in r.stdout
    assert "1 would add, 1 already registered" in r.stdout
    assert [row[0] for row in catalog(db)] == [1]


# ---- tenants and fleet migrations --------------------------------------------------------

def test_tenant_create_and_fleet_migrate(stash, db, tmp_path):
    d = write(tmp_path / "m", {"V1__orders.sql": "CREATE TABLE orders (id int)"})
    assert stash("migrations", "load", str(d)).returncode == 0
    for slug in ("acme", "globex", "hooli"):
        r = stash("tenant", "create", slug, "--name", slug.title())
        assert r.returncode == 0, r.stderr
        assert f"created tenant {slug} (schema tenant_{slug})" in r.stdout
    with db.connect() as c:
        for i in range(20):
            c.execute("SELECT stash.tenant_create(%s)", (f"t{i:02}",))
    write(d, {"V2__note.sql": "ALTER TABLE orders ADD note text",
              "V3__idx.sql": "CREATE INDEX orders_note_idx ON orders (note)"})
    assert stash("migrations", "load", str(d)).returncode == 0
    assert set(versions(db).values()) == {1}
    r = stash("migrate", "--jobs", "2")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "migrating 23 tenant(s) in 2 session(s)" in r.stdout
    assert "summary: 23 tenant(s) migrated" in r.stdout and "0 failed, 0 still pending" in r.stdout
    assert "progress: 23/23 tenants" in r.stdout   # plain lines: stdout is not a terminal
    assert set(versions(db).values()) == {3} and len(versions(db)) == 23
    with db.connect() as c:
        assert c.execute("SELECT max(pending) FROM stash.tenant_status").fetchone()[0] == 0
    # nothing left: exit 0 at once
    r = stash("migrate", "--jobs", "4")
    assert r.returncode == 0 and "nothing to migrate" in r.stdout
    # one tenant, back down and up again
    with db.connect() as c:   # a version with down SQL
        c.execute("SELECT stash.migration_add(4, 'idx2', 'CREATE INDEX o2 ON orders (id)', 'DROP INDEX o2')")
    r = stash("migrate", "--tenant", "acme")
    assert r.returncode == 0, r.stderr
    assert "acme: ok, version 3 -> 4, 1 step(s)" in r.stdout
    r = stash("migrate", "--tenant", "acme", "--to", "3")
    assert r.returncode == 0 and "acme: ok, version 4 -> 3" in r.stdout
    r = stash("migrate", "--tenant", "acme", "--to", "2")   # version 3 has no down SQL
    assert r.returncode == 1 and "acme: failed" in r.stdout
    assert versions(db)["acme"] == 3


def test_fleet_migrate_with_a_failing_tenant(stash, db, tmp_path):
    with db.connect() as c:
        c.execute("SELECT stash.migration_add(1, 't', 'CREATE TABLE t (x int)')")
        for s in ("a", "b", "c", "d", "e", "f"):
            c.execute("SELECT stash.tenant_create(%s)", (s,))
        c.execute("INSERT INTO tenant_c.t VALUES (-1)")
        c.execute("INSERT INTO tenant_a.t VALUES (1)")
    d = write(tmp_path / "m", {"V2__positive.sql": "ALTER TABLE t ADD CONSTRAINT t_x_positive CHECK (x >= 0)"})
    assert stash("migrations", "load", str(d)).returncode == 0
    r = stash("migrate", "--jobs", "3")
    assert r.returncode == 1, r.stdout + r.stderr
    # every session may try tenant c: it is still one failed tenant
    assert "progress: 6/6 tenants, 1 failed" in r.stdout
    assert "summary: 5 tenant(s) migrated" in r.stdout and "1 failed, 0 still pending" in r.stdout
    assert "failed c (at version 1): version 2: " in r.stdout and "SQLSTATE 23514" in r.stdout
    v = versions(db)
    assert v.pop("c") == 1 and set(v.values()) == {2}
    # tenants, status
    r = stash("tenants")
    assert r.returncode == 0, r.stderr
    lines = {line.split()[0]: line.split() for line in r.stdout.splitlines()[1:-1]}
    assert lines["c"][:4] == ["c", "active", "1", "1"] and lines["c"][-1] == "failed"
    assert lines["a"][:4] == ["a", "active", "2", "0"]
    assert "(6 tenant(s))" in r.stdout
    r = stash("status")
    assert r.returncode == 0, r.stderr
    assert "tenants: 6 (6 active, 0 suspended)" in r.stdout
    assert "1: 1" in r.stdout and "2: 5 (latest)" in r.stdout
    assert "pending: 1 tenant(s)" in r.stdout
    assert "failed: 1 tenant(s)" in r.stdout and "  c: version 2: " in r.stdout
    # fixed: the next run finishes the fleet
    with db.connect() as c:
        c.execute("DELETE FROM tenant_c.t")
    r = stash("migrate")
    assert r.returncode == 0, r.stdout + r.stderr
    assert set(versions(db).values()) == {2}


def test_migrate_canary_and_max_failures(stash, db):
    with db.connect() as c:
        c.execute("SELECT stash.migration_add(1, 't', 'CREATE TABLE t (x int)')")
        for i in range(6):
            c.execute("SELECT stash.tenant_create(%s)", (f"t{i}",))
        c.execute("SELECT stash.migration_add(2, 'u', 'CREATE TABLE u (x int)')")
    r = stash("migrate", "--canary", "2", "--jobs", "3")
    assert r.returncode == 1   # tenants still pending after the canary
    assert "--canary runs in one session" in r.stderr
    assert sorted(versions(db).values()) == [1, 1, 1, 1, 2, 2]
    r = stash("migrate", "--max-failures", "0")
    assert r.returncode == 2 and "invalid value" in r.stderr   # clap refuses it
    r = stash("-v", "migrate")
    assert r.returncode == 0 and set(versions(db).values()) == {2}
    assert "NOTICE: stash.migrate_all: finished, 4 tenant(s) migrated" in r.stderr
    # the fleet back down to version 1: version 2 has no down SQL, so every tenant refuses
    r = stash("migrate", "--to", "1", "--jobs", "2")
    assert r.returncode == 1 and "6 failed" in r.stdout and "has no down_sql" in r.stdout
    assert set(versions(db).values()) == {2}


def test_fleet_rollback_with_to(stash, db):
    with db.connect() as c:
        c.execute("SELECT stash.migration_add(1, 't', 'CREATE TABLE t (x int)')")
        c.execute("SELECT stash.migration_add(2, 'u', 'CREATE TABLE u (x int)', 'DROP TABLE u')")
        for i in range(5):
            c.execute("SELECT stash.tenant_create(%s)", (f"t{i}",))
    r = stash("migrate", "--to", "1", "--jobs", "2")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "summary: 5 tenant(s) migrated" in r.stdout
    assert set(versions(db).values()) == {1}
    with db.connect() as c:
        assert c.execute("SELECT count(*) FROM pg_tables WHERE tablename = 'u'").fetchone()[0] == 0
    r = stash("migrate", "--to", "1")
    assert r.returncode == 0 and "nothing to migrate" in r.stdout
    r = stash("migrate")
    assert r.returncode == 0 and set(versions(db).values()) == {2}


def test_progress_bar_on_a_terminal(stash_bin, db):
    """On a terminal, indicatif draws a bar (not the plain progress lines)."""
    import pty
    with db.connect() as c:
        c.execute("SELECT stash.migration_add(1, 't', 'CREATE TABLE t (x int)')")
        for i in range(30):
            c.execute("SELECT stash.tenant_create(%s)", (f"t{i}",))
        c.execute("SELECT stash.migration_add(2, 's', 'SELECT pg_sleep(0.05)')")
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env["PGDATABASE"] = db.name
    master, slave = pty.openpty()
    p = subprocess.Popen([stash_bin, "migrate"], env=env, stdout=slave, stderr=slave, stdin=slave)
    os.close(slave)
    out = b""
    while True:
        try:
            chunk = os.read(master, 4096)
        except OSError:
            break
        if not chunk:
            break
        out += chunk
    assert p.wait(timeout=60) == 0
    os.close(master)
    text = out.decode(errors="replace")
    assert "tenants" in text and "ETA" in text and "failed" in text   # the bar
    assert "progress:" not in text
    assert "summary: 30 tenant(s) migrated" in text


def test_verify_ok_and_drifted(stash, db):
    with db.connect() as c:
        c.execute("SELECT stash.migration_add(1, 'orders', 'CREATE TABLE orders (id int, total numeric)')")
        for s in ("a", "b"):
            c.execute("SELECT stash.tenant_create(%s)", (s,))
    r = stash("verify")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "2 tenant(s) verified, 2 ok, 0 not ok" in r.stdout
    with db.connect() as c:
        c.execute("CREATE INDEX orders_total_idx ON tenant_b.orders (total)")
    r = stash("verify")
    assert r.returncode == 1
    assert "drifted      b" in r.stdout and "- extra index orders_total_idx" in r.stdout
    assert "1 ok, 1 not ok" in r.stdout
    assert stash("verify", "a").returncode == 0
    assert stash("verify", "b").returncode == 1
    r = stash("verify", "nobody")
    assert r.returncode == 1 and "SQLSTATE: 42704" in r.stderr


def test_tenant_lifecycle(stash, db):
    with db.connect() as c:
        c.execute("SELECT stash.migration_add(1, 'orders', 'CREATE TABLE orders (id int)')")
    assert stash("tenant", "create", "acme").returncode == 0
    with db.connect() as c:
        c.execute("INSERT INTO tenant_acme.orders VALUES (1), (2)")
    r = stash("tenant", "rename", "acme", "acme2")
    assert r.returncode == 0, r.stderr
    assert "renamed tenant acme to acme2" in r.stdout
    r = stash("tenant", "clone", "acme2", "copy")
    assert r.returncode == 0, r.stderr
    assert "cloned tenant acme2 to copy (schema tenant_copy, with data)" in r.stdout
    r = stash("tenant", "clone", "acme2", "empty", "--no-data", "--name", "Empty")
    assert r.returncode == 0 and "schema only" in r.stdout
    with db.connect() as c:
        assert c.execute("SELECT count(*) FROM tenant_copy.orders").fetchone()[0] == 2
        assert c.execute("SELECT count(*) FROM tenant_empty.orders").fetchone()[0] == 0
        assert c.execute("SELECT name FROM stash.tenant_list WHERE slug = 'empty'").fetchone()[0] == "Empty"
        assert c.execute("SELECT count(*) FROM stash.tenants WHERE slug = 'acme'").fetchone()[0] == 0
    r = stash("tenant", "suspend", "copy")
    assert r.returncode == 0 and "tenant copy is suspended" in r.stdout
    assert "suspended" in [l.split()[1] for l in stash("tenants").stdout.splitlines() if l.startswith("copy")]
    assert "1 suspended" in stash("status").stdout
    r = stash("tenant", "suspend", "copy")   # already suspended: the server's NOTICE is shown
    assert r.returncode == 0 and "NOTICE" in r.stderr
    assert stash("tenant", "resume", "copy").returncode == 0
    with db.connect() as c:
        assert c.execute("SELECT status FROM stash.tenants WHERE slug = 'copy'").fetchone()[0] == "active"
        c.execute("CREATE VIEW public.v AS SELECT * FROM tenant_empty.orders")
    r = stash("tenant", "drop", "empty")
    assert r.returncode == 1 and "SQLSTATE: 2BP01" in r.stderr and "DETAIL: view public.v" in r.stderr
    assert "HINT: " in r.stderr
    r = stash("tenant", "drop", "empty", "--force")
    assert r.returncode == 0, r.stderr
    assert "dropped tenant empty" in r.stdout
    with db.connect() as c:
        assert c.execute("SELECT array_agg(slug ORDER BY slug) FROM stash.tenants").fetchone()[0] == ["acme2", "copy"]


def test_errors_print_sqlstate(stash, db):
    r = stash("tenant", "create", "Bad Slug")
    assert r.returncode == 1
    assert "SQLSTATE: 22023" in r.stderr and "HINT: " in r.stderr and "ERROR: " in r.stderr
    r = stash("tenant", "drop", "nobody")
    assert r.returncode == 1 and "SQLSTATE: 42704" in r.stderr
    assert stash("tenant", "create", "dup").returncode == 0
    r = stash("tenant", "create", "dup")
    assert r.returncode == 1 and "SQLSTATE: 23505" in r.stderr
    r = stash("tenants", env={"PGDATABASE": "no_such_database_here"})
    assert r.returncode == 1 and "SQLSTATE: 3D000" in r.stderr
    r = stash("tenant", "frobnicate")
    assert r.returncode == 2


def test_connects_with_database_url(stash, db):
    assert stash("tenant", "create", "acme").returncode == 0
    url = (f"host={os.environ['PGHOST']} port={os.environ.get('PGPORT', '5432')} "
           f"user={os.environ.get('PGUSER', 'postgres')} dbname={db.name}")
    r = stash("tenants", env={"DATABASE_URL": url, "PGDATABASE": "postgres"})
    assert r.returncode == 0, r.stderr
    assert "acme" in r.stdout
    r = stash("tenants", env={"DATABASE_URL": "postgresql://%2Fno%2Fsuch%2Fdir/x"})
    assert r.returncode == 1 and "error" in r.stderr


def test_sigint_during_fleet_migrate_then_resume(stash_bin, stash, db):
    n = 200
    with db.connect() as c:
        c.execute("SELECT stash.migration_add(1, 't', 'CREATE TABLE t (x int)')")
        c.execute(f"SELECT stash.tenant_create('t' || lpad(i::text, 3, '0')) FROM generate_series(1, {n}) i")
        c.execute("SELECT stash.migration_add(2, 'slow', 'SELECT pg_sleep(0.05); ALTER TABLE t ADD y int')")
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env["PGDATABASE"] = db.name
    p = subprocess.Popen([stash_bin, "migrate", "--jobs", "2"], env=env, text=True,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)

    def some_migrated():
        return sum(1 for v in versions(db).values() if v == 2) >= 10
    assert wait_until(some_migrated, timeout=30)
    p.send_signal(signal.SIGINT)
    out, err = p.communicate(timeout=60)
    assert p.returncode == 130, out + err
    assert "interrupted" in err and "run `stash migrate` again" in err
    v = versions(db)
    done = sum(1 for x in v.values() if x == 2)
    assert 10 <= done < n
    # the cancelled sessions are gone: nothing keeps migrating behind our back
    time.sleep(0.5)
    assert sum(1 for x in versions(db).values() if x == 2) == done
    with db.connect() as c:
        assert c.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                         " AND application_name = 'stash-cli'").fetchone()[0] == 0
        assert c.execute("SELECT count(*) FROM stash.migration_failures").fetchone()[0] == 0
    r = stash("migrate", "--jobs", "2")
    assert r.returncode == 0, r.stdout + r.stderr
    assert f"migrating {n - done} tenant(s)" in r.stdout
    assert set(versions(db).values()) == {2}
