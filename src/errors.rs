//! Every error the extension raises: a real SQLSTATE, a message naming the object, and a
//! hint saying what to do next.  Callers match on SQLSTATEs, so these codes are contract.
use pgrx::pg_sys::panic::ErrorReport;
use pgrx::prelude::*;
use pgrx::PgMemoryContexts;
use pgrx::PgSqlErrorCode as Code;
use std::ffi::{c_char, c_int, c_void};

/// Errors a user can trigger carry a SQLSTATE and a message, never a Rust backtrace: pgrx
/// appends one to DETAIL whenever `std::backtrace` is enabled, which RUST_BACKTRACE in the
/// server's environment does.  RUST_LIB_BACKTRACE takes precedence for library captures
/// (and leaves a crash's own report alone); an operator who sets it explicitly keeps it.
pub(crate) fn init() {
    if std::env::var_os("RUST_LIB_BACKTRACE").is_none() {
        std::env::set_var("RUST_LIB_BACKTRACE", "0");
    }
}

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

unsafe extern "C-unwind" {
    // utils/elog.h: what the errcontext() macro calls; not in pgrx's bindings.
    fn errcontext_msg(fmt: *const c_char, ...) -> c_int;
}

/// A line for the CONTEXT of any error raised while it is alive, the way PostgreSQL's own
/// error context callbacks name the object being worked on: the error itself (SQLSTATE,
/// message, DETAIL, HINT) stays exactly as raised.
///
/// Both the callback record and its text live in TopTransactionContext, not on the Rust
/// stack: when an error unwinds through here, pgrx re-raises it at the function's
/// boundary, after this frame is gone, and PostgreSQL collects the context lines only
/// then.  So on an error the record is deliberately left on `error_context_stack`; the
/// code that catches the error resets that stack, as it does for PostgreSQL's own
/// callbacks.  On success it is popped.
pub(crate) struct Context {
    record: *mut pg_sys::ErrorContextCallback,
}

impl Context {
    pub(crate) fn push(line: &str) -> Context {
        unsafe {
            let mut memory = PgMemoryContexts::TopTransactionContext;
            let text = memory.pstrdup(line);
            let record = memory.palloc0_struct::<pg_sys::ErrorContextCallback>();
            (*record).previous = pg_sys::error_context_stack;
            (*record).callback = Some(context_line);
            (*record).arg = text as *mut c_void;
            pg_sys::error_context_stack = record;
            Context { record }
        }
    }
}

impl Drop for Context {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            unsafe { pg_sys::error_context_stack = (*self.record).previous };
        }
    }
}

unsafe extern "C-unwind" fn context_line(arg: *mut c_void) {
    unsafe { errcontext_msg(c"%s".as_ptr(), arg as *const c_char) };
}
