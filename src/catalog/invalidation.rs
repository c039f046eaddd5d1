//! The registry's change signal.  Any write to `stash.tenants` or `stash.app_role_registry`
//! fires a statement trigger that queues a relcache invalidation of `stash.tenants`
//! (transactional: sent at commit, applied locally at command end and undone locally at
//! abort); the relcache callback — and the role syscache callback, since a cached tenant
//! carries its role's oid — then bump a per-backend generation, and every cache filled in
//! an older generation (state/cache.rs, the registry's owner below) is stale.
//!
//! The owner and relid of `stash.tenants` are kept here too: the privileged executor asks
//! for the owner on every statement, and the relcache callback needs the relid.
use crate::errors;
use crate::pg::objects;
use pgrx::prelude::*;
use std::cell::Cell;

thread_local! {
    /// The registry's owner and relid, and the generation they were read in.
    static IDENTITY: Cell<Option<(pg_sys::Oid, pg_sys::Oid, u64)>> = const { Cell::new(None) };
    /// Bumped by every invalidation that concerns the registry.
    static GENERATION: Cell<u64> = const { Cell::new(0) };
    /// The registry's relid, once known: the callback ignores other tables' invalidations
    /// (every tenant's DDL sends some) instead of dropping the caches for each tenant of
    /// a fleet migration.  Survives invalidations: a table's oid never changes.
    static REGISTRY_RELID: Cell<Option<pg_sys::Oid>> = const { Cell::new(None) };
}

pub(crate) fn init() {
    // SAFETY: _PG_init, which runs once per process on its only thread.  Both callbacks
    // have exactly the RelcacheCallbackFunction / SyscacheCallbackFunction signatures,
    // are #[pg_guard]ed and only bump a thread-local; the library is never unloaded, so
    // the registrations stay valid for the process (running out of callback slots is a
    // FATAL, not UB).
    unsafe {
        pg_sys::CacheRegisterRelcacheCallback(
            Some(on_relcache_invalidation),
            pg_sys::Datum::from(0),
        );
        pg_sys::CacheRegisterSyscacheCallback(
            pg_sys::SysCacheIdentifier::AUTHOID as _,
            Some(on_role_invalidation),
            pg_sys::Datum::from(0),
        );
    };
}

/// # Safety
/// Called only by PostgreSQL's syscache invalidation for pg_authid (registered in
/// [`init`]), on the backend's thread; it touches nothing but a thread-local.
#[pg_guard]
unsafe extern "C-unwind" fn on_role_invalidation(_arg: pg_sys::Datum, _cache: i32, _hash: u32) {
    GENERATION.set(GENERATION.get() + 1);
}

/// # Safety
/// Called only by PostgreSQL's relcache invalidation (registered in [`init`]), on the
/// backend's thread; it only compares the oid and touches thread-locals.
#[pg_guard]
unsafe extern "C-unwind" fn on_relcache_invalidation(_arg: pg_sys::Datum, relid: pg_sys::Oid) {
    // InvalidOid means "everything" (e.g. after an invalidation queue overflow).  Unknown
    // relid: nothing is cached yet, but a lookup may be racing this message.
    if relid == pg_sys::InvalidOid || REGISTRY_RELID.get().is_none_or(|r| r == relid) {
        GENERATION.set(GENERATION.get() + 1);
    }
}

/// Statement trigger on stash.tenants (and stash.app_role_registry): any change queues an
/// invalidation of stash.tenants, the one relation every backend's callback watches, which
/// empties every backend's caches once the change commits.
#[pg_trigger]
fn tenants_invalidate<'a>(
    _trigger: &'a pgrx::PgTrigger<'a>,
) -> Result<Option<PgHeapTuple<'a, AllocatedByRust>>, pgrx::PgTriggerError> {
    registry_owner(); // records the registry's relid
    if let Some(relid) = REGISTRY_RELID.get() {
        // SAFETY: a trigger runs inside the writing transaction, where this queues a
        // transactional invalidation; `relid` is a plain oid (an unknown one raises
        // "cache lookup failed" through pgrx's error boundary, nothing worse).
        unsafe { pg_sys::CacheInvalidateRelcacheByRelid(relid) };
    }
    Ok(None)
}

extension_sql!(
    r#"
CREATE TRIGGER tenants_invalidate
    AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON stash.tenants
    FOR EACH STATEMENT EXECUTE FUNCTION stash.tenants_invalidate();
-- Also under session_replication_role = replica (logical replication apply, pg_restore
-- --disable-triggers, hand-made fixes): a registry change that skipped it would leave
-- stale tenants in every backend's cache.
ALTER TABLE stash.tenants ENABLE ALWAYS TRIGGER tenants_invalidate;
REVOKE ALL ON FUNCTION stash.tenants_invalidate() FROM PUBLIC;
"#,
    name = "tenants_invalidate_trigger",
    requires = ["registry", tenants_invalidate]
);

/// The owner of `stash.tenants`, cached per backend.
pub(crate) fn registry_owner() -> pg_sys::Oid {
    let generation = GENERATION.get();
    if let Some((owner, _, seen)) = IDENTITY.get() {
        if seen == generation {
            return owner;
        }
    }
    let (owner, relid) = read_identity();
    REGISTRY_RELID.set(Some(relid));
    IDENTITY.set(Some((owner, relid, generation)));
    owner
}

fn read_identity() -> (pg_sys::Oid, pg_sys::Oid) {
    // From the syscache: a one-off SPI query for it was a sixth of a fresh connection's
    // first tenant_enter.
    let (relid, owner) = objects::relation_and_owner("stash", c"tenants").unwrap_or_else(|| {
        errors::raise(
            pgrx::PgSqlErrorCode::ERRCODE_UNDEFINED_TABLE,
            "relation \"stash.tenants\" does not exist".into(),
            "The extension's objects are incomplete: reinstall it (DROP EXTENSION stash_tenancy; CREATE EXTENSION stash_tenancy) or restore the schema stash.",
        )
    });
    (owner, relid)
}

/// PostgreSQL's invalidate-everything (`InvalidateSystemCaches`), for memory.rs's release
/// of the catalog caches.  A local reset changes no catalog, so the registry caches stay
/// valid: the one relcache and the one role callback the reset itself makes are not
/// counted.  Any further callback during it (it reads catalogs, and a lock taken there
/// may apply other sessions' invalidations) does count, so nothing committed is missed.
pub(crate) fn reset_catalog_caches() {
    /// What one InvalidateSystemCaches bumps: on_relcache_invalidation (InvalidOid) and
    /// on_role_invalidation, once each.
    const OWN_BUMPS: u64 = 2;
    let before = GENERATION.get();
    // SAFETY: called by tenant_enter inside a transaction (entries of open relations are
    // rebuilt in place, so it may read catalogs), before it holds any relcache or catcache
    // pointer of its own: what is released is only what nobody references.
    unsafe { pg_sys::InvalidateSystemCaches() };
    if GENERATION.get() == before + OWN_BUMPS {
        GENERATION.set(before);
    }
}

/// The current invalidation generation: a cache filled in it is valid while this stays.
pub(crate) fn generation() -> u64 {
    GENERATION.get()
}

/// Applies every invalidation other sessions have committed: after this, the caches
/// answer what the latest committed registry says.
pub(crate) fn accept_invalidations() {
    // SAFETY: no arguments; called inside a transaction at the start of tenant_enter,
    // holding no cache entry pointers that the invalidations could free — as PostgreSQL
    // does itself whenever it takes a lock.
    unsafe { pg_sys::AcceptInvalidationMessages() };
}
