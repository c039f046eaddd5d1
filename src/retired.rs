//! Every retired C symbol, kept for the install scripts of released versions (as pgmq's
//! removed_functions.rs).  `CREATE EXTENSION stash_tenancy VERSION '0.1.0'` — the first
//! step of every update from 0.1.0, and what pg_restore of such a database runs — looks up
//! each `AS 'MODULE_PATHNAME', 'symbol'` of that script in the current library, so a symbol
//! a release named can never disappear.  Called before the update, each says which command
//! fixes the database (55000); the update replaces the function that names it.
//!
//! A live function keeps its released symbol too, which is why two Rust names differ from
//! their SQL names: `tenant_drop_checked` is `stash.tenant_drop(text, boolean)` (0.1.0's
//! one-argument `tenant_drop` owns the symbol `tenant_drop_wrapper`, below), and
//! `migrate_all_claim` is `stash._migrate_all_next` (0.1.0's `migrate_all_next` had other
//! arguments).  Renaming either would point a released script at a function with a
//! different signature.
use crate::catalog::version::retired;
use pgrx::prelude::*;

/// Retired symbol: 0.1.0's `stash.tenant_drop(text)`, now `tenant_drop(text, boolean)`.
/// Only an install script of 0.1.0 names it.
#[pg_extern(sql = false)]
fn tenant_drop() {
    retired("stash.tenant_drop(text)")
}

/// Retired symbol: 0.1.0's `stash.migrate_all_next(bigint, text)`, now
/// `stash._migrate_all_next(…)`.  Only an install script of 0.1.0 names it.
#[pg_extern(sql = false)]
fn migrate_all_next() {
    retired("stash.migrate_all_next(bigint, text)")
}
