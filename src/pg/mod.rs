//! PostgreSQL internals the extension calls directly, below every concept: subtransactions,
//! snapshots, catalog lookups by name, what depends on a schema, settings, the current user, the backend's own
//! state, timers, the parser, catalog-cache memory, the WAL flush of its own commits.  This is where the crate's FFI lives:
//! each function here is safe to call and says at its `unsafe` why that is sound; the
//! modules above keep only the unsafe code of the hooks and callbacks they own.
pub(crate) mod backend;
pub(crate) mod depend;
pub(crate) mod guc;
pub(crate) mod index;
pub(crate) mod memory;
pub(crate) mod objects;
pub(crate) mod parser;
pub(crate) mod snapshot;
pub(crate) mod subxact;
pub(crate) mod timeout;
pub(crate) mod user;
pub(crate) mod wal;
