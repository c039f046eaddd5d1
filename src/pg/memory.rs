//! CacheMemoryContext, where PostgreSQL keeps this backend's relcache and catcache
//! entries: how much it holds, walked through the memory contexts' own methods.
use pgrx::pg_sys;

/// Whether CacheMemoryContext exists yet (it does once the backend's relcache is set up,
/// which happens before the session runs any SQL).
pub(crate) fn cache_context_exists() -> bool {
    // SAFETY: a by-value read of the pointer global itself, on the backend's only thread.
    !unsafe { pg_sys::CacheMemoryContext }.is_null()
}

/// What the backend holds for its catalog caches: CacheMemoryContext and its children,
/// allocated bytes (free space included).
pub(crate) fn cache_context_total() -> i64 {
    // SAFETY: CacheMemoryContext is created when the backend's relcache is initialized,
    // before any SQL runs, and is never deleted; MemoryContextMemAllocated only reads the
    // tree of contexts under it.
    unsafe { pg_sys::MemoryContextMemAllocated(pg_sys::CacheMemoryContext, true) as i64 }
}

/// CacheMemoryContext's own allocated bytes, without its children: one field.
pub(crate) fn cache_context_own() -> i64 {
    // SAFETY: CacheMemoryContext points to a live context for the rest of the backend's
    // life once the relcache is initialized (before any SQL runs); a plain field read.
    unsafe { (*pg_sys::CacheMemoryContext).mem_allocated as i64 }
}

/// The bytes in use in CacheMemoryContext and its children.
pub(crate) fn cache_context_used() -> i64 {
    /// Adds the counters of `context` and every context below it to `totals`.
    ///
    /// # Safety
    /// `context` points to a live memory context; nothing may create or delete contexts
    /// under it while this runs (the `stats` methods only read their blocks).
    unsafe fn add(context: pg_sys::MemoryContext, totals: &mut pg_sys::MemoryContextCounters) {
        // SAFETY: `context` is live (this function's contract), so is its `methods` table,
        // and its `stats` method, called without a print function, only adds its block
        // and free-chunk counts to `totals`; its children are the NULL-terminated list
        // mcxt.c keeps through `firstchild` and `nextchild`, each a live context.
        unsafe {
            if let Some(stats) = (*(*context).methods).stats {
                stats(context, None, std::ptr::null_mut(), totals, false);
            }
            let mut child = (*context).firstchild;
            while !child.is_null() {
                add(child, totals);
                child = (*child).nextchild;
            }
        }
    }
    let mut totals = pg_sys::MemoryContextCounters {
        nblocks: 0,
        freechunks: 0,
        totalspace: 0,
        freespace: 0,
    };
    // SAFETY: CacheMemoryContext is live once the relcache is initialized (before any SQL
    // runs), and nothing else runs on this thread during the walk.
    unsafe { add(pg_sys::CacheMemoryContext, &mut totals) };
    totals.totalspace as i64 - totals.freespace as i64
}
