-- A migration runs inside stash_tenancy's own transaction (one per tenant in migrate_all),
-- statement by statement through SPI, where transaction control and COPY with the client
-- cannot run.  A migration that tries fails with its own SQLSTATE — 2D000 for BEGIN /
-- COMMIT / ROLLBACK, 0A000 for COPY FROM STDIN / TO STDOUT — and a hint saying what to
-- write instead; nothing of it stays (the ALTER before the COMMIT is undone too).
CREATE EXTENSION stash_tenancy;
SELECT stash.migration_add(1, 'customers',
  $$CREATE TABLE customers (id bigserial PRIMARY KEY, email text NOT NULL)$$);
SELECT slug FROM stash.tenant_create('acme');

SELECT stash.migration_add(2, 'note_then_commit',
  $$ALTER TABLE customers ADD COLUMN note text; COMMIT$$);
SELECT slug, from_version, to_version, status, error FROM stash.tenant_migrate('acme');
SELECT detail->>'sqlstate' AS sqlstate FROM stash.events WHERE action = 'migration_failed';
SELECT count(*) AS note_columns FROM information_schema.columns
 WHERE table_schema = 'tenant_acme' AND column_name = 'note';
-- tenant_create applies the same migrations: it fails the same way, and leaves nothing
SELECT stash.tenant_create('globex');
SELECT count(*) AS globex FROM stash.tenants WHERE slug = 'globex';

-- the fix is a new catalog entry without the COMMIT; COPY FROM STDIN is refused likewise
SELECT stash.migration_remove(2);
SELECT stash.migration_add(2, 'seed_by_copy',
  $$COPY customers (email) FROM STDIN$$);
SELECT slug, from_version, to_version, status, error FROM stash.tenant_migrate('acme');
SELECT detail->>'sqlstate' AS sqlstate FROM stash.events
 WHERE action = 'migration_failed' ORDER BY id DESC LIMIT 1;
SELECT stash.tenant_create('globex');

SELECT stash.migration_remove(2);
SELECT stash.migration_add(2, 'seed_by_insert',
  $$INSERT INTO customers (email) VALUES ('first@acme.test')$$);
SELECT slug, from_version, to_version, status, error FROM stash.tenant_migrate('acme');
SELECT slug FROM stash.tenant_create('globex');
