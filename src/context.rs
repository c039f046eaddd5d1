//! The tenant context: `tenant_enter`, `tenant_exit`, `current_tenant`, `current_tenant_id`.
//!
//! Entering a tenant is three SET LOCALs (search_path and the two context GUCs in
//! guc.rs), so the context dies with the transaction — the property that makes it safe
//! behind PgBouncer in transaction mode, where the next transaction on this server
//! connection may belong to another client.
//!
//! These functions deliberately have no `SET search_path` clause: a function-level SET
//! clause would confine our SET LOCAL of search_path to the function call itself.  Every
//! query they run is therefore fully schema-qualified, operators included.
//!
//! The registry lookup is cached per backend.  Any write to `stash.tenants` fires a
//! statement trigger that queues a relcache invalidation of the table (transactional:
//! sent at commit, applied locally at command end and undone locally at abort); our
//! relcache callback then clears the cache.  tenant_enter first drains the invalidation
//! queue, so a suspend or drop committed by another session is seen by the very next
//! tenant_enter anywhere — on a hot standby too, where invalidations arrive through WAL.
use crate::errors;
use crate::guc;
use crate::registry::{self, Key, Tenant};
use crate::slug::Slug;
use pgrx::prelude::*;
use pgrx::PgSqlErrorCode as Code;
use std::cell::RefCell;
use std::collections::HashMap;
use std::ffi::{CStr, CString};
use std::rc::Rc;

/// Beyond this many entries the cache is simply emptied: a backend that has visited this
/// many tenants is rare, and refilling costs one indexed lookup per tenant.
const CACHE_LIMIT: usize = 100_000;

/// A registry row in the form tenant_enter consumes it: the values it SETs are built once
/// per backend and tenant, not on every call (formatting the uuid and quoting the schema
/// were a measurable part of a call; see BENCHMARKS.md).
struct Entry {
    slug: CString,
    id_text: CString,
    quoted_schema: String,
    suspended: bool,
    /// The tenant's search_path and the `stash.shared_schemas` value it was built from.
    path: RefCell<Option<(CString, CString)>>,
}

impl Entry {
    fn new(tenant: &Tenant) -> Entry {
        Entry {
            slug: CString::new(tenant.slug.as_str()).expect("slugs have no NUL"),
            id_text: CString::new(tenant.id.to_string()).expect("uuids have no NUL"),
            quoted_schema: pgrx::spi::quote_identifier(&tenant.schema),
            suspended: tenant.suspended,
            path: RefCell::new(None),
        }
    }

    fn slug(&self) -> &str {
        self.slug.to_str().expect("slugs are ASCII")
    }

    /// Calls `f` with the tenant's search_path under the current `stash.shared_schemas`.
    fn with_search_path<R>(&self, f: impl FnOnce(&CStr) -> R) -> R {
        let shared = guc::shared_schemas_cstr();
        let mut memo = self.path.borrow_mut();
        if memo
            .as_ref()
            .is_none_or(|(built_from, _)| built_from.as_c_str() != shared)
        {
            let path = guc::search_path(&self.quoted_schema, &shared.to_string_lossy());
            *memo = Some((
                shared.to_owned(),
                CString::new(path).expect("GUC values never contain NUL"),
            ));
        }
        f(&memo.as_ref().expect("just built").1)
    }
}

#[derive(Default)]
struct Cache {
    by_slug: HashMap<String, Rc<Entry>>,
    by_id: HashMap<[u8; 16], Rc<Entry>>,
    /// Bumped by every invalidation, so a lookup that raced one is not cached.
    generation: u64,
}

thread_local! {
    static CACHE: RefCell<Cache> = RefCell::new(Cache::default());
}

pub(crate) fn init() {
    unsafe {
        pg_sys::CacheRegisterRelcacheCallback(
            Some(on_relcache_invalidation),
            pg_sys::Datum::from(0),
        )
    };
}

#[pg_guard]
unsafe extern "C-unwind" fn on_relcache_invalidation(_arg: pg_sys::Datum, relid: pg_sys::Oid) {
    CACHE.with(|c| {
        let mut c = c.borrow_mut();
        // InvalidOid means "everything" (e.g. after an invalidation queue overflow).
        // The registry's relid is known whenever anything is cached (every lookup reads
        // the registry as its owner, which records it); unknown, nothing is cached yet,
        // but a lookup may be racing this message.
        if relid == pg_sys::InvalidOid || registry::known_relid().is_none_or(|r| r == relid) {
            c.by_slug.clear();
            c.by_id.clear();
            c.generation += 1;
            registry::forget_owner();
        }
    });
}

/// Statement trigger on stash.tenants: any change queues the invalidation that empties
/// every backend's cache once the change commits.
#[pg_trigger]
fn tenants_invalidate<'a>(
    trigger: &'a pgrx::PgTrigger<'a>,
) -> Result<Option<PgHeapTuple<'a, AllocatedByRust>>, pgrx::PgTriggerError> {
    let relid = trigger.relation()?.oid();
    unsafe { pg_sys::CacheInvalidateRelcacheByRelid(relid) };
    Ok(None)
}

extension_sql!(
    r#"
CREATE TRIGGER tenants_invalidate
    AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON stash.tenants
    FOR EACH STATEMENT EXECUTE FUNCTION stash.tenants_invalidate();
REVOKE ALL ON FUNCTION stash.tenants_invalidate() FROM PUBLIC;
"#,
    name = "tenants_invalidate_trigger",
    requires = ["registry", tenants_invalidate]
);

fn lookup(key: &Key) -> Option<Rc<Entry>> {
    unsafe { pg_sys::AcceptInvalidationMessages() };
    let hit = CACHE.with(|c| {
        let c = c.borrow();
        match key {
            Key::Slug(s) => c.by_slug.get(*s).cloned(),
            Key::Id(id) => c.by_id.get(id.as_bytes()).cloned(),
        }
    });
    if hit.is_some() {
        return hit;
    }
    let generation = CACHE.with(|c| c.borrow().generation);
    // The latest snapshot, not the statement's: it sees every change whose invalidation
    // we have just consumed, so what we cache is never older than the cache's promise.
    let found = unsafe {
        pg_sys::PushActiveSnapshot(pg_sys::GetLatestSnapshot());
        let found = registry::find(key);
        pg_sys::PopActiveSnapshot();
        found
    };
    let tenant = found?;
    let entry = Rc::new(Entry::new(&tenant));
    // Under REPEATABLE READ / SERIALIZABLE, SPI may read with the transaction's older
    // snapshot (once the transaction has written), so what it saw is not safe to keep.
    if unsafe { pg_sys::XactIsoLevel } >= pg_sys::XACT_REPEATABLE_READ as i32 {
        return Some(entry);
    }
    CACHE.with(|c| {
        let mut c = c.borrow_mut();
        if c.generation != generation {
            return; // an invalidation arrived meanwhile; do not cache what it may cover
        }
        if c.by_slug.len() >= CACHE_LIMIT {
            c.by_slug.clear();
            c.by_id.clear();
        }
        c.by_slug.insert(tenant.slug, entry.clone());
        c.by_id.insert(*tenant.id.as_bytes(), entry.clone());
    });
    Some(entry)
}

fn require_transaction_block(function: &str) {
    if unsafe { !pg_sys::IsTransactionBlock() } {
        errors::raise(
            Code::ERRCODE_NO_ACTIVE_SQL_TRANSACTION,
            format!("{function} can only be used in a transaction block"),
            "The tenant context lasts until the end of the current transaction: call it after BEGIN, \
             then run the tenant's queries, then COMMIT.",
        );
    }
}

fn enter(key: Key) {
    require_transaction_block("stash.tenant_enter()");
    let tenant = lookup(&key).unwrap_or_else(|| errors::unknown_tenant(&key.describe()));
    if tenant.suspended {
        errors::tenant_suspended(tenant.slug());
    }
    if !guc::in_tenant() {
        // Borrowed straight from the GUC: setting another GUC does not free it.
        let outer = unsafe { pg_sys::GetConfigOption(c"search_path".as_ptr(), false, false) };
        guc::set_local_cstr(guc::OUTER_SEARCH_PATH_NAME, unsafe {
            CStr::from_ptr(outer)
        });
    }
    tenant.with_search_path(|path| guc::set_local_cstr(c"search_path", path));
    guc::set_local_cstr(guc::TENANT_NAME, &tenant.slug);
    guc::set_local_cstr(guc::TENANT_ID_NAME, &tenant.id_text);
}

/// Enters the tenant for the rest of the current transaction: search_path becomes the
/// tenant's schema followed by `stash.shared_schemas`.
#[pg_extern(volatile, parallel_unsafe)]
fn tenant_enter(slug: Option<&str>) {
    let slug = Slug::from_arg(slug);
    enter(Key::Slug(slug.as_str()));
}

#[pg_extern(volatile, parallel_unsafe, name = "tenant_enter")]
fn tenant_enter_by_id(id: Option<pgrx::Uuid>) {
    let id = id
        .unwrap_or_else(|| errors::null_argument("tenant id", "the id of a row of stash.tenants"));
    enter(Key::Id(id));
}

/// Leaves the tenant entered in this transaction, restoring the search_path that was in
/// force before the first tenant_enter.  Does nothing when no tenant is entered.
#[pg_extern(volatile, parallel_unsafe)]
fn tenant_exit() {
    if !guc::in_tenant() {
        return;
    }
    guc::set_local(
        c"search_path",
        &guc::outer_search_path().unwrap_or_default(),
    );
    guc::set_local(guc::TENANT_NAME, "");
    guc::set_local(guc::TENANT_ID_NAME, "");
}

/// Slug of the tenant entered in this transaction, or NULL.
#[pg_extern(stable, parallel_safe)]
fn current_tenant() -> Option<String> {
    guc::tenant()
}

/// Id of the tenant entered in this transaction, or NULL.  Cheap enough for RLS policies:
/// it reads a GUC and parses it, without touching any table.
#[pg_extern(stable, parallel_safe)]
fn current_tenant_id() -> Option<pgrx::Uuid> {
    let text = guc::tenant_id()?;
    // Only tenant_enter (or a superuser's SET) writes the setting; a superuser can write
    // anything, so say clearly what is wrong rather than fail obscurely.
    let parsed = uuid::Uuid::parse_str(&text).unwrap_or_else(|_| {
        errors::raise(
            Code::ERRCODE_INVALID_TEXT_REPRESENTATION,
            format!("stash.tenant_id is set to \"{text}\", which is not a tenant id"),
            "Enter tenants with stash.tenant_enter(); do not SET stash.tenant_id by hand.",
        )
    });
    Some(pgrx::Uuid::from_bytes(*parsed.as_bytes()))
}
