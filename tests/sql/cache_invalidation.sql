-- Every backend caches the tenants it has entered; any change to stash.tenants empties
-- those caches, also when the change is made with session_replication_role = replica
-- (logical replication's apply worker, pg_restore --disable-triggers, hand-made fixes),
-- because the invalidation trigger is ENABLE ALWAYS.
CREATE EXTENSION stash_tenancy;
SELECT slug FROM stash.tenant_create('acme');
BEGIN;
SELECT stash.tenant_enter('acme');   -- now cached in this backend
COMMIT;
SET session_replication_role = replica;
SELECT stash.tenant_suspend('acme');
RESET session_replication_role;
-- the cache saw it
BEGIN;
SELECT stash.tenant_enter('acme');
ROLLBACK;
SELECT tgname, tgenabled FROM pg_trigger WHERE tgrelid = 'stash.tenants'::regclass AND NOT tgisinternal;
