-- tenant_enter refuses, each with its own SQLSTATE and a hint:
--   42704 unknown tenant, 55000 suspended tenant, 25P01 outside a transaction block,
--   22023 malformed slug, 22004 NULL.
CREATE EXTENSION stash_tenancy;
SELECT slug FROM stash.tenant_create('acme');

-- outside BEGIN ... COMMIT there is no transaction for the context to live in
SELECT stash.tenant_enter('acme');
SHOW search_path;

BEGIN;
SELECT stash.tenant_enter('nosuch');
ROLLBACK;

BEGIN;
SELECT stash.tenant_enter('00000000-0000-0000-0000-000000000000'::uuid);
ROLLBACK;

BEGIN;
SELECT stash.tenant_enter(NULL::text);
ROLLBACK;

BEGIN;
SELECT stash.tenant_enter(NULL::uuid);
ROLLBACK;

SELECT stash.tenant_suspend('acme');
BEGIN;
SELECT stash.tenant_enter('acme');
ROLLBACK;
BEGIN;
SELECT stash.tenant_enter(id) FROM stash.tenants WHERE slug = 'acme';
ROLLBACK;

-- resumed, it can be entered again, by slug or by id
SELECT stash.tenant_resume('acme');
BEGIN;
SELECT stash.tenant_enter('acme');
SELECT stash.current_tenant();
ROLLBACK;
BEGIN;
SELECT stash.tenant_enter(id) FROM stash.tenants WHERE slug = 'acme';
SELECT stash.current_tenant();
ROLLBACK;

-- a multi-statement query string is one implicit transaction block: allowed, and the
-- context ends with it
SELECT stash.tenant_enter('acme') \; SELECT stash.current_tenant();
SELECT stash.current_tenant() IS NULL AS context_gone;

-- the context cannot be forged: the GUCs behind it are not settable by SET
CREATE ROLE app_user;
SET ROLE app_user;
BEGIN;
SET LOCAL stash.tenant_id = '00000000-0000-0000-0000-000000000000';
ROLLBACK;
RESET ROLE;
DROP ROLE app_user;

-- not even a superuser can SET it (tests/sql/context_settings.sql has the other doors)
BEGIN;
SET LOCAL stash.tenant_id = 'not-a-uuid';
ROLLBACK;
SELECT stash.current_tenant_id() IS NULL AS no_tenant;
