//! This backend's own state, read from PostgreSQL's globals: its process id, the
//! transaction it is in (a transaction block or not, its isolation level), whether an
//! extension script is running — and its strong random source.
use pgrx::pg_sys;

/// The process id of this backend.
pub(crate) fn process_id() -> i32 {
    // SAFETY: MyProcPid is a plain int that PostgreSQL sets when the process starts and
    // never changes afterwards; it is read by value on the backend's only thread.
    unsafe { pg_sys::MyProcPid }
}

/// Whether the current statement runs inside a transaction block (BEGIN … COMMIT, or the
/// implicit block of a multi-statement query string), not a transaction of its own.
pub(crate) fn in_transaction_block() -> bool {
    // SAFETY: IsTransactionBlock only reads the block state of xact.c's current
    // transaction state, which exists (statically) for the whole life of the backend; it
    // takes no arguments and raises no error.
    unsafe { pg_sys::IsTransactionBlock() }
}

/// Whether each statement of the transaction reads with a snapshot of its own: READ
/// COMMITTED (and READ UNCOMMITTED, which PostgreSQL runs as READ COMMITTED), not
/// REPEATABLE READ or SERIALIZABLE, where a transaction keeps its first snapshot.
pub(crate) fn snapshot_per_statement() -> bool {
    // SAFETY: XactIsoLevel is a plain int global of xact.c (set at transaction start and
    // by SET TRANSACTION), read by value on the backend's only thread.
    let level = unsafe { pg_sys::XactIsoLevel };
    level < pg_sys::XACT_REPEATABLE_READ as i32
}

/// Whether CREATE EXTENSION or ALTER EXTENSION … UPDATE is running an extension script.
pub(crate) fn creating_extension() -> bool {
    // SAFETY: creating_extension is a plain bool global of commands/extension.c, set
    // while an extension script runs; read by value on the backend's only thread.
    unsafe { pg_sys::creating_extension }
}

/// Fills `bytes` from PostgreSQL's strong random source (the one it uses for SCRAM
/// salts and gen_random_uuid()); false if the source failed.
pub(crate) fn strong_random(bytes: &mut [u8]) -> bool {
    // SAFETY: pg_strong_random writes exactly `len` bytes at `buf`; both come from the
    // same exclusively borrowed slice, so the whole range is valid and writable.
    unsafe { pg_sys::pg_strong_random(bytes.as_mut_ptr().cast(), bytes.len()) }
}
