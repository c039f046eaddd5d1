//! PostgreSQL internals the extension calls directly, below every concept: subtransactions,
//! snapshots, catalog lookups by name.  What is unsafe here is said where it is.
pub(crate) mod guc;
pub(crate) mod objects;
pub(crate) mod snapshot;
pub(crate) mod subxact;
