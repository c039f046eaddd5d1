//! The pool model: tenants' rows in shared tables with a tenant column, kept apart by
//! row-level security on `stash.current_tenant_id()` (`pool_table_add` / `pool_table_remove`,
//! view `stash.pool_tables`).
//!
//! Two policies per table: a permissive one that grants the tenant's rows, and a
//! restrictive one with the same condition, so that a permissive policy someone adds later
//! (`USING (true)`) cannot widen access beyond the entered tenant.  The tenant id is read
//! once per statement (`(SELECT stash.current_tenant_id())` is an InitPlan), which also
//! lets the planner use an index on the tenant column; pool_planner.rs plans the common
//! index-scan case without the sub-SELECT.  FORCE ROW LEVEL SECURITY makes the
//! table's owner obey the policies too; superusers and BYPASSRLS roles do not
//! (docs/security.md).
use crate::catalog::executor;
use crate::errors;
use crate::errors::OrRaise;
use crate::pg::objects::RelKind;
use pgrx::prelude::*;
use pgrx::spi::quote_identifier;
use pgrx::PgSqlErrorCode as Code;

extension_sql!(
    r#"
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
"#,
    name = "pool_tables",
    requires = ["registry"]
);

struct Column {
    qualified: String,
    type_is_uuid: bool,
    tenant_schema: bool,
    relkind: Option<RelKind>,
    rls: bool,
    force_rls: bool,
    default: Option<String>,
}

fn describe(tbl: pg_sys::Oid, column: &str) -> Column {
    let row = Spi::connect(|client| {
        let t = client.select(
            "SELECT c.oid::regclass::text, a.atttypid = 'uuid'::regtype,
                    EXISTS (SELECT FROM pg_namespace n WHERE n.oid = c.relnamespace
                              AND n.nspname LIKE 'tenant\\_%'),
                    c.relkind::text, c.relrowsecurity, c.relforcerowsecurity,
                    pg_get_expr(d.adbin, d.adrelid), a.attnum IS NOT NULL
               FROM pg_class c
               LEFT JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = $2::name
                                       AND a.attnum > 0 AND NOT a.attisdropped
               LEFT JOIN pg_attrdef d ON d.adrelid = c.oid AND d.adnum = a.attnum
              WHERE c.oid = $1",
            Some(1),
            &[tbl.into(), column.to_string().into()],
        )?;
        if t.is_empty() {
            return Ok(None);
        }
        let r = t.first();
        Ok::<_, pgrx::spi::SpiError>(Some((
            r.get::<String>(1)?.or_raise("a regclass names a relation"),
            r.get::<bool>(2)?,
            r.get::<bool>(3)?.unwrap_or(false),
            r.get::<String>(4)?.unwrap_or_default(),
            r.get::<bool>(5)?.unwrap_or(false),
            r.get::<bool>(6)?.unwrap_or(false),
            r.get::<String>(7)?,
            r.get::<bool>(8)?.unwrap_or(false),
        )))
    })
    .or_raise("describe table")
    .unwrap_or_else(|| {
        errors::raise(
            Code::ERRCODE_UNDEFINED_TABLE,
            format!("relation with OID {} does not exist", tbl.to_u32()),
            "Pass an existing table, e.g. 'public.orders'::regclass.",
        )
    });
    let (qualified, is_uuid, tenant_schema, relkind, rls, force_rls, default, exists) = row;
    if !exists {
        errors::raise(
            Code::ERRCODE_UNDEFINED_COLUMN,
            format!("table {qualified} has no column \"{column}\""),
            "Pass the column that holds the tenant id: pool_table_add('orders', tenant_column => 'tenant_id').",
        );
    }
    Column {
        qualified,
        type_is_uuid: is_uuid == Some(true),
        tenant_schema,
        relkind: RelKind::from_text(&relkind),
        rls,
        force_rls,
        default,
    }
}

fn policy_condition(column: &str) -> String {
    format!(
        "{} OPERATOR(pg_catalog.=) (SELECT stash.current_tenant_id())",
        quote_identifier(column)
    )
}

/// Makes `tbl` a pool table: rows of the tenant entered in the transaction only, for
/// every command, for everyone but superusers and BYPASSRLS roles.  Idempotent.
#[pg_extern(sql = r#"
CREATE FUNCTION stash.pool_table_add("tbl" regclass, "tenant_column" name DEFAULT 'tenant_id') RETURNS void
VOLATILE PARALLEL UNSAFE
SET search_path TO pg_catalog, pg_temp
LANGUAGE c AS 'MODULE_PATHNAME', 'pool_table_add_wrapper';
"#)]
fn pool_table_add(tbl: Option<pg_sys::Oid>, tenant_column: Option<&std::ffi::CStr>) {
    let tbl =
        tbl.unwrap_or_else(|| errors::null_argument("tbl", "a table such as 'public.orders'"));
    // a `name` argument is a NUL-terminated array of NAMEDATALEN bytes: read as a C string
    let column = tenant_column
        .map(|c| {
            c.to_str().unwrap_or_else(|_| {
                errors::raise(
                    Code::ERRCODE_CHARACTER_NOT_IN_REPERTOIRE,
                    "tenant_column is not valid UTF-8".into(),
                    "stash_tenancy reads names as UTF-8: use a UTF-8 database, or an ASCII column name.",
                )
            })
        })
        .unwrap_or_else(|| errors::null_argument("tenant_column", "the tenant id column's name"));
    let c = describe(tbl, column);
    if !c.type_is_uuid {
        errors::raise(
            Code::ERRCODE_DATATYPE_MISMATCH,
            format!(
                "column \"{column}\" of {} must be of type uuid, the type of tenant ids",
                c.qualified
            ),
            "ALTER TABLE … ALTER COLUMN … TYPE uuid, or add a uuid column for the tenant id.",
        );
    }
    if c.tenant_schema {
        errors::raise(
            Code::ERRCODE_INVALID_PARAMETER_VALUE,
            format!("{} is in a tenant schema", c.qualified),
            "Pool tables are shared tables; a tenant schema's tables are its own already.",
        );
    }
    if !matches!(c.relkind, Some(RelKind::Table | RelKind::PartitionedTable)) {
        errors::raise(
            Code::ERRCODE_WRONG_OBJECT_TYPE,
            format!("{} is not a table", c.qualified),
            "Row-level security applies to tables (and partitioned tables).",
        );
    }
    let registered = executor::select(
        "SELECT tenant_column::text FROM stash.pool_table_registry WHERE relid = $1",
        &[tbl.into()],
        |t| {
            if t.is_empty() {
                Ok(None)
            } else {
                t.first().get_one::<String>()
            }
        },
    );
    match registered {
        Some(existing) if existing == column => return,
        Some(existing) => errors::raise(
            Code::ERRCODE_INVALID_PARAMETER_VALUE,
            format!(
                "{} is already a pool table, on column \"{existing}\"",
                c.qualified
            ),
            "pool_table_remove() it first to change its tenant column.",
        ),
        None => {}
    }
    executor::update(
        "INSERT INTO stash.pool_table_registry (relid, tenant_column, had_rls, had_force_rls, old_default)
         VALUES ($1, $2::name, $3, $4, $5)",
        &[
            tbl.into(),
            column.to_string().into(),
            c.rls.into(),
            c.force_rls.into(),
            c.default.clone().into(),
        ],
        |_| Ok(()),
    );
    let (t, col, cond) = (
        &c.qualified,
        quote_identifier(column),
        policy_condition(column),
    );
    executor::as_owner(|| {
        Spi::run(&format!(
            "ALTER TABLE {t} ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY;
             CREATE POLICY stash_tenant_rows ON {t} AS PERMISSIVE FOR ALL TO PUBLIC
                 USING ({cond}) WITH CHECK ({cond});
             CREATE POLICY stash_tenant_only ON {t} AS RESTRICTIVE FOR ALL TO PUBLIC
                 USING ({cond}) WITH CHECK ({cond});
             ALTER TABLE {t} ALTER COLUMN {col} SET DEFAULT stash.current_tenant_id();"
        ))
    })
    .or_raise("pool_table_add");
    warn_tenantless_keys(tbl, column, &c.qualified);
}

/// Keys that leave the tenant column out are checked across every tenant's rows, whatever
/// the policies say, so each is an existence oracle: a plain foreign key into the pool
/// table (foreign-key checks bypass row-level security), and a unique key of it
/// (`INSERT … ON CONFLICT DO NOTHING` with another tenant's id answers INSERT 0 0, a plain
/// INSERT 23505).  Warn about each.
fn warn_tenantless_keys(tbl: pg_sys::Oid, column: &str, qualified: &str) {
    // (kind, name) of every key of or into `tbl` ($1) without the tenant column ($2)
    let keys: Vec<(String, String)> = Spi::connect(|client| {
        client
            .select(
                "SELECT 'fk', format('%s on %s', k.conname, k.conrelid::regclass)
                   FROM pg_constraint k
                  WHERE k.contype = 'f' AND k.confrelid = $1
                    AND NOT EXISTS (SELECT FROM pg_attribute a
                                     WHERE a.attrelid = k.confrelid AND a.attnum = ANY (k.confkey)
                                       AND a.attname = $2::name)
                 UNION ALL
                 SELECT 'unique', i.indexrelid::regclass::text
                   FROM pg_index i
                  WHERE i.indrelid = $1 AND i.indisunique
                    AND NOT EXISTS (SELECT FROM pg_attribute a
                                     WHERE a.attrelid = i.indrelid AND a.attnum = ANY (i.indkey)
                                       AND a.attname = $2::name)
                  ORDER BY 1, 2",
                None,
                &[tbl.into(), column.to_string().into()],
            )?
            .map(|r| {
                Ok((
                    r.get::<String>(1)?.unwrap_or_default(),
                    r.get::<String>(2)?.unwrap_or_default(),
                ))
            })
            .collect::<Result<Vec<_>, pgrx::spi::SpiError>>()
    })
    .or_raise_with(|| format!("look up the keys of {qualified}"));
    for (kind, key) in keys {
        let (message, detail, hint) = if kind == "fk" {
            (
                format!("foreign key {key} references pool table {qualified} without its tenant column"),
                "Foreign-key checks bypass row-level security, so one tenant can probe whether another tenant's ids exist.",
                format!("Reference ({column}, id) instead: add UNIQUE ({column}, id) to {qualified} and a composite foreign key (see docs/security.md)."),
            )
        } else {
            (
                format!("unique index {key} of pool table {qualified} does not include its tenant column"),
                "Uniqueness is checked across every tenant's rows, bypassing row-level security: INSERT ... ON CONFLICT or a unique violation tells one tenant whether another tenant's key exists.",
                format!("Make the key per tenant: UNIQUE ({column}, id) (or PRIMARY KEY ({column}, id)) instead (see docs/security.md)."),
            )
        };
        errors::warn_detailed(message, detail.into(), &hint);
    }
}

/// Undoes exactly what pool_table_add did: its policies, the column default, and the
/// row-level-security settings as they were before.
#[pg_extern(sql = r#"
CREATE FUNCTION stash.pool_table_remove("tbl" regclass) RETURNS void
VOLATILE PARALLEL UNSAFE
SET search_path TO pg_catalog, pg_temp
LANGUAGE c AS 'MODULE_PATHNAME', 'pool_table_remove_wrapper';
"#)]
fn pool_table_remove(tbl: Option<pg_sys::Oid>) {
    let tbl = tbl.unwrap_or_else(|| errors::null_argument("tbl", "a pool table"));
    let row = executor::update(
        "DELETE FROM stash.pool_table_registry WHERE relid = $1
         RETURNING relid::text, tenant_column::text, had_rls, had_force_rls, old_default",
        &[tbl.into()],
        |t| {
            if t.is_empty() {
                return Ok(None);
            }
            let r = t.first();
            Ok(Some((
                r.get::<String>(1)?.unwrap_or_default(),
                r.get::<String>(2)?.unwrap_or_default(),
                r.get::<bool>(3)?.unwrap_or(false),
                r.get::<bool>(4)?.unwrap_or(false),
                r.get::<String>(5)?,
            )))
        },
    );
    let Some((t, column, had_rls, had_force, old_default)) = row else {
        errors::raise(
            Code::ERRCODE_UNDEFINED_OBJECT,
            "that table is not a pool table".into(),
            "SELECT * FROM stash.pool_tables lists them.",
        )
    };
    let col = quote_identifier(&column);
    let default = match old_default {
        Some(expr) => format!("ALTER TABLE {t} ALTER COLUMN {col} SET DEFAULT {expr};"),
        None => format!("ALTER TABLE {t} ALTER COLUMN {col} DROP DEFAULT;"),
    };
    let rls = if had_rls { "ENABLE" } else { "DISABLE" };
    let force = if had_force { "FORCE" } else { "NO FORCE" };
    executor::as_owner(|| {
        Spi::run(&format!(
            "DROP POLICY stash_tenant_rows ON {t};
             DROP POLICY stash_tenant_only ON {t};
             {default}
             ALTER TABLE {t} {rls} ROW LEVEL SECURITY, {force} ROW LEVEL SECURITY;"
        ))
    })
    .or_raise("pool_table_remove");
}

/// Deletes the tenant's rows from every pool table (tenant_drop): (table, rows deleted).
pub(crate) fn delete_rows(tenant_id: pgrx::Uuid) -> Vec<(String, i64)> {
    // A regclass column holds no dependency: a pool table dropped since it was added
    // leaves its registration behind, which goes now (its oid could name another
    // table one day).
    executor::update(
        "DELETE FROM stash.pool_table_registry r
          WHERE NOT EXISTS (SELECT FROM pg_catalog.pg_class c WHERE c.oid OPERATOR(pg_catalog.=) r.relid)",
        &[],
        |_| Ok(()),
    );
    let tables: Vec<(String, String)> = executor::select(
        "SELECT relid::text, tenant_column::text FROM stash.pool_table_registry ORDER BY 1",
        &[],
        |t| {
            t.map(|r| {
                Ok((
                    r.get::<String>(1)?.unwrap_or_default(),
                    r.get::<String>(2)?.unwrap_or_default(),
                ))
            })
            .collect()
        },
    );
    tables
        .into_iter()
        .map(|(t, column)| {
            // as the registry's owner, a superuser: row-level security does not hide rows
            let n = executor::as_owner(|| {
                Spi::get_one_with_args::<i64>(
                    &format!(
                        "WITH d AS (DELETE FROM {t} WHERE {} OPERATOR(pg_catalog.=) $1 RETURNING 1)
                         SELECT count(*) FROM d",
                        quote_identifier(&column)
                    ),
                    &[tenant_id.into()],
                )
            })
            .or_raise_with(|| format!("delete the tenant's rows of {t}"))
            .unwrap_or(0);
            (t, n)
        })
        .collect()
}

extension_sql!(
    r#"
REVOKE EXECUTE ON FUNCTION stash.pool_table_add(regclass, name) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION stash.pool_table_remove(regclass) FROM PUBLIC;
"#,
    name = "pool_tables_grants",
    requires = ["pool_tables", pool_table_add, pool_table_remove]
);
