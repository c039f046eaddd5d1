-- Checksums and dry runs.
CREATE EXTENSION stash_tenancy;
SELECT stash.migration_add(1, 'create_customers',
  'CREATE TABLE customers (id bigserial PRIMARY KEY, email text)', 'DROP TABLE customers');
SELECT t.slug FROM unnest(ARRAY['acme', 'globex', 'initech']) AS s(slug),
  LATERAL stash.tenant_create(s.slug) AS t;
BEGIN;
SELECT stash.tenant_enter('globex');
INSERT INTO customers (email) VALUES ('dup@globex.test'), ('dup@globex.test');
COMMIT;

-- A dry run answers "would this migration fail on any tenant?" and changes nothing.
SELECT stash.migration_add(2, 'unique_email',
  'ALTER TABLE customers ADD CONSTRAINT customers_email_key UNIQUE (email)');
SELECT count(*) AS ledger_rows, (SELECT count(*) FROM stash.events) AS events,
       (SELECT count(*) FROM stash.migration_failures) AS failures FROM stash.ledger;
SELECT * FROM stash.tenant_migrate(NULL, NULL, dry_run => true);
SELECT count(*) AS ledger_rows, (SELECT count(*) FROM stash.events) AS events,
       (SELECT count(*) FROM stash.migration_failures) AS failures FROM stash.ledger;
SELECT count(*) AS constraints_made FROM pg_constraint WHERE conname = 'customers_email_key';
SELECT slug, current_version, pending, last_error FROM stash.tenant_status ORDER BY slug;
-- a dry run of a rollback, too
SELECT * FROM stash.tenant_migrate('acme', 0, true);
SELECT slug, current_version FROM stash.tenant_status WHERE slug = 'acme';

-- Checksums: if the SQL of an applied version changes in the catalog (someone edited
-- it by hand), the tenants that applied it are refused until it is sorted out.
UPDATE stash.migrations
   SET up_sql = 'CREATE TABLE customers (id int)',
       checksum = encode(sha256(convert_to('CREATE TABLE customers (id int)', 'UTF8')), 'hex')
 WHERE version = 1;
SELECT * FROM stash.tenant_migrate('acme');
SELECT count(*) AS constraints_made FROM pg_constraint WHERE conname = 'customers_email_key';
