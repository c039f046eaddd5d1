//! `stash.tenant_rename(slug, new_slug)`: a tenant's new name — slug, schema, role — in
//! one transaction, with a `renamed` event.
//!
//! The tenant's id does not change, so nothing keyed by it moves: the ledger, failures,
//! pool-table rows, past events (the audit log keeps the name they were recorded under;
//! the `renamed` event links both).  The schema keeps its oid, so its privileges and
//! default privileges stay.  Transactions already inside the tenant finish first (the
//! schema lock); those that enter while the rename runs wait and then find the new name
//! only.
use crate::access::roles;
use crate::catalog::events::{self, Action};
use crate::catalog::executor;
use crate::errors;
use crate::errors::OrRaise;
use crate::pg::objects;
use crate::slug::Slug;
use crate::tenant::lifecycle;
use pgrx::prelude::*;
use pgrx::PgSqlErrorCode as Code;
use serde_json::json;

/// Renames the tenant `slug` to `new_slug`: registry, schema (`tenant_<new_slug>`),
/// role.  23505 if the new slug is taken, 42P06 if a schema of that name exists.
#[pg_extern(volatile, parallel_unsafe)]
#[search_path(pg_catalog, pg_temp)]
fn tenant_rename(slug: Option<&str>, new_slug: Option<&str>) {
    let new_slug = Slug::from_arg(new_slug);
    let tenant = lifecycle::lock_or_fail(slug);
    if tenant.slug == new_slug.as_str() {
        errors::raise(
            Code::ERRCODE_INVALID_PARAMETER_VALUE,
            format!("tenant \"{}\" already has that slug", tenant.slug),
            "Pass the new slug as the second argument.",
        );
    }
    super::schema::refuse_foreign_schema(&new_slug);
    objects::lock_schema_exclusively(&tenant.schema);
    let new_schema = new_slug.schema();
    // As the caller, who must own the schema (or be superuser), as for tenant_drop.
    Spi::run(&format!(
        "ALTER SCHEMA {} RENAME TO {}",
        pgrx::spi::quote_identifier(&tenant.schema),
        new_schema.quoted()
    ))
    .or_raise("ALTER SCHEMA ... RENAME");
    executor::update(
        "UPDATE stash.tenants SET slug = $2, schema_name = $3::name, updated_at = now() WHERE id = $1",
        &[
            tenant.id.into(),
            new_slug.as_str().to_string().into(),
            new_schema.as_str().to_string().into(),
        ],
        |_| Ok(()),
    );
    roles::rename(&tenant.slug, new_slug.as_str(), tenant.id);
    events::record(
        Some(tenant.id),
        Some(new_slug.as_str()),
        Action::Renamed,
        json!({ "from": tenant.slug, "to": new_slug.as_str(),
                "schema_from": tenant.schema, "schema_to": new_schema.as_str() }),
    );
}

extension_sql!(
    r#"
REVOKE EXECUTE ON FUNCTION stash.tenant_rename(text, text) FROM PUBLIC;
"#,
    name = "rename_grants",
    requires = [tenant_rename]
);
