-- Slugs: ^[a-z][a-z0-9_]*$, at most 56 bytes (so "tenant_<slug>" fits in 63).
-- Everything else is refused with SQLSTATE 22023 (22004 for NULL) and nothing changes.
CREATE EXTENSION stash_tenancy;

SELECT slug, schema_name FROM stash.tenant_create('a');
SELECT slug, schema_name FROM stash.tenant_create('shop_42');
SELECT slug, length(schema_name) AS schema_name_length
  FROM stash.tenant_create(repeat('x', 56));

SELECT stash.tenant_create(NULL);
SELECT stash.tenant_create('');
SELECT stash.tenant_create('Acme');
SELECT stash.tenant_create('1acme');
SELECT stash.tenant_create('_acme');
SELECT stash.tenant_create('ac me');
SELECT stash.tenant_create('acme-co');
SELECT stash.tenant_create('acme''; DROP TABLE stash.tenants; --');
SELECT stash.tenant_create('ac"me');
SELECT stash.tenant_create('acme;');
SELECT stash.tenant_create('acmé');
SELECT stash.tenant_create('ac' || chr(10) || 'me');
SELECT stash.tenant_create(repeat('y', 57));

-- every refusal left nothing behind
SELECT count(*) AS tenants FROM stash.tenants;
SELECT count(*) AS tenant_schemas FROM pg_namespace WHERE nspname LIKE 'tenant\_%';
SELECT count(*) AS events FROM stash.events;

-- the other functions validate the same way
BEGIN;
SELECT stash.tenant_enter('Bad Slug');
ROLLBACK;
SELECT stash.tenant_drop('x;y');
SELECT stash.tenant_suspend(NULL);
