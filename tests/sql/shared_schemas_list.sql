-- stash.shared_schemas is read with PostgreSQL's own identifier-list parser, exactly as
-- search_path is: quoted names keep their commas, spaces and case.
CREATE EXTENSION stash_tenancy;
CREATE SCHEMA "Shared, Data";
SET stash.shared_schemas = '"Shared, Data", public';
SELECT stash.migration_add(1, 'plans', 'CREATE TABLE plans (id int PRIMARY KEY)', 'DROP TABLE plans', 'shared');
SELECT slug, status FROM stash.shared_migrate();
SELECT schemaname, tablename FROM pg_tables WHERE tablename = 'plans';
-- unquoted names are folded to lower case, as in search_path
SET stash.shared_schemas = 'PUBLIC';
SELECT slug, status FROM stash.shared_migrate();
-- a list that is not one is refused when it is set (22023), and the value stays
SET stash.shared_schemas = '"unterminated, public';
SHOW stash.shared_schemas;
