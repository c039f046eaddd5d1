-- tenant_drop removes the tenant's schema, everything in it and every row the extension
-- keeps about it; the audit log keeps only a 'dropped' event (id, slug, time, actor).
CREATE EXTENSION stash_tenancy;
SELECT slug FROM stash.tenant_create('acme', 'Acme', '{"secret": "s3"}');
SELECT slug FROM stash.tenant_create('globex');
BEGIN;
SELECT stash.tenant_enter('acme');
CREATE TABLE invoices (id serial PRIMARY KEY, body text);
CREATE VIEW open_invoices AS SELECT * FROM invoices;
CREATE FUNCTION invoice_count() RETURNS bigint LANGUAGE sql AS 'SELECT count(*) FROM invoices';
INSERT INTO invoices (body) VALUES ('x');
COMMIT;
SELECT stash.tenant_suspend('acme');
SELECT stash.tenant_resume('acme');
SELECT slug, action FROM stash.events ORDER BY id;

SELECT stash.tenant_drop('acme');

-- nothing remains: no schema, no objects, no registry row ...
SELECT count(*) AS schemas FROM pg_namespace WHERE nspname = 'tenant_acme';
SELECT count(*) AS objects FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE n.nspname = 'tenant_acme';
SELECT slug FROM stash.tenants ORDER BY slug;
-- ... and of its events only the fact of the drop, with no detail
SELECT slug, action, detail, actor = session_user AS by_me,
       tenant_id IS NOT NULL AS has_id, at IS NOT NULL AS has_time
  FROM stash.events WHERE slug = 'acme' ORDER BY id;
SELECT count(*) AS events_mentioning_secret FROM stash.events WHERE detail::text LIKE '%s3%';
-- the other tenant is untouched
SELECT slug, action FROM stash.events WHERE slug = 'globex' ORDER BY id;

-- dropping an unknown tenant is an error, and changes nothing
SELECT stash.tenant_drop('acme');
SELECT stash.tenant_drop('nosuch');
SELECT count(*) AS events FROM stash.events;

-- the slug is free again
SELECT slug FROM stash.tenant_create('acme');
SELECT slug, action FROM stash.events WHERE slug = 'acme' ORDER BY id;
