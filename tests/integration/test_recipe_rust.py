"""docs/recipes/rust.md executed as written: its Cargo project (sqlx 0.8 and tokio-postgres)
is built and run against the real server as a registered app role, after its provisioning
script has loaded the migrations with the real `stash` CLI; then its sqlx part again through
a real PgBouncer in transaction mode with one server connection shared by two pools.

Building sqlx takes minutes, so scripts/setup.d/60-rust-recipe.sh prebuilds the page's
dependencies into $PG_ROOT/rust-recipe/target (with the Cargo.lock it generated); here only
the recipe's own crate compiles.  If the page changed its dependencies, cargo builds the
missing ones: slower, still correct."""
import os
import shutil
import uuid

import pytest
from psycopg import sql

from conftest import (PG_ROOT, bin_path, extract_recipe, on_default_pg_only, run_program,
                      start_pgbouncer)

PREBUILT = os.path.join(PG_ROOT, "rust-recipe")
FILES = ["migrations/V1__orders.sql", "provision.sh", "Cargo.toml", "src/tenant.rs",
         "src/main.rs", "src/tenant_pg.rs", "src/pgbouncer.rs"]




@on_default_pg_only
def test_rust_recipe(db, stash_bin, tmp_path, run_dir):
    cargo = shutil.which("cargo") or os.path.expanduser("~/.cargo/bin/cargo")
    if not os.path.exists(cargo):
        pytest.fail("cargo not found: run make setup")
    if not os.path.isdir(os.path.join(PREBUILT, "target")):
        pytest.fail(f"{PREBUILT}/target missing (the recipe's prebuilt dependencies): run make setup")
    assert extract_recipe("rust.md", tmp_path) == FILES
    shutil.copy(os.path.join(PREBUILT, "Cargo.lock"), tmp_path / "Cargo.lock")
    # The same profile flags as the prebuild, or cargo would rebuild every dependency.
    env = dict(os.environ, CARGO_BUILD_JOBS="1", CARGO_PROFILE_DEV_DEBUG="0",
               CARGO_TARGET_DIR=os.path.join(PREBUILT, "target"), PGDATABASE=db.name)
    run_program([cargo, "build", "--quiet"], tmp_path, env, timeout=600)

    app = "rust_app_" + uuid.uuid4().hex[:8]
    path = os.pathsep.join([os.path.dirname(stash_bin), os.path.dirname(bin_path("psql")),
                            env["PATH"]])
    try:
        run_program(["sh", "provision.sh"], tmp_path, dict(env, PATH=path, APP_ROLE=app))
        program = os.path.join(PREBUILT, "target", "debug", "stash-recipe")
        out = run_program([program], tmp_path, dict(env, PGUSER=app), timeout=60)
        assert out.splitlines()[-1:] == ["rust recipe: ok"], out

        # The page's PgBouncer part: two pools, one server connection, transaction mode.
        bouncer, conn = start_pgbouncer(run_dir, f"pgbouncer-rust-{app}", 6441, db.name, [app])
        try:
            out = run_program([program, "pgbouncer"], tmp_path, dict(
                env, PGUSER=app, PGHOST=conn["host"], PGPORT=str(conn["port"])), timeout=60)
        finally:
            bouncer.terminate()
            bouncer.wait(10)
        assert out.splitlines()[-1:] == ["rust recipe behind pgbouncer: ok"], out

        # What the program did is in the database, written by the app role through the
        # tenants' roles: rows each tenant's own, the failed requests' rows nowhere.
        with db.connect() as admin:
            # ordered by item: the program inserts acme's two orders in concurrent tasks
            assert admin.execute("SELECT item FROM tenant_acme.orders ORDER BY item").fetchall() \
                == [("anvil",), ("rope",)]
            assert admin.execute("SELECT item FROM tenant_globex.orders ORDER BY item").fetchall() \
                == [("gear",), ("widget",)]
            assert admin.execute("SELECT rolsuper FROM pg_roles WHERE rolname = %s",
                                 (app,)).fetchone() == (False,)
    finally:
        with db.connect() as admin:
            for slug in ("acme", "globex", "initech"):
                admin.execute("SELECT stash.tenant_drop(slug, force => true) FROM stash.tenants "
                              "WHERE slug = %s", (slug,))
            if admin.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (app,)).fetchone():
                admin.execute("SELECT stash.app_role_remove(%s)", (app,))
                admin.execute(sql.SQL("DROP OWNED BY {0}; DROP ROLE {0}").format(
                    sql.Identifier(app)))

