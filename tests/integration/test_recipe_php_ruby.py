"""docs/recipes/laravel.md and ruby.md, executed as written with Debian 12's packages
(scripts/setup.d/40-php-ruby.sh): Laravel 8 on PHP 8.2 with pdo_pgsql, ActiveRecord 6.1
with ruby-pg.  Tenant migrations are loaded by the real `stash` CLI as a superuser; the
programs run as a freshly registered LOGIN app role, unique to the test and dropped after."""
import os
import shutil
import subprocess
import uuid

import pytest

from conftest import BINDIR, extract_recipe, on_default_pg_only, run_program, start_pgbouncer

LARAVEL_AUTOLOAD = "/usr/share/php/Illuminate/autoload.php"


def run(cmd, cwd, env, ok_line=None):
    out = run_program(cmd, cwd, env)
    if ok_line is not None:
        # Laravel's console exception handler exits 0 after an uncaught exception: the
        # line printed at the very end is what proves the program got there.
        assert ok_line in out.splitlines(), out
    return out


def recipe_env(db, tmp_path, stash_bin, role):
    """libpq env for the database under test; `stash` and this PostgreSQL's psql on PATH."""
    bindir = tmp_path / ".bin"
    bindir.mkdir()
    (bindir / "stash").symlink_to(stash_bin)
    path = os.pathsep.join(p for p in (str(bindir), BINDIR, os.environ["PATH"]) if p)
    return dict(os.environ, PGDATABASE=db.name, APP_ROLE=role, PATH=path)


def run_pooled(cmd, ok_line, cwd, app_env, db, role, run_dir, port):
    """Three workers at once through a PgBouncer (transaction mode) with ONE server
    connection, so their transactions alternate on one backend.  Returns the PgBouncer
    process, for the caller to terminate."""
    pgbouncer, conn = start_pgbouncer(run_dir, f"pgbouncer-{role}", port, db.name, [role])
    env = dict(app_env, PGHOST=conn["host"], PGPORT=str(conn["port"]))
    workers = [subprocess.Popen(cmd, cwd=cwd, env=env, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True) for _ in range(3)]
    outputs = [w.communicate(timeout=120)[0] for w in workers]
    for worker, output in zip(workers, outputs):
        assert worker.returncode == 0 and ok_line in output.splitlines(), output
    return pgbouncer


def drop_role(db, role):
    with db.connect() as admin:
        admin.execute(f'DROP OWNED BY "{role}"')
        admin.execute(f'DROP ROLE "{role}"')


@on_default_pg_only
def test_laravel_recipe(db, tmp_path, stash_bin, run_dir):
    if shutil.which("php") is None or not os.path.exists(LARAVEL_AUTOLOAD):
        pytest.fail("php or Debian's php-laravel-framework missing: run make setup")
    names = extract_recipe("laravel.md", tmp_path)
    assert "provision.sh" in names and "example.php" in names and "pooled.php" in names
    migrations = sorted(n for n in names if n.startswith("database/tenant-migrations/"))
    assert migrations == ["database/tenant-migrations/U1__create_orders.sql",
                          "database/tenant-migrations/V1__create_orders.sql",
                          "database/tenant-migrations/V2__add_order_note.sql"]

    role = "laravel_" + uuid.uuid4().hex[:8]
    env = recipe_env(db, tmp_path, stash_bin, role)
    pgbouncer = None
    try:
        out = run(["sh", "provision.sh"], tmp_path, env)
        assert "database/tenant-migrations: 2 added, 0 already registered" in out, out
        with db.connect() as admin:
            assert admin.execute(
                "SELECT slug, current_version FROM stash.tenant_status ORDER BY slug").fetchall() \
                == [("acme", 2), ("globex", 2)]

        app_env = dict(env, PGUSER=role)
        run(["php", "example.php"], tmp_path, app_env, "laravel recipe: ok")
        with db.connect() as admin:  # what the requests committed, seen from outside
            assert admin.execute("SELECT total::text, note FROM tenant_acme.orders ORDER BY id"
                                 ).fetchall() == [("9.99", None), ("5.00", "rush")]
            assert admin.execute("SELECT total::text FROM tenant_globex.orders").fetchall() \
                == [("120.00",)]

        pgbouncer = run_pooled(["php", "pooled.php"], "laravel pooled: ok",
                               tmp_path, app_env, db, role, run_dir, 6451)
    finally:
        if pgbouncer is not None:
            pgbouncer.terminate()
            pgbouncer.wait()
        drop_role(db, role)


@on_default_pg_only
def test_ruby_activerecord_recipe(db, tmp_path, stash_bin, run_dir):
    check = subprocess.run(
        ["ruby", "-e", 'require "active_record"; require "pg"; print ActiveRecord.version'],
        capture_output=True, text=True) if shutil.which("ruby") else None
    if check is None or check.returncode != 0:
        pytest.fail("ruby, ruby-activerecord or ruby-pg missing: run make setup")
    assert check.stdout.startswith("6.1."), check.stdout
    names = extract_recipe("ruby.md", tmp_path)
    assert names == ["tenant.rb", "app.rb",
                     "db/tenant-migrations/1_create_orders.up.sql",
                     "db/tenant-migrations/1_create_orders.down.sql",
                     "db/tenant-migrations/2_add_order_note.up.sql",
                     "provision.sh", "example.rb", "pooled.rb"]

    role = "ruby_" + uuid.uuid4().hex[:8]
    env = recipe_env(db, tmp_path, stash_bin, role)
    pgbouncer = None
    try:
        out = run(["sh", "provision.sh"], tmp_path, env)
        assert "db/tenant-migrations: 2 added, 0 already registered" in out, out
        with db.connect() as admin:
            assert admin.execute(
                "SELECT slug, current_version FROM stash.tenant_status ORDER BY slug").fetchall() \
                == [("acme", 2), ("globex", 2)]

        app_env = dict(env, PGUSER=role)
        run(["ruby", "example.rb"], tmp_path, app_env, "ruby recipe: ok")
        with db.connect() as admin:
            assert admin.execute("SELECT total::text, note FROM tenant_acme.orders ORDER BY id"
                                 ).fetchall() == [("9.99", None), ("5.00", "rush")]
            assert admin.execute("SELECT total::text FROM tenant_globex.orders").fetchall() \
                == [("120.00",)]

        pgbouncer = run_pooled(["ruby", "pooled.rb"], "ruby pooled: ok",
                               tmp_path, app_env, db, role, run_dir, 6452)
    finally:
        if pgbouncer is not None:
            pgbouncer.terminate()
            pgbouncer.wait()
        drop_role(db, role)
