-- The brakes of a fleet migration: CALL stash.migrate_all(target_version, max_failures,
-- lock_timeout, statement_timeout, canary).  A tenant that cannot be migrated in time
-- fails (55P03 for a lock, 57014 for the statement timeout), is recorded like any failure
-- and retried once at the end of the run; max_failures stops the run; canary migrates
-- that many tenants in slug order and stops.  (Lock timeouts need a second session:
-- tests/integration/test_migrations.py.)
CREATE EXTENSION stash_tenancy;
SELECT stash.migration_add(1, 'notes', 'CREATE TABLE notes (id int PRIMARY KEY)');
SELECT count(stash.tenant_create(s)) FROM unnest(ARRAY['a1', 'a2', 'a3', 'slow', 'z1']) s;

-- statement_timeout: only tenant "slow" takes long (while test.slow is on)
SELECT stash.migration_add(2, 'body', $$
DO $do$ BEGIN
  IF current_schema() = 'tenant_slow' AND current_setting('test.slow', true) = 'on' THEN
    PERFORM pg_sleep(5);
  END IF;
END $do$;
ALTER TABLE notes ADD COLUMN body text
$$);
SET test.slow = on;
CALL stash.migrate_all(statement_timeout => '200 ms');
SELECT slug, current_version, last_error FROM stash.tenant_status ORDER BY slug;
RESET test.slow;
-- the timeout was the step's own: the session's statement_timeout is untouched
SHOW statement_timeout;

-- canary: two tenants in slug order, then stop; the next plain run does the rest
SELECT stash.migration_add(3, 'body_idx', 'CREATE INDEX ON notes (body)');
CALL stash.migrate_all(canary => 2);
SELECT slug, current_version FROM stash.tenant_status ORDER BY slug;
CALL stash.migrate_all();
SELECT slug, current_version, last_error FROM stash.tenant_status ORDER BY slug;

-- max_failures: a migration that fails everywhere stops the run after two tenants
SELECT stash.migration_add(4, 'broken', 'ALTER TABLE no_such_table ADD COLUMN x int');
CALL stash.migrate_all(max_failures => 2);
SELECT count(*) FILTER (WHERE last_error IS NOT NULL) AS failed,
       count(*) FILTER (WHERE pending > 0) AS pending FROM stash.tenant_status;
SELECT stash.migration_remove(4);

-- the old calls keep working
SELECT stash.migration_add(4, 'four', 'ALTER TABLE notes ADD COLUMN four int', 'ALTER TABLE notes DROP COLUMN four');
CALL stash.migrate_all();
CALL stash.migrate_all(3);
SELECT slug, current_version FROM stash.tenant_status ORDER BY slug;
CALL stash.migrate_all();

-- bad brakes: 22023, nothing runs
SELECT stash.migration_add(5, 'five', 'ALTER TABLE notes ADD COLUMN five int');
CALL stash.migrate_all(max_failures => 0);
CALL stash.migrate_all(canary => -1);
CALL stash.migrate_all(lock_timeout => '0 s');
SELECT count(*) AS at_five FROM stash.tenant_status WHERE current_version = 5;

-- the procedure runs no operator through the caller's search_path: an operator planted in
-- a schema searched before pg_catalog cannot change its arithmetic or its decisions
CREATE SCHEMA evil;
CREATE FUNCTION evil.minus(bigint, bigint) RETURNS bigint LANGUAGE sql AS 'SELECT $1 OPERATOR(pg_catalog.-) $2';
CREATE OPERATOR evil.+ (LEFTARG = bigint, RIGHTARG = bigint, FUNCTION = evil.minus);
CREATE FUNCTION evil.always_equal(text, text) RETURNS boolean LANGUAGE sql AS 'SELECT false';
CREATE OPERATOR evil.<> (LEFTARG = text, RIGHTARG = text, FUNCTION = evil.always_equal);
SET search_path = evil, pg_catalog, public;
CALL stash.migrate_all();
RESET search_path;
SELECT count(*) AS at_five FROM stash.tenant_status WHERE current_version = 5;
