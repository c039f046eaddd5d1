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

/// What stash_tenancy's own code was doing when a call it makes failed without a
/// PostgreSQL error: `result.or_raise("read the registry")`.  PostgreSQL errors raised
/// inside SPI never arrive here — they propagate with their own SQLSTATE, DETAIL and HINT.
/// What does: SPI refusing a kind of statement (transaction control, COPY with the
/// client), which a user's migration SQL can contain, and broken invariants of our own
/// (a NOT NULL column read as NULL), which are bugs and say so.  Nothing in the extension
/// panics instead: a user sees a SQLSTATE and a hint.
pub(crate) trait OrRaise<T>: Sized {
    fn or_raise(self, doing: &str) -> T;
    /// [`or_raise`](OrRaise::or_raise) with the text built only on failure.
    fn or_raise_with(self, doing: impl FnOnce() -> String) -> T;
}

impl<T> OrRaise<T> for Result<T, pgrx::spi::SpiError> {
    fn or_raise(self, doing: &str) -> T {
        self.unwrap_or_else(|e| spi_failed(doing, e))
    }
    fn or_raise_with(self, doing: impl FnOnce() -> String) -> T {
        self.unwrap_or_else(|e| spi_failed(&doing(), e))
    }
}

impl<T> OrRaise<T> for Option<T> {
    fn or_raise(self, doing: &str) -> T {
        self.unwrap_or_else(|| bug(format!("{doing}: no value where one always is")))
    }
    fn or_raise_with(self, doing: impl FnOnce() -> String) -> T {
        self.unwrap_or_else(|| bug(format!("{}: no value where one always is", doing())))
    }
}

impl<T> OrRaise<T> for Result<T, std::ffi::NulError> {
    fn or_raise(self, doing: &str) -> T {
        self.unwrap_or_else(|_| {
            raise(
                Code::ERRCODE_CHARACTER_NOT_IN_REPERTOIRE,
                format!("{doing}: the text contains a NUL byte"),
                "Remove the NUL byte: PostgreSQL names and settings cannot contain one.",
            )
        })
    }
    fn or_raise_with(self, doing: impl FnOnce() -> String) -> T {
        match self {
            Ok(v) => v,
            Err(e) => Err::<T, _>(e).or_raise(&doing()),
        }
    }
}

fn spi_failed(doing: &str, e: pgrx::spi::SpiError) -> ! {
    use pgrx::spi::{SpiError, SpiErrorCodes};
    match e {
        SpiError::SpiError(SpiErrorCodes::Transaction) => raise(
            Code::ERRCODE_INVALID_TRANSACTION_TERMINATION,
            format!("{doing}: transaction control is not allowed here"),
            "stash_tenancy runs this SQL inside its own transaction (one per tenant for migrate_all): remove BEGIN, COMMIT, ROLLBACK and SAVEPOINT from it.",
        ),
        SpiError::SpiError(SpiErrorCodes::Copy) => raise(
            Code::ERRCODE_FEATURE_NOT_SUPPORTED,
            format!("{doing}: COPY to or from the client is not allowed here"),
            "Use INSERT ... VALUES (pg_dump --inserts writes data that way), or COPY from a file on the server.",
        ),
        other => bug(format!("{doing}: {other}")),
    }
}

/// XX000 for a broken invariant of stash_tenancy's own: the one error class that means a
/// bug, said as such.
pub(crate) fn bug(message: String) -> ! {
    raise(
        Code::ERRCODE_INTERNAL_ERROR,
        format!("stash_tenancy internal error: {message}"),
        "This is a bug in stash_tenancy, not in your data: please report it with this message.",
    )
}

/// An error whose DETAIL carries the list or text that explains it (the objects that
/// depend on a schema, the differences of a drifted one).
pub(crate) fn raise_detailed(code: Code, message: String, detail: String, hint: &str) -> ! {
    ErrorReport::new(code, message, "stash_tenancy")
        .set_detail(detail)
        .set_hint(hint)
        .report(PgLogLevel::ERROR);
    unreachable!("ERROR does not return")
}

/// A WARNING with DETAIL and HINT: the statement goes on.
pub(crate) fn warn_detailed(message: String, detail: String, hint: &str) {
    ErrorReport::new(Code::ERRCODE_WARNING, message, "stash_tenancy")
        .set_detail(detail)
        .set_hint(hint)
        .report(PgLogLevel::WARNING);
}

/// 3F000: a registered tenant's schema is gone (dropped by hand, or a registry restored
/// without its schemas).  The one message for it, wherever it is found.
pub(crate) fn tenant_schema_missing(slug: &str, schema: &str) -> ! {
    raise(
        Code::ERRCODE_INVALID_SCHEMA_NAME,
        format!("schema \"{schema}\" of tenant \"{slug}\" does not exist"),
        "Restore the tenant's schema from a backup (docs/operations.md), or drop the tenant with stash.tenant_drop() and create it again.",
    )
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

// SAFETY: errcontext_msg's declaration in utils/elog.h (`int errcontext_msg(const char
// *fmt, ...)`), the same in PostgreSQL 15 to 18.
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
        // SAFETY: callers run inside a transaction (SQL functions), so TopTransactionContext
        // exists: palloc0_struct gives a zeroed, aligned ErrorContextCallback there and
        // pstrdup a NUL-terminated copy of `line`, both alive until the transaction ends.
        // error_context_stack is a global of the backend's only thread; the record is
        // pushed as PostgreSQL's own callers push theirs, its `previous` being the old top,
        // and `context_line` has the callback's signature.  That the record is off the
        // stack before its memory goes relies on whoever catches an error raised under it
        // restoring error_context_stack, as PostgreSQL's error recovery and PG_CATCH do,
        // and as pg::subxact::run does when it catches one.
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
            // SAFETY: `self.record` is the live record `push` made in this transaction
            // (TopTransactionContext).  Not unwinding, every record pushed after it has
            // been popped again (Contexts drop in reverse order, PostgreSQL's callers pop
            // theirs before returning), so it is the top and restoring its `previous`
            // pops it.
            unsafe { pg_sys::error_context_stack = (*self.record).previous };
        }
    }
}

/// # Safety
/// Called only by PostgreSQL's error reporting, as the callback of a record that
/// [`Context::push`] put on `error_context_stack`: `arg` is that record's NUL-terminated
/// text, in TopTransactionContext.
unsafe extern "C-unwind" fn context_line(arg: *mut c_void) {
    // SAFETY: PostgreSQL calls context callbacks while it reports an error, so there is an
    // error for errcontext_msg to add a line to; the format is the NUL-terminated literal
    // "%s" and its one argument `arg`, a NUL-terminated string (this function's contract).
    unsafe { errcontext_msg(c"%s".as_ptr(), arg as *const c_char) };
}
