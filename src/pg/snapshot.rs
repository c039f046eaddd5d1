//! Reading at the latest snapshot instead of the statement's.
use pgrx::pg_sys;

/// Reads the registry with the latest snapshot, not the statement's: it sees every change
/// whose invalidation we have just consumed, so what we cache is never older than the
/// cache's promise.
pub(crate) fn with_latest_snapshot<R>(read: impl FnOnce() -> R) -> R {
    /// Pops the snapshot pushed below, also when the read raises.  On an error SPI may
    /// have left its own snapshots above ours; those belong to the abort that is coming,
    /// which clears the whole stack, so only ours is popped, and only if it is on top.
    struct Pop(*mut pg_sys::SnapshotData);
    impl Drop for Pop {
        fn drop(&mut self) {
            unsafe {
                if pg_sys::ActiveSnapshotSet() && pg_sys::GetActiveSnapshot() == self.0 {
                    pg_sys::PopActiveSnapshot();
                }
            }
        }
    }
    let _pop = unsafe {
        pg_sys::PushActiveSnapshot(pg_sys::GetLatestSnapshot());
        Pop(pg_sys::GetActiveSnapshot())
    };
    read()
}
