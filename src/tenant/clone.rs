//! `stash.tenant_clone(source, slug, name, with_data)`: a new tenant built by its
//! migrations at the source's version — so its schema is exactly what the catalog makes,
//! never a copy of the source's accidents — then filled with the source's rows table by
//! table, its sequences (identity and serial columns included) continuing after the
//! copied values.  A source that has drifted from its migrations is refused, with the
//! differences (verify.rs): its rows might not fit the clean schema.
//!
//! Rows the clone's migrations seeded are replaced by the source's (which hold the same
//! seeds unless the source changed them).
//!
//! Rows are copied with `session_replication_role = replica` for the duration of the copy:
//! foreign-key checks and the tables' own triggers do not fire, so tables can be copied in
//! any order and an audit trigger does not record the copy as new business events.  Rows
//! of pool tables (outside the schema) are not copied.
use crate::catalog::events::{self, Action};
use crate::catalog::executor;
use crate::catalog::registry::{self, Key};
use crate::errors;
use crate::errors::OrRaise;
use crate::pg::guc;
use crate::pg::objects;
use crate::slug::Slug;
use crate::tenant::lifecycle;
use crate::tenant::verify;
use pgrx::prelude::*;
use pgrx::spi::quote_identifier;
use pgrx::PgSqlErrorCode as Code;
use serde_json::json;

/// Creates tenant `slug` as a copy of tenant `source`: same migrations, same rows (unless
/// `with_data` is false), same settings.  Returns the new registry row.
#[pg_extern(volatile, parallel_unsafe)]
#[search_path(pg_catalog, pg_temp)]
fn tenant_clone(
    source: Option<&str>,
    slug: Option<&str>,
    name: default!(Option<&str>, "NULL"),
    with_data: default!(Option<bool>, "true"),
) -> pgrx::composite_type!('static, "tenants") {
    let source = Slug::from_arg(source);
    let slug = Slug::from_arg(slug);
    if source.as_str() == slug.as_str() {
        errors::raise(
            Code::ERRCODE_INVALID_PARAMETER_VALUE,
            format!("cannot clone tenant \"{}\" onto itself", source.as_str()),
            "Pass a new slug for the clone.",
        );
    }
    let key = Key::Slug(source.as_str());
    let src = registry::find(&key).unwrap_or_else(|| errors::unknown_tenant(&key.describe()));
    // Like a transaction inside the source: rename, reset, restore and drop wait for us.
    if let Some(oid) = src.schema_oid {
        objects::lock_schema(oid, pg_sys::AccessShareLock);
    }
    let (status, differences) = verify::verify_tenant(&src);
    if status != verify::Verdict::Ok {
        errors::raise_detailed(
            Code::ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE,
            format!(
                "cannot clone tenant \"{}\": its schema does not match its migrations ({})",
                source.as_str(),
                status.as_str()
            ),
            differences.join("\n"),
            &format!(
                "SELECT * FROM stash.tenant_verify('{}') lists the differences; fix them with a migration, or clone another tenant.",
                source.as_str()
            ),
        );
    }
    let (version, settings) = executor::select(
        "SELECT (SELECT max(version) FROM stash.ledger WHERE tenant_id = $1), t.settings
           FROM stash.tenants t WHERE t.id = $1",
        &[src.id.into()],
        |t| t.first().get_two::<i64, pgrx::JsonB>(),
    );
    let version = version.unwrap_or(0);
    let id = lifecycle::create(&slug, name, settings.map(|s| s.0), Some(version));
    let rows = if with_data != Some(false) {
        copy_rows(&src.schema, slug.schema().as_str())
    } else {
        Vec::new()
    };
    events::record(
        Some(id),
        Some(slug.as_str()),
        Action::Cloned,
        json!({ "from": source.as_str(), "version": version, "with_data": with_data != Some(false),
                "rows": rows.into_iter().map(|(t, n)| (t, json!(n))).collect::<serde_json::Map<_, _>>() }),
    );
    lifecycle::row(id)
}

/// Copies every table's rows from `from` into the same table of `to`, then moves every
/// sequence of `to` to where the one of `from` is.  Returns (table, rows) per table.
fn copy_rows(from: &str, to: &str) -> Vec<(String, i64)> {
    let (f, t) = (quote_identifier(from), quote_identifier(to));
    Spi::connect_mut(|client| {
        // Partitions are filled through their parent; generated columns compute themselves.
        // A column of a type of the source's own schema (an enum, a composite) holds the
        // clone's type of that name, to which there is no cast: such values go through
        // their text form.
        let tables: Vec<(String, String, String)> = client
            .select(
                "SELECT c.relname::text,
                        string_agg(quote_ident(a.attname), ', ' ORDER BY a.attnum),
                        string_agg(CASE WHEN a.atttypid = b.atttypid THEN quote_ident(a.attname)
                                        ELSE quote_ident(a.attname) || '::text::' || format_type(b.atttypid, b.atttypmod) END,
                                   ', ' ORDER BY a.attnum)
                   FROM pg_class c
                   JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
                                      AND a.attgenerated = ''
                   JOIN pg_class d ON d.relnamespace = $2::regnamespace AND d.relname = c.relname
                   JOIN pg_attribute b ON b.attrelid = d.oid AND b.attname = a.attname AND NOT b.attisdropped
                  WHERE c.relnamespace = $1::regnamespace AND c.relkind IN ('r', 'p')
                    AND NOT c.relispartition
                  GROUP BY c.relname ORDER BY c.relname",
                None,
                &[from.to_string().into(), to.to_string().into()],
            )?
            .map(|r| {
                Ok((
                    r.get::<String>(1)?.unwrap_or_default(),
                    r.get::<String>(2)?.unwrap_or_default(),
                    r.get::<String>(3)?.unwrap_or_default(),
                ))
            })
            .collect::<Result<_, pgrx::spi::SpiError>>()?;
        let sequences: Vec<String> = client
            .select(
                "SELECT c.relname::text FROM pg_class c
                  WHERE c.relnamespace = $1::regnamespace AND c.relkind = 'S' ORDER BY 1",
                None,
                &[from.to_string().into()],
            )?
            .map(|r| Ok(r.get::<String>(1)?.unwrap_or_default()))
            .collect::<Result<_, pgrx::spi::SpiError>>()?;
        let replica = guc::NestLevel::open();
        replica.set(c"session_replication_role", "replica");
        let mut copied = Vec::new();
        // The clone's migrations may have seeded rows (a lookup table, a default setting):
        // the copy replaces them with the source's, which hold the same seeds unless the
        // source changed them — copying on top would break every unique key.  (Replica
        // mode: no foreign-key action or trigger fires for the delete either.)
        for (table, _, _) in &tables {
            client.update(&format!("DELETE FROM {t}.{}", quote_identifier(table)), None, &[])?;
        }
        for (table, columns, values) in tables {
            let q = quote_identifier(&table);
            let n = client
                .update(
                    &format!(
                        "INSERT INTO {t}.{q} ({columns}) OVERRIDING SYSTEM VALUE SELECT {values} FROM {f}.{q}"
                    ),
                    None,
                    &[],
                )?
                .len() as i64;
            copied.push((table, n));
        }
        replica.close();
        for sequence in sequences {
            let q = quote_identifier(&sequence);
            client.update(
                &format!(
                    "SELECT pg_catalog.setval('{}', last_value, is_called) FROM {f}.{q}",
                    format!("{t}.{q}").replace('\'', "''")
                ),
                None,
                &[],
            )?;
        }
        Ok::<_, pgrx::spi::SpiError>(copied)
    })
    .or_raise_with(|| format!("copy the rows of {from} into {to}"))
}

extension_sql!(
    r#"
REVOKE EXECUTE ON FUNCTION stash.tenant_clone(text, text, text, boolean) FROM PUBLIC;
"#,
    name = "clone_grants",
    requires = [tenant_clone]
);
