//! The extension's own tables — registry, audit events, migration catalog and ledger —
//! their DDL and typed rows, the privileged executor every read and write goes through,
//! the registry's change signal, and the library/schema version check.
pub(crate) mod events;
pub(crate) mod executor;
pub(crate) mod invalidation;
pub(crate) mod migrations;
pub(crate) mod registry;
pub(crate) mod version;
