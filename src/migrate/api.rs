//! `stash.tenant_migrate` (one tenant, or every tenant in one transaction) and
//! `stash.shared_migrate` (the shared schema), with their grants.

// pgrx reads a set-returning function's columns from its signature, so the report's row
// type is spelled out in each one instead of behind a type alias.
#![allow(clippy::type_complexity)]
use super::engine::{self, Report, Target};
use crate::catalog::executor;
use crate::catalog::registry::{self, Key};
use crate::errors;
use crate::errors::OrRaise;
use crate::pg::guc;
use crate::slug::Slug;
use crate::state::settings;
use pgrx::prelude::*;
use pgrx::PgSqlErrorCode as Code;

pub(super) fn validate_target(to: Option<i64>) {
    if let Some(to) = to {
        if to < 0 {
            errors::raise(
                Code::ERRCODE_INVALID_PARAMETER_VALUE,
                format!("target_version must be 0 or a registered version, not {to}"),
                "0 rolls everything back; NULL means the latest version.",
            );
        }
    }
}

/// Applies pending tenant migrations (or rolls back to `target_version`) for one tenant,
/// or for every tenant when `slug` is NULL, in one transaction.  For fleets, prefer
/// `CALL stash.migrate_all()`, which commits after each tenant.
#[pg_extern(volatile, parallel_unsafe)]
#[search_path(pg_catalog, pg_temp)]
fn tenant_migrate(
    slug: default!(Option<&str>, "NULL"),
    target_version: default!(Option<i64>, "NULL"),
    dry_run: default!(Option<bool>, "false"),
) -> TableIterator<
    'static,
    (
        name!(slug, Option<String>),
        name!(from_version, Option<i64>),
        name!(to_version, Option<i64>),
        name!(applied, Option<i32>),
        name!(status, Option<String>),
        name!(error, Option<String>),
    ),
> {
    validate_target(target_version);
    super::path::require_safe(); // refused outright, not recorded as one failure per tenant
    let dry_run = dry_run.unwrap_or(false);
    let ids: Vec<pgrx::Uuid> = match slug {
        Some(raw) => {
            let slug = Slug::from_arg(Some(raw));
            let key = Key::Slug(slug.as_str());
            let tenant =
                registry::find(&key).unwrap_or_else(|| errors::unknown_tenant(&key.describe()));
            vec![tenant.id]
        }
        None => executor::select("SELECT id FROM stash.tenants ORDER BY slug", &[], |t| {
            t.map(|r| Ok(r.get::<pgrx::Uuid>(1)?.or_raise("id")))
                .collect()
        }),
    };
    let mut rows = Vec::with_capacity(ids.len());
    for id in ids {
        // Locked one by one, in slug order.  A tenant dropped meanwhile is skipped in a
        // fleet run, and is an unknown tenant when it was the one asked for.
        let Some(tenant) = registry::lock(&Key::Id(id)) else {
            match slug {
                Some(slug) => errors::unknown_tenant(&Key::Slug(slug).describe()),
                None => continue,
            }
        };
        let target = Target::tenant(tenant.id, &tenant.slug, &tenant.schema);
        engine::require_fresh_snapshot_or_raise(&target);
        rows.push(engine::migrate_maybe_dry(&target, target_version, dry_run).row());
    }
    TableIterator::new(rows)
}

/// Applies (or rolls back to `target_version`) the shared-scope migrations, once, in the
/// first schema of `stash.shared_schemas`.
#[pg_extern(volatile, parallel_unsafe)]
#[search_path(pg_catalog, pg_temp)]
fn shared_migrate(
    target_version: default!(Option<i64>, "NULL"),
    dry_run: default!(Option<bool>, "false"),
) -> TableIterator<
    'static,
    (
        name!(slug, Option<String>),
        name!(from_version, Option<i64>),
        name!(to_version, Option<i64>),
        name!(applied, Option<i32>),
        name!(status, Option<String>),
        name!(error, Option<String>),
    ),
> {
    validate_target(target_version);
    super::path::require_safe(); // refused outright, not recorded as one failure per tenant
    let schema = settings::shared_schema_names()
        .into_iter()
        .next()
        .unwrap_or_default();
    let exists = Spi::get_one_with_args::<bool>(
        "SELECT EXISTS (SELECT FROM pg_namespace WHERE nspname = $1::name)",
        &[schema.clone().into()],
    )
    .unwrap_or(None);
    if schema.is_empty() || exists != Some(true) {
        errors::raise(
            Code::ERRCODE_INVALID_SCHEMA_NAME,
            format!("shared schema \"{schema}\" does not exist"),
            "Shared migrations run in the first schema of stash.shared_schemas; create it, or set stash.shared_schemas.",
        );
    }
    lock_shared_migrations();
    let target = Target::shared(&schema, settings::shared_schemas());
    engine::require_fresh_snapshot_or_raise(&target);
    let report: Report =
        engine::migrate_maybe_dry(&target, target_version, dry_run.unwrap_or(false));
    TableIterator::new(std::iter::once(report.row()))
}

/// One shared schema, one migrator at a time: a lock on the catalog table that no role
/// without write privileges on it can take (an advisory lock could be taken first by
/// anyone, holding every shared migration up forever).  SHARE UPDATE EXCLUSIVE conflicts
/// with itself but not with reads or migration_add.  Waits at most the session's
/// lock_timeout, or 10 s when it has none (55P03).
fn lock_shared_migrations() {
    const DEFAULT_WAIT: &str = "10s";
    let wait = Spi::get_one::<String>("SELECT pg_catalog.current_setting('lock_timeout')")
        .ok()
        .flatten()
        .filter(|v| v != "0")
        .unwrap_or_else(|| DEFAULT_WAIT.to_string());
    let settings = guc::NestLevel::open();
    settings.set(c"lock_timeout", &wait);
    let _context = errors::Context::push(
        "stash_tenancy: waiting for the shared-migration lock, which another stash.shared_migrate() holds",
    );
    executor::update(
        "LOCK TABLE stash.migrations IN SHARE UPDATE EXCLUSIVE MODE",
        &[],
        |_| Ok(()),
    );
    settings.close();
}

extension_sql!(
    r#"
REVOKE EXECUTE ON FUNCTION stash.tenant_migrate(text, bigint, boolean) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION stash.shared_migrate(bigint, boolean) FROM PUBLIC;
"#,
    name = "migrate_api_grants",
    requires = ["migrations", tenant_migrate, shared_migrate]
);
