-- Who a migration runs as.  Every step runs as the owner of the tenant's schema, inside a
-- security-restricted operation (as PostgreSQL runs REFRESH MATERIALIZED VIEW), whoever
-- calls it: objects always belong to the schema owner, a function the application
-- planted in the schema cannot borrow a superuser's rights, and only roles with the
-- owner's privileges may migrate the tenant.
CREATE EXTENSION stash_tenancy;
CREATE ROLE tenant_owner;
CREATE ROLE app_user;
CREATE ROLE other_admin;
GRANT EXECUTE ON FUNCTION stash.tenant_create(text, text, jsonb),
  stash.tenant_migrate(text, bigint, boolean) TO tenant_owner, other_admin;
SELECT format('GRANT CREATE ON DATABASE %I TO tenant_owner', current_database()) \gexec
SELECT stash.migration_add(1, 'customers',
  'CREATE TABLE customers (id int PRIMARY KEY, email varchar(100) NOT NULL)');

SET ROLE tenant_owner;
SELECT slug FROM stash.tenant_create('acme');
RESET ROLE;
-- the application may create objects in its schema (a common, careless grant)
GRANT USAGE, CREATE ON SCHEMA tenant_acme TO app_user;
GRANT INSERT, SELECT ON tenant_acme.customers TO app_user;

-- the CVE-2018-1058 trap: an exact-match lower(varchar) in the tenant schema wins over
-- pg_catalog.lower(text) for a varchar argument
SET ROLE app_user;
CREATE TABLE tenant_acme.who_ran_it (role name, superuser boolean);
CREATE FUNCTION tenant_acme.lower(varchar) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO tenant_acme.who_ran_it
    SELECT current_user, rolsuper FROM pg_roles WHERE rolname = current_user;
  RETURN pg_catalog.lower($1::text);
END $$;
GRANT ALL ON tenant_acme.who_ran_it TO PUBLIC;
INSERT INTO tenant_acme.customers VALUES (1, 'Ann@Example.COM');
RESET ROLE;

-- a superuser runs the next migration, which calls lower() on a varchar column
SELECT current_user AS caller, rolsuper FROM pg_roles WHERE rolname = current_user;
SELECT stash.migration_add(2, 'normalize_emails',
  'UPDATE customers SET email = lower(email); CREATE TABLE audit (id int)');
SELECT slug, status, error FROM stash.tenant_migrate('acme');
-- the planted function ran, but as the schema owner, who is no superuser
SELECT role, superuser FROM tenant_acme.who_ran_it;
-- and what the migration created belongs to the schema owner, not to the superuser
SELECT c.relname, pg_get_userbyid(c.relowner) AS owner FROM pg_class c
 WHERE c.relnamespace = 'tenant_acme'::regnamespace AND c.relkind = 'r' ORDER BY 1;

-- a role without the owner's privileges may not migrate the tenant: 42501, nothing changed
SELECT stash.migration_add(3, 'more', 'CREATE TABLE more (id int)');
SET ROLE other_admin;
SELECT slug, status FROM stash.tenant_migrate('acme');
RESET ROLE;
SELECT current_version FROM stash.tenant_status WHERE slug = 'acme';
-- the owner itself may
SET ROLE tenant_owner;
SELECT slug, status FROM stash.tenant_migrate('acme');
RESET ROLE;

-- inside a security-restricted operation a migration cannot change who it is
SELECT stash.migration_add(4, 'escalate', 'RESET ROLE; CREATE TABLE escalated (id int)');
SELECT slug, status, error FROM stash.tenant_migrate('acme');
SELECT stash.migration_remove(4);

SELECT stash.tenant_drop('acme');
SELECT format('REVOKE CREATE ON DATABASE %I FROM tenant_owner', current_database()) \gexec
REVOKE ALL ON FUNCTION stash.tenant_create(text, text, jsonb),
  stash.tenant_migrate(text, bigint, boolean) FROM tenant_owner, other_admin;
DROP ROLE tenant_owner;
DROP ROLE app_user;
DROP ROLE other_admin;
