//! Migrations of tenant schemas and the shared schema.
//!
//! * engine.rs — plans and applies migrations for one target (no SQL functions);
//! * api.rs — `tenant_migrate` and `shared_migrate`;
//! * fleet.rs — `CALL stash.migrate_all()`, one tenant per transaction, with its brakes;
//! * path.rs — the search_path steps run on, refused when others can plant objects in it.
//!
//! The catalog and ledger tables, and `migration_add`, are in migrations.rs.
mod api;
pub(crate) mod engine;
mod fleet;
mod path;

pub(crate) fn init() {
    path::init();
}

pub(crate) use engine::{provision, provision_to};
pub(crate) use path::require_safe as require_safe_path;
