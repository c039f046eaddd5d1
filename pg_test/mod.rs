//! What `cargo pgrx test` needs from the crate: settings for its throwaway cluster.
//! Included from lib.rs as the crate-root `pg_test` module.

pub fn setup(_options: Vec<&str>) {}

#[must_use]
pub fn postgresql_conf_options() -> Vec<&'static str> {
    // The tests create and drop many schemas inside one transaction.
    vec!["max_locks_per_transaction = 256"]
}
