//! stash_tenancy: schema-per-tenant PostgreSQL, server-side.
//!
//! This file only wires the modules together.  The layers, each depending only on the
//! ones below it (scripts/check_modules.py keeps the graph acyclic; docs/development.md
//! draws the map):
//!
//! * `access`, `tenant`, `migrate`, `pool`, `citus` — the concepts, with their SQL functions;
//! * `state` — per-backend caches and settings;
//! * `catalog` — the extension's own tables and the privileged executor that reads them;
//! * `pg` — PostgreSQL internals called directly (the FFI); `slug`, `errors` — shared by all.
// Every unsafe block and impl must say why it is sound (issue #25): a `// SAFETY:` comment.
#![deny(clippy::undocumented_unsafe_blocks)]
// Unsafe calls inside an `unsafe fn` need their own block, so they get that comment too.
#![deny(unsafe_op_in_unsafe_fn)]
use pgrx::prelude::*;

::pgrx::pg_module_magic!(name, version);

mod access;
mod catalog;
mod citus;
mod errors;
mod migrate;
mod pg;
mod pool;
mod retired;
mod slug;
mod state;
mod tenant;

#[pg_guard]
pub extern "C-unwind" fn _PG_init() {
    errors::init();
    state::settings::init();
    state::entered::init();
    catalog::invalidation::init();
    migrate::init();
    access::isolation::init();
    pool::planner::init();
}

#[cfg(any(test, feature = "pg_test"))]
mod pg_tests;

/// Required at the crate root by `cargo pgrx test`.
#[cfg(test)]
#[path = "../pg_test/mod.rs"]
pub mod pg_test;
