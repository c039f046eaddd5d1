-- A backend of an application role that enters many tenants reads the whole registry
-- once (after 16 misses) and then every tenant role in one scan, instead of one catalog
-- lookup per tenant.  Each enter still switches to exactly that tenant's role, and a
-- role created, renamed or dropped meanwhile is seen at the next enter.
CREATE EXTENSION stash_tenancy;
SELECT stash.migration_add(1, 'items', $m$CREATE TABLE items (v text); INSERT INTO items VALUES (current_schema())$m$);
SELECT count(*) AS tenants FROM (SELECT stash.tenant_create('t' || g) FROM generate_series(1, 20) g) s;
CREATE ROLE many_app LOGIN;
SELECT stash.app_role_add('many_app');
GRANT USAGE ON SCHEMA stash TO many_app;
\pset tuples_only on
\pset format unaligned
SET ROLE many_app;
-- each tenant in a transaction of its own: its schema, and its own role as current_user
SELECT format($q$BEGIN; SELECT stash.tenant_enter('%1$s'); SELECT v, current_user::text LIKE 'stash\_%1$s\_%%' AS own_role FROM items; COMMIT$q$, 't' || g)
  FROM generate_series(1, 20) g \gexec
RESET ROLE;
-- meanwhile: a new tenant (a new role), a renamed one (its role renamed), a dropped one
SELECT slug FROM stash.tenant_create('t21');
SELECT stash.tenant_rename('t4', 't44');
SELECT stash.tenant_drop('t3');
SET ROLE many_app;
SELECT format($q$BEGIN; SELECT stash.tenant_enter('%1$s'); SELECT v, current_user::text LIKE 'stash\_%1$s\_%%' AS own_role FROM items; COMMIT$q$, s)
  FROM (SELECT 't' || g AS s FROM generate_series(1, 21) g WHERE g NOT IN (3, 4) UNION ALL SELECT 't44') x
 ORDER BY s \gexec
BEGIN;
SELECT stash.tenant_enter('t3');
ROLLBACK;
RESET ROLE;
\pset tuples_only off
\pset format aligned
SELECT stash.app_role_remove('many_app');
SELECT count(stash.tenant_drop(slug)) AS dropped FROM stash.tenants;
REVOKE USAGE ON SCHEMA stash FROM many_app;
DROP ROLE many_app;
