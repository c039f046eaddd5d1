//! Scale-out on Citus (schema-based sharding): what stash_tenancy does differently when
//! the `citus` extension is installed in the database, `stash.tenant_move` and
//! `stash.tenant_distribute`.  docs/scale-out.md tells the whole story; in short:
//!
//! * A tenant schema becomes a Citus *distributed schema* as soon as its migrations have
//!   created a table: every table in it is a single-shard table, all of them colocated on
//!   one worker.  Citus converts only top-level `CREATE TABLE`s by itself; migrations run
//!   through SPI, so a step runs statement by statement ([`statements`]) and [`settle`]
//!   converts what each statement created (the schema the first time, with
//!   `citus_schema_distribute`; later tables with `create_distributed_table(…, NULL,
//!   colocate_with => <a table of the schema>)`, which puts them in the schema's
//!   colocation group exactly as Citus would).
//! * Citus opens its connections to the workers as the current user — inside
//!   `tenant_enter` that is the tenant's role, which must therefore be able to log in on
//!   the workers.  Under Citus a tenant role is `LOGIN` with a random password that is
//!   written only to Citus's `pg_dist_authinfo` (readable by superusers only), which the
//!   coordinator uses for its connections: see [`give_login`].
//! * The registry, catalog and ledger stay coordinator-local tables.
//!
//! Without Citus every function here returns at its first check ([`active`]): one
//! catalog lookup, on paths that create or migrate tenants, never on `tenant_enter`.
use crate::catalog::executor;
use crate::errors;
use crate::errors::OrRaise;
use crate::pg::backend;
use crate::pg::guc;
use crate::pg::objects;
use crate::pg::parser;
use pgrx::prelude::*;
use pgrx::PgSqlErrorCode as Code;

/// Whether Citus is installed in this database.
pub(crate) fn active() -> bool {
    objects::extension_exists(c"citus")
}

pub(crate) fn require_active(what: &str) {
    if !active() {
        errors::raise(
            Code::ERRCODE_FEATURE_NOT_SUPPORTED,
            format!("{what} needs Citus, which is not installed in this database"),
            "Install Citus on every node (shared_preload_libraries = citus), CREATE EXTENSION citus before stash_tenancy, and add the workers: docs/scale-out.md.",
        );
    }
}

/// Before and after each statement of a migration step in tenant schema `schema` (of
/// tenant role `role`): brings the schema in line with Citus's model.  Every table a
/// statement created becomes a colocated single-shard table of the schema's distributed
/// schema — the schema itself is distributed with its first table, and its role given a
/// login if it has none yet (a tenant created before Citus was installed).  A distributed
/// schema without any table is registered no longer: Citus places a schema with its first
/// table and could not colocate a later table with nothing; an empty one appears when a
/// statement dropped the last table, or when `citus.enable_schema_based_sharding`
/// registered the schema at CREATE SCHEMA.  Runs as whoever runs the step (the schema's
/// owner, which Citus requires); Citus's notices are held back.
pub(crate) fn settle(schema: &str, role: Option<&str>) {
    if !active() {
        return;
    }
    let Some(oid) = objects::schema_oid(schema) else {
        return;
    };
    let arg = || [oid.into()];
    // Every query here is keyed by the schema's oid through an index: pg_class has none
    // on relnamespace, and at 10,000 tenants a scan of it per statement would be the
    // migration's largest cost.  A relation's dependency on its schema (pg_depend) is.
    let local = tables(
        "SELECT pg_catalog.quote_ident(n.nspname) || '.' || pg_catalog.quote_ident(c.relname),
                c.relkind::text, pg_catalog.pg_relation_size(c.oid) > 0
           FROM pg_catalog.pg_depend d
           JOIN pg_catalog.pg_class c ON c.oid = d.objid
           JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
          WHERE d.refclassid = 'pg_catalog.pg_namespace'::pg_catalog.regclass AND d.refobjid = $1
            AND d.refobjsubid = 0 AND d.classid = 'pg_catalog.pg_class'::pg_catalog.regclass
            AND c.relnamespace = $1 AND c.relkind IN ('r', 'p', 'f') AND NOT c.relispartition
            AND NOT EXISTS (SELECT FROM pg_catalog.pg_dist_partition p WHERE p.logicalrelid = c.oid)
          ORDER BY c.oid",
        &arg(),
    );
    if let Some((table, _, _)) = local.iter().find(|(_, kind, _)| kind == "f") {
        errors::raise(
            Code::ERRCODE_FEATURE_NOT_SUPPORTED,
            format!("foreign table {table} cannot be a tenant table on a Citus cluster"),
            "Citus allows no foreign table in a distributed schema: create it in a shared schema instead.",
        );
    }
    let colocation = one::<i32>(
        "SELECT colocationid FROM pg_catalog.pg_dist_schema WHERE schemaid = $1",
        &arg(),
    );
    let distributed = colocation.is_some();
    let anchor = colocation.and_then(|colocation| {
        one::<String>(
            "SELECT pg_catalog.quote_ident(n.nspname) || '.' || pg_catalog.quote_ident(c.relname)
               FROM pg_catalog.pg_dist_partition p
               JOIN pg_catalog.pg_class c ON c.oid = p.logicalrelid
               JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
              WHERE p.colocationid = $2 AND c.relnamespace = $1 ORDER BY c.oid LIMIT 1",
            &[oid.into(), colocation.into()],
        )
    });
    let quiet = guc::NestLevel::open();
    quiet.set(c"client_min_messages", "warning");
    match (distributed, anchor, local.is_empty()) {
        (false, _, true) | (true, Some(_), true) => {}
        (false, _, false) => {
            if let Some(role) = role {
                ensure_login(role);
            }
            run("SELECT pg_catalog.citus_schema_distribute($1)", &arg());
        }
        (true, Some(anchor), false) => {
            for (table, _, _) in &local {
                run(
                    "SELECT pg_catalog.create_distributed_table($1::regclass, NULL, colocate_with => $2)",
                    &[table.clone().into(), anchor.clone().into()],
                );
            }
        }
        (true, None, true) => run("SELECT pg_catalog.citus_schema_undistribute($1)", &arg()),
        (true, None, false) => errors::raise(
            Code::ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE,
            format!(
                "schema \"{schema}\" is a Citus distributed schema without a Citus table, so its new table {} cannot be colocated",
                local.iter().map(|(t, _, _)| t.as_str()).collect::<Vec<_>>().join(", ")
            ),
            "One statement dropped the schema's last table and created another: split it in two statements.",
        ),
    }
    // Rows a table had before Citus copied them into its shard (CREATE TABLE AS, or a
    // pre-Citus tenant) stay in the coordinator's local file, invisible and on disk,
    // until truncated — Citus's own advice, which its NOTICE would have given.
    for (table, _, had_rows) in &local {
        if *had_rows {
            run(
                "SELECT pg_catalog.truncate_local_data_after_distributing_table($1::regclass)",
                &[table.clone().into()],
            );
        }
    }
    quiet.close();
}

/// Gives tenant role `role` a login on the workers if it has none (see
/// [`give_login`]); a role that already has its pg_dist_authinfo row is left alone.
pub(crate) fn ensure_login(role: &str) {
    if !login_is_ours(role) {
        give_login(role);
    }
}

/// The statements of a migration's SQL, each as its own text.  Under Citus a step runs
/// them one by one: Citus forwards some DDL to the workers with the statement's source
/// text, and the source text of a statement in a multi-statement string is the whole
/// string, which a worker refuses ("cannot insert multiple commands into a prepared
/// statement").  PostgreSQL's own parser finds the boundaries, so quoting, dollar quotes
/// and comments are what PostgreSQL says they are.  A syntax error raises here, with
/// PostgreSQL's message.
pub(crate) fn statements(sql: &str) -> Vec<String> {
    let text = std::ffi::CString::new(sql).unwrap_or_else(|_| {
        errors::raise(
            Code::ERRCODE_SYNTAX_ERROR,
            "migration SQL contains a NUL byte".into(),
            "Remove the NUL byte from the migration.",
        )
    });
    let bytes = sql.as_bytes();
    parser::statement_spans(&text)
        .into_iter()
        .map(|(start, len)| {
            let end = if len == 0 {
                bytes.len()
            } else {
                (start + len).min(bytes.len())
            };
            String::from_utf8_lossy(&bytes[start.min(end)..end]).into_owned()
        })
        .collect()
}

/// Under Citus: makes tenant role `role` LOGIN with a new random password (32 random
/// bytes, hex) and gives the password to the coordinator's connections through
/// pg_dist_authinfo.  `ALTER ROLE … PASSWORD`, not `CREATE ROLE … PASSWORD`: Citus
/// forwards an ALTER ROLE to the workers with the stored hash, a CREATE ROLE with the
/// text as written.  Without Citus it does nothing: the role stays NOLOGIN.
pub(crate) fn give_login(role: &str) {
    if !active() {
        return;
    }
    let mut bytes = [0u8; 32];
    if !backend::strong_random(&mut bytes) {
        errors::raise(
            Code::ERRCODE_INTERNAL_ERROR,
            "could not generate a random password for a tenant role".into(),
            "Check the server's random source (pg_strong_random).",
        );
    }
    let password: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    let r = pgrx::spi::quote_identifier(role);
    executor::as_owner(|| {
        Spi::run(&format!(
            "ALTER ROLE {r} LOGIN PASSWORD {}",
            pgrx::spi::quote_literal(&password)
        ))
    })
    .or_raise_with(|| format!("give tenant role {role} a login"));
    remember_login(role, &password);
}

/// Records the password of tenant role `role` in pg_dist_authinfo for every node (node
/// id 0), where Citus looks it up when it connects to a worker as that role.
fn remember_login(role: &str, password: &str) {
    executor::as_owner(|| {
        Spi::run_with_args(
            "INSERT INTO pg_catalog.pg_dist_authinfo (nodeid, rolename, authinfo)
             VALUES (0, $1, 'password=' || $2)
             ON CONFLICT (rolename, nodeid) DO UPDATE SET authinfo = EXCLUDED.authinfo",
            &[role.to_string().into(), password.to_string().into()],
        )
    })
    .unwrap_or_else(|e| {
        errors::raise(
            Code::ERRCODE_INSUFFICIENT_PRIVILEGE,
            format!("cannot record how the coordinator logs in as tenant role \"{role}\": {e}"),
            "Under Citus the extension must be owned by a superuser (pg_dist_authinfo is superuser-only): docs/scale-out.md.",
        )
    });
}

/// Whether `role` can log in because Citus needs it to (its pg_dist_authinfo row exists).
pub(crate) fn login_is_ours(role: &str) -> bool {
    active()
        && executor::as_owner(|| {
            one::<bool>(
                "SELECT EXISTS (SELECT FROM pg_catalog.pg_dist_authinfo WHERE rolename = $1::name)",
                &[role.to_string().into()],
            )
        })
        .unwrap_or(false)
}

/// Forgets the pg_dist_authinfo row of tenant role `role` (dropped, or renamed: the new
/// name gets its own with a new password, see [`give_login`]).
pub(crate) fn forget_login(role: &str) {
    if !active() {
        return;
    }
    executor::as_owner(|| {
        Spi::run_with_args(
            "DELETE FROM pg_catalog.pg_dist_authinfo WHERE rolename = $1",
            &[role.to_string().into()],
        )
    })
    .or_raise_with(|| format!("pg_dist_authinfo of tenant role {role}"));
}

pub(crate) fn node_of(schema: pg_sys::Oid) -> Option<String> {
    one::<String>(
        "SELECT n.nodename || ':' || n.nodeport
           FROM pg_catalog.pg_dist_schema s
           JOIN pg_catalog.pg_dist_partition p ON p.colocationid = s.colocationid
           JOIN pg_catalog.pg_dist_shard sh ON sh.logicalrelid = p.logicalrelid
           JOIN pg_catalog.pg_dist_placement pl ON pl.shardid = sh.shardid
           JOIN pg_catalog.pg_dist_node n ON n.groupid = pl.groupid AND n.noderole = 'primary'
          WHERE s.schemaid = $1
          ORDER BY n.nodeid LIMIT 1",
        &[schema.into()],
    )
}

// Citus's catalogs exist only when Citus does: these statements are planned when they
// run, never at CREATE EXTENSION.  Errors keep Citus's own SQLSTATE, DETAIL and HINT.
pub(crate) fn one<T: pgrx::datum::FromDatum + pgrx::datum::IntoDatum>(
    sql: &str,
    args: &[pgrx::datum::DatumWithOid],
) -> Option<T> {
    Spi::connect(|client| {
        let table = client.select(sql, Some(1), args)?;
        if table.is_empty() {
            Ok(None)
        } else {
            table.first().get::<T>(1)
        }
    })
    .or_raise("a Citus catalog statement")
}

fn tables(sql: &str, args: &[pgrx::datum::DatumWithOid]) -> Vec<(String, String, bool)> {
    Spi::connect(|client| {
        client
            .select(sql, None, args)?
            .map(|r| {
                Ok((
                    r.get::<String>(1)?.unwrap_or_default(),
                    r.get::<String>(2)?.unwrap_or_default(),
                    r.get::<bool>(3)?.unwrap_or(false),
                ))
            })
            .collect::<Result<Vec<_>, pgrx::spi::SpiError>>()
    })
    .or_raise("a Citus catalog statement")
}

pub(crate) fn names(sql: &str, args: &[pgrx::datum::DatumWithOid]) -> Vec<String> {
    Spi::connect(|client| {
        client
            .select(sql, None, args)?
            .map(|r| Ok(r.get::<String>(1)?.unwrap_or_default()))
            .collect::<Result<Vec<_>, pgrx::spi::SpiError>>()
    })
    .or_raise("a Citus catalog statement")
}

pub(crate) fn run(sql: &str, args: &[pgrx::datum::DatumWithOid]) {
    Spi::run_with_args(sql, args).or_raise("a Citus catalog statement")
}
