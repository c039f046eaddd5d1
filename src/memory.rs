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
//! The check must cost nothing on the hot path: summing CacheMemoryContext with its
//! thousands of child contexts is a walk, so it is done only when CacheMemoryContext
//! itself (an O(1) counter) has grown by a step since the last walk, or the limit changed.
//! After a release, CacheMemoryContext keeps its blocks and the caches refill the freed
//! space before it grows again: the backend's cache memory stays near its high-water
//! mark instead of growing with every tenant.  (A release does not shrink what the
//! context has allocated — its blocks stay — so the size right after a release says
//! nothing about whether it worked; an earlier version backed off after such "failed"
//! releases and let a backend grow to 209 MB under a 64 MB limit at 10,000 tenants.)
use crate::guc;
use pgrx::prelude::*;
use std::cell::Cell;

/// The growth of CacheMemoryContext's own blocks between two full measurements.
const STEP: i64 = 1 << 20;

thread_local! {
    /// CacheMemoryContext's own allocation when the caches were last measured.
    static MEASURED_AT: Cell<i64> = const { Cell::new(0) };
    static RESETS: Cell<i64> = const { Cell::new(0) };
    /// The limit the last measurement compared against: a changed limit is checked at once.
    static MEASURED_FOR: Cell<i64> = const { Cell::new(-1) };
}

fn cache_context_own() -> i64 {
    unsafe { (*pg_sys::CacheMemoryContext).mem_allocated as i64 }
}

fn cache_context_total() -> i64 {
    unsafe { pg_sys::MemoryContextMemAllocated(pg_sys::CacheMemoryContext, true) as i64 }
}

/// Called by tenant_enter before it enters: releases the catalog caches when they are
/// past `stash.cache_limit`.
pub(crate) fn enforce_limit() {
    let limit = guc::cache_limit_bytes();
    if limit <= 0 || unsafe { pg_sys::CacheMemoryContext.is_null() } {
        return;
    }
    let own = cache_context_own();
    if own < MEASURED_AT.get() + STEP && MEASURED_FOR.get() == limit {
        return;
    }
    MEASURED_FOR.set(limit);
    if cache_context_total() > limit {
        unsafe { pg_sys::InvalidateSystemCaches() };
        RESETS.set(RESETS.get() + 1);
    }
    MEASURED_AT.set(cache_context_own());
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
