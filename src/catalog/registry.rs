//! The tenant registry, `stash.tenants`: its DDL, the [`Tenant`] row, and the ways to read
//! one ([`find`]; [`lock`] for a state change; [`find_latest`], tenant_enter's cache miss,
//! by the registry's unique index without SPI).  Also the read of the application roles'
//! table that tenant_enter needs, without SPI likewise ([`app_roles_at_latest`]).  Other
//! reads and writes go through the privileged executor (executor.rs).
use crate::catalog::executor;
use crate::catalog::invalidation;
use crate::errors::OrRaise;
use crate::pg::index;
use crate::pg::objects;
use pgrx::datum::DatumWithOid;
use pgrx::prelude::*;
use pgrx::spi::{SpiHeapTupleData, SpiResult, SpiTupleTable};

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
    pub status: Status,
    /// The schema's oid as of the read (None if the schema is missing): read with the row,
    /// so that tenant_enter never looks a schema up by name (a catalog-cache miss for
    /// every tenant a fresh connection meets).
    pub schema_oid: Option<pg_sys::Oid>,
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
    t.status OPERATOR(pg_catalog.=) 'suspended', n.oid";
const FROM: &str = "stash.tenants t LEFT JOIN pg_catalog.pg_namespace n \
    ON n.nspname OPERATOR(pg_catalog.=) t.schema_name";

fn tenant(row: &SpiHeapTupleData) -> SpiResult<Tenant> {
    Ok(Tenant {
        id: row.get(1)?.or_raise("id is NOT NULL"),
        slug: row.get(2)?.or_raise("slug is NOT NULL"),
        schema: row.get(3)?.or_raise("schema_name is NOT NULL"),
        status: if row.get::<bool>(4)?.or_raise("status is NOT NULL") {
            Status::Suspended
        } else {
            Status::Active
        },
        schema_oid: row.get(5)?,
    })
}

fn row(mut table: SpiTupleTable) -> SpiResult<Option<Tenant>> {
    table.next().map(|r| tenant(&r)).transpose()
}

/// Reads one tenant with the given snapshot semantics of the caller (see context.rs for
/// why tenant_enter pushes a fresh snapshot first).
pub(crate) fn find(key: &Key) -> Option<Tenant> {
    let (predicate, arg) = key.predicate_and_arg();
    let sql = format!("SELECT {COLUMNS} FROM {FROM} WHERE {predicate}");
    executor::select(&sql, &[arg], row)
}

/// Where [`find_latest`] reads a tenant without SPI: the registry, its two unique indexes
/// and the attribute numbers of the columns it needs, per backend and invalidation
/// generation (a reinstalled extension has new oids).
#[derive(Clone, Copy)]
struct Layout {
    generation: u64,
    table: pg_sys::Oid,
    by_slug: pg_sys::Oid,
    by_id: pg_sys::Oid,
    id: i16,
    slug: i16,
    schema_name: i16,
    status: i16,
}

thread_local! {
    static LAYOUT: std::cell::Cell<Option<Layout>> = const { std::cell::Cell::new(None) };
}

fn layout() -> Option<Layout> {
    let generation = invalidation::generation();
    if let Some(layout) = LAYOUT.get().filter(|l| l.generation == generation) {
        return Some(layout);
    }
    let table = objects::relation_oid("stash", c"tenants")?;
    let by_slug = objects::relation_oid("stash", c"tenants_slug_key")?;
    let by_id = objects::relation_oid("stash", c"tenants_pkey")?;
    let attnum = |name: &std::ffi::CStr| objects::attnum(table, name);
    let layout = Layout {
        generation,
        table,
        by_slug,
        by_id,
        id: attnum(c"id")?,
        slug: attnum(c"slug")?,
        schema_name: attnum(c"schema_name")?,
        status: attnum(c"status")?,
    };
    LAYOUT.set(Some(layout));
    Some(layout)
}

/// Reads one tenant at the latest snapshot, as [`find`] inside `with_latest_snapshot`
/// does, but through the registry's unique index instead of SPI: tenant_enter's cache
/// misses (a fresh connection's first enter prepared and planned a query for it).
pub(crate) fn find_latest(key: &Key) -> Option<Tenant> {
    crate::catalog::version::check(); // as every read through the executor does
    let Some(l) = layout() else {
        // the indexes are not where 0.3.0 made them: the general path still works
        return crate::pg::snapshot::with_latest_snapshot(|| find(key));
    };
    let (index, column, eq, key) = match key {
        Key::Slug(s) => (l.by_slug, l.slug, pg_sys::F_TEXTEQ, s.into_datum()),
        Key::Id(id) => (l.by_id, l.id, pg_sys::F_UUID_EQ, id.into_datum()),
    };
    let key = key.or_raise("a key converts to a Datum");
    let equal = index::Equal {
        index,
        column,
        eq,
        key,
    };
    index::unique_row_at_latest(l.table, equal, |tuple, desc| {
        // SAFETY: `tuple` is a row of stash.tenants and `desc` its descriptor, valid
        // during this closure (unique_row_at_latest); the attribute numbers are that
        // table's (Layout); every column read here is NOT NULL, and from_datum copies
        // each value out (uuid, text detoasted) before the row goes away.
        unsafe {
            let get = |attnum| {
                index::column(tuple, desc, attnum).or_raise("registry columns are NOT NULL")
            };
            let id = pgrx::Uuid::from_datum(get(l.id), false).or_raise("id is a uuid");
            let slug = String::from_datum(get(l.slug), false).or_raise("slug is text");
            let schema = index::name_text(get(l.schema_name));
            let status = String::from_datum(get(l.status), false).or_raise("status is text");
            Tenant {
                id,
                slug,
                schema_oid: objects::schema_oid(&schema),
                schema,
                status: if status == Status::Suspended.as_str() {
                    Status::Suspended
                } else {
                    Status::Active
                },
            }
        }
    })
}

/// The registered application roles, as (role name, token required), read at the latest
/// snapshot without SPI (see [`find_latest`]).
pub(crate) fn app_roles_at_latest() -> Vec<(String, bool)> {
    crate::catalog::version::check();
    let Some(table) = objects::relation_oid("stash", c"app_role_registry") else {
        return Vec::new(); // 0.1.0's schema: no application roles yet
    };
    let (Some(name), Some(token)) = (
        objects::attnum(table, c"role_name"),
        objects::attnum(table, c"token_required"),
    ) else {
        return Vec::new();
    };
    let mut roles = Vec::new();
    index::rows_at_latest(table, |tuple, desc| {
        // SAFETY: `tuple` is a row of stash.app_role_registry and `desc` its descriptor,
        // valid during this call; both columns are NOT NULL (a name, a boolean), and the
        // name is copied out before the row goes away.
        unsafe {
            let role = index::column(tuple, desc, name).or_raise("role_name is NOT NULL");
            let required = index::column(tuple, desc, token).or_raise("token_required is NOT NULL");
            roles.push((index::name_text(role), required.value() != 0));
        }
    });
    roles
}

/// Reads every tenant, or None when there are more than `limit`.
pub(crate) fn all(limit: usize) -> Option<Vec<Tenant>> {
    let sql = format!("SELECT {COLUMNS} FROM {FROM} LIMIT $1");
    let rows = executor::select(&sql, &[(limit as i64 + 1).into()], |t| {
        t.map(|r| tenant(&r)).collect::<SpiResult<Vec<_>>>()
    });
    (rows.len() <= limit).then_some(rows)
}

/// Reads and row-locks one tenant for a state change.  The row lock is the per-tenant
/// lock: suspend, resume, drop and migrations of one tenant queue behind each other,
/// while tenant_enter (a plain read) never waits for any of them.
pub(crate) fn lock(key: &Key) -> Option<Tenant> {
    let (predicate, arg) = key.predicate_and_arg();
    let sql = format!("SELECT {COLUMNS} FROM {FROM} WHERE {predicate} FOR UPDATE OF t");
    executor::update(&sql, &[arg], row)
}
