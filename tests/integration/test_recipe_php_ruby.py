"""docs/recipes/laravel.md and ruby.md, executed as written with Debian 12's packages
(scripts/setup.d/40-php-ruby.sh): Laravel 8 on PHP 8.2 with pdo_pgsql, ActiveRecord 6.1
with ruby-pg.  Tenant migrations are loaded by the real `stash` CLI as a superuser; the
programs run as a freshly registered LOGIN app role, unique to the test and dropped after."""
import os
import shutil
import subprocess
import uuid

import pytest

from conftest import BINDIR, extract_recipe, on_default_pg_only, start_pgbouncer

LARAVEL_AUTOLOAD = "/usr/share/php/Illuminate/autoload.php"


def run(cmd, cwd, env, ok_line=None):
    done = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    if ok_line is not None:
        # Laravel's console exception handler exits 0 after an uncaught exception: the
        # line printed at the very end is what proves the program got there.
        assert ok_line in done.stdout.splitlines(), done.stdout + done.stderr
    return done.stdout


def recipe_env(db, tmp_path, stash_bin, role):
    """libpq env for the database under test; `stash` and this PostgreSQL's psql on PATH."""
    bindir = tmp_path / ".bin"
    bindir.mkdir()
    (bindir / "stash").symlink_to(stash_bin)
    path = os.pathsep.join(p for p in (str(bindir), BINDIR, os.environ["PATH"]) if p)
    return dict(os.environ, PGDATABASE=db.name, APP_ROLE=role, PATH=path)


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

        # three workers at once through ONE pooled server connection
        pgbouncer, conn = start_pgbouncer(run_dir, f"pgbouncer-{role}", 6451, db.name, [role])
        pooled_env = dict(app_env, PGHOST=conn["host"], PGPORT=str(conn["port"]))
        workers = [subprocess.Popen(["php", "pooled.php"], cwd=tmp_path, env=pooled_env,
                                    stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
                   for _ in range(3)]
        outputs = [w.communicate(timeout=120)[0] for w in workers]
        for worker, output in zip(workers, outputs):
            assert worker.returncode == 0 and "laravel pooled: ok" in output.splitlines(), output
    finally:
        if pgbouncer is not None:
            pgbouncer.terminate()
            pgbouncer.wait()
        drop_role(db, role)
