//! The pool model: tenants' rows in shared tables, kept apart by row-level security
//! (tables.rs), and the planner hook that makes their point lookups cheap (planner.rs).
pub(crate) mod planner;
pub(crate) mod tables;
