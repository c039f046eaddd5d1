-- The smoke test: the extension installs into schema "stash" and reports its version.
CREATE EXTENSION stash_tenancy;

SELECT extversion = stash.version() AS version_matches,
       extnamespace::regnamespace AS schema,
       extrelocatable
  FROM pg_extension WHERE extname = 'stash_tenancy';

-- the schema is fixed: the extension cannot be moved
ALTER EXTENSION stash_tenancy SET SCHEMA public;
