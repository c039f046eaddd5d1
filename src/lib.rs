//! stash_tenancy: schema-per-tenant PostgreSQL, server-side.
//!
//! This file only wires the modules together; each concept lives in its own module.
use pgrx::prelude::*;

::pgrx::pg_module_magic!(name, version);

mod cache;
mod citus;
mod clone;
mod context;
mod errors;
mod events;
mod executor;
mod guc;
mod isolation;
mod lifecycle;
mod memory;
mod migrate;
mod migrations;
mod pool;
mod pool_planner;
mod postgrest;
mod registry;
mod rename;
mod reset;
mod restore;
mod roles;
mod slug;
mod subxact;
mod tokens;
mod verify;
mod version;

#[pg_guard]
pub extern "C-unwind" fn _PG_init() {
    errors::init();
    guc::init();
    cache::init();
    migrate::init();
    isolation::init();
    pool_planner::init();
}

#[cfg(any(test, feature = "pg_test"))]
mod pg_tests;

/// Required at the crate root by `cargo pgrx test`.
#[cfg(test)]
#[path = "../pg_test/mod.rs"]
pub mod pg_test;
