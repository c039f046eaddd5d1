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
//! thousands of child contexts is a walk, so tenant_enter walks only every so many
//! calls, and schedules the next walk from what it measured: the room left below the
//! limit divided by (twice) the growth per call seen since the previous walk (at least
//! [`MIN_GROWTH`]).  Far below the limit a walk comes every [`MAX_INTERVAL`] calls; near
//! it, every call or two — so the caches overshoot the limit by about one tenant's
//! working set, not more.  (An earlier version walked only when CacheMemoryContext's own
//! blocks grew by 1 MB; after a release those blocks are refilled before they grow, while
//! the relcache's child contexts grow unseen: 129 MB under a 64 MB limit at 10,000
//! tenants.  Growth is measured as allocated bytes, what the backend holds from malloc.)
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
    /// Calls since the last walk, and the total it measured (after any release).
    static CALLS: Cell<i64> = const { Cell::new(0) };
    static MEASURED: Cell<i64> = const { Cell::new(0) };
    static RESETS: Cell<i64> = const { Cell::new(0) };
    /// What a release left: the caches' blocks that stayed allocated (a release frees
    /// entries; the context keeps its blocks for the next ones).
    static FLOOR: Cell<i64> = const { Cell::new(0) };
    /// The limit the last walk compared against: a changed limit is checked at once.
    static MEASURED_FOR: Cell<i64> = const { Cell::new(-1) };
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
    let mut total = cache_context_total();
    let growth = ((total - MEASURED.get()) / CALLS.get().max(1)).max(MIN_GROWTH);
    // If a release left nearly the limit allocated (blocks kept by the context, which
    // fragmentation can keep growing), releasing again at the limit would release on
    // every call: the next release then waits for a quarter of the limit of new growth.
    let threshold = limit.max(FLOOR.get() + limit / 4);
    if total > threshold {
        unsafe { pg_sys::InvalidateSystemCaches() };
        RESETS.set(RESETS.get() + 1);
        total = cache_context_total();
        FLOOR.set(total);
    }
    MEASURED.set(total);
    CALLS.set(0);
    COUNTDOWN.set(((threshold - total) / (2 * growth)).clamp(1, MAX_INTERVAL));
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
