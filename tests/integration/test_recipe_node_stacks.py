"""The Node/TypeScript recipes (docs/recipes/typescript.md, prisma.md, express.md) executed
as written: each page's files are extracted, type-checked and compiled by the real `tsc`,
and run against the real server with the real libraries from npm ($NODE_DIR, installed by
scripts/setup.d/30-node-stacks.sh).  Migrations are registered by the real `stash` CLI; the
application part runs as a registered LOGIN role made for the test (Express: through a real
PgBouncer in transaction mode)."""
import os
import random
import uuid

import pytest

from conftest import PG_ROOT, extract_recipe, on_default_pg_only, run_program, start_pgbouncer

pytestmark = on_default_pg_only

NODE_MODULES = os.path.join(os.environ.get("NODE_DIR", os.path.join(PG_ROOT, "node")), "node_modules")
NEEDED = ["typescript", "postgres", "pg", "prisma", "@prisma/client", "@prisma/adapter-pg",
          "express", "typeorm", "reflect-metadata", "jsonwebtoken"]


@pytest.fixture
def recipe_dir(tmp_path):
    missing = [p for p in NEEDED if not os.path.isfile(os.path.join(NODE_MODULES, p, "package.json"))]
    if missing:
        pytest.fail(f"{', '.join(missing)} missing from {NODE_MODULES}: run make setup")
    os.symlink(NODE_MODULES, tmp_path / "node_modules")
    return tmp_path




def run(cmd, cwd, db, **env):
    return run_program(cmd, cwd, dict(os.environ, PGDATABASE=db.name, CHECKPOINT_DISABLE="1", **env))


def tsc(cwd, db):
    run(["node", os.path.join(NODE_MODULES, "typescript", "bin", "tsc"), "-p", "."], cwd, db)


def test_typescript_recipe(db, recipe_dir, app_role, stash_bin):
    files = extract_recipe("typescript.md", recipe_dir)
    assert "src/example.ts" in files and "migrations/shared/V1__currencies.sql" in files
    tsc(recipe_dir, db)
    run(["node", "dist/deploy.js"], recipe_dir, db, STASH=stash_bin, APP_ROLE=app_role)
    with db.connect() as admin:
        assert admin.execute("SELECT version, scope FROM stash.migrations ORDER BY version").fetchall() \
            == [(1, "shared"), (2, "tenant")]
        assert admin.execute("SELECT slug, current_version FROM stash.tenant_status ORDER BY slug").fetchall() \
            == [("acme", 2), ("globex", 2)]
    out = run(["node", "dist/example.js"], recipe_dir, db, APP_ROLE=app_role)
    assert "typescript recipe: ok" in out
    with db.connect() as admin:  # what the program wrote landed in each tenant's own schema
        assert admin.execute("SELECT array_agg(item ORDER BY id) FROM tenant_acme.orders").fetchone()[0] \
            == ["anvil", "rope"]
        assert admin.execute("SELECT array_agg(item ORDER BY id) FROM tenant_globex.orders").fetchone()[0] \
            == ["rocket"]


def test_prisma_recipe(db, recipe_dir, app_role, stash_bin):
    files = extract_recipe("prisma.md", recipe_dir)
    assert "prisma/schema.prisma" in files and "src/example.ts" in files
    # Prisma's site is unreachable: generate with existing stand-ins for the two engines
    # it would otherwise download; engineType = "client" runs neither.
    stub = recipe_dir / "no-engine"
    stub.write_text("#!/bin/sh\nexit 1\n")
    stub.chmod(0o755)
    run(["node", os.path.join(NODE_MODULES, "prisma", "build", "index.js"), "generate"], recipe_dir, db,
        PRISMA_SCHEMA_ENGINE_BINARY=str(stub), PRISMA_QUERY_ENGINE_LIBRARY=str(stub))
    assert (recipe_dir / "generated" / "prisma" / "query_compiler_bg.wasm").exists()
    tsc(recipe_dir, db)
    run(["node", "src/deploy.js"], recipe_dir, db, STASH=stash_bin, APP_ROLE=app_role)
    out = run(["node", "src/example.js"], recipe_dir, db, APP_ROLE=app_role)
    assert "prisma recipe: ok" in out
    with db.connect() as admin:  # one shared table, each row stamped with its tenant
        rows = admin.execute('SELECT t.slug, o.item FROM "Order" o JOIN stash.tenants t ON t.id = o."tenantId"'
                             " ORDER BY o.id").fetchall()
        assert rows == [("acme", "anvil"), ("acme", "rope"), ("globex", "rocket")]
        assert admin.execute("SELECT count(*) FROM tenant_acme.notes").fetchone()[0] == 1
        assert admin.execute("SELECT count(*) FROM tenant_globex.notes").fetchone()[0] == 0


def test_express_recipe(db, recipe_dir, app_role, stash_bin, run_dir):
    files = extract_recipe("express.md", recipe_dir)
    assert "src/app.ts" in files and "migrations/V1__orders.sql" in files
    tsc(recipe_dir, db)
    secret = uuid.uuid4().hex + uuid.uuid4().hex  # 64 bytes: HS256 wants at least 32
    run(["node", "dist/deploy.js"], recipe_dir, db, STASH=stash_bin, APP_ROLE=app_role, JWT_SECRET=secret)
    with db.connect() as admin:
        assert admin.execute("SELECT token_required FROM stash.app_roles WHERE role = %s",
                             (app_role,)).fetchone() == (True,)
    port = 6400 + random.randrange(500)
    proc, bouncer = start_pgbouncer(run_dir, f"pgbouncer-express-{port}", port, db.name, [app_role])
    try:
        out = run(["node", "dist/example.js"], recipe_dir, db, APP_ROLE=app_role, JWT_SECRET=secret,
                  BOUNCER_HOST=bouncer["host"], BOUNCER_PORT=str(port))
    finally:
        proc.terminate()
        proc.wait(10)
    assert "express recipe: ok" in out
    # the requests went through PgBouncer, all on its one server connection
    with open(os.path.join(bouncer["host"], "pgbouncer.log")) as f:
        log = f.read()
    assert f"login attempt: db={db.name} user={app_role}" in log
    assert log.count("new connection to server") == 1, log
    with db.connect() as admin:
        assert admin.execute("SELECT array_agg(item ORDER BY id) FROM tenant_acme.orders").fetchone()[0] \
            == ["anvil", "rope"]
        assert admin.execute("SELECT array_agg(item ORDER BY id) FROM tenant_globex.orders").fetchone()[0] \
            == ["rocket"]
