//! Migrations of tenant schemas and the shared schema.
//!
//! * engine.rs — plans and applies migrations for one target (no SQL functions);
//! * api.rs — `tenant_migrate` and `shared_migrate`;
//! * fleet.rs — `CALL stash.migrate_all()`, one tenant per transaction, with its brakes.
//!
//! The catalog and ledger tables, and `migration_add`, are in migrations.rs.
mod api;
pub(crate) mod engine;
mod fleet;

pub(crate) use engine::{provision, provision_to};
