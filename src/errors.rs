//! Every error the extension raises: a real SQLSTATE, a message naming the object, and a
//! hint saying what to do next.  Callers match on SQLSTATEs, so these codes are contract.
use pgrx::pg_sys::panic::ErrorReport;
use pgrx::prelude::*;
use pgrx::PgSqlErrorCode as Code;

pub(crate) fn raise(code: Code, message: String, hint: &str) -> ! {
    ErrorReport::new(code, message, "stash_tenancy")
        .set_hint(hint)
        .report(PgLogLevel::ERROR);
    unreachable!("ERROR does not return")
}

/// 22004: a required argument was NULL.  Functions that take tenant names are not STRICT,
/// because a STRICT `tenant_enter(NULL)` would silently return NULL and leave the caller
/// in no tenant at all.
pub(crate) fn null_argument(what: &str, example: &str) -> ! {
    raise(
        Code::ERRCODE_NULL_VALUE_NOT_ALLOWED,
        format!("{what} must not be NULL"),
        &format!("Pass {example}."),
    )
}

/// 42704
pub(crate) fn unknown_tenant(which: &str) -> ! {
    raise(
        Code::ERRCODE_UNDEFINED_OBJECT,
        format!("tenant {which} does not exist"),
        "SELECT slug FROM stash.tenant_list lists the registered tenants; stash.tenant_create() registers one.",
    )
}

/// 55000
pub(crate) fn tenant_suspended(slug: &str) -> ! {
    raise(
        Code::ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE,
        format!("tenant \"{slug}\" is suspended"),
        "An administrator can reactivate it with SELECT stash.tenant_resume(slug).",
    )
}

/// 23505
pub(crate) fn tenant_exists(slug: &str) -> ! {
    raise(
        Code::ERRCODE_UNIQUE_VIOLATION,
        format!("tenant \"{slug}\" already exists"),
        "Choose another slug, or drop the existing tenant first with stash.tenant_drop(slug).",
    )
}
