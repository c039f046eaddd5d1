"""A real Citus cluster on this machine: one coordinator and two workers, each its own
initdb'd PostgreSQL with `shared_preload_libraries = citus`, listening only on a unix
socket in its own directory (so no port can collide with anything: nodes are told apart
by their socket directory, which Citus stores as the node's host name).

Authentication is what a production cluster would have, shrunk to one machine: the
`postgres` superuser is trusted on the sockets, every other role must give a password
(scram-sha-256).  The coordinator finds tenant roles' passwords in Citus's
pg_dist_authinfo, which only superusers can read (docs/scale-out.md).

Used by tests/integration/test_citus.py, scripts/demo_citus.py and scripts/bench_citus.py."""
import os
import shutil
import sys
import time

import psycopg

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "scripts"))
from pgcluster import Cluster  # noqa: E402

HBA = """# stash_tenancy Citus test cluster: superuser trusted, everyone else by password
local all postgres trust
local all all scram-sha-256
"""


class Node(Cluster):
    """One node: a throwaway cluster (scripts/pgcluster.py) in ROOT/NAME, whose socket
    directory is the host name Citus stores for it.  Without CITUS, the same settings but
    Citus not loaded (the one-node side of scripts/bench_citus.py)."""

    def __init__(self, bindir, root, name, citus=True):
        d = os.path.join(root, name)
        settings = {"max_connections": 100, "fsync": "off", "password_encryption": "scram-sha-256",
                    "max_worker_processes": 32, "wal_level": "logical"}
        if citus:
            # how a node reaches itself (shard moves): its own socket, not localhost
            settings.update({"shared_preload_libraries": "citus", "citus.local_hostname": d})
        super().__init__(bindir, d, settings=settings, hba=HBA)


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
        return self.coordinator.env(dbname)
