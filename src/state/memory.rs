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
//! CacheMemoryContext keeps its blocks for the next ones, so the allocated size stays at
//! its high-water mark and would read "over the limit" after every release, letting the
//! mark creep up (bench/findings.md, "why `stash.cache_limit` overshot").  Watching
//! what is in use, the high-water mark is the limit plus one tenant.
//!
//! The check must cost nothing on the hot path: measuring is a walk over every context
//! (milliseconds at thousands of tenants), so tenant_enter measures only now and then.
//! The caches grow when a tenant is entered for the first time since the last release
//! (its tables' entries are loaded); entering a tenant already cached adds next to
//! nothing.  So the next walk is due after as many *new* tenants as fill three quarters of
//! the room left below the limit, at the growth per new tenant measured (the larger of the
//! latest measurement and a decaying earlier one, at least [`MIN_GROWTH`]; before the
//! first measurement, at the next new tenant).  The room shrinks fourfold per walk: about
//! log4(limit / growth) walks per release — five for 64 MB of 8-table tenants — and the
//! overshoot stays within one tenant unless tenants grow by more than 4/3 of the estimate.
//! A pool connection cycling through tenants it already holds does not walk.  Growth that
//! comes from elsewhere (an administrator reading many tables, more of a counted tenant's
//! tables, new statements) is caught by CacheMemoryContext's own allocated size, one
//! field: when it grows by 1/[`BACKSTOP`] of the limit since the last walk, the next
//! tenant_enter walks; and at the latest every [`MAX_INTERVAL`] calls.
use crate::pg::memory::{
    cache_context_exists, cache_context_own, cache_context_total, cache_context_used,
};
use crate::state::settings;
use pgrx::prelude::*;
use std::cell::Cell;

/// The least growth per new tenant assumed when scheduling the next walk.
const MIN_GROWTH: i64 = 8 * 1024;
/// CacheMemoryContext's own allocation growing by this fraction of the limit since the
/// last walk makes the next tenant_enter walk, whatever the tenant.
const BACKSTOP: i64 = 8;
/// Calls between two walks at most: a tenant already counted can still grow (more of its
/// tables, new statements), which neither trigger above sees.
const MAX_INTERVAL: i64 = 8192;

thread_local! {
    /// Bumped by every release: a tenant entered in an older epoch is new again.
    static EPOCH: Cell<u64> = const { Cell::new(1) };
    /// Tenants entered for the first time since the release, counted since the last walk.
    static NEW_TENANTS: Cell<i64> = const { Cell::new(0) };
    /// New tenants after which the next walk is due.
    static DUE: Cell<i64> = const { Cell::new(0) };
    /// CacheMemoryContext's own allocated bytes past which the next walk is due anyway.
    static BACKSTOP_AT: Cell<i64> = const { Cell::new(0) };
    /// Calls since the last walk.
    static CALLS: Cell<i64> = const { Cell::new(0) };
    /// The growth per new tenant assumed (bytes): the latest measurement or a decaying
    /// earlier one, 0 until measured.
    static GROWTH: Cell<i64> = const { Cell::new(0) };
    /// The bytes in use the last walk measured (after any release).
    static MEASURED: Cell<i64> = const { Cell::new(0) };
    static RESETS: Cell<i64> = const { Cell::new(0) };
    /// What the last release left in use: entries that stayed (open relations, plans).
    static FLOOR: Cell<i64> = const { Cell::new(0) };
    /// The limit the last walk compared against: a changed limit is checked at once.
    static MEASURED_FOR: Cell<i64> = const { Cell::new(-1) };
}

/// Called by tenant_enter once it has entered: counts the tenant if its catalog entries
/// are not cached since the last release.  `seen_in` is the tenant's own marker (cache.rs).
pub(crate) fn note_entered(seen_in: &Cell<u64>) {
    let epoch = EPOCH.get();
    if seen_in.get() != epoch {
        seen_in.set(epoch);
        NEW_TENANTS.set(NEW_TENANTS.get() + 1);
    }
}

/// Called by tenant_enter before it enters: releases the catalog caches when what they
/// hold in use is past `stash.cache_limit`.
pub(crate) fn enforce_limit() {
    let limit = settings::cache_limit_bytes();
    if limit <= 0 || !cache_context_exists() {
        return;
    }
    CALLS.set(CALLS.get() + 1);
    let by_tenants = NEW_TENANTS.get() >= DUE.get();
    if MEASURED_FOR.get() == limit
        && !by_tenants
        && cache_context_own() < BACKSTOP_AT.get()
        && CALLS.get() < MAX_INTERVAL
    {
        return;
    }
    if MEASURED_FOR.get() != limit {
        FLOOR.set(0); // what was left under another limit says nothing about this one
    }
    MEASURED_FOR.set(limit);
    let mut used = cache_context_used();
    // Learn the growth per new tenant only from walks the new tenants called for: a walk
    // for another reason would charge other growth to them.  The estimate follows a larger
    // measurement at once and a smaller one slowly (a quarter per walk), so an outlier —
    // the session's own warm-up is one — does not keep the walks frequent for good.
    if by_tenants && NEW_TENANTS.get() > 0 {
        let per_tenant = (used - MEASURED.get()) / NEW_TENANTS.get();
        GROWTH.set(per_tenant.max(GROWTH.get() * 3 / 4).max(MIN_GROWTH));
    }
    // If a release left much in use (a huge working set, or a limit below what the
    // session needs), releasing again at the limit would release on every call: the next
    // release then waits for a quarter of the limit of new growth.
    let threshold = limit.max(FLOOR.get() + limit / 4);
    if used > threshold {
        crate::catalog::invalidation::reset_catalog_caches();
        RESETS.set(RESETS.get() + 1);
        EPOCH.set(EPOCH.get() + 1);
        used = cache_context_used();
        FLOOR.set(used);
    }
    MEASURED.set(used);
    NEW_TENANTS.set(0);
    CALLS.set(0);
    DUE.set(match GROWTH.get() {
        0 => 1,
        growth => ((threshold - used) * 3 / (4 * growth)).max(1),
    });
    BACKSTOP_AT.set(cache_context_own() + limit / BACKSTOP);
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
        settings::cache_limit_bytes(),
        RESETS.get(),
    ))
}
