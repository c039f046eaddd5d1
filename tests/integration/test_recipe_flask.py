"""docs/recipes/flask.md, executed as written: Flask 3 + SQLAlchemy 2 (psycopg 3) as a real
registered application role, Alembic migrating the shared schema, the tenant migrations
loaded by the real `stash migrations load`."""
import os
import sys

import pytest

from conftest import extract_recipe, load_migrations, on_default_pg_only, run_program as run





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
    load_migrations(stash_bin, "migrations", tmp_path, env, added=2)

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
