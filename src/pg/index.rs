//! Rows of the extension's own tables read with the latest snapshot and without SPI — one
//! by a unique index (the registry lookup of tenant_enter's cache misses), or all of a
//! small table (the application roles).  Through SPI, a fresh connection's
//! first lookup prepared and planned a query (about half of its first tenant_enter);
//! an index scan is what PostgreSQL's own catalog caches do on a miss.
use pgrx::pg_sys;

/// What a scan looks for: the rows whose column `column` (a heap attribute number:
/// systable_beginscan maps it to the index's), the first of index `index`, equals `key`
/// (compared by `eq`, the column type's equality function, under the index's collation).
pub(crate) struct Equal {
    pub index: pg_sys::Oid,
    pub column: i16,
    pub eq: u32,
    pub key: pg_sys::Datum,
}

/// Calls `each` with the rows of `table` that `equal` selects through its index (every
/// row, by a sequential scan, when None), read with the latest snapshot, and the table's
/// descriptor, until `each` returns false.
fn scan_at_latest(
    table: pg_sys::Oid,
    equal: Option<Equal>,
    mut each: impl FnMut(*mut pg_sys::HeapTupleData, pg_sys::TupleDesc) -> bool,
) {
    // SAFETY: the table (and the index, to read its first column's collation from its
    // open relcache entry: rd_indcollation has one entry per key column) are opened and
    // closed here with AccessShareLock, as any reader does.  The scan key compares that
    // column with `key`, a Datum of the column's type that the caller keeps alive for the
    // call, by `eq`; without one, systable_beginscan scans the heap.  The latest snapshot
    // is registered for the scan's duration and unregistered after it.  Each tuple
    // systable_getnext returns stays valid until the next call, after `each` has copied
    // what it needs.  If `each` or the scan raises, the transaction's abort releases the
    // locks, the scan and the snapshot (resource owner).
    unsafe {
        let lock = pg_sys::AccessShareLock as pg_sys::LOCKMODE;
        let rel = pg_sys::table_open(table, lock);
        let mut scankey = std::mem::MaybeUninit::<pg_sys::ScanKeyData>::uninit();
        let (index, nkeys) = match &equal {
            Some(e) => {
                let idx = pg_sys::index_open(e.index, lock);
                let collation = *(*idx).rd_indcollation;
                pg_sys::index_close(idx, lock);
                pg_sys::ScanKeyEntryInitialize(
                    scankey.as_mut_ptr(),
                    0,
                    e.column,
                    pg_sys::BTEqualStrategyNumber as pg_sys::StrategyNumber,
                    pg_sys::InvalidOid,
                    collation,
                    pg_sys::RegProcedure::from(e.eq),
                    e.key,
                );
                (e.index, 1)
            }
            None => (pg_sys::InvalidOid, 0),
        };
        let snapshot = pg_sys::RegisterSnapshot(pg_sys::GetLatestSnapshot());
        let keys = if nkeys == 0 {
            std::ptr::null_mut()
        } else {
            scankey.as_mut_ptr()
        };
        let scan = pg_sys::systable_beginscan(rel, index, nkeys > 0, snapshot, nkeys, keys);
        loop {
            let tuple = pg_sys::systable_getnext(scan);
            if tuple.is_null() || !each(tuple, (*rel).rd_att) {
                break;
            }
        }
        pg_sys::systable_endscan(scan);
        pg_sys::UnregisterSnapshot(snapshot);
        pg_sys::table_close(rel, lock);
    }
}

/// The row of `table` that `equal` selects through a unique index, read with the latest
/// snapshot: `read` gets the row and the table's descriptor while the row is valid.
/// None when there is no such row.
pub(crate) fn unique_row_at_latest<R>(
    table: pg_sys::Oid,
    equal: Equal,
    read: impl FnOnce(*mut pg_sys::HeapTupleData, pg_sys::TupleDesc) -> R,
) -> Option<R> {
    let mut read = Some(read);
    let mut result = None;
    scan_at_latest(table, Some(equal), |tuple, desc| {
        result = read.take().map(|read| read(tuple, desc));
        false
    });
    result
}

/// Calls `each` with every row of `table` (a small one: a sequential scan), read with the
/// latest snapshot, and the table's descriptor.
pub(crate) fn rows_at_latest(
    table: pg_sys::Oid,
    mut each: impl FnMut(*mut pg_sys::HeapTupleData, pg_sys::TupleDesc),
) {
    scan_at_latest(table, None, |tuple, desc| {
        each(tuple, desc);
        true
    });
}

/// A `name` Datum (NAMEDATALEN bytes, NUL-terminated) as a String.
///
/// # Safety
/// `datum` must point to a `name` value that stays valid during the call.
pub(crate) unsafe fn name_text(datum: pg_sys::Datum) -> String {
    // SAFETY: the caller passes a pointer to a NameData, whose bytes are NUL-terminated
    // within NAMEDATALEN; the text is copied out.
    unsafe { std::ffi::CStr::from_ptr(datum.cast_mut_ptr::<std::ffi::c_char>()) }
        .to_string_lossy()
        .into_owned()
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
