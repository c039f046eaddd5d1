//! PostgreSQL's statement-timeout timer (utils/timeout.h, not in pgrx's bindings) and the
//! clock it counts in: what lets one migration step carry a statement_timeout of its own.
use pgrx::pg_sys;
use pgrx::pg_sys::TimestampTz;
use std::ffi::c_int;

/// STATEMENT_TIMEOUT is the fourth TimeoutId in PostgreSQL 15 through 18 (build.rs-free
/// check: tests/sql/migrate_all_controls.sql times a migration out on every version).
const STATEMENT_TIMEOUT: c_int = 3;

// SAFETY: these are utils/timeout.h's declarations, the same in PostgreSQL 15 to 18:
// TimeoutId is a C enum (an int), TimestampTz an int64, bool a C bool.  None of them
// raises an ERROR (a failed setitimer() is FATAL, which exits the process instead of
// unwinding), so they need no pgrx error boundary.
unsafe extern "C-unwind" {
    fn enable_timeout_at(id: c_int, fin_time: TimestampTz);
    fn disable_timeout(id: c_int, keep_indicator: bool);
    fn get_timeout_active(id: c_int) -> bool;
    fn get_timeout_finish_time(id: c_int) -> TimestampTz;
}

/// The current time, as PostgreSQL's timers count it (microseconds since 2000-01-01).
pub(crate) fn now() -> TimestampTz {
    // SAFETY: GetCurrentTimestamp takes no arguments and only reads the system clock.
    unsafe { pg_sys::GetCurrentTimestamp() }
}

/// When the statement timeout currently armed fires, if one is.
pub(crate) fn statement_timeout_finish() -> Option<TimestampTz> {
    // SAFETY: STATEMENT_TIMEOUT is a valid TimeoutId (below MAX_TIMEOUTS): both calls only
    // read that slot of timeout.c's static table, on the backend's only thread.
    unsafe {
        get_timeout_active(STATEMENT_TIMEOUT).then(|| get_timeout_finish_time(STATEMENT_TIMEOUT))
    }
}

/// Arms the statement timeout to fire at `at` (replacing any deadline it had).
pub(crate) fn arm_statement_timeout(at: TimestampTz) {
    // SAFETY: InitPostgres registers STATEMENT_TIMEOUT's handler in every backend that
    // runs SQL, which enable_timeout_at requires (it would call a NULL handler otherwise);
    // the arguments are plain values.
    unsafe { enable_timeout_at(STATEMENT_TIMEOUT, at) };
}

/// Disarms the statement timeout, clearing its indicator.
pub(crate) fn disarm_statement_timeout() {
    // SAFETY: STATEMENT_TIMEOUT is a valid, registered TimeoutId (see above); disabling a
    // timeout that is not active is allowed and does nothing.
    unsafe { disable_timeout(STATEMENT_TIMEOUT, false) };
}
