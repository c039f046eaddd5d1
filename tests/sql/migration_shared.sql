-- Shared migrations run once, in the first schema of stash.shared_schemas, with the
-- same ledger rules; tenant migrations can then refer to shared tables.
CREATE EXTENSION stash_tenancy;
CREATE SCHEMA shared;
SET stash.shared_schemas = 'shared, public';

SELECT stash.migration_add(1, 'plans',
  $$CREATE TABLE plans (code text PRIMARY KEY); INSERT INTO plans VALUES ('free'), ('pro')$$,
  'DROP TABLE plans', 'shared');
SELECT stash.migration_add(2, 'subscriptions',
  'CREATE TABLE subscriptions (id int PRIMARY KEY, plan text REFERENCES plans)',
  'DROP TABLE subscriptions');

SELECT * FROM stash.shared_migrate();
SELECT * FROM stash.shared_migrate();
SELECT table_schema, table_name FROM information_schema.tables
 WHERE table_name IN ('plans', 'subscriptions') ORDER BY 1, 2;

-- tenant migrations see the shared schema after their own
SELECT slug FROM stash.tenant_create('acme');
SELECT table_schema, table_name FROM information_schema.tables
 WHERE table_name IN ('plans', 'subscriptions') ORDER BY 1, 2;
SELECT slug, current_version, latest_version, pending FROM stash.tenant_status;

-- rollback and dry run work the same way: this dry run shows that rolling the shared
-- schema back would fail, because a tenant table references shared.plans
SELECT * FROM stash.shared_migrate(0, dry_run => true);
SELECT count(*) AS plans_tables FROM pg_tables WHERE tablename = 'plans';

-- a shared schema that does not exist is an error
SET stash.shared_schemas = 'nowhere';
SELECT * FROM stash.shared_migrate();
