"""docs/recipes/flask.md, executed as written: Flask 3 + SQLAlchemy 2 (psycopg 3) as a real
registered application role, Alembic migrating the shared schema, the tenant migrations
loaded by the real `stash migrations load`."""
import os
import subprocess
import sys
import uuid

import pytest

from conftest import extract_recipe, on_default_pg_only

@pytest.fixture
def app_role(db):
    """A LOGIN role unique to this test (roles are cluster-wide); the program registers it.
    Dropped at the end, after the tenants (their roles are cluster-wide too)."""
    name = "app_" + uuid.uuid4().hex[:10]
    with db.connect() as admin:
        admin.execute(f"CREATE ROLE {name} LOGIN")
    yield name
    with db.connect() as admin:
        admin.execute("SELECT stash.tenant_drop(slug, force => true) FROM stash.tenants")
        admin.execute(f"DROP OWNED BY {name}")
        admin.execute(f"DROP ROLE {name}")


def run(cmd, cwd, env):
    done = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, f"{cmd} exited {done.returncode}:\n{done.stdout}{done.stderr}"
    return done.stdout


@on_default_pg_only
def test_flask_recipe(db, app_role, stash_bin, tmp_path):
    try:
        import alembic, flask, sqlalchemy  # noqa: E401,F401
    except ImportError as e:
        pytest.fail(f"{e}: run make setup")
    assert extract_recipe("flask.md", tmp_path) == [
        "migrations/V1__files.sql", "migrations/V2__documents.sql", "shared_migrations/env.py",
        "shared_migrations/versions/0001_file_types.py", "models.py", "app.py", "example.py"]
    env = dict(os.environ, PGDATABASE=db.name, APP_ROLE=app_role, PYTHONPATH=str(tmp_path))
    out = run([stash_bin, "migrations", "load", "migrations"], tmp_path, env)
    assert "2 added, 0 already registered" in out, out

    assert "flask recipe: ok" in run([sys.executable, "example.py"], tmp_path, env)

    with db.connect() as admin:
        # Alembic's work, in the shared schema
        assert admin.execute("SELECT version_num FROM public.alembic_version").fetchall() == [("0001",)]
        assert admin.execute("SELECT extension FROM public.file_types ORDER BY 1").fetchall() == [
            ("pdf",), ("txt",)]
        # stash's: each tenant schema at version 2, holding what its requests stored
        assert admin.execute(
            "SELECT slug, current_version FROM stash.tenant_status ORDER BY slug").fetchall() == [
            ("acme", 2), ("globex", 2)]
        assert admin.execute(
            "SELECT f.name, d.title FROM tenant_acme.files f "
            "LEFT JOIN tenant_acme.documents d ON d.file_id = f.id ORDER BY f.id, d.id").fetchall() == [
            ("report.pdf", "Q1"), ("report.pdf", "Q2"), ("notes.txt", None)]
        assert admin.execute("SELECT name, size FROM tenant_globex.files").fetchall() == [
            ("report.pdf", 5)]
