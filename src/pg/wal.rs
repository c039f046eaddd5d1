//! The durability of this backend's own commits: a fleet migration commits each tenant
//! without waiting for the disk (`synchronous_commit = off` for that transaction), then
//! waits once, at the end, for everything it committed.
use pgrx::pg_sys;

/// Whether the session's commits wait for the WAL flush (synchronous_commit above off).
pub(crate) fn commits_synchronously() -> bool {
    // SAFETY: synchronous_commit is a plain int GUC variable of xact.c, read by value on
    // the backend's only thread.
    let level = unsafe { pg_sys::synchronous_commit };
    level > pg_sys::SyncCommitLevel::SYNCHRONOUS_COMMIT_OFF as i32
}

/// Makes every transaction this backend has committed as durable as a synchronous
/// commit would have: flushes the WAL up to the end of its last commit record, then waits
/// for the synchronous standbys as the session's synchronous_commit asks (PostgreSQL's
/// commit does the same two steps).  Nothing to do on a standby or before any commit.
pub(crate) fn flush_own_commits() {
    // SAFETY: RecoveryInProgress only reads shared memory state (it takes no locks that
    // could be held here) and raises no error.
    if unsafe { pg_sys::RecoveryInProgress() } {
        return;
    }
    // SAFETY: XactLastCommitEnd is a plain XLogRecPtr global of xact.c, set when this
    // backend writes a commit record; read by value on the backend's only thread.
    let lsn = unsafe { pg_sys::XactLastCommitEnd };
    if lsn == 0 {
        return;
    }
    // SAFETY: XLogFlush takes a position at or before the end of the WAL inserted so far
    // (this backend's own commit record's end is) and may raise an error like any WAL
    // write, which is a normal PostgreSQL error here; SyncRepWaitForLSN returns at once
    // unless synchronous replication is configured, and otherwise waits on its latch,
    // handling cancel and termination itself, as it does for every commit.  It must be
    // called with interrupts held, as the commit path calls it (PostgreSQL 18 asserts
    // it): HOLD_INTERRUPTS / RESUME_INTERRUPTS around it; an error inside resets the
    // count (errfinish).  Neither is called inside a critical section.
    unsafe {
        pg_sys::XLogFlush(lsn);
        pg_sys::InterruptHoldoffCount += 1;
        pg_sys::SyncRepWaitForLSN(lsn, true);
        pg_sys::InterruptHoldoffCount -= 1;
    }
}
