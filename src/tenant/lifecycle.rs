//! Tenant lifecycle: create, suspend, resume, drop.
//!
//! Each function does all of its work in the caller's transaction, so it is all or
//! nothing: an error anywhere aborts the transaction (or the caller's savepoint) and
//! leaves no schema, registry row or event behind.
use super::schema::{
    drop_schema, outside_dependents, refuse_foreign_schema, refuse_outside_dependents,
};
use crate::access::roles;
use crate::catalog::events::{self, Action};
use crate::catalog::executor;
use crate::catalog::registry::{self, Key, Status, Tenant};
use crate::errors;
use crate::errors::OrRaise;
use crate::migrate;
use crate::pg::objects;
use crate::slug::Slug;
use pgrx::prelude::*;
use pgrx::PgSqlErrorCode as Code;
use serde_json::json;

/// Creates the tenant: registry row, schema, migrations, `created` event; returns the row.
#[pg_extern(volatile, parallel_unsafe)]
#[search_path(pg_catalog, pg_temp)]
fn tenant_create(
    slug: Option<&str>,
    name: default!(Option<&str>, "NULL"),
    settings: default!(Option<pgrx::JsonB>, "'{}'"),
) -> pgrx::composite_type!('static, "tenants") {
    let slug = Slug::from_arg(slug);
    let id = create(&slug, name, settings.map(|s| s.0), None);
    row(id)
}

/// tenant_create's work: the registry row, the schema, the role, the migrations up to
/// `to` (all of them: None), the `created` event.  Returns the new tenant's id.
pub(crate) fn create(
    slug: &Slug,
    name: Option<&str>,
    settings: Option<serde_json::Value>,
    to: Option<i64>,
) -> pgrx::Uuid {
    let settings = settings.unwrap_or_else(|| json!({}));
    if !settings.is_object() {
        errors::raise(
            Code::ERRCODE_INVALID_PARAMETER_VALUE,
            format!("settings of tenant {slug} must be a JSON object, not {settings}"),
            "Pass settings such as '{\"plan\": \"pro\"}'::jsonb, or omit them.",
        );
    }
    let schema = slug.schema();
    refuse_foreign_schema(slug);

    // The registry row first: its unique index is what serializes two sessions creating
    // the same slug.  The loser waits for the winner's transaction and then finds the
    // conflict, so it fails cleanly with 23505 before touching any schema.
    let id = pgrx::Uuid::from_bytes(*uuid::Uuid::now_v7().as_bytes());
    let inserted = executor::update(
        "INSERT INTO stash.tenants (id, slug, name, schema_name, settings) \
         VALUES ($1, $2, coalesce($3, $2), $4::name, $5) ON CONFLICT DO NOTHING RETURNING id",
        &[
            id.into(),
            slug.as_str().to_string().into(),
            name.map(str::to_string).into(),
            schema.as_str().to_string().into(),
            pgrx::JsonB(settings).into(),
        ],
        |t| Ok(!t.is_empty()),
    );
    if !inserted {
        errors::tenant_exists(slug.as_str());
    }

    // As the caller: the tenant's data belongs to whoever may create schemas here.
    Spi::run(&format!("CREATE SCHEMA {}", schema.quoted())).or_raise("CREATE SCHEMA");
    // The tenant's role, with default privileges on the schema before any migration
    // creates an object in it.
    roles::provide(slug.as_str(), id, schema.as_str());

    // The registered tenant migrations, before the tenant is reported as created.
    let version = migrate::provision_to(id, slug.as_str(), schema.as_str(), to);

    events::record(
        Some(id),
        Some(slug.as_str()),
        Action::Created,
        json!({ "schema": schema.as_str(), "version": version }),
    );
    id
}

/// The registry row of tenant `id`, as the SQL functions return it.
pub(crate) fn row(id: pgrx::Uuid) -> pgrx::composite_type!('static, "tenants") {
    executor::select(
        "SELECT t FROM stash.tenants t WHERE t.id = $1",
        &[id.into()],
        |t| {
            t.first()
                .get_one::<pgrx::composite_type!('static, "tenants")>()
        },
    )
    .or_raise("the row just inserted is visible")
}

pub(crate) fn lock_or_fail(slug: Option<&str>) -> Tenant {
    let slug = Slug::from_arg(slug);
    let key = Key::Slug(slug.as_str());
    registry::lock(&key).unwrap_or_else(|| errors::unknown_tenant(&key.describe()))
}

/// Moves the tenant to `suspended` or back to `active`, with its event; a tenant already
/// in that state is left alone (no event), so both calls are idempotent.
fn set_status(slug: Option<&str>, status: Status) {
    let tenant = lock_or_fail(slug);
    let action = match status {
        Status::Suspended => Action::Suspended,
        Status::Active => Action::Resumed,
    };
    if tenant.status == status {
        notice!("tenant \"{}\" is already {}", tenant.slug, status.as_str());
        return;
    }
    executor::update(
        "UPDATE stash.tenants SET status = $2, updated_at = now() WHERE id = $1",
        &[tenant.id.into(), status.as_str().to_string().into()],
        |_| Ok(()),
    );
    events::record(Some(tenant.id), Some(&tenant.slug), action, json!({}));
}

/// Suspends the tenant: tenant_enter refuses it from the next call on, in every session.
#[pg_extern(volatile, parallel_unsafe)]
#[search_path(pg_catalog, pg_temp)]
fn tenant_suspend(slug: Option<&str>) {
    set_status(slug, Status::Suspended);
}

/// Makes a suspended tenant enterable again.
#[pg_extern(volatile, parallel_unsafe)]
#[search_path(pg_catalog, pg_temp)]
fn tenant_resume(slug: Option<&str>) {
    set_status(slug, Status::Active);
}

/// Drops the tenant's schema with everything in it and every row the extension keeps
/// about the tenant; the audit log keeps one `dropped` event with id, slug, time, actor.
/// Objects outside the schema that depend on the tenant's (a view in `public` over a
/// tenant table, a foreign key into one) make it refuse with 2BP01, naming them, unless
/// `force` is true: then they are dropped too, and the event lists them.
#[pg_extern(volatile, parallel_unsafe, name = "tenant_drop")]
#[search_path(pg_catalog, pg_temp)]
fn tenant_drop_checked(slug: Option<&str>, force: default!(Option<bool>, "false")) {
    // Locking the row first makes the drop wait for a running migration of the tenant,
    // the schema for the transactions inside the tenant.
    let tenant = lock_or_fail(slug);
    objects::lock_schema_exclusively(&tenant.schema);
    let outside = outside_dependents(&tenant.schema);
    if force != Some(true) {
        refuse_outside_dependents(
            &outside,
            &format!("cannot drop tenant \"{}\"", tenant.slug),
            &format!(
                "Drop or change those objects first, or call stash.tenant_drop('{}', force => true) to drop them with the tenant.",
                tenant.slug
            ),
        );
    }
    if !outside.is_empty() {
        notice!(
            "tenant_drop of \"{}\" also drops {} object(s) outside its schema: {}",
            tenant.slug,
            outside.len(),
            outside.join("; ")
        );
    }
    drop_schema(&tenant.schema);
    roles::drop(&tenant.slug, tenant.id);
    let pool_rows = crate::pool::tables::delete_rows(tenant.id);
    events::forget(tenant.id);
    executor::update(
        "DELETE FROM stash.tenants WHERE id = $1",
        &[tenant.id.into()],
        |_| Ok(()),
    );
    let mut detail = json!({});
    if !outside.is_empty() {
        detail["outside_objects_dropped"] = json!(outside);
    }
    if !pool_rows.is_empty() {
        detail["pool_rows_deleted"] = pool_rows.into_iter().map(|(t, n)| (t, json!(n))).collect();
    }
    events::record(Some(tenant.id), Some(&tenant.slug), Action::Dropped, detail);
}

/// A write to the tenant's registry row that changes nothing but `updated_at`: every
/// backend's tenant cache then forgets the tenant (its schema's oid, after the schema was
/// replaced), through the registry's invalidation trigger.
pub(crate) fn touch(id: pgrx::Uuid) {
    executor::update(
        "UPDATE stash.tenants SET updated_at = now() WHERE id = $1",
        &[id.into()],
        |_| Ok(()),
    );
}

extension_sql!(
    r#"
CREATE VIEW stash.tenant_list AS
SELECT t.slug, t.name, t.status, t.schema_name, t.created_at,
       coalesce((SELECT sum(pg_catalog.pg_total_relation_size(c.oid))
                   FROM pg_catalog.pg_class c
                  WHERE c.relnamespace = n.oid AND c.relkind IN ('r', 'm', 'S')), 0)::bigint
         AS size_bytes,
       stash._tenant_node(n.oid) AS node
  FROM stash.tenants t
  LEFT JOIN pg_catalog.pg_namespace n ON n.nspname = t.schema_name;
COMMENT ON VIEW stash.tenant_list IS 'Every tenant with the size of its schema (on the coordinator) and, under Citus, the worker holding it.';

-- Mutating functions are for administrators: GRANT EXECUTE to the roles that manage tenants.
REVOKE EXECUTE ON FUNCTION stash.tenant_create(text, text, jsonb) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION stash.tenant_drop(text, boolean) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION stash.tenant_suspend(text) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION stash.tenant_resume(text) FROM PUBLIC;
"#,
    name = "lifecycle_grants",
    requires = [
        "registry",
        "citus_grants",
        tenant_create,
        tenant_drop_checked,
        tenant_suspend,
        tenant_resume
    ]
);
