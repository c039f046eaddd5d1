"""A real Citus cluster on this machine: one coordinator and two workers, each its own
initdb'd PostgreSQL with `shared_preload_libraries = citus`, listening only on a unix
socket in its own directory (so no port can collide with anything: nodes are told apart
by their socket directory, which Citus stores as the node's host name).

Authentication is what a production cluster would have, shrunk to one machine: the
`postgres` superuser is trusted on the sockets, every other role must give a password
(scram-sha-256).  The coordinator finds tenant roles' passwords in Citus's
pg_dist_authinfo, which only superusers can read (docs/scale-out.md).

Used by tests/integration/test_citus.py and scripts/demo_citus.py."""
import os
import shutil
import subprocess
import time

import psycopg

HBA = """# stash_tenancy Citus test cluster: superuser trusted, everyone else by password
local all postgres trust
local all all scram-sha-256
"""


def _as_postgres(cmd, **kwargs):
    if os.geteuid() == 0:
        cmd = ["sudo", "-u", "postgres", "--"] + cmd
    return subprocess.run(cmd, check=True, capture_output=True, text=True, **kwargs)


class Node:
    def __init__(self, bindir, root, name, citus=True):
        self.bindir, self.name, self.citus = bindir, name, citus
        self.dir = os.path.join(root, name)
        self.host, self.port = self.dir, 5432

    @property
    def label(self):
        return f"{self.host}:{self.port}"

    def start(self):
        os.makedirs(self.dir, exist_ok=True)
        os.chmod(self.dir, 0o777)
        data = os.path.join(self.dir, "data")
        _as_postgres([os.path.join(self.bindir, "initdb"), "-D", data, "-U", "postgres",
                      "--auth=trust", "--no-sync", "-E", "UTF8", "--locale=C"])
        hba = os.path.join(self.dir, "pg_hba.conf")
        with open(hba, "w") as f:
            f.write(HBA)
        os.chmod(hba, 0o644)
        preload = "citus" if self.citus else "''"
        opts = (f"-c listen_addresses='' -k {self.dir} -p {self.port} -c fsync=off "
                f"-c max_connections=100 -c shared_preload_libraries={preload} "
                f"-c hba_file={hba} -c password_encryption=scram-sha-256 "
                f"-c max_worker_processes=32 -c wal_level=logical "
                # how a node reaches itself (shard moves): its own socket, not localhost
                + (f"-c citus.local_hostname={self.dir}" if self.citus else ""))
        _as_postgres([os.path.join(self.bindir, "pg_ctl"), "-D", data, "-l",
                      os.path.join(self.dir, "server.log"), "-w", "-o", opts, "start"])

    def stop(self):
        data = os.path.join(self.dir, "data")
        if os.path.isdir(data):
            subprocess.run((["sudo", "-u", "postgres", "--"] if os.geteuid() == 0 else [])
                           + [os.path.join(self.bindir, "pg_ctl"), "-D", data, "-m",
                              "immediate", "stop"], capture_output=True)

    def connect(self, dbname, user="postgres", **kwargs):
        kwargs.setdefault("autocommit", True)
        return psycopg.connect(host=self.host, port=self.port, dbname=dbname, user=user,
                               **kwargs)


class CitusCluster:
    """coordinator + workers[0..n); start() builds it, stop() removes it."""

    def __init__(self, bindir, root, workers=2):
        self.root = root
        self.coordinator = Node(bindir, root, "coordinator")
        self.workers = [Node(bindir, root, f"worker{i + 1}") for i in range(workers)]

    @property
    def nodes(self):
        return [self.coordinator, *self.workers]

    def start(self):
        shutil.rmtree(self.root, ignore_errors=True)
        os.makedirs(self.root)
        os.chmod(self.root, 0o755)
        try:
            for node in self.nodes:
                node.start()
        except BaseException:
            self.stop()
            raise
        return self

    def create_database(self, name):
        """A database on every node with citus created, the workers registered with the
        coordinator (Citus needs the database and the extension on each node first)."""
        for node in self.nodes:
            with node.connect("postgres") as c:
                c.execute(f'CREATE DATABASE "{name}"')
            with node.connect(name) as c:
                c.execute("SET client_min_messages = warning")
                c.execute("CREATE EXTENSION citus")
        with self.coordinator.connect(name) as c:
            c.execute("SELECT citus_set_coordinator_host(%s, %s)",
                      (self.coordinator.host, self.coordinator.port))
            for w in self.workers:
                c.execute("SELECT citus_add_node(%s, %s)", (w.host, w.port))
        return name

    def drop_database(self, name):
        for node in self.nodes:
            try:
                with node.connect("postgres") as c:
                    c.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            except psycopg.Error:
                pass

    def stop(self):
        for node in self.nodes:
            node.stop()
        time.sleep(0.1)
        shutil.rmtree(self.root, ignore_errors=True)

    def env(self, dbname):
        """libpq variables reaching the coordinator as the superuser."""
        return {"PGHOST": self.coordinator.host, "PGPORT": str(self.coordinator.port),
                "PGUSER": "postgres", "PGDATABASE": dbname}
