-- stash_tenancy 0.1.0 -> 0.2.0.  Run by ALTER EXTENSION stash_tenancy UPDATE; every change
-- of the 0.2.0 schema reaches existing databases through this file, and the upgrade test
-- (tests/integration/test_upgrade.py) fails when it misses one.  Once 0.2.0 is released
-- this file is frozen (sql/RELEASED.sha256).
\echo Use "ALTER EXTENSION stash_tenancy UPDATE" to load this file. \quit

-- stash.version() reports the loaded library, which changes when a new one is installed:
-- STABLE, not IMMUTABLE (an IMMUTABLE call may be folded into a plan or an index).
ALTER FUNCTION stash.version() STABLE;

-- Internal helper: GRANTs an administrator gave on a function that this update replaces
-- with a new signature are given on the replacement too.
CREATE FUNCTION stash._upgrade_copy_grants(old regprocedure, new regprocedure) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    g record;
    kind text := CASE (SELECT prokind FROM pg_proc WHERE oid = new) WHEN 'p' THEN 'PROCEDURE' ELSE 'FUNCTION' END;
BEGIN
    FOR g IN SELECT a.grantee, a.is_grantable
               FROM pg_proc p, aclexplode(p.proacl) a
              WHERE p.oid = old AND a.privilege_type = 'EXECUTE' AND a.grantee <> p.proowner LOOP
        EXECUTE format('GRANT EXECUTE ON %s %s TO %s%s', kind, new,
                       CASE g.grantee WHEN 0 THEN 'PUBLIC' ELSE quote_ident(g.grantee::regrole::text) END,
                       CASE WHEN g.is_grantable THEN ' WITH GRANT OPTION' ELSE '' END);
    END LOOP;
END $$;

-- ---- migrations: failures keep the error's DETAIL and HINT ---------------------------------
ALTER TABLE stash.migration_failures ADD COLUMN detail text, ADD COLUMN hint text;

-- ---- cache invalidation fires under session_replication_role = replica too ------------------
ALTER TABLE stash.tenants ENABLE ALWAYS TRIGGER tenants_invalidate;

-- ---- tenant_drop(slug, force): refuses to drop objects outside the tenant unless forced -----
CREATE FUNCTION stash.tenant_drop(
	"slug" TEXT,
	"force" bool DEFAULT false
) RETURNS void
VOLATILE PARALLEL UNSAFE
SET search_path TO pg_catalog, pg_temp
LANGUAGE c
AS 'MODULE_PATHNAME', 'tenant_drop_checked_wrapper';
REVOKE EXECUTE ON FUNCTION stash.tenant_drop(text, boolean) FROM PUBLIC;
SELECT stash._upgrade_copy_grants('stash.tenant_drop(text)', 'stash.tenant_drop(text, boolean)');
DROP FUNCTION stash.tenant_drop(text);

-- ---- migrate_all: brakes (max_failures, timeouts, canary), honest final counts ------------
-- Its helpers are internal now (leading underscore), with new signatures.
CREATE FUNCTION stash."_migrate_all_next"(
	"target_version" bigint,
	"after_slug" TEXT,
	"skip" TEXT[],
	"lock_timeout_ms" bigint,
	"statement_timeout_ms" bigint
) RETURNS TABLE (
	"slug" TEXT,
	"from_version" bigint,
	"to_version" bigint,
	"applied" INT,
	"status" TEXT,
	"error" TEXT,
	"sqlstate" TEXT
)
VOLATILE PARALLEL UNSAFE
SET search_path TO pg_catalog, pg_temp
LANGUAGE c
AS 'MODULE_PATHNAME', 'migrate_all_claim_wrapper';
CREATE FUNCTION stash."_migrate_all_pending"(
	"target_version" bigint
) RETURNS bigint
VOLATILE PARALLEL UNSAFE
SET search_path TO pg_catalog, pg_temp
LANGUAGE c
AS 'MODULE_PATHNAME', 'migrate_all_pending_wrapper';
-- The old procedure steps aside (a CALL stash.migrate_all() would be ambiguous between
-- the two) until its grants are copied to the new one.
ALTER PROCEDURE stash.migrate_all(bigint) RENAME TO _migrate_all_0_1_0;
CREATE PROCEDURE stash.migrate_all(
    target_version    bigint   DEFAULT NULL,
    max_failures      bigint   DEFAULT NULL,
    lock_timeout      interval DEFAULT NULL,
    statement_timeout interval DEFAULT NULL,
    canary            bigint   DEFAULT NULL)
LANGUAGE plpgsql AS $proc$
-- No SET search_path here: a procedure with a SET clause cannot COMMIT.  Everything is
-- schema-qualified instead, operators included.  Every transaction of the run is READ
-- COMMITTED whatever the session's default: each tenant's migration must see what the
-- sessions before it committed.
DECLARE
    lock_ms   bigint := (pg_catalog.date_part('epoch', lock_timeout) OPERATOR(pg_catalog.*) 1000)::bigint;
    stmt_ms   bigint := (pg_catalog.date_part('epoch', statement_timeout) OPERATOR(pg_catalog.*) 1000)::bigint;
    total     bigint;
    done      bigint := 0;
    failed    bigint := 0;
    timeouts  bigint := 0;
    pending   bigint;
    r         record;
    last      text := '';
    skip      text[] := '{}';
    pass      int := 1;
    stopped   text;
    reported  timestamptz := pg_catalog.clock_timestamp();
BEGIN
    IF max_failures OPERATOR(pg_catalog.<) 1 OR canary OPERATOR(pg_catalog.<) 1
       OR lock_ms OPERATOR(pg_catalog.<=) 0 OR stmt_ms OPERATOR(pg_catalog.<=) 0 THEN
        RAISE EXCEPTION USING ERRCODE = 'invalid_parameter_value',
            MESSAGE = 'stash.migrate_all: max_failures and canary must be at least 1, and the timeouts longer than 0',
            HINT = 'Leave a brake NULL (the default) to go without it.';
    END IF;
    total := stash._migrate_all_pending(target_version);
    RAISE NOTICE 'stash.migrate_all: % tenant(s) to migrate', total;
    COMMIT;
    SET TRANSACTION ISOLATION LEVEL READ COMMITTED;
    LOOP
        SELECT * INTO r FROM stash._migrate_all_next(target_version, last, skip, lock_ms, stmt_ms);
        IF NOT FOUND THEN
            -- Second and last pass: tenants that timed out, and tenants another session
            -- held locked (SKIP LOCKED passed them by), get one more try.
            EXIT WHEN pass OPERATOR(pg_catalog.=) 2;
            pass := 2;
            last := '';
            COMMIT;
            SET TRANSACTION ISOLATION LEVEL READ COMMITTED;
            CONTINUE;
        END IF;
        COMMIT;   -- one tenant per transaction: bounded locks, resumable, parallel-safe
        SET TRANSACTION ISOLATION LEVEL READ COMMITTED;
        last := r.slug;
        done := done OPERATOR(pg_catalog.+) 1;   -- tenants that turned out up to date are not returned
        IF r.status OPERATOR(pg_catalog.<>) 'ok' THEN
            IF pass OPERATOR(pg_catalog.=) 1 AND r.sqlstate OPERATOR(pg_catalog.=) ANY ('{55P03,57014}') THEN
                timeouts := timeouts OPERATOR(pg_catalog.+) 1;
                RAISE WARNING 'stash.migrate_all: tenant % timed out, will retry at the end: %', r.slug, r.error;
            ELSE
                failed := failed OPERATOR(pg_catalog.+) 1;
                skip := skip OPERATOR(pg_catalog.||) r.slug;   -- failed for good in this run
                RAISE WARNING 'stash.migrate_all: tenant % %: %', r.slug, r.status, r.error;
            END IF;
        END IF;
        IF pass OPERATOR(pg_catalog.=) 2 THEN
            RAISE NOTICE 'stash.migrate_all: retried % at the end of the run: %', r.slug, r.status;
        ELSIF pg_catalog.clock_timestamp() OPERATOR(pg_catalog.-) reported OPERATOR(pg_catalog.>) interval '1 second'
           OR total OPERATOR(pg_catalog.<=) 20 THEN
            RAISE NOTICE 'stash.migrate_all: %/% done, % failed (last: % %)',
                done, total, failed, r.slug, r.status;
            reported := pg_catalog.clock_timestamp();
        END IF;
        IF max_failures IS NOT NULL
           AND failed OPERATOR(pg_catalog.+) timeouts OPERATOR(pg_catalog.>=) max_failures THEN
            stopped := pg_catalog.format('stopped after %s failed tenant(s) (max_failures => %s)',
                                         failed OPERATOR(pg_catalog.+) timeouts, max_failures);
            EXIT;
        END IF;
        IF canary IS NOT NULL AND pass OPERATOR(pg_catalog.=) 1 AND done OPERATOR(pg_catalog.>=) canary THEN
            stopped := pg_catalog.format('canary: stopped after %s tenant(s)', done);
            EXIT;
        END IF;
    END LOOP;
    -- Count again: what another session held the whole time, or what failed, still needs work.
    pending := stash._migrate_all_pending(target_version);
    IF pending OPERATOR(pg_catalog.>) 0 AND stopped IS NULL THEN
        RAISE WARNING 'stash.migrate_all: % tenant(s) still need work', pending
            USING HINT = 'SELECT slug, pending, last_error FROM stash.tenant_status WHERE pending > 0 OR last_error IS NOT NULL; then CALL stash.migrate_all() again.';
    END IF;
    RAISE NOTICE 'stash.migrate_all: %, % tenant(s) migrated by this session, % failed, % still pending%',
        COALESCE(stopped, 'finished'),
        done OPERATOR(pg_catalog.-) failed OPERATOR(pg_catalog.-) timeouts,
        failed, pending,
        CASE WHEN stopped IS NULL THEN ''
             ELSE '; CALL stash.migrate_all() again to continue with the rest' END;
END
$proc$;
REVOKE EXECUTE ON PROCEDURE stash.migrate_all(bigint, bigint, interval, interval, bigint) FROM PUBLIC;
COMMENT ON FUNCTION stash._migrate_all_pending(bigint) IS 'Internal to stash.migrate_all(); not an API.';
COMMENT ON FUNCTION stash._migrate_all_next(bigint, text, text[], bigint, bigint) IS 'Internal to stash.migrate_all(); not an API.';
SELECT stash._upgrade_copy_grants('stash._migrate_all_0_1_0(bigint)',
                                  'stash.migrate_all(bigint, bigint, interval, interval, bigint)');
DROP PROCEDURE stash._migrate_all_0_1_0(bigint);
DROP FUNCTION stash.migrate_all_pending(bigint);
DROP FUNCTION stash.migrate_all_next(bigint, text);


-- ---- tenant isolation: tenant roles, the group role, application roles -------------------
CREATE TABLE stash.group_role (
    singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    role_name name    NOT NULL UNIQUE
);
COMMENT ON TABLE stash.group_role IS 'The name of this database''s tenant group role (see stash.tenant_group_role()).';
SELECT pg_catalog.pg_extension_config_dump('stash.group_role', '');
REVOKE ALL ON stash.group_role FROM PUBLIC;
CREATE FUNCTION stash."tenant_role"(
	"slug" TEXT
) RETURNS name
STABLE PARALLEL UNSAFE
SET search_path TO pg_catalog, pg_temp
LANGUAGE c
AS 'MODULE_PATHNAME', 'tenant_role_wrapper';
CREATE FUNCTION stash."tenant_group_role"() RETURNS name
STRICT VOLATILE PARALLEL UNSAFE
SET search_path TO pg_catalog, pg_temp
LANGUAGE c
AS 'MODULE_PATHNAME', 'tenant_group_role_wrapper';
CREATE FUNCTION stash."tenant_roles_repair"() RETURNS TABLE (
	"slug" TEXT,
	"role" TEXT,
	"created" bool
)
STRICT VOLATILE PARALLEL UNSAFE
SET search_path TO pg_catalog, pg_temp
LANGUAGE c
AS 'MODULE_PATHNAME', 'tenant_roles_repair_wrapper';
REVOKE EXECUTE ON FUNCTION stash.tenant_role(text) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION stash.tenant_group_role() FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION stash.tenant_roles_repair() FROM PUBLIC;
CREATE TABLE stash.app_role_registry (
    role_name      name        PRIMARY KEY,
    added_at       timestamptz NOT NULL DEFAULT now(),
    token_required boolean     NOT NULL DEFAULT false
);
COMMENT ON TABLE stash.app_role_registry IS 'Application roles: they enter tenants with the tenant''s role (stash.app_role_add).';
SELECT pg_catalog.pg_extension_config_dump('stash.app_role_registry', '');
REVOKE ALL ON stash.app_role_registry FROM PUBLIC;
CREATE TRIGGER app_roles_invalidate
    AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON stash.app_role_registry
    FOR EACH STATEMENT EXECUTE FUNCTION stash.tenants_invalidate();
ALTER TABLE stash.app_role_registry ENABLE ALWAYS TRIGGER app_roles_invalidate;

CREATE VIEW stash.app_roles AS
SELECT a.role_name AS role, r.oid IS NOT NULL AS role_exists, a.added_at, a.token_required
  FROM stash.app_role_registry a
  LEFT JOIN pg_catalog.pg_roles r ON r.rolname = a.role_name;
COMMENT ON VIEW stash.app_roles IS 'Application roles (stash.app_role_add / stash.app_role_remove).';
REVOKE ALL ON stash.app_roles FROM PUBLIC;
CREATE FUNCTION stash.app_role_add("role" regrole) RETURNS void
VOLATILE PARALLEL UNSAFE
SET search_path TO pg_catalog, pg_temp
LANGUAGE c AS 'MODULE_PATHNAME', 'app_role_add_wrapper';
CREATE FUNCTION stash.app_role_remove("role" regrole) RETURNS void
VOLATILE PARALLEL UNSAFE
SET search_path TO pg_catalog, pg_temp
LANGUAGE c AS 'MODULE_PATHNAME', 'app_role_remove_wrapper';
REVOKE EXECUTE ON FUNCTION stash.app_role_add(regrole) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION stash.app_role_remove(regrole) FROM PUBLIC;
-- Every existing tenant gets its role, with its privileges (and the database its group
-- role).  Application roles are registered by an administrator afterwards: until then
-- only administrators enter tenants, so nothing gains access by the update.
SELECT count(*) AS tenant_roles FROM stash.tenant_roles_repair();

-- ---- bounded catalog-cache memory: stash.cache_limit (a setting) and its counters ----------
CREATE FUNCTION stash."backend_stats"() RETURNS TABLE (
	"cache_bytes" bigint,
	"cache_limit_bytes" bigint,
	"cache_resets" bigint
)
STRICT VOLATILE PARALLEL RESTRICTED
LANGUAGE c
AS 'MODULE_PATHNAME', 'backend_stats_wrapper';


-- ---- the pool model: shared tables with a tenant column under row-level security ----------
CREATE TABLE stash.pool_table_registry (
    relid         regclass    PRIMARY KEY,
    tenant_column name        NOT NULL,
    had_rls       boolean     NOT NULL,
    had_force_rls boolean     NOT NULL,
    old_default   text,
    added_at      timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE stash.pool_table_registry IS 'Shared tables whose rows belong to tenants (stash.pool_table_add), and what adding changed.';
SELECT pg_catalog.pg_extension_config_dump('stash.pool_table_registry', '');
REVOKE ALL ON stash.pool_table_registry FROM PUBLIC;
CREATE VIEW stash.pool_tables AS
SELECT relid AS "table", tenant_column, added_at FROM stash.pool_table_registry
 WHERE EXISTS (SELECT FROM pg_catalog.pg_class c WHERE c.oid = relid);
COMMENT ON VIEW stash.pool_tables IS 'Shared tables kept apart by tenant with row-level security (stash.pool_table_add).';
REVOKE ALL ON stash.pool_tables FROM PUBLIC;
CREATE FUNCTION stash.pool_table_add("tbl" regclass, "tenant_column" name DEFAULT 'tenant_id') RETURNS void
VOLATILE PARALLEL UNSAFE
SET search_path TO pg_catalog, pg_temp
LANGUAGE c AS 'MODULE_PATHNAME', 'pool_table_add_wrapper';
CREATE FUNCTION stash.pool_table_remove("tbl" regclass) RETURNS void
VOLATILE PARALLEL UNSAFE
SET search_path TO pg_catalog, pg_temp
LANGUAGE c AS 'MODULE_PATHNAME', 'pool_table_remove_wrapper';
REVOKE EXECUTE ON FUNCTION stash.pool_table_add(regclass, name) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION stash.pool_table_remove(regclass) FROM PUBLIC;
-- ---- signed entry: tenant_enter_token, its keys, app_role_require_token; PostgREST -------
CREATE TABLE stash.token_keys (
    kid      text        PRIMARY KEY CHECK (kid <> '' AND length(kid) <= 200),
    alg      text        NOT NULL CHECK (alg IN ('HS256', 'RS256', 'ES256')),
    key      text        NOT NULL,
    added_at timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE stash.token_keys IS 'Keys that verify tokens for stash.tenant_enter_token (administrators only: it holds HS256 secrets).';
SELECT pg_catalog.pg_extension_config_dump('stash.token_keys', '');
REVOKE ALL ON stash.token_keys FROM PUBLIC;
CREATE TRIGGER token_keys_invalidate
    AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON stash.token_keys
    FOR EACH STATEMENT EXECUTE FUNCTION stash.tenants_invalidate();
ALTER TABLE stash.token_keys ENABLE ALWAYS TRIGGER token_keys_invalidate;
CREATE FUNCTION stash."tenant_enter_token"(
	"token" TEXT
) RETURNS void
VOLATILE PARALLEL UNSAFE
LANGUAGE c
AS 'MODULE_PATHNAME', 'tenant_enter_token_wrapper';
CREATE FUNCTION stash."token_key_add"(
	"kid" TEXT,
	"alg" TEXT,
	"key" TEXT
) RETURNS void
VOLATILE PARALLEL UNSAFE
LANGUAGE c
AS 'MODULE_PATHNAME', 'token_key_add_wrapper';
CREATE FUNCTION stash."token_key_remove"(
	"kid" TEXT
) RETURNS void
VOLATILE PARALLEL UNSAFE
LANGUAGE c
AS 'MODULE_PATHNAME', 'token_key_remove_wrapper';
CREATE FUNCTION stash.app_role_require_token("role" regrole, required boolean DEFAULT true) RETURNS void
VOLATILE PARALLEL UNSAFE
SET search_path TO pg_catalog, pg_temp
LANGUAGE c AS 'MODULE_PATHNAME', 'app_role_require_token_wrapper';
CREATE FUNCTION stash."postgrest_pre_request"() RETURNS void
STRICT VOLATILE PARALLEL UNSAFE
LANGUAGE c
AS 'MODULE_PATHNAME', 'postgrest_pre_request_wrapper';
REVOKE EXECUTE ON FUNCTION stash.token_key_add(text, text, text) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION stash.token_key_remove(text) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION stash.app_role_require_token(regrole, boolean) FROM PUBLIC;
-- ---- tenant operations: rename, reset, ... (and the events they record, `moved` for tenant_move) ------------------------
ALTER TABLE stash.events DROP CONSTRAINT events_action_check;
ALTER TABLE stash.events ADD CONSTRAINT events_action_check
    CHECK (action IN ('created', 'suspended', 'resumed', 'dropped',
                      'migrated', 'rolled_back', 'migration_failed',
                      'renamed', 'reset', 'cloned', 'restored', 'moved'));
CREATE FUNCTION stash."tenant_rename"(
	"slug" TEXT,
	"new_slug" TEXT
) RETURNS void
VOLATILE PARALLEL UNSAFE
SET search_path TO pg_catalog, pg_temp
LANGUAGE c
AS 'MODULE_PATHNAME', 'tenant_rename_wrapper';
CREATE FUNCTION stash."tenant_reset"(
	"slug" TEXT
) RETURNS void
VOLATILE PARALLEL UNSAFE
SET search_path TO pg_catalog, pg_temp
LANGUAGE c
AS 'MODULE_PATHNAME', 'tenant_reset_wrapper';
REVOKE EXECUTE ON FUNCTION stash.tenant_rename(text, text) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION stash.tenant_reset(text) FROM PUBLIC;

CREATE FUNCTION stash."tenant_verify"(
	"slug" TEXT DEFAULT NULL
) RETURNS TABLE (
	"slug" TEXT,
	"status" TEXT,
	"differences" TEXT[]
)
VOLATILE PARALLEL UNSAFE
SET search_path TO pg_catalog, pg_temp
LANGUAGE c
AS 'MODULE_PATHNAME', 'tenant_verify_wrapper';
REVOKE EXECUTE ON FUNCTION stash.tenant_verify(text) FROM PUBLIC;

CREATE FUNCTION stash."tenant_clone"(
	"source" TEXT,
	"slug" TEXT,
	"name" TEXT DEFAULT NULL,
	"with_data" bool DEFAULT true
) RETURNS stash.tenants
VOLATILE PARALLEL UNSAFE
SET search_path TO pg_catalog, pg_temp
LANGUAGE c
AS 'MODULE_PATHNAME', 'tenant_clone_wrapper';
REVOKE EXECUTE ON FUNCTION stash.tenant_clone(text, text, text, boolean) FROM PUBLIC;

CREATE FUNCTION stash.tenant_restore(slug text, from_schema name, keep_old boolean DEFAULT true) RETURNS void
VOLATILE PARALLEL UNSAFE
SET search_path TO pg_catalog, pg_temp
LANGUAGE c AS 'MODULE_PATHNAME', 'tenant_restore_wrapper';
REVOKE EXECUTE ON FUNCTION stash.tenant_restore(text, name, boolean) FROM PUBLIC;

-- ---- scale-out on Citus: tenant_move, tenant_distribute, tenant_list.node --------------------
CREATE FUNCTION stash."_tenant_node"(
	"schema" oid
) RETURNS TEXT
STABLE PARALLEL RESTRICTED
SET search_path TO pg_catalog, pg_temp
LANGUAGE c
AS 'MODULE_PATHNAME', 'tenant_node_wrapper';
CREATE FUNCTION stash."tenant_move"(
	"slug" TEXT,
	"node_host" TEXT,
	"node_port" INT,
	"transfer_mode" TEXT DEFAULT NULL
) RETURNS void
VOLATILE PARALLEL UNSAFE
SET search_path TO pg_catalog, pg_temp
LANGUAGE c
AS 'MODULE_PATHNAME', 'tenant_move_wrapper';
REVOKE EXECUTE ON FUNCTION stash.tenant_move(text, text, integer, text) FROM PUBLIC;
CREATE FUNCTION stash."tenant_distribute"(
	"slug" TEXT DEFAULT NULL
) RETURNS TABLE (
	"slug" TEXT,
	"node" TEXT
)
VOLATILE PARALLEL UNSAFE
SET search_path TO pg_catalog, pg_temp
LANGUAGE c
AS 'MODULE_PATHNAME', 'tenant_distribute_wrapper';
REVOKE EXECUTE ON FUNCTION stash.tenant_distribute(text) FROM PUBLIC;
CREATE OR REPLACE VIEW stash.tenant_list AS
SELECT t.slug, t.name, t.status, t.schema_name, t.created_at,
       coalesce((SELECT sum(pg_catalog.pg_total_relation_size(c.oid))
                   FROM pg_catalog.pg_class c
                  WHERE c.relnamespace = n.oid AND c.relkind IN ('r', 'm', 'S')), 0)::bigint
         AS size_bytes,
       stash._tenant_node(n.oid) AS node
  FROM stash.tenants t
  LEFT JOIN pg_catalog.pg_namespace n ON n.nspname = t.schema_name;
COMMENT ON VIEW stash.tenant_list IS 'Every tenant with the size of its schema (on the coordinator) and, under Citus, the worker holding it.';

DROP FUNCTION stash._upgrade_copy_grants(regprocedure, regprocedure);
