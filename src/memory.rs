//! Bounded catalog-cache memory per backend: `stash.cache_limit` and `stash.backend_stats()`.
//!
//! PostgreSQL never evicts relcache or catcache entries, and behind a transaction pooler
//! every server connection ends up serving every tenant: ~94 KB of cache per 8-table
//! tenant, ~1 GB at 10,000 tenants, per connection.  tenant_enter is the one place that
//! sees every tenant switch, so it checks the caches' size there and, past the limit,
//! releases them through PostgreSQL's own invalidate-everything path — the one it takes
//! itself when a backend falls behind on invalidation messages.  Entries in use (open
//! relations, running plans, open cursors) survive it; cached plans are re-planned on their
//! next use.
//!
//! What is measured is the bytes *in use* in CacheMemoryContext and its children (each
//! context's allocated space minus its free space, through the contexts' own `stats`
//! method — what `pg_backend_memory_contexts` shows).  A release frees the entries but
//! CacheMemoryContext keeps its blocks for the next ones (measured: 24.7 of 25.4 MB free
//! right after a release), so the allocated size stays at its high-water mark; watching
//! it, an earlier version saw "over the limit" after every release and let the mark creep
//! up (129 MB, then 117 MB under a 64 MB limit at 10,000 tenants).  Watching what is in
//! use, the high-water mark is the limit plus one tenant.
//!
//! The check must cost nothing on the hot path: measuring is a walk over thousands of
//! contexts, so tenant_enter measures only every so many calls, and schedules the next
//! walk from what it measured: the room left below the limit divided by (twice) the
//! growth per call seen since the previous walk (at least [`MIN_GROWTH`]).  Far below the
//! limit a walk comes every [`MAX_INTERVAL`] calls; near it, every call or two.
use crate::guc;
use pgrx::prelude::*;
use std::cell::Cell;

/// The least growth per tenant_enter assumed when scheduling the next walk: about one
/// 8-table tenant's catalog entries.  A smaller measured growth (the same tenants again
/// and again) would space the walks so far apart that a burst of new tenants overshoots.
const MIN_GROWTH: i64 = 64 * 1024;
/// Calls between two walks at most.
const MAX_INTERVAL: i64 = 1024;

thread_local! {
    /// Calls of tenant_enter left before the next walk.
    static COUNTDOWN: Cell<i64> = const { Cell::new(0) };
    /// Calls since the last walk, and the bytes in use it measured (after any release).
    static CALLS: Cell<i64> = const { Cell::new(0) };
    static MEASURED: Cell<i64> = const { Cell::new(0) };
    static RESETS: Cell<i64> = const { Cell::new(0) };
    /// What the last release left in use: entries that stayed (open relations, plans).
    static FLOOR: Cell<i64> = const { Cell::new(0) };
    /// The limit the last walk compared against: a changed limit is checked at once.
    static MEASURED_FOR: Cell<i64> = const { Cell::new(-1) };
}

/// What the backend holds for its catalog caches: CacheMemoryContext and its children,
/// allocated bytes (free space included).
fn cache_context_total() -> i64 {
    unsafe { pg_sys::MemoryContextMemAllocated(pg_sys::CacheMemoryContext, true) as i64 }
}

/// The bytes in use in CacheMemoryContext and its children.
fn cache_context_used() -> i64 {
    unsafe fn add(context: pg_sys::MemoryContext, totals: &mut pg_sys::MemoryContextCounters) {
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
    unsafe { add(pg_sys::CacheMemoryContext, &mut totals) };
    totals.totalspace as i64 - totals.freespace as i64
}

/// Called by tenant_enter before it enters: releases the catalog caches when what they
/// hold in use is past `stash.cache_limit`.
pub(crate) fn enforce_limit() {
    let limit = guc::cache_limit_bytes();
    if limit <= 0 || unsafe { pg_sys::CacheMemoryContext.is_null() } {
        return;
    }
    CALLS.set(CALLS.get() + 1);
    let countdown = COUNTDOWN.get() - 1;
    if countdown > 0 && MEASURED_FOR.get() == limit {
        COUNTDOWN.set(countdown);
        return;
    }
    if MEASURED_FOR.get() != limit {
        FLOOR.set(0); // what was left under another limit says nothing about this one
    }
    MEASURED_FOR.set(limit);
    let mut used = cache_context_used();
    let growth = ((used - MEASURED.get()) / CALLS.get().max(1)).max(MIN_GROWTH);
    // If a release left much in use (a huge working set, or a limit below what the
    // session needs), releasing again at the limit would release on every call: the next
    // release then waits for a quarter of the limit of new growth.
    let threshold = limit.max(FLOOR.get() + limit / 4);
    if used > threshold {
        unsafe { pg_sys::InvalidateSystemCaches() };
        RESETS.set(RESETS.get() + 1);
        used = cache_context_used();
        FLOOR.set(used);
    }
    MEASURED.set(used);
    CALLS.set(0);
    COUNTDOWN.set(((threshold - used) / (2 * growth)).clamp(1, MAX_INTERVAL));
}

/// This backend's catalog caches: their size now, how often tenant_enter released them,
/// and the limit in force.
#[pg_extern(volatile, parallel_restricted)]
fn backend_stats() -> TableIterator<
    'static,
    (
        name!(cache_bytes, i64),
        name!(cache_limit_bytes, i64),
        name!(cache_resets, i64),
    ),
> {
    TableIterator::once((
        cache_context_total(),
        guc::cache_limit_bytes(),
        RESETS.get(),
    ))
}
