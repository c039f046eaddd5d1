-- Two tenants with the same table names: each sees only its own rows.
CREATE EXTENSION stash_tenancy;
SELECT slug FROM stash.tenant_create('acme');
SELECT slug FROM stash.tenant_create('globex');

-- the same DDL in each tenant, written unqualified
BEGIN;
SELECT stash.tenant_enter('acme');
CREATE TABLE customers (id int PRIMARY KEY, name text);
INSERT INTO customers VALUES (1, 'Wile E. Coyote'), (2, 'Road Runner');
COMMIT;

BEGIN;
SELECT stash.tenant_enter('globex');
CREATE TABLE customers (id int PRIMARY KEY, name text);
INSERT INTO customers VALUES (1, 'Hank Scorpio');
COMMIT;

BEGIN;
SELECT stash.tenant_enter('acme');
SELECT * FROM customers ORDER BY id;
COMMIT;

BEGIN;
SELECT stash.tenant_enter('globex');
SELECT * FROM customers ORDER BY id;
COMMIT;

-- outside any tenant the name resolves to nothing
SELECT * FROM customers;

-- current_tenant_id() is meant for row-level security on shared tables
CREATE TABLE public.notes (tenant_id uuid NOT NULL DEFAULT stash.current_tenant_id(), body text);
ALTER TABLE public.notes ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_rows ON public.notes USING (tenant_id = stash.current_tenant_id());
CREATE ROLE app_reader;
SELECT stash.app_role_add('app_reader');
-- inside a tenant the application works as the tenant's role, which has what the group
-- role has outside the tenant's schema; outside, it works as itself
\set ECHO none
SELECT format('GRANT SELECT, INSERT ON public.notes TO %I, app_reader', stash.tenant_group_role()) \gexec
\set ECHO all
BEGIN;
SELECT stash.tenant_enter('acme');
INSERT INTO notes (body) VALUES ('acme note');
COMMIT;
BEGIN;
SELECT stash.tenant_enter('globex');
INSERT INTO notes (body) VALUES ('globex note');
COMMIT;
SET ROLE app_reader;
BEGIN;
SELECT stash.tenant_enter('globex');
SELECT body FROM notes;
COMMIT;
-- no tenant: no rows
SELECT body FROM notes;
RESET ROLE;
DROP TABLE public.notes;
SELECT stash.app_role_remove('app_reader');
DROP ROLE app_reader;
