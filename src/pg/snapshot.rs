//! Reading at the latest snapshot instead of the statement's.
use crate::errors::OrRaise;
use pgrx::prelude::*;
use std::ffi::{c_char, CStr};

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
            // SAFETY: GetActiveSnapshot is called only once ActiveSnapshotSet() says
            // there is an active snapshot (it dereferences the stack's top); our pointer
            // is only compared with it, and PopActiveSnapshot pops that top, which is
            // then the copy pushed below.
            unsafe {
                if pg_sys::ActiveSnapshotSet() && pg_sys::GetActiveSnapshot() == self.0 {
                    pg_sys::PopActiveSnapshot();
                }
            }
        }
    }
    // SAFETY: the caller runs inside a transaction, where GetLatestSnapshot returns a
    // valid (static) snapshot that PushActiveSnapshot copies onto the active stack; the
    // guard records that copy, and pops it after the read (also when it raises).
    let _pop = unsafe {
        pg_sys::PushActiveSnapshot(pg_sys::GetLatestSnapshot());
        Pop(pg_sys::GetActiveSnapshot())
    };
    read()
}

/// Runs `sql` (one text column, one row; `$1` is a uuid or NULL) with the **latest**
/// snapshot instead of the transaction's, and returns the text (None for no row or a
/// NULL).  A one-off plan, prepared and freed here.
pub(crate) fn text_at_latest_snapshot(sql: &CStr, arg: Option<pgrx::Uuid>) -> Option<String> {
    Spi::connect(|_client| {
        // SAFETY: inside Spi::connect, so SPI is connected and a transaction is open.
        // `sql` is NUL-terminated and `types`, `values` and `nulls` are one-element arrays
        // that outlive the calls reading them, matching the one argument declared; the
        // uuid datum is palloc'd in SPI's memory context, alive until SPI disconnects.
        // GetLatestSnapshot's static snapshot is copied by SPI before use.  After
        // SPI_OK_SELECT, SPI_tuptable is the result of this very call: its `vals` holds
        // SPI_processed (≥ 1 when read) tuples of its `tupdesc`; SPI_getvalue returns NULL
        // or a palloc'd NUL-terminated string, copied before the plan is freed.  Errors
        // are raised through pgrx's error boundary.
        unsafe {
            let mut types = [pg_sys::UUIDOID];
            let plan = pg_sys::SPI_prepare(sql.as_ptr(), 1, types.as_mut_ptr());
            if plan.is_null() {
                let code = pg_sys::SPI_result;
                crate::errors::bug(format!("SPI_prepare failed ({code})"));
            }
            let mut values = [arg.into_datum().unwrap_or(pg_sys::Datum::from(0))];
            let mut nulls = [if arg.is_some() { b' ' } else { b'n' } as c_char];
            let rc = pg_sys::SPI_execute_snapshot(
                plan,
                values.as_mut_ptr(),
                nulls.as_mut_ptr(),
                pg_sys::GetLatestSnapshot(),
                std::ptr::null_mut(),
                true,
                false,
                1,
            );
            if rc != pg_sys::SPI_OK_SELECT as i32 {
                crate::errors::bug(format!("SPI_execute_snapshot returned {rc}"));
            }
            let table = pg_sys::SPI_tuptable;
            let text = if pg_sys::SPI_processed == 0 {
                None
            } else {
                let value = pg_sys::SPI_getvalue(*(*table).vals, (*table).tupdesc, 1);
                (!value.is_null()).then(|| CStr::from_ptr(value).to_string_lossy().into_owned())
            };
            pg_sys::SPI_freeplan(plan);
            Ok::<_, pgrx::spi::SpiError>(text)
        }
    })
    .or_raise("read at the latest snapshot")
}
