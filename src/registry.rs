//! The tenant registry (`stash.tenants`), the audit log (`stash.events`), and the one way
//! the extension reads and writes them: as the registry's owner.
//!
//! Why as the owner: granting EXECUTE on `stash.tenant_create` should be all it takes to
//! let a role create tenants, without also handing it write access to the registry (which
//! would let it forge rows).  So registry reads and writes switch to the owner of
//! `stash.tenants` for the duration of one statement, the way SECURITY DEFINER would, while
//! the DDL on tenant schemas runs as the caller, who must be allowed to do it.
use pgrx::datum::DatumWithOid;
use pgrx::prelude::*;
use pgrx::spi::{OwnedPreparedStatement, SpiClient, SpiResult, SpiTupleTable};
use pgrx::PgOid;
use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

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

CREATE TABLE stash.events (
    id        bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at        timestamptz NOT NULL DEFAULT clock_timestamp(),
    tenant_id uuid,
    slug      text,
    action    text        NOT NULL CHECK (action IN ('created', 'suspended', 'resumed', 'dropped',
                                                     'migrated', 'rolled_back', 'migration_failed')),
    detail    jsonb       NOT NULL DEFAULT '{}',
    actor     text        NOT NULL DEFAULT session_user
);
CREATE INDEX events_tenant_id_at_idx ON stash.events (tenant_id, at);
COMMENT ON TABLE stash.events IS 'Audit log of tenant lifecycle and migration events.';

-- pg_dump keeps the rows (and the event counter); tenant schemas are ordinary schemas
-- and are dumped as such.
SELECT pg_catalog.pg_extension_config_dump('stash.tenants', '');
SELECT pg_catalog.pg_extension_config_dump('stash.events', '');
SELECT pg_catalog.pg_extension_config_dump('stash.events_id_seq', '');

-- Everyone may call the context functions, so everyone needs USAGE on the schema;
-- the tables themselves stay private to the owner.
GRANT USAGE ON SCHEMA stash TO PUBLIC;
REVOKE ALL ON stash.tenants, stash.events FROM PUBLIC;
"#,
    name = "registry",
    bootstrap
);

/// Runs `f` with the owner of `stash.tenants` as the current user, restoring the caller
/// afterwards, also when `f` raises (the guard's Drop runs during unwinding; a
/// PostgreSQL-level abort restores it too).
pub(crate) fn as_owner<R>(f: impl FnOnce() -> R) -> R {
    struct Restore(pg_sys::Oid, i32);
    impl Drop for Restore {
        fn drop(&mut self) {
            unsafe { pg_sys::SetUserIdAndSecContext(self.0, self.1) };
        }
    }
    let owner = owner();
    let (mut uid, mut ctx) = (pg_sys::InvalidOid, 0i32);
    unsafe { pg_sys::GetUserIdAndSecContext(&mut uid, &mut ctx) };
    let _restore = Restore(uid, ctx);
    unsafe {
        pg_sys::SetUserIdAndSecContext(owner, ctx | pg_sys::SECURITY_LOCAL_USERID_CHANGE as i32)
    };
    f()
}

thread_local! {
    /// The registry's owner and relid, cached per backend; cleared by the relcache callback
    /// in context.rs whenever stash.tenants is invalidated (ALTER TABLE ... OWNER included).
    static IDENTITY: std::cell::Cell<Option<(pg_sys::Oid, pg_sys::Oid)>> =
        const { std::cell::Cell::new(None) };
}

pub(crate) fn forget_owner() {
    IDENTITY.with(|o| o.set(None));
}

/// The relid of stash.tenants if this backend has looked it up, so the relcache callback
/// can ignore invalidations of other tables (every tenant's DDL sends some) instead of
/// dropping the owner and looking it up again for each tenant of a fleet migration.
pub(crate) fn known_relid() -> Option<pg_sys::Oid> {
    IDENTITY.with(|o| o.get()).map(|(_, relid)| relid)
}

fn owner() -> pg_sys::Oid {
    if let Some((owner, _)) = IDENTITY.with(|o| o.get()) {
        return owner;
    }
    let identity = lookup_identity();
    IDENTITY.with(|o| o.set(Some(identity)));
    identity.0
}

fn lookup_identity() -> (pg_sys::Oid, pg_sys::Oid) {
    // pg_class is readable by everyone, so this lookup needs no privilege switch.  A
    // read-only SPI call: Spi::get_one would assign an xid, which a hot standby refuses.
    Spi::connect(|client| {
        let row = client
            .select(
                "SELECT relowner, oid FROM pg_catalog.pg_class \
                 WHERE oid OPERATOR(pg_catalog.=) 'stash.tenants'::pg_catalog.regclass",
                Some(1),
                &[],
            )?
            .first();
        Ok::<_, pgrx::spi::SpiError>((
            row.get::<pg_sys::Oid>(1)?
                .expect("stash.tenants has an owner"),
            row.get::<pg_sys::Oid>(2)?
                .expect("stash.tenants has an oid"),
        ))
    })
    .expect("look up the owner of stash.tenants")
}

thread_local! {
    /// Plans of the registry statements, prepared once per backend and kept (SPI_keepplan):
    /// the same few statements run for every tenant of a fleet migration, and parsing and
    /// planning them each time cost more than running them.  PostgreSQL's plan cache
    /// re-plans them by itself when the tables they use change.
    static PLANS: RefCell<HashMap<String, Rc<OwnedPreparedStatement>>> = RefCell::new(HashMap::new());
}

fn plan(
    client: &SpiClient,
    sql: &str,
    args: &[DatumWithOid],
    mutating: bool,
) -> SpiResult<Rc<OwnedPreparedStatement>> {
    if let Some(plan) = PLANS.with(|p| p.borrow().get(sql).cloned()) {
        return Ok(plan);
    }
    let oids: Vec<PgOid> = args.iter().map(|a| PgOid::from(a.oid())).collect();
    let prepared = if mutating {
        client.prepare_mut(sql, &oids)?
    } else {
        client.prepare(sql, &oids)?
    };
    let plan = Rc::new(prepared.keep());
    PLANS.with(|p| p.borrow_mut().insert(sql.to_string(), plan.clone()));
    Ok(plan)
}

/// One SQL statement against the registry, as its owner.  `sql` must be one of a fixed
/// set of statements (its plan is kept per backend); values go in `args`.
pub(crate) fn select<R>(
    sql: &str,
    args: &[DatumWithOid],
    f: impl FnOnce(SpiTupleTable) -> SpiResult<R>,
) -> R {
    as_owner(|| {
        Spi::connect(|client| {
            let plan = plan(client, sql, args, false)?;
            f(client.select(&*plan, None, args)?)
        })
    })
    .unwrap_or_else(|e| panic!("registry query failed: {e}"))
}

pub(crate) fn update<R>(
    sql: &str,
    args: &[DatumWithOid],
    f: impl FnOnce(SpiTupleTable) -> SpiResult<R>,
) -> R {
    as_owner(|| {
        Spi::connect_mut(|client| {
            let plan = plan(client, sql, args, true)?;
            f(client.update(&*plan, None, args)?)
        })
    })
    .unwrap_or_else(|e| panic!("registry update failed: {e}"))
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
    select(&sql, &[arg], row)
}

/// Reads and row-locks one tenant for a state change.  The row lock is the per-tenant
/// lock: suspend, resume, drop and migrations of one tenant queue behind each other,
/// while tenant_enter (a plain read) never waits for any of them.
pub(crate) fn lock(key: &Key) -> Option<Tenant> {
    let (predicate, arg) = key.predicate_and_arg();
    let sql = format!("SELECT {COLUMNS} FROM stash.tenants t WHERE {predicate} FOR UPDATE");
    update(&sql, &[arg], row)
}
