"""The recipes in docs/recipes are executed as written, with the real drivers (pg from npm,
psycopg and Django from PyPI), so the documentation cannot drift from the product.

A fenced block preceded by `<!-- recipe-file: NAME -->` is written to NAME; the recipe's
example files are then run and must print their "ok" line."""
import os
import subprocess
import sys

import pytest

from conftest import extract_recipe as extract

NODE_MODULES = os.path.join(os.environ.get("PG_ROOT", "/opt/stash-pg"), "node", "node_modules")


def run(cmd, cwd, db):
    env = dict(os.environ, PGDATABASE=db.name, PYTHONPATH=str(cwd))
    done = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def test_node_recipe(db, tmp_path):
    if not os.path.isdir(NODE_MODULES):
        pytest.fail(f"{NODE_MODULES} missing: run make setup")
    assert extract("node.md", tmp_path) == ["tenant.cjs", "example.cjs"]
    os.symlink(NODE_MODULES, tmp_path / "node_modules")
    assert "node recipe: ok" in run(["node", "example.cjs"], tmp_path, db)


def test_python_recipes(db, tmp_path):
    names = extract("python.md", tmp_path)
    assert names == ["tenant.py", "example.py", "tenant_middleware.py", "django_example.py"]
    assert "python recipe: ok" in run([sys.executable, "example.py"], tmp_path, db)
    assert "django recipe: ok" in run([sys.executable, "django_example.py"], tmp_path, db)
