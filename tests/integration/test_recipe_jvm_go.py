"""docs/recipes/java.md and go.md, executed as written: the Java program with Debian's
pgjdbc (JDK 17 single-file launch), the Go program built with Debian's pgx v4 in GOPATH
mode, each against a real server as a real registered application role, with tenant
migrations loaded by the real `stash migrations load`."""
import os
import shutil
import socket
import subprocess
import uuid

import psycopg
import pytest

from conftest import (PG_ROOT, as_postgres, bin_path, extract_recipe, load_migrations,
                      on_default_pg_only, run_program as run)

JDBC_JAR = "/usr/share/java/postgresql.jar"
GOCODE = "/usr/share/gocode"
PGX_DIR = os.path.join(GOCODE, "src", "github.com", "jackc", "pgx", "v4")
# prewarmed by scripts/setup.d/55-jvm-go.sh: without it the test would compile pgx's
# dependency tree (a minute) instead of two small files
GO_CACHE = os.path.join(PG_ROOT, "go-cache")




def tenant_rows(conn, query):
    """{slug: rows of QUERY run directly in the tenant's schema}, read as the administrator
    and outside any tenant, to check what the program really wrote where."""
    result = {}
    for (slug,) in conn.execute("SELECT slug FROM stash.tenants ORDER BY slug").fetchall():
        conn.execute("BEGIN")
        conn.execute("SELECT stash.tenant_enter(%s)", (slug,))
        result[slug] = conn.execute(query).fetchall()
        conn.execute("ROLLBACK")
    return result




@pytest.fixture
def tcp_cluster(run_dir):
    """A throwaway cluster of the version under test listening on 127.0.0.1 (the harness's
    listens on a unix socket only, which pgjdbc cannot use), with the installed extension in
    database `app`. Yields the libpq settings for it."""
    d = os.path.join(run_dir, "tcp-" + uuid.uuid4().hex[:8])
    os.makedirs(d)
    os.chmod(d, 0o777)
    data = os.path.join(d, "data")
    with socket.socket() as s:  # a free port (if another process takes it first, start fails)
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    try:
        as_postgres([bin_path("initdb"), "-D", data, "-U", "postgres", "--auth=trust",
                     "--no-sync", "-E", "UTF8", "--locale=C"])
        as_postgres([bin_path("pg_ctl"), "-D", data, "-l", os.path.join(d, "server.log"), "-w",
                     "-o", f"-c listen_addresses=127.0.0.1 -p {port} -k {d} -c fsync=off",
                     "start"])
        settings = {"PGHOST": "127.0.0.1", "PGPORT": str(port), "PGUSER": "postgres",
                    "PGDATABASE": "app"}
        with psycopg.connect(host="127.0.0.1", port=port, user="postgres", dbname="postgres",
                             autocommit=True) as conn:
            conn.execute("CREATE DATABASE app")
        with psycopg.connect(host="127.0.0.1", port=port, user="postgres", dbname="app",
                             autocommit=True) as conn:
            conn.execute("CREATE EXTENSION stash_tenancy")
        yield settings
    finally:
        stop = [bin_path("pg_ctl"), "-D", data, "-m", "immediate", "stop"]
        if os.geteuid() == 0:
            stop = ["sudo", "-u", "postgres", "--"] + stop
        subprocess.run(stop, capture_output=True)  # not started if initdb or start failed
        shutil.rmtree(d, ignore_errors=True)


@on_default_pg_only
def test_go_recipe(db, app_role, stash_bin, tmp_path):
    go = shutil.which("go")
    if not go or not os.path.isdir(PGX_DIR) or not os.path.isdir(GO_CACHE):
        pytest.fail(f"go, {PGX_DIR} or {GO_CACHE} missing: run make setup")
    assert extract_recipe("go.md", tmp_path) == [
        "migrations/1_notes.up.sql", "migrations/1_notes.down.sql", "tenant.go", "main.go"]
    env = dict(os.environ, PGDATABASE=db.name, APP_ROLE=app_role, GO111MODULE="off",
               GOPATH=f"{tmp_path / 'gopath'}:{GOCODE}", GOCACHE=GO_CACHE, GOFLAGS="-p=1")
    load_migrations(stash_bin, tmp_path / "migrations", tmp_path, env, added=1)
    run([go, "build", "-o", "example", "."], tmp_path, env)
    # the program goes over the harness's unix socket (PGHOST is its directory)
    assert "go recipe: ok" in run([str(tmp_path / "example")], tmp_path, env)
    with db.connect() as admin:
        assert tenant_rows(admin, "SELECT body FROM notes ORDER BY id") == {
            "acme": [("acme 1",), ("acme 2",)], "globex": [("globex 1",)]}
        assert admin.execute("SELECT role::text FROM stash.app_roles").fetchall() == [(app_role,)]


@on_default_pg_only
def test_java_recipe(tcp_cluster, stash_bin, tmp_path):
    java = shutil.which("java")
    if not java or not os.path.isfile(JDBC_JAR):
        pytest.fail(f"java or {JDBC_JAR} missing: run make setup")
    assert extract_recipe("java.md", tmp_path) == ["db/migration/V1__invoices.sql", "Example.java"]
    env = dict(os.environ, **tcp_cluster, APP_ROLE="app")
    with psycopg.connect(host="127.0.0.1", port=int(tcp_cluster["PGPORT"]), user="postgres",
                         dbname="app", autocommit=True) as admin:
        admin.execute("CREATE ROLE app LOGIN")
        load_migrations(stash_bin, tmp_path / "db" / "migration", tmp_path / "db", env, added=1)
        assert "java recipe: ok" in run([java, "-cp", JDBC_JAR, "Example.java"], tmp_path, env)
        assert tenant_rows(admin, "SELECT number, amount::text FROM invoices ORDER BY id") == {
            "acme": [("A-1", "100.00"), ("A-2", "20.50")], "globex": [("A-1", "7.00")]}
