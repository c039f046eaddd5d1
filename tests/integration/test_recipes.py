"""docs/recipes/node.md (plain JavaScript, `pg` from npm) and python.md (psycopg 3 and
Django from PyPI), executed as written, so the documentation cannot drift from the product.

Each page's tenant migrations are registered by the real `stash migrations load`; the
programs provision as the superuser and run their requests as a registered LOGIN role made
for the test, then the test checks from outside where the rows landed."""
import os
import sys

import pytest

from conftest import PG_ROOT, extract_recipe, load_migrations, on_default_pg_only, run_program as run

pytestmark = on_default_pg_only

NODE_MODULES = os.path.join(os.environ.get("NODE_DIR", os.path.join(PG_ROOT, "node")), "node_modules")






def test_node_recipe(db, app_role, stash_bin, tmp_path):
    if not os.path.isfile(os.path.join(NODE_MODULES, "pg", "package.json")):
        pytest.fail(f"pg missing from {NODE_MODULES}: run make setup")
    assert extract_recipe("node.md", tmp_path) == ["migrations/V1__orders.sql", "tenant.cjs", "example.cjs"]
    os.symlink(NODE_MODULES, tmp_path / "node_modules")
    env = dict(os.environ, PGDATABASE=db.name, APP_ROLE=app_role)
    load_migrations(stash_bin, "migrations", tmp_path, env, added=1)

    assert "node recipe: ok" in run(["node", "example.cjs"], tmp_path, env)

    with db.connect() as admin:
        assert admin.execute("SELECT slug, current_version, status FROM stash.tenant_status ORDER BY slug"
                             ).fetchall() == [("acme", 1, "active"), ("globex", 1, "suspended")]
        assert admin.execute("SELECT array_agg(total::text ORDER BY id) FROM tenant_acme.orders"
                             ).fetchone()[0] == ["9.99", "5"]
        assert admin.execute("SELECT array_agg(total::text ORDER BY id) FROM tenant_globex.orders"
                             ).fetchone()[0] == ["100"]
        assert admin.execute("SELECT role::text FROM stash.app_roles").fetchall() == [(app_role,)]


def test_python_recipes(db, app_role, stash_bin, tmp_path):
    try:
        import django  # noqa: F401
    except ImportError as e:
        pytest.fail(f"{e}: run make setup")
    assert extract_recipe("python.md", tmp_path) == [
        "migrations/V1__orders.sql", "tenant.py", "example.py", "tenant_middleware.py", "django_example.py"]
    env = dict(os.environ, PGDATABASE=db.name, APP_ROLE=app_role, PYTHONPATH=str(tmp_path))
    load_migrations(stash_bin, "migrations", tmp_path, env, added=1)

    assert "python recipe: ok" in run([sys.executable, "example.py"], tmp_path, env)
    assert "django recipe: ok" in run([sys.executable, "django_example.py"], tmp_path, env)

    with db.connect() as admin:
        assert admin.execute("SELECT slug, current_version, status FROM stash.tenant_status ORDER BY slug"
                             ).fetchall() == [("acme", 1, "active"), ("globex", 1, "suspended"),
                                              ("initech", 1, "active")]
        for slug, totals in (("acme", ["9.99", "5"]), ("globex", ["100"]), ("initech", ["3", "4"])):
            assert admin.execute(f"SELECT array_agg(total::text ORDER BY id) FROM tenant_{slug}.orders"
                                 ).fetchone()[0] == totals, slug
        assert admin.execute("SELECT role::text FROM stash.app_roles").fetchall() == [(app_role,)]
