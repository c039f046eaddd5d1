-- Suspending a tenant keeps its data but closes the door: tenant_enter refuses it
-- (SQLSTATE 55000) until tenant_resume.
CREATE EXTENSION stash_tenancy;
SELECT slug FROM stash.tenant_create('acme');

SELECT stash.tenant_suspend('acme');
SELECT slug, status FROM stash.tenant_list;
BEGIN;
SELECT stash.tenant_enter('acme');
ROLLBACK;

-- suspending twice changes nothing (no second event)
SELECT stash.tenant_suspend('acme');

SELECT stash.tenant_resume('acme');
SELECT slug, status FROM stash.tenant_list;
SELECT stash.tenant_resume('acme');
BEGIN;
SELECT stash.tenant_enter('acme');
SELECT stash.current_tenant();
COMMIT;

-- a suspend that rolls back leaves the tenant active, also for this session's cache
BEGIN;
SELECT stash.tenant_enter('acme');
SELECT stash.tenant_suspend('acme');
ROLLBACK;
BEGIN;
SELECT stash.tenant_enter('acme');
SELECT stash.current_tenant();
COMMIT;

-- a suspend inside the same transaction takes effect at once
BEGIN;
SELECT stash.tenant_suspend('acme');
SELECT stash.tenant_enter('acme');
ROLLBACK;

-- unknown tenants are errors
SELECT stash.tenant_suspend('nosuch');
SELECT stash.tenant_resume('nosuch');

SELECT slug, action FROM stash.events ORDER BY id;
