-- The wall between tenants is PostgreSQL's own privilege system.  Every tenant has a
-- NOLOGIN role with DML rights in its own schema and nothing else; application roles
-- have no right on any tenant schema, and tenant_enter makes the tenant's role their
-- current user until the transaction ends.  (tests/integration/test_isolation.py tries
-- to climb the wall in 30+ ways.)
CREATE EXTENSION stash_tenancy;
SELECT stash.migration_add(1, 'orders', 'CREATE TABLE orders (id serial PRIMARY KEY, note text)');
SELECT slug FROM stash.tenant_create('acme');
SELECT slug FROM stash.tenant_create('globex');

-- the role: named after the tenant (plus 12 hex of its id, so that two databases of one
-- cluster with a tenant "acme" each have their own), NOLOGIN, in the group role
SELECT stash.tenant_role('acme') ~ '^stash_acme_[0-9a-f]{12}$' AS named_after_the_tenant,
       stash.tenant_role('acme') <> stash.tenant_role('globex') AS one_per_tenant;
SELECT r.rolcanlogin, r.rolsuper, r.rolinherit, r.rolcreaterole, r.rolbypassrls,
       pg_has_role(r.oid, stash.tenant_group_role(), 'MEMBER') AS in_group
  FROM pg_roles r WHERE r.rolname = stash.tenant_role('acme');
SELECT stash.tenant_role('nosuch');

-- what the tenant role may do: use its schema and do DML, also on what later migrations
-- create; nothing in another tenant; no DDL
SELECT stash.migration_add(2, 'invoices', 'CREATE TABLE invoices (id int PRIMARY KEY)');
SELECT slug, status FROM stash.tenant_migrate();
SELECT t.schemaname || '.' || t.tablename AS tbl,
       has_schema_privilege(stash.tenant_role('acme'), t.schemaname, 'USAGE') AS usage,
       has_table_privilege(stash.tenant_role('acme'), t.schemaname || '.' || t.tablename, 'SELECT,INSERT,UPDATE,DELETE') AS dml,
       has_table_privilege(stash.tenant_role('acme'), t.schemaname || '.' || t.tablename, 'TRUNCATE') AS truncate,
       has_schema_privilege(stash.tenant_role('acme'), t.schemaname, 'CREATE') AS create
  FROM pg_tables t WHERE t.schemaname LIKE 'tenant_%' ORDER BY 1;
SELECT has_sequence_privilege(stash.tenant_role('acme'), 'tenant_acme.orders_id_seq', 'USAGE') AS own_sequence,
       has_sequence_privilege(stash.tenant_role('acme'), 'tenant_globex.orders_id_seq', 'USAGE') AS other_sequence;

-- an application role: nothing by itself, its tenant's rights inside tenant_enter
CREATE ROLE app;
SELECT stash.app_role_add('app');
SELECT stash.app_role_add('app');      -- idempotent
SELECT role, role_exists FROM stash.app_roles;
CREATE TABLE public.countries (code text PRIMARY KEY);
INSERT INTO public.countries VALUES ('DE');
\set ECHO none
SELECT format('GRANT SELECT ON public.countries TO %I', stash.tenant_group_role()) \gexec
\set ECHO all
SELECT stash.tenant_role('acme') AS acme_role \gset

SET ROLE app;
SELECT count(*) FROM tenant_acme.orders;
BEGIN;
SELECT stash.tenant_enter('acme');
SELECT session_user;
SELECT current_user LIKE 'stash_acme_%' AS current_user_is_acmes_role;
INSERT INTO orders (note) VALUES ('first');
UPDATE orders SET note = 'first!';
SELECT id, note FROM orders;
SELECT code FROM countries;           -- shared, through the group role
SELECT count(*) FROM tenant_globex.orders;
ROLLBACK;
BEGIN;
SELECT stash.tenant_enter('acme');
DROP TABLE orders;
ROLLBACK;
BEGIN;
SELECT stash.tenant_enter('acme');
TRUNCATE orders;
ROLLBACK;
BEGIN;
SELECT stash.tenant_enter('acme');
CREATE TABLE mine (id int);
ROLLBACK;
BEGIN;
SELECT stash.tenant_enter('acme');
ALTER TABLE orders ADD COLUMN x int;
ROLLBACK;
-- one tenant per transaction; the same one again is a no-op
BEGIN;
SELECT stash.tenant_enter('acme');
SELECT stash.tenant_enter('acme');
SELECT stash.current_tenant();
SELECT stash.tenant_enter('globex');
ROLLBACK;
-- tenant_exit gives back the application role, which has no tenant rights
BEGIN;
SELECT stash.tenant_enter('acme');
SELECT stash.tenant_exit();
SELECT current_user;
SELECT count(*) FROM tenant_acme.orders;
ROLLBACK;
-- no way to the tenant role but tenant_enter: connected as the application role (a
-- superuser session could SET ROLE to anything), neither SET ROLE nor set_config('role')
-- reaches it (its name stays out of the output: part of it is a random id)
RESET ROLE;
ALTER ROLE app LOGIN;
\c - app
\set ECHO none
SET test.acme_role = :'acme_role';
\set ECHO all
DO $$
BEGIN
  EXECUTE format('SET ROLE %I', current_setting('test.acme_role'));
EXCEPTION WHEN insufficient_privilege THEN
  RAISE NOTICE 'SET ROLE to the tenant role: SQLSTATE %', SQLSTATE;
END $$;
DO $$
BEGIN
  PERFORM set_config('role', current_setting('test.acme_role'), false);
EXCEPTION WHEN insufficient_privilege THEN
  RAISE NOTICE 'set_config(''role'', …) to the tenant role: SQLSTATE %', SQLSTATE;
END $$;
SELECT current_user, session_user;
\c - postgres
SET ROLE app;
-- after COMMIT the transaction's identity is gone
BEGIN;
SELECT stash.tenant_enter('acme');
INSERT INTO orders (note) VALUES ('kept');
COMMIT;
SELECT current_user;
RESET ROLE;

-- administrators (superusers, roles with the registry owner's privileges) enter as
-- themselves, for maintenance
BEGIN;
SELECT stash.tenant_enter('globex');
SELECT current_user;
ROLLBACK;

-- application roles that no wall could hold are refused
CREATE ROLE too_strong BYPASSRLS;
SELECT stash.app_role_add('too_strong');
SELECT stash.app_role_add(NULL);
SELECT stash.app_role_add(4000000000::oid::regrole);   -- 42704: no such role

-- a role's name may hold any character but NUL: this one is an application role like any
CREATE ROLE "app,odd:f";
SELECT stash.app_role_add('"app,odd:f"');
SET ROLE "app,odd:f";
BEGIN;
SELECT stash.tenant_enter('globex');
SELECT current_user::text LIKE 'stash\_globex\_%' AS switched_to_the_tenant_role;
ROLLBACK;
RESET ROLE;
SELECT stash.app_role_remove('"app,odd:f"');
DROP ROLE "app,odd:f";

-- tenant_drop leaves no trace of the role
SELECT stash.tenant_role('globex') AS globex_role \gset
SELECT stash.tenant_drop('globex');
SELECT count(*) AS roles FROM pg_roles WHERE rolname = :'globex_role';
SELECT count(*) AS memberships FROM pg_auth_members m JOIN pg_roles r ON r.oid = m.member
 WHERE r.rolname = :'globex_role';
SELECT count(*) AS default_acls FROM pg_default_acl WHERE defaclacl::text LIKE '%' || :'globex_role' || '%';
SELECT count(*) AS acls FROM pg_class WHERE relacl::text LIKE '%' || :'globex_role' || '%';

-- a role lost (a restore into another cluster, a careless DROP ROLE) is recreated with
-- its privileges by tenant_roles_repair; until then the application cannot enter.  It gets
-- them on every kind of object the schema holds by then (found through pg_depend, not by
-- GRANT ... ON ALL ... IN SCHEMA, whose scans of all of pg_class grow with the fleet)
CREATE VIEW tenant_acme.recent AS SELECT * FROM tenant_acme.orders;
CREATE SEQUENCE tenant_acme."Odd Seq";
CREATE FUNCTION tenant_acme.total(a int, VARIADIC b int[]) RETURNS int LANGUAGE sql AS 'SELECT a';
CREATE PROCEDURE tenant_acme.touch(x text) LANGUAGE sql AS 'SELECT 1';
CREATE AGGREGATE tenant_acme.firsts(ORDER BY text) (SFUNC = array_append, STYPE = text[]);
REVOKE EXECUTE ON ALL ROUTINES IN SCHEMA tenant_acme FROM PUBLIC;
\set ECHO none
DROP OWNED BY :"acme_role";
DROP ROLE :"acme_role";
\set ECHO all
SET ROLE app;
BEGIN;
SELECT stash.tenant_enter('acme');
ROLLBACK;
RESET ROLE;
SELECT slug, role = :'acme_role' AS same_name, created FROM stash.tenant_roles_repair();
SELECT slug, created FROM stash.tenant_roles_repair();
SELECT has_table_privilege(:'acme_role', 'tenant_acme.recent', 'SELECT,INSERT,UPDATE,DELETE') AS view_dml,
       has_sequence_privilege(:'acme_role', 'tenant_acme."Odd Seq"', 'USAGE,SELECT,UPDATE') AS odd_sequence,
       has_function_privilege(:'acme_role', 'tenant_acme.total(int, int[])', 'EXECUTE') AS variadic_function,
       has_function_privilege(:'acme_role', 'tenant_acme.touch(text)', 'EXECUTE') AS procedure,
       has_function_privilege(:'acme_role', 'tenant_acme.firsts(text)', 'EXECUTE') AS ordered_set_aggregate;
SET ROLE app;
BEGIN;
SELECT stash.tenant_enter('acme');
SELECT note FROM orders;
ROLLBACK;
RESET ROLE;

-- removing the application role closes the door
SELECT stash.app_role_remove('app');
SET ROLE app;
BEGIN;
SELECT stash.tenant_enter('acme');
ROLLBACK;
RESET ROLE;
SELECT stash.tenant_drop('acme');
DROP TABLE public.countries;
DROP ROLE app;
DROP ROLE too_strong;
SELECT count(*) AS tenant_roles_left FROM pg_roles WHERE rolname IN (:'acme_role', :'globex_role');
