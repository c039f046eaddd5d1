//! Rows of the extension's own tables read with the latest snapshot and without SPI — one
//! by a unique index (the registry lookup of tenant_enter's cache misses), or all of a
//! small table (the application roles).  Through SPI, a fresh connection's
//! first lookup prepared and planned a query (about half of its first tenant_enter);
//! an index scan is what PostgreSQL's own catalog caches do on a miss.
use pgrx::pg_sys;

/// Reads the row of `table` whose column `column` (a heap attribute number: systable_
/// beginscan maps it to the index's), the first of unique index `index`, equals `key`
/// (compared by `eq`, the column type's equality function, under the index's collation),
/// with the latest snapshot: `read` gets the row and the table's descriptor while the row
/// is valid.  None when there is no such row.
pub(crate) fn unique_row_at_latest<R>(
    table: pg_sys::Oid,
    index: pg_sys::Oid,
    column: i16,
    eq: u32,
    key: pg_sys::Datum,
    read: impl FnOnce(*mut pg_sys::HeapTupleData, pg_sys::TupleDesc) -> R,
) -> Option<R> {
    // SAFETY: the table and the index are opened (and closed below) with AccessShareLock,
    // as any reader does; the index's first column's collation is read from its open
    // relcache entry (rd_indcollation has one entry per key column, and a unique index has
    // at least one).  The scan key compares that column with `key`, a Datum of the
    // column's type that the caller keeps alive for the call, by `eq`.  The latest
    // snapshot is registered for the scan's duration and unregistered after it.  The
    // tuple systable_getnext returns stays valid until systable_endscan, after `read`
    // has copied what it needs.  If `read` or the scan raises, the transaction's abort
    // releases the locks, the scan and the snapshot (resource owner).
    unsafe {
        let lock = pg_sys::AccessShareLock as pg_sys::LOCKMODE;
        let rel = pg_sys::table_open(table, lock);
        let idx = pg_sys::index_open(index, lock);
        let collation = *(*idx).rd_indcollation;
        pg_sys::index_close(idx, lock);
        let mut scankey = std::mem::MaybeUninit::<pg_sys::ScanKeyData>::uninit();
        pg_sys::ScanKeyEntryInitialize(
            scankey.as_mut_ptr(),
            0,
            column,
            pg_sys::BTEqualStrategyNumber as pg_sys::StrategyNumber,
            pg_sys::InvalidOid,
            collation,
            pg_sys::RegProcedure::from(eq),
            key,
        );
        let snapshot = pg_sys::RegisterSnapshot(pg_sys::GetLatestSnapshot());
        let scan = pg_sys::systable_beginscan(rel, index, true, snapshot, 1, scankey.as_mut_ptr());
        let tuple = pg_sys::systable_getnext(scan);
        let result = (!tuple.is_null()).then(|| read(tuple, (*rel).rd_att));
        pg_sys::systable_endscan(scan);
        pg_sys::UnregisterSnapshot(snapshot);
        pg_sys::table_close(rel, lock);
        result
    }
}

/// Calls `each` with every row of `table` (a small one: a sequential scan), read with the
/// latest snapshot, and the table's descriptor.
pub(crate) fn rows_at_latest(
    table: pg_sys::Oid,
    mut each: impl FnMut(*mut pg_sys::HeapTupleData, pg_sys::TupleDesc),
) {
    // SAFETY: as unique_row_at_latest, with no index (systable_beginscan then scans the
    // heap) and no key; each tuple is valid until the next systable_getnext, and `each`
    // copies what it needs before returning.
    unsafe {
        let lock = pg_sys::AccessShareLock as pg_sys::LOCKMODE;
        let rel = pg_sys::table_open(table, lock);
        let snapshot = pg_sys::RegisterSnapshot(pg_sys::GetLatestSnapshot());
        let scan = pg_sys::systable_beginscan(
            rel,
            pg_sys::InvalidOid,
            false,
            snapshot,
            0,
            std::ptr::null_mut(),
        );
        loop {
            let tuple = pg_sys::systable_getnext(scan);
            if tuple.is_null() {
                break;
            }
            each(tuple, (*rel).rd_att);
        }
        pg_sys::systable_endscan(scan);
        pg_sys::UnregisterSnapshot(snapshot);
        pg_sys::table_close(rel, lock);
    }
}

/// Column `attnum` (1-based) of `tuple`, None when NULL.
///
/// # Safety
/// `tuple` must be a valid heap tuple of a table whose descriptor is `desc`.
pub(crate) unsafe fn column(
    tuple: *mut pg_sys::HeapTupleData,
    desc: pg_sys::TupleDesc,
    attnum: i16,
) -> Option<pg_sys::Datum> {
    let mut isnull = false;
    // SAFETY: the caller passes a valid tuple and its table's descriptor; heap_getattr
    // range-checks attnum (a missing attribute reads as its default or NULL).
    let datum = unsafe { pg_sys::heap_getattr(tuple, attnum as i32, desc, &mut isnull) };
    (!isnull).then_some(datum)
}
