//! Tenant lifecycle: create, suspend, resume, drop.
//!
//! Each function does all of its work in the caller's transaction, so it is all or
//! nothing: an error anywhere aborts the transaction (or the caller's savepoint) and
//! leaves no schema, registry row or event behind.
use crate::errors;
use crate::events;
use crate::guc;
use crate::migrate;
use crate::registry::{self, Key, Tenant};
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
    let settings = settings.map(|s| s.0).unwrap_or_else(|| json!({}));
    if !settings.is_object() {
        errors::raise(
            Code::ERRCODE_INVALID_PARAMETER_VALUE,
            format!("settings of tenant {slug} must be a JSON object, not {settings}"),
            "Pass settings such as '{\"plan\": \"pro\"}'::jsonb, or omit them.",
        );
    }
    let schema = slug.schema();
    refuse_foreign_schema(&slug);

    // The registry row first: its unique index is what serializes two sessions creating
    // the same slug.  The loser waits for the winner's transaction and then finds the
    // conflict, so it fails cleanly with 23505 before touching any schema.
    let id = pgrx::Uuid::from_bytes(*uuid::Uuid::now_v7().as_bytes());
    let inserted = registry::update(
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
    Spi::run(&format!("CREATE SCHEMA {}", schema.quoted())).expect("CREATE SCHEMA");

    // Every registered tenant migration, before the tenant is reported as created.
    let version = migrate::provision(id, slug.as_str(), schema.as_str());

    events::record(
        Some(id),
        Some(slug.as_str()),
        "created",
        json!({ "schema": schema.as_str(), "version": version }),
    );
    registry::select(
        "SELECT t FROM stash.tenants t WHERE t.id = $1",
        &[id.into()],
        |t| {
            t.first()
                .get_one::<pgrx::composite_type!('static, "tenants")>()
        },
    )
    .expect("the row just inserted is visible")
}

/// 42P06 for a schema of that name that is not a registered tenant: taking it over would
/// hand someone else's tables to the tenant, and tenant_drop would later drop them.
fn refuse_foreign_schema(slug: &Slug) {
    let schema = slug.schema();
    let (exists, registered) = registry::select(
        "SELECT EXISTS (SELECT FROM pg_namespace WHERE nspname = $1::name), \
                EXISTS (SELECT FROM stash.tenants WHERE slug = $2)",
        &[
            schema.as_str().to_string().into(),
            slug.as_str().to_string().into(),
        ],
        |t| t.first().get_two::<bool, bool>(),
    );
    if registered == Some(true) {
        errors::tenant_exists(slug.as_str());
    }
    if exists == Some(true) {
        errors::raise(
            Code::ERRCODE_DUPLICATE_SCHEMA,
            format!(
                "schema \"{}\" already exists and is not a registered tenant",
                schema.as_str()
            ),
            "Choose another slug, or rename or drop the existing schema first.",
        );
    }
}

fn lock_or_fail(slug: Option<&str>) -> Tenant {
    let slug = Slug::from_arg(slug);
    let key = Key::Slug(slug.as_str());
    registry::lock(&key).unwrap_or_else(|| errors::unknown_tenant(&key.describe()))
}

/// Moves the tenant to `suspended` or back to `active`, with its event; a tenant already
/// in that state is left alone (no event), so both calls are idempotent.
fn set_suspended(slug: Option<&str>, suspended: bool) {
    let tenant = lock_or_fail(slug);
    let (status, action) = if suspended {
        ("suspended", "suspended")
    } else {
        ("active", "resumed")
    };
    if tenant.suspended == suspended {
        notice!("tenant \"{}\" is already {status}", tenant.slug);
        return;
    }
    registry::update(
        "UPDATE stash.tenants SET status = $2, updated_at = now() WHERE id = $1",
        &[tenant.id.into(), status.to_string().into()],
        |_| Ok(()),
    );
    events::record(Some(tenant.id), Some(&tenant.slug), action, json!({}));
}

/// Suspends the tenant: tenant_enter refuses it from the next call on, in every session.
#[pg_extern(volatile, parallel_unsafe)]
#[search_path(pg_catalog, pg_temp)]
fn tenant_suspend(slug: Option<&str>) {
    set_suspended(slug, true);
}

/// Makes a suspended tenant enterable again.
#[pg_extern(volatile, parallel_unsafe)]
#[search_path(pg_catalog, pg_temp)]
fn tenant_resume(slug: Option<&str>) {
    set_suspended(slug, false);
}

/// Drops the tenant's schema with everything in it and every row the extension keeps
/// about the tenant; the audit log keeps one `dropped` event with id, slug, time, actor.
#[pg_extern(volatile, parallel_unsafe)]
#[search_path(pg_catalog, pg_temp)]
fn tenant_drop(slug: Option<&str>) {
    // Locking the row first makes the drop wait for a running migration of the tenant.
    let tenant = lock_or_fail(slug);
    // As the caller, who must own the schema (or be superuser) to destroy its data.
    // Without the NOTICE that lists every dropped object: dropping all of them is the point.
    let quiet = guc::Scope::open();
    quiet.set(c"client_min_messages", "warning");
    Spi::run(&format!(
        "DROP SCHEMA IF EXISTS {} CASCADE",
        pgrx::spi::quote_identifier(&tenant.schema)
    ))
    .expect("DROP SCHEMA");
    quiet.close();
    events::forget(tenant.id);
    registry::update(
        "DELETE FROM stash.tenants WHERE id = $1",
        &[tenant.id.into()],
        |_| Ok(()),
    );
    events::record(Some(tenant.id), Some(&tenant.slug), "dropped", json!({}));
}

extension_sql!(
    r#"
CREATE VIEW stash.tenant_list AS
SELECT t.slug, t.name, t.status, t.schema_name, t.created_at,
       coalesce((SELECT sum(pg_catalog.pg_total_relation_size(c.oid))
                   FROM pg_catalog.pg_class c
                  WHERE c.relnamespace = n.oid AND c.relkind IN ('r', 'm', 'S')), 0)::bigint
         AS size_bytes
  FROM stash.tenants t
  LEFT JOIN pg_catalog.pg_namespace n ON n.nspname = t.schema_name;
COMMENT ON VIEW stash.tenant_list IS 'Every tenant with the size of its schema.';

-- Mutating functions are for administrators: GRANT EXECUTE to the roles that manage tenants.
REVOKE EXECUTE ON FUNCTION stash.tenant_create(text, text, jsonb) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION stash.tenant_drop(text) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION stash.tenant_suspend(text) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION stash.tenant_resume(text) FROM PUBLIC;
"#,
    name = "lifecycle_grants",
    requires = [
        "registry",
        tenant_create,
        tenant_drop,
        tenant_suspend,
        tenant_resume
    ]
);
