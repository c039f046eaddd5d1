//! `stash.tenant_reset(slug)`: "migrate fresh" for development and tests — empties the
//! tenant and applies every migration again, in one transaction, with a `reset` event.
//!
//! It drops the schema and creates it again (same name, owner, privileges on the schema
//! and comment; the tenant role's privileges are given again by roles::provide), clears
//! the tenant's ledger and failure, deletes its rows from pool tables, and provisions it
//! like tenant_create.  Default privileges someone else added on the schema are not kept
//! (docs/sql.md).  Refused unless an administrator set `stash.allow_reset = on` in the
//! session: it destroys data by design.
use crate::access::roles;
use crate::catalog::events::{self, Action};
use crate::catalog::executor;
use crate::errors;
use crate::errors::OrRaise;
use crate::migrate;
use crate::pg::objects;
use crate::state::settings;
use crate::tenant::lifecycle;
use pgrx::prelude::*;
use pgrx::PgSqlErrorCode as Code;
use serde_json::json;

/// Drops everything in the tenant's schema and applies every migration again.
#[pg_extern(volatile, parallel_unsafe)]
#[search_path(pg_catalog, pg_temp)]
fn tenant_reset(slug: Option<&str>) {
    if !settings::allow_reset() {
        errors::raise(
            Code::ERRCODE_INSUFFICIENT_PRIVILEGE,
            "tenant_reset is disabled: it drops every object in the tenant's schema".into(),
            "It exists for development and tests: an administrator enables it for one session with SET stash.allow_reset = on.",
        );
    }
    let tenant = lifecycle::lock_or_fail(slug);
    super::schema::refuse_outside_dependents(
        &super::schema::outside_dependents(&tenant.schema),
        &format!("cannot reset tenant \"{}\"", tenant.slug),
        "Drop or change those objects first.",
    );
    objects::lock_schema_exclusively(&tenant.schema);
    let s = pgrx::spi::quote_identifier(&tenant.schema);
    // What the schema itself carries, to put back on the new one.
    let (owner, comment, grants) = Spi::connect(|client| {
        let row = client
            .select(
                "SELECT quote_ident(pg_get_userbyid(n.nspowner)),
                        obj_description(n.oid, 'pg_namespace'),
                        (SELECT string_agg(format('GRANT %s ON SCHEMA %s TO %s%s', a.privilege_type, $2,
                                  CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE quote_ident(pg_get_userbyid(a.grantee)) END,
                                  CASE WHEN a.is_grantable THEN ' WITH GRANT OPTION' ELSE '' END), '; ')
                           FROM aclexplode(n.nspacl) a WHERE a.grantee <> n.nspowner)
                   FROM pg_namespace n WHERE n.nspname = $1::name",
                Some(1),
                &[tenant.schema.clone().into(), s.clone().into()],
            )?
            .first();
        Ok::<_, pgrx::spi::SpiError>((
            row.get::<String>(1)?,
            row.get::<String>(2)?,
            row.get::<String>(3)?,
        ))
    })
    .or_raise_with(|| format!("read schema {}", tenant.schema));
    let owner =
        owner.unwrap_or_else(|| errors::tenant_schema_missing(&tenant.slug, &tenant.schema));
    super::schema::drop_schema(&tenant.schema);
    let mut sql = format!("CREATE SCHEMA {s} AUTHORIZATION {owner};");
    if let Some(comment) = comment {
        sql.push_str(&format!(
            "COMMENT ON SCHEMA {s} IS {};",
            pgrx::spi::quote_literal(comment)
        ));
    }
    if let Some(grants) = grants {
        sql.push_str(&grants);
    }
    Spi::run(&sql).or_raise("recreate the tenant's schema");
    executor::update(
        "DELETE FROM stash.ledger WHERE tenant_id = $1",
        &[tenant.id.into()],
        |_| Ok(()),
    );
    executor::update(
        "DELETE FROM stash.migration_failures WHERE tenant_id = $1",
        &[tenant.id.into()],
        |_| Ok(()),
    );
    let pool_rows = crate::pool::tables::delete_rows(tenant.id);
    roles::provide(&tenant.slug, tenant.id, &tenant.schema);
    let version = migrate::provision(tenant.id, &tenant.slug, &tenant.schema);
    lifecycle::touch(tenant.id);
    let mut detail = json!({ "version": version });
    if !pool_rows.is_empty() {
        detail["pool_rows_deleted"] = pool_rows.into_iter().map(|(t, n)| (t, json!(n))).collect();
    }
    events::record(Some(tenant.id), Some(&tenant.slug), Action::Reset, detail);
}

extension_sql!(
    r#"
REVOKE EXECUTE ON FUNCTION stash.tenant_reset(text) FROM PUBLIC;
"#,
    name = "reset_grants",
    requires = [tenant_reset]
);
