# Flask + SQLAlchemy 2 + Alembic for the recipe in docs/recipes/flask.md
# (tests/integration/test_recipe_flask.py); psycopg 3, their driver, is in the venv already.
step "python stacks (Flask 3, SQLAlchemy 2, Alembic 1)"
if "$VENV/bin/python" - 2>/dev/null <<'PY'
import importlib.metadata as m
want = {"flask": "3.", "sqlalchemy": "2.", "alembic": "1."}
raise SystemExit(any(not m.version(p).startswith(v) for p, v in want.items()))
PY
then
  echo "already installed"
else
  "$VENV/bin/pip" install -q 'Flask==3.*' 'SQLAlchemy==2.*' 'alembic==1.*'
fi
done_step
