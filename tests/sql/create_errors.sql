-- tenant_create is all or nothing: on any error no schema, row or event remains.
CREATE EXTENSION stash_tenancy;

SELECT slug FROM stash.tenant_create('acme');

-- the same slug twice: 23505
SELECT stash.tenant_create('acme');

-- a schema that exists but is not a registered tenant is never taken over: 42P06
CREATE SCHEMA tenant_legacy;
CREATE TABLE tenant_legacy.precious (id int);
SELECT stash.tenant_create('legacy');
SELECT count(*) AS legacy_tables FROM pg_tables WHERE schemaname = 'tenant_legacy';

-- settings must be a JSON object: 22023
SELECT stash.tenant_create('beta', 'Beta', '[1, 2]');

-- an error after tenant_create, in the same transaction, takes the tenant with it
BEGIN;
SELECT slug FROM stash.tenant_create('gamma');
SELECT 1 / 0;
COMMIT;

-- and so does a rolled-back savepoint
BEGIN;
SAVEPOINT before_delta;
SELECT slug FROM stash.tenant_create('delta');
ROLLBACK TO SAVEPOINT before_delta;
COMMIT;

SELECT slug FROM stash.tenants ORDER BY slug;
SELECT nspname FROM pg_namespace WHERE nspname LIKE 'tenant\_%' ORDER BY 1;
SELECT slug, action FROM stash.events ORDER BY id;

-- a tenant entered in the transaction that created it is forgotten by this session's
-- tenant cache when that transaction (or savepoint) rolls back
BEGIN;
SELECT slug FROM stash.tenant_create('ephemeral');
SELECT stash.tenant_enter('ephemeral');
ROLLBACK;
BEGIN;
SELECT stash.tenant_enter('ephemeral');
ROLLBACK;
BEGIN;
SAVEPOINT s;
SELECT slug FROM stash.tenant_create('ephemeral');
SELECT stash.tenant_enter('ephemeral');
ROLLBACK TO SAVEPOINT s;
SELECT stash.tenant_enter('ephemeral');
ROLLBACK;
