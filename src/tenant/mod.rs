//! A tenant's schema and what can be done to it as a whole: create, suspend, resume and
//! drop (lifecycle), clone, rename, reset, restore, verify, and its placement on Citus.
//! schema.rs holds what they share about the schema itself.
pub(crate) mod clone;
pub(crate) mod lifecycle;
pub(crate) mod placement;
pub(crate) mod rename;
pub(crate) mod reset;
pub(crate) mod restore;
pub(crate) mod schema;
pub(crate) mod verify;
