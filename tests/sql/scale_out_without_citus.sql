-- Scale-out without Citus: nothing changes and nothing costs.  tenant_list's node column
-- is NULL, tenant_move says what it needs, tenant roles stay NOLOGIN, and a migration
-- runs as one string, as it always did.  (The Citus behaviour itself runs against a
-- real cluster: tests/integration/test_citus.py, docs/scale-out.md.)
CREATE EXTENSION stash_tenancy;
SELECT stash.migration_add(1, 'orders', 'CREATE TABLE orders (id int PRIMARY KEY); CREATE INDEX ON orders (id)');
SELECT slug FROM stash.tenant_create('acme');
SELECT slug, node FROM stash.tenant_list;
SELECT rolcanlogin FROM pg_roles WHERE rolname = stash.tenant_role('acme');

-- tenant_move needs Citus: 0A000, and the tenant is where it was
SELECT stash.tenant_move('acme', 'worker-2.internal', 5432);
SELECT stash.tenant_move('acme', NULL, 5432);
SELECT * FROM stash.tenant_distribute();
SELECT count(*) AS moved_events FROM stash.events WHERE action = 'moved';

-- administrators only
CREATE ROLE mover;
SET ROLE mover;
SELECT stash.tenant_move('acme', 'worker-2.internal', 5432);
RESET ROLE;
DROP ROLE mover;
