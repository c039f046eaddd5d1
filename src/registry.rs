//! The tenant registry, `stash.tenants`: its DDL, the [`Tenant`] row, and the two ways to
//! read one ([`find`], and [`lock`] for a state change).  Reads and writes go through the
//! privileged executor (executor.rs).
use crate::executor;
use pgrx::datum::DatumWithOid;
use pgrx::prelude::*;
use pgrx::spi::{SpiResult, SpiTupleTable};

extension_sql!(
    r#"
CREATE TABLE stash.tenants (
    id          uuid        PRIMARY KEY,
    slug        text        NOT NULL UNIQUE
                            CHECK (slug ~ '^[a-z][a-z0-9_]*$' AND octet_length(slug) <= 56),
    name        text,
    schema_name name        NOT NULL UNIQUE CHECK (schema_name = ('tenant_' || slug)::name),
    status      text        NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'suspended')),
    settings    jsonb       NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(settings) = 'object'),
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE stash.tenants IS 'One row per tenant; write it only through the stash.tenant_* functions.';

-- pg_dump keeps the rows; tenant schemas are ordinary schemas and are dumped as such.
SELECT pg_catalog.pg_extension_config_dump('stash.tenants', '');

-- Everyone may call the context functions, so everyone needs USAGE on the schema;
-- the tables themselves stay private to the owner.
GRANT USAGE ON SCHEMA stash TO PUBLIC;
REVOKE ALL ON stash.tenants FROM PUBLIC;
"#,
    name = "registry",
    bootstrap
);

/// A tenant's status; `as_str` is the text of `stash.tenants.status` (its CHECK lists them).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Status {
    Active,
    Suspended,
}

impl Status {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Status::Active => "active",
            Status::Suspended => "suspended",
        }
    }
}

/// A registry row, as much of it as the functions need.
#[derive(Clone, Debug)]
pub(crate) struct Tenant {
    pub id: pgrx::Uuid,
    pub slug: String,
    pub schema: String,
    pub suspended: bool,
}

pub(crate) enum Key<'a> {
    Slug(&'a str),
    Id(pgrx::Uuid),
}

impl Key<'_> {
    /// How the key reads in an error message.
    pub(crate) fn describe(&self) -> String {
        match self {
            Key::Slug(s) => format!("\"{s}\""),
            Key::Id(id) => format!("with id {id}"),
        }
    }
    fn predicate_and_arg(&self) -> (&'static str, DatumWithOid<'static>) {
        match self {
            Key::Slug(s) => ("t.slug OPERATOR(pg_catalog.=) $1", s.to_string().into()),
            Key::Id(id) => ("t.id OPERATOR(pg_catalog.=) $1", (*id).into()),
        }
    }
}

// Fully qualified, operators included: tenant_enter runs this without a fixed search_path.
const COLUMNS: &str = "t.id, t.slug, t.schema_name::pg_catalog.text, \
    t.status OPERATOR(pg_catalog.=) 'suspended'";

fn row(table: SpiTupleTable) -> SpiResult<Option<Tenant>> {
    if table.is_empty() {
        return Ok(None);
    }
    let table = table.first();
    let tenant = Tenant {
        id: table.get(1)?.expect("id is NOT NULL"),
        slug: table.get(2)?.expect("slug is NOT NULL"),
        schema: table.get(3)?.expect("schema_name is NOT NULL"),
        suspended: table.get(4)?.expect("status is NOT NULL"),
    };
    Ok(Some(tenant))
}

/// Reads one tenant with the given snapshot semantics of the caller (see context.rs for
/// why tenant_enter pushes a fresh snapshot first).
pub(crate) fn find(key: &Key) -> Option<Tenant> {
    let (predicate, arg) = key.predicate_and_arg();
    let sql = format!("SELECT {COLUMNS} FROM stash.tenants t WHERE {predicate}");
    executor::select(&sql, &[arg], row)
}

/// Reads every tenant, or None when there are more than `limit`.
pub(crate) fn all(limit: usize) -> Option<Vec<Tenant>> {
    let sql = format!("SELECT {COLUMNS} FROM stash.tenants t LIMIT $1");
    let rows = executor::select(&sql, &[(limit as i64 + 1).into()], |t| {
        t.map(|r| {
            Ok(Tenant {
                id: r.get(1)?.expect("id is NOT NULL"),
                slug: r.get(2)?.expect("slug is NOT NULL"),
                schema: r.get(3)?.expect("schema_name is NOT NULL"),
                suspended: r.get(4)?.expect("status is NOT NULL"),
            })
        })
        .collect::<SpiResult<Vec<_>>>()
    });
    (rows.len() <= limit).then_some(rows)
}

/// Reads and row-locks one tenant for a state change.  The row lock is the per-tenant
/// lock: suspend, resume, drop and migrations of one tenant queue behind each other,
/// while tenant_enter (a plain read) never waits for any of them.
pub(crate) fn lock(key: &Key) -> Option<Tenant> {
    let (predicate, arg) = key.predicate_and_arg();
    let sql = format!("SELECT {COLUMNS} FROM stash.tenants t WHERE {predicate} FOR UPDATE");
    executor::update(&sql, &[arg], row)
}
