//! Where a tenant lives on a Citus cluster: `stash.tenant_move`, `stash.tenant_distribute`
//! and the `node` column of `stash.tenant_list`.  How tenants become distributed schemas is
//! in citus/ (docs/scale-out.md tells the whole story).
use crate::access::roles;
use crate::catalog::events::{self, Action};
use crate::catalog::executor;
use crate::citus::{active, ensure_login, names, node_of, one, require_active, run, settle};
use crate::errors;
use crate::pg::guc;
use crate::pg::objects;
use crate::tenant::lifecycle;
use pgrx::prelude::*;
use pgrx::PgSqlErrorCode as Code;
use serde_json::json;

/// `host:port` of the worker holding the tenant whose schema has oid `schema`; NULL
/// without Citus, for a schema not distributed yet (no table), or a missing schema.
/// Internal: the `node` column of `stash.tenant_list`.
#[pg_extern(stable, parallel_restricted, name = "_tenant_node")]
#[search_path(pg_catalog, pg_temp)]
fn tenant_node(schema: Option<pg_sys::Oid>) -> Option<String> {
    let schema = schema?;
    if !active() {
        return None;
    }
    node_of(schema)
}

/// Moves tenant `slug` — every table of its schema, with its data — to the worker
/// `node_host:node_port`, with `citus_schema_move`.  `transfer_mode` is Citus's
/// `shard_transfer_mode`; NULL picks `auto` (writes continue during the copy) when
/// logical replication is possible (wal_level = logical and every table has a primary
/// key or replica identity), else `block_writes` (reads continue, writes wait).
#[pg_extern(volatile, parallel_unsafe)]
#[search_path(pg_catalog, pg_temp)]
fn tenant_move(
    slug: Option<&str>,
    node_host: Option<&str>,
    node_port: Option<i32>,
    transfer_mode: default!(Option<&str>, "NULL"),
) {
    let host = node_host.unwrap_or_else(|| {
        errors::null_argument(
            "node_host",
            "stash.tenant_move('acme', 'worker-2.internal', 5432)",
        )
    });
    let port = node_port.unwrap_or_else(|| {
        errors::null_argument(
            "node_port",
            "stash.tenant_move('acme', 'worker-2.internal', 5432)",
        )
    });
    require_active("stash.tenant_move");
    let tenant = lifecycle::lock_or_fail(slug);
    let workers = names(
        "SELECT nodename || ':' || nodeport FROM pg_catalog.pg_dist_node
          WHERE noderole = 'primary' AND isactive AND groupid <> 0 ORDER BY nodeid",
        &[],
    );
    let wanted = format!("{host}:{port}");
    if !workers.contains(&wanted) {
        errors::raise(
            Code::ERRCODE_INVALID_PARAMETER_VALUE,
            format!("{wanted} is not an active worker of this Citus cluster"),
            &format!(
                "The workers are: {}. Add a node with citus_add_node(host, port) first.",
                if workers.is_empty() {
                    "none".to_string()
                } else {
                    workers.join(", ")
                }
            ),
        );
    }
    let schema = tenant
        .schema_oid
        .unwrap_or_else(|| errors::unknown_tenant(&tenant.slug));
    let Some(from) = node_of(schema) else {
        errors::raise(
            Code::ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE,
            format!("tenant \"{}\" has no table yet, so it lives on no worker", tenant.slug),
            "A tenant is placed on a worker when its migrations create its first table; register a migration and run stash.migrate_all().",
        );
    };
    if from == wanted {
        notice!("tenant \"{}\" is already on {wanted}", tenant.slug);
        return;
    }
    let mode = match transfer_mode {
        Some(m @ ("auto" | "block_writes" | "force_logical")) => m.to_string(),
        Some(other) => errors::raise(
            Code::ERRCODE_INVALID_PARAMETER_VALUE,
            format!("unknown transfer mode \"{other}\""),
            "Pass 'auto', 'block_writes' or 'force_logical', or NULL to let stash_tenancy choose.",
        ),
        None if logical_copy_possible(schema, &from) => "auto".into(),
        None => "block_writes".into(),
    };
    let quiet = guc::NestLevel::open();
    quiet.set(c"client_min_messages", "warning");
    run(
        "SELECT pg_catalog.citus_schema_move($1::regnamespace, $2, $3,
                shard_transfer_mode => $4::citus.shard_transfer_mode)",
        &[
            schema.into(),
            host.to_string().into(),
            port.into(),
            mode.clone().into(),
        ],
    );
    quiet.close();
    events::record(
        Some(tenant.id),
        Some(&tenant.slug),
        Action::Moved,
        json!({ "from": from, "to": wanted, "transfer_mode": mode }),
    );
}

/// Brings tenants created before Citus was installed (all of them: NULL) onto the
/// cluster: each tenant schema with tables becomes a distributed schema on a worker (its
/// rows copied into the shards), and each tenant role gets its login on the workers.
/// Tenants already distributed are left as they are.  Returns each tenant with the
/// worker now holding it (NULL: no table yet; it is placed with its first table).
#[pg_extern(volatile, parallel_unsafe)]
#[search_path(pg_catalog, pg_temp)]
fn tenant_distribute(
    slug: default!(Option<&str>, "NULL"),
) -> TableIterator<'static, (name!(slug, String), name!(node, Option<String>))> {
    require_active("stash.tenant_distribute");
    let slugs = match slug {
        Some(s) => vec![s.to_string()],
        None => names("SELECT slug FROM stash.tenants ORDER BY slug", &[]),
    };
    let mut placed = Vec::with_capacity(slugs.len());
    for slug in slugs {
        let tenant = lifecycle::lock_or_fail(Some(&slug));
        let role = crate::slug::role_name(&tenant.slug, tenant.id);
        let owner = roles::schema_owner_name(&tenant.schema)
            .and_then(|name| objects::role_oid(&name))
            .unwrap_or_else(|| errors::unknown_tenant(&tenant.slug));
        ensure_login(&role);
        // the login is there already: settle need not look again
        executor::as_role(owner, 0, || settle(&tenant.schema, None));
        let node = tenant.schema_oid.and_then(node_of);
        placed.push((tenant.slug, node));
    }
    TableIterator::new(placed)
}

/// Whether Citus can copy the schema's tables from worker `source` with logical
/// replication (so writes go on during a move): the source worker has wal_level =
/// logical, and every table has a replica identity Citus accepts — FULL, an immediate
/// primary key (default identity) or a replica-identity index.  Partitioned parents
/// hold no rows and are not asked.
fn logical_copy_possible(schema: pg_sys::Oid, source: &str) -> bool {
    let wal_level = one::<String>(
        "SELECT result FROM pg_catalog.run_command_on_workers('SHOW wal_level')
          WHERE success AND nodename || ':' || nodeport = $1",
        &[source.to_string().into()],
    );
    wal_level.as_deref() == Some("logical")
        && one::<bool>(
            "SELECT NOT EXISTS (SELECT FROM pg_catalog.pg_class c
                                 WHERE c.relnamespace = $1 AND c.relkind = 'r'
                                   AND c.relreplident <> 'f'
                                   AND NOT (c.relreplident = 'd' AND EXISTS (
                                         SELECT FROM pg_catalog.pg_index i
                                          WHERE i.indrelid = c.oid AND i.indisprimary AND i.indimmediate))
                                   AND NOT (c.relreplident = 'i' AND EXISTS (
                                         SELECT FROM pg_catalog.pg_index i
                                          WHERE i.indrelid = c.oid AND i.indisreplident)))",
            &[schema.into()],
        )
        .unwrap_or(false)
}

extension_sql!(
    r#"
REVOKE EXECUTE ON FUNCTION stash.tenant_move(text, text, integer, text) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION stash.tenant_distribute(text) FROM PUBLIC;
"#,
    name = "citus_grants",
    requires = [tenant_move, tenant_distribute, tenant_node]
);
