-- The pool model: tenants' rows in one shared table with a tenant column, kept apart by
-- row-level security.  pool_table_add enables and forces RLS with policies on
-- stash.current_tenant_id() for every command, and makes the column default to the
-- entered tenant; pool_table_remove undoes exactly that.
CREATE EXTENSION stash_tenancy;
SELECT slug FROM stash.tenant_create('acme');
SELECT slug FROM stash.tenant_create('globex');
CREATE ROLE app;
SELECT stash.app_role_add('app');
CREATE TABLE public.notes (id serial PRIMARY KEY, tenant_id uuid NOT NULL, body text);
CREATE INDEX ON public.notes (tenant_id);
\set ECHO none
SELECT format('GRANT SELECT, INSERT, UPDATE, DELETE ON public.notes TO %I, app', stash.tenant_group_role()) \gexec
SELECT format('GRANT USAGE ON SEQUENCE public.notes_id_seq TO %I, app', stash.tenant_group_role()) \gexec
\set ECHO all
SELECT stash.pool_table_add('public.notes');
SELECT stash.pool_table_add('public.notes');     -- idempotent
SELECT "table", tenant_column FROM stash.pool_tables;
SELECT relrowsecurity, relforcerowsecurity FROM pg_class WHERE oid = 'public.notes'::regclass;
SELECT polname, polpermissive, polcmd FROM pg_policy WHERE polrelid = 'public.notes'::regclass ORDER BY 1;

SET ROLE app;
-- outside a tenant: no row, no insert
INSERT INTO notes (body) VALUES ('nobody''s');
BEGIN;
SELECT stash.tenant_enter('acme');
INSERT INTO notes (body) VALUES ('acme 1'), ('acme 2');   -- tenant_id defaults to acme
COMMIT;
BEGIN;
SELECT stash.tenant_enter('globex');
INSERT INTO notes (body) VALUES ('globex 1');
SELECT body FROM notes ORDER BY id;
UPDATE notes SET body = body || '!';                      -- only globex's row
COMMIT;
SELECT count(*) AS visible_outside FROM notes;
BEGIN;
SELECT stash.tenant_enter('acme');
SELECT body FROM notes ORDER BY id;
-- writing a row for another tenant is refused by the policy
INSERT INTO notes (tenant_id, body) SELECT id, 'forged' FROM (SELECT NULL::uuid AS id) x;
ROLLBACK;
RESET ROLE;
\set ECHO none
SELECT id AS globex_id FROM stash.tenants WHERE slug = 'globex' \gset
SET test.globex_id = :'globex_id';
\set ECHO all
SET ROLE app;
BEGIN;
SELECT stash.tenant_enter('acme');
INSERT INTO notes (tenant_id, body) VALUES (current_setting('test.globex_id')::uuid, 'forged');
ROLLBACK;
BEGIN;
SELECT stash.tenant_enter('acme');
UPDATE notes SET tenant_id = current_setting('test.globex_id')::uuid;
ROLLBACK;
RESET ROLE;

-- a plain foreign key into a pool table lets tenants probe each other's ids: warned
CREATE TABLE public.note_links (note_id int REFERENCES public.notes (id));
SELECT stash.pool_table_remove('public.notes');
SELECT stash.pool_table_add('public.notes');

-- bad input: 42804 (not uuid), 42703 (no such column), 22023 (tenant schema), 42704,
-- 42P01 (an oid that names no relation)
CREATE TABLE public.wrong (tenant_id text);
SELECT stash.pool_table_add('public.wrong');
SELECT stash.pool_table_add('public.wrong', 'nope');
CREATE TABLE tenant_acme.inside (tenant_id uuid);
SELECT stash.pool_table_add('tenant_acme.inside');
SELECT stash.pool_table_add(4000000000::oid::regclass);
SELECT stash.pool_table_remove('public.wrong');
SELECT count(*) AS pool_tables FROM stash.pool_tables;

-- tenant_drop deletes the tenant's rows from every pool table, and says how many
SELECT stash.tenant_drop('globex', force => true);
SELECT detail FROM stash.events WHERE slug = 'globex' AND action = 'dropped';
SELECT count(*) AS rows_left FROM public.notes;

-- removing undoes exactly what adding did
SELECT stash.pool_table_remove('public.notes');
SELECT relrowsecurity, relforcerowsecurity FROM pg_class WHERE oid = 'public.notes'::regclass;
SELECT count(*) AS policies FROM pg_policy WHERE polrelid = 'public.notes'::regclass;
SELECT pg_get_expr(adbin, adrelid) AS tenant_id_default FROM pg_attrdef
 WHERE adrelid = 'public.notes'::regclass AND adnum = 2;
DROP TABLE public.note_links, public.notes, public.wrong;

-- a pool table dropped without pool_table_remove: it leaves the view at once, and its
-- registration goes at the next tenant_drop (which does not trip over it)
CREATE TABLE public.gone (tenant_id uuid);
SELECT stash.pool_table_add('public.gone');
DROP TABLE public.gone;
SELECT count(*) AS pool_tables FROM stash.pool_tables;
SELECT stash.tenant_drop('acme');
SELECT count(*) AS registrations_left FROM stash.pool_table_registry;
SELECT stash.app_role_remove('app');
DROP ROLE app;
