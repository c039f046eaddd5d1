//! The tenant context: `tenant_enter`, `tenant_exit`, `current_tenant`, `current_tenant_id`.
//!
//! Entering a tenant is a SET LOCAL of search_path and the context in backend memory
//! (state/entered.rs, with the lifetime of a SET LOCAL), so the context dies with the
//! transaction — the property that makes it safe behind PgBouncer in transaction mode,
//! where the next transaction on this server connection may belong to another client.
//!
//! These functions deliberately have no `SET search_path` clause: a function-level SET
//! clause would confine our SET LOCAL of search_path to the function call itself.  Every
//! query they run is therefore fully schema-qualified, operators included.
//!
//! The registry lookup is cached per backend (cache.rs).
use crate::access::isolation::{self, Entrant};
use crate::catalog::invalidation;
use crate::catalog::registry::{Key, Status};
use crate::errors;
use crate::pg::backend;
use crate::pg::guc;
use crate::pg::objects;
use crate::slug::Slug;
use crate::state::cache;
use crate::state::entered;
use pgrx::prelude::*;
use pgrx::PgSqlErrorCode as Code;

fn require_transaction_block(function: &str) {
    if !backend::in_transaction_block() {
        errors::raise(
            Code::ERRCODE_NO_ACTIVE_SQL_TRANSACTION,
            format!("{function} can only be used in a transaction block"),
            "The tenant context lasts until the end of the current transaction: call it after BEGIN, \
             then run the tenant's queries, then COMMIT.",
        );
    }
}

/// How a caller asks to enter: by name (slug or id), or with a verified token.  An
/// application role marked with stash.app_role_require_token may only use the token door.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Door {
    Name,
    Token,
}

/// Everything tenant_enter checks before it looks at which tenant is asked for: a role
/// that may not enter (or not by this door) learns nothing about which tenants exist,
/// nor whether its token was any good.
pub(crate) fn admit(function: &str, door: Door) -> Entrant {
    require_transaction_block(function);
    // Cache hits never reach the registry (where the check usually happens).
    crate::catalog::version::check();
    invalidation::accept_invalidations();
    let entrant = isolation::entrant();
    if door == Door::Name && entrant == (Entrant::Application { token_only: true }) {
        errors::raise(
            Code::ERRCODE_INSUFFICIENT_PRIVILEGE,
            format!("permission denied to enter tenants by name: {function} is closed to this application role"),
            "An administrator required this role to enter tenants only with a signed token: call stash.tenant_enter_token(token).",
        );
    }
    entrant
}

fn enter(key: Key) {
    let entrant = admit("stash.tenant_enter()", Door::Name);
    enter_admitted(entrant, key);
}

/// The tenant for `key`, its schema locked in share mode to the end of the transaction
/// (objects::lock_schema): a rename, reset, restore or drop of the tenant waits for us,
/// and if one ran while we waited for the lock, the tenant is looked up again.
fn lookup_and_lock(key: &Key) -> std::rc::Rc<cache::Entry> {
    loop {
        let generation = invalidation::generation();
        let tenant = cache::lookup(key).unwrap_or_else(|| errors::unknown_tenant(&key.describe()));
        let Some(schema) = tenant.schema_oid() else {
            return tenant; // a missing schema: entering fails at the first query, as before
        };
        objects::lock_schema(schema, pg_sys::AccessShareLock);
        if invalidation::generation() == generation {
            return tenant;
        }
        // The registry changed while we waited (or at all): look again, under the lock.
    }
}

thread_local! {
    /// search_path as it was before the first tenant_enter of the transaction, for
    /// tenant_exit.  Read only while a tenant is entered (`stash.tenant` set), which a
    /// COMMIT, ROLLBACK or ROLLBACK TO SAVEPOINT undoes with the path itself: a stale value
    /// is never read, and the next first enter replaces it.  Kept here rather than in a
    /// SET LOCAL setting, which cost every tenant transaction a GUC write (bench/findings.md).
    static OUTER_SEARCH_PATH: std::cell::RefCell<Option<std::ffi::CString>> =
        const { std::cell::RefCell::new(None) };
}

/// Enters the tenant named by `key` for an already admitted caller.
pub(crate) fn enter_admitted(entrant: Entrant, key: Key) {
    // Before the tenant's own catalog entries are loaded: what is released is the other
    // tenants' entries, and this tenant's working set is built afresh.
    crate::state::memory::enforce_limit();
    let tenant = lookup_and_lock(&key);
    if tenant.status == Status::Suspended {
        errors::tenant_suspended(tenant.slug());
    }
    crate::state::memory::note_entered(&tenant.entered_in);
    if matches!(entrant, Entrant::Application { .. }) {
        let role = tenant.role().unwrap_or_else(|| {
            errors::raise(
                Code::ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE,
                format!("the role of tenant \"{}\" does not exist", tenant.slug()),
                "An administrator recreates tenant roles with SELECT * FROM stash.tenant_roles_repair(); (e.g. after a restore into another cluster).",
            )
        });
        if isolation::is_switched_to(role)
            && entered::current().is_some_and(|t| t.slug() == tenant.slug())
        {
            return; // already inside this tenant
        }
        isolation::switch_to(role, tenant.slug());
    }
    if !entered::in_tenant() {
        OUTER_SEARCH_PATH.replace(Some(guc::search_path()));
    }
    tenant.with_search_path(|path| guc::set_local_cstr(c"search_path", path));
    entered::set(Some(tenant));
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
    if !entered::in_tenant() {
        return;
    }
    isolation::switch_back();
    let outer = OUTER_SEARCH_PATH.take().unwrap_or_default();
    guc::set_local_cstr(c"search_path", &outer);
    entered::set(None);
}

/// Slug of the tenant entered in this transaction, or NULL.
#[pg_extern(stable, parallel_safe)]
fn current_tenant() -> Option<String> {
    entered::slug()
}

/// Id of the tenant entered in this transaction, or NULL.  Cheap enough for RLS policies:
/// it reads the context in backend memory (in a parallel worker, the setting its leader
/// wrote), without touching any table.
#[pg_extern(stable, parallel_safe)]
fn current_tenant_id() -> Option<pgrx::Uuid> {
    entered::id()
}
