-- CALL stash.migrate_all() is for fleets: it commits after each tenant, so locks stay
-- bounded and an interrupted run resumes where it stopped; several sessions can run it
-- at once (tests/integration covers that).  It reports progress with NOTICEs.
CREATE EXTENSION stash_tenancy;
SELECT stash.migration_add(1, 'create_notes', 'CREATE TABLE notes (id int PRIMARY KEY, body text)');
SELECT count(stash.tenant_create('t' || i)) FROM generate_series(1, 5) i;

SELECT stash.migration_add(2, 'notes_author', 'ALTER TABLE notes ADD COLUMN author text');
SELECT stash.migration_add(3, 'notes_body_required',
  'ALTER TABLE notes ADD CONSTRAINT body_set CHECK (body IS NOT NULL)',
  'ALTER TABLE notes DROP CONSTRAINT body_set');
BEGIN;
SELECT stash.tenant_enter('t3');
INSERT INTO notes VALUES (1, NULL);
COMMIT;

CALL stash.migrate_all();
SELECT slug, current_version, pending, last_error FROM stash.tenant_status ORDER BY slug;

-- after fixing t3's data, a re-run picks up only t3; then there is nothing to do
BEGIN;
SELECT stash.tenant_enter('t3');
UPDATE notes SET body = '' WHERE body IS NULL;
COMMIT;
CALL stash.migrate_all();
CALL stash.migrate_all();

-- a target below the current version rolls the whole fleet back
CALL stash.migrate_all(2);
SELECT slug, current_version, pending FROM stash.tenant_status ORDER BY slug;

-- it commits, so it cannot run inside a transaction block
BEGIN;
CALL stash.migrate_all();
ROLLBACK;
