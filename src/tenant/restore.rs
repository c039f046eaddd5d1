//! `stash.tenant_restore(slug, from_schema, keep_old)`: adopts a schema restored from a
//! backup (docs/operations.md, "Restoring one tenant") as the tenant's new content.
//!
//! 1. Which version is the backup at?  Only the schema comes from the backup, not its
//!    ledger: its description (verify.rs) is compared with what the catalog's migrations
//!    make at each version; no exact match is refused, naming the closest version and
//!    its differences.
//! 2. The schema is given to the tenant schema's owner and brought forward to the
//!    tenant's version by replaying the missing migrations, as migrations always run.
//! 3. The swap, under the exclusive schema lock: transactions inside the tenant finish
//!    first, those that enter meanwhile wait and then see the restored schema — never a
//!    mix.  The old schema is renamed (kept for inspection, its name in the `restored`
//!    event, the tenant role's access to it revoked) or dropped.  The tenant keeps its id,
//!    role, privileges and settings; other tenants are not locked or touched.
use crate::access::roles;
use crate::catalog::events::{self, Action};
use crate::catalog::executor;
use crate::errors;
use crate::errors::OrRaise;
use crate::migrate::engine;
use crate::pg::objects;
use crate::tenant::lifecycle;
use crate::tenant::verify::{self, Migration};
use pgrx::prelude::*;
use pgrx::spi::quote_identifier;
use pgrx::PgSqlErrorCode as Code;
use serde_json::json;
use std::ffi::CStr;

/// The versions whose migrations make exactly `schema`'s structure (ascending), or the
/// closest version with its differences.
fn detect_version(
    schema: &str,
    owner: Option<&str>,
    catalog: &[Migration],
) -> Result<Vec<i64>, (i64, Vec<String>)> {
    let actual = verify::describe(schema);
    let mut matches = Vec::new();
    let mut closest: Option<(i64, Vec<String>)> = None;
    for (i, m) in catalog.iter().enumerate() {
        let reference = verify::reference(&catalog[..=i], owner);
        let Ok(expected) = reference.as_ref() else {
            continue;
        };
        let differences = verify::differences(&actual, expected);
        if differences.is_empty() {
            matches.push(m.version);
        } else if closest
            .as_ref()
            .is_none_or(|(_, d)| differences.len() <= d.len())
        {
            closest = Some((m.version, differences));
        }
    }
    if matches.is_empty() {
        Err(closest.unwrap_or((0, vec!["no tenant migration is registered".into()])))
    } else {
        Ok(matches)
    }
}

/// Makes `owner` the owner of `schema` and of everything in it that has an owner of its
/// own (what follows a table — its indexes, owned sequences, row type — follows it).
fn give_to(schema: &str, owner: &str) {
    let s = quote_identifier(schema);
    let o = quote_identifier(owner);
    let statements: Vec<String> = Spi::connect(|client| {
        client
            .select(
                "SELECT format('ALTER TABLE %s OWNER TO %s', c.oid::regclass, $2)
                   FROM pg_class c
                  WHERE c.relnamespace = $1::regnamespace AND c.relkind IN ('r', 'p', 'v', 'm', 'f', 'S')
                    AND NOT (c.relkind = 'S' AND EXISTS (SELECT FROM pg_depend d
                              WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid
                                AND d.refclassid = 'pg_class'::regclass AND d.deptype IN ('a', 'i')))
                 UNION ALL
                 SELECT format('ALTER ROUTINE %s OWNER TO %s', p.oid::regprocedure, $2)
                   FROM pg_proc p WHERE p.pronamespace = $1::regnamespace
                 UNION ALL
                 SELECT format('ALTER TYPE %s OWNER TO %s', t.oid::regtype, $2)
                   FROM pg_type t
                  WHERE t.typnamespace = $1::regnamespace AND t.typtype IN ('e', 'd', 'r', 'b')
                    AND NOT (t.typtype = 'b' AND t.typcategory = 'A')
                 UNION ALL
                 SELECT format('ALTER TYPE %s OWNER TO %s', t.oid::regtype, $2)
                   FROM pg_type t JOIN pg_class c ON c.oid = t.typrelid AND c.relkind = 'c'
                  WHERE t.typnamespace = $1::regnamespace",
                None,
                &[schema.to_string().into(), o.clone().into()],
            )?
            .map(|r| Ok(r.get::<String>(1)?.unwrap_or_default()))
            .collect::<Result<Vec<_>, pgrx::spi::SpiError>>()
    })
    .or_raise_with(|| format!("list the objects of {schema}"));
    let mut sql = format!("ALTER SCHEMA {s} OWNER TO {o};");
    for statement in statements {
        sql.push_str(&statement);
        sql.push(';');
    }
    Spi::run(&sql).or_raise("give the restored schema to the tenant schema's owner");
}

/// A name for the tenant's replaced schema that is not taken.
fn old_schema_name(schema: &str) -> String {
    let stamp = Spi::get_one::<String>("SELECT to_char(clock_timestamp(), 'YYYYMMDD_HH24MISS')")
        .or_raise("clock")
        .unwrap_or_default();
    let base: String = format!("{schema}_old_{stamp}").chars().take(60).collect();
    (0..)
        .map(|n| {
            if n == 0 {
                base.clone()
            } else {
                format!("{base}_{n}")
            }
        })
        .find(|candidate| {
            !Spi::get_one_with_args::<bool>(
                "SELECT EXISTS (SELECT FROM pg_namespace WHERE nspname = $1::name)",
                &[candidate.clone().into()],
            )
            .or_raise("look up a schema name")
            .unwrap_or(false)
        })
        .or_raise("some name is free")
}

/// Adopts `from_schema` (restored from a backup) as tenant `slug`'s content: its version
/// is detected, it is migrated forward to the tenant's version and swapped in atomically;
/// the old content is kept under another name (`keep_old`) or dropped.
#[pg_extern(sql = r#"
CREATE FUNCTION stash.tenant_restore(slug text, from_schema name, keep_old boolean DEFAULT true) RETURNS void
VOLATILE PARALLEL UNSAFE
SET search_path TO pg_catalog, pg_temp
LANGUAGE c AS 'MODULE_PATHNAME', 'tenant_restore_wrapper';
"#)]
fn tenant_restore(slug: Option<&str>, from_schema: Option<&CStr>, keep_old: Option<bool>) {
    // `name` arrives as a NUL-padded NameData, which reads as a C string.
    let from = from_schema
        .unwrap_or_else(|| {
            errors::null_argument("from_schema", "the schema restored from the backup")
        })
        .to_string_lossy()
        .into_owned();
    let keep_old = keep_old.unwrap_or(true);
    let tenant = lifecycle::lock_or_fail(slug);
    refuse_source(&tenant.slug, &tenant.schema, &from);

    let catalog = verify::catalog();
    let owner = roles::schema_owner_name(&tenant.schema);
    let detected = detect_version(&from, owner.as_deref(), &catalog).unwrap_or_else(|(closest, differences)| {
        errors::raise_detailed(
            Code::ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE,
            format!(
                "schema \"{from}\" is not a tenant of this fleet at any migration version; the closest is version {closest}"
            ),
            differences.join("\n"),
            "Restore the tenant's schema from a backup of this database, with nothing added or changed after pg_restore.",
        )
    });
    let version = *detected.last().or_raise("at least one match");
    let applied: Vec<i64> = verify::applied(tenant.id)
        .into_iter()
        .map(|a| a.migration.version)
        .collect();
    let current = applied.last().copied().unwrap_or(0);
    if version > current {
        errors::raise(
            Code::ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE,
            format!(
                "schema \"{from}\" is at version {version}, newer than tenant \"{}\" (version {current})",
                tenant.slug
            ),
            "Migrate the tenant first (stash.tenant_migrate), then restore.",
        );
    }

    // The schema becomes what the tenant's migrations would have made of it.
    let owner = roles::schema_owner_name(&tenant.schema)
        .unwrap_or_else(|| errors::tenant_schema_missing(&tenant.slug, &tenant.schema));
    give_to(&from, &owner);
    let forward: Vec<(i64, String)> = catalog
        .iter()
        .filter(|m| m.version > version && applied.contains(&m.version))
        .map(|m| (m.version, m.up_sql.clone()))
        .collect();
    engine::replay(&from, &forward, "bringing forward the restored");

    // The swap.
    let outside = super::schema::outside_dependents(&tenant.schema);
    if !keep_old {
        super::schema::refuse_outside_dependents(
            &outside,
            &format!("cannot drop the old schema of tenant \"{}\"", tenant.slug),
            "Restore with keep_old => true (they keep pointing at the old content), or drop them first.",
        );
    }
    objects::lock_schema_exclusively(&tenant.schema);
    let old = old_schema_name(&tenant.schema);
    let role = crate::slug::role_name(&tenant.slug, tenant.id);
    Spi::run(&format!(
        "ALTER SCHEMA {t} RENAME TO {o}; ALTER SCHEMA {f} RENAME TO {t};",
        t = quote_identifier(&tenant.schema),
        o = quote_identifier(&old),
        f = quote_identifier(&from),
    ))
    .or_raise("swap the schemas");
    roles::provide(&tenant.slug, tenant.id, &tenant.schema);
    let kept = if keep_old {
        if objects::role_oid(&role).is_some() {
            Spi::run(&format!(
                "REVOKE ALL ON SCHEMA {} FROM {}",
                quote_identifier(&old),
                quote_identifier(&role)
            ))
            .or_raise("revoke the tenant role's access to the old schema");
        }
        if !outside.is_empty() {
            notice!(
                "{} object(s) outside the schema of tenant \"{}\" keep pointing at its old content, now in schema \"{old}\": {}",
                outside.len(),
                tenant.slug,
                outside.join("; ")
            );
        }
        Some(old.clone())
    } else {
        super::schema::drop_schema(&old);
        None
    };
    lifecycle::touch(tenant.id);
    events::record(
        Some(tenant.id),
        Some(&tenant.slug),
        Action::Restored,
        json!({ "from_schema": from, "detected_version": version, "matching_versions": detected,
                "migrated_to": current, "old_schema": kept }),
    );
}

/// The schema to restore from must exist, be neither this tenant's nor another's, nor a
/// schema of the system or the extension.
fn refuse_source(slug: &str, schema: &str, from: &str) {
    if from == schema {
        errors::raise(
            Code::ERRCODE_INVALID_PARAMETER_VALUE,
            format!("schema \"{from}\" is already the schema of tenant \"{slug}\""),
            "Restore the backup under another name (e.g. restore_<slug>) and pass that name.",
        );
    }
    let (exists, owner_tenant) = executor::select(
        "SELECT EXISTS (SELECT FROM pg_namespace WHERE nspname = $1::name),
                (SELECT slug FROM stash.tenants WHERE schema_name = $1::name)",
        &[from.to_string().into()],
        |t| t.first().get_two::<bool, String>(),
    );
    if exists != Some(true) {
        errors::raise(
            Code::ERRCODE_INVALID_SCHEMA_NAME,
            format!("schema \"{from}\" does not exist"),
            "pg_restore the backup's schema into this database first (docs/operations.md, \"Restoring one tenant\").",
        );
    }
    if let Some(other) = owner_tenant {
        errors::raise(
            Code::ERRCODE_OBJECT_IN_USE,
            format!("schema \"{from}\" is the schema of tenant \"{other}\""),
            "Restore the backup under a name of its own (e.g. restore_<slug>).",
        );
    }
    if from.starts_with("pg_")
        || from == "information_schema"
        || from == "stash"
        || from == "public"
    {
        errors::raise(
            Code::ERRCODE_INVALID_PARAMETER_VALUE,
            format!("schema \"{from}\" cannot become a tenant's schema"),
            "Restore the backup under a name of its own (e.g. restore_<slug>).",
        );
    }
}

extension_sql!(
    r#"
REVOKE EXECUTE ON FUNCTION stash.tenant_restore(text, name, boolean) FROM PUBLIC;
"#,
    name = "restore_grants",
    requires = [tenant_restore]
);
