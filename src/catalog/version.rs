//! Versions: the library's own (`stash.version()`), and the check that the library loaded
//! in this backend matches the extension version installed in the database.
//!
//! The library is one file per server (`$libdir/stash_tenancy.so`), shared by every
//! database and every installed extension version, while the schema changes only when
//! someone runs `ALTER EXTENSION stash_tenancy UPDATE` in each database.  Between the two
//! (a new library installed, a database not yet updated) the new code would run against
//! the old schema: missing columns, missing roles, different semantics.  So every entry
//! point that touches the extension's tables first calls [`check`], which refuses with
//! 55000 and says which command fixes it.
use crate::errors;
use crate::pg::backend;
use crate::pg::objects;
use pgrx::prelude::*;
use pgrx::PgSqlErrorCode as Code;
use std::cell::Cell;

pub(crate) const LIBRARY: &str = env!("CARGO_PKG_VERSION");

/// The version of the loaded shared library.  It is the same for every database of the
/// server and changes when a new library is installed and a backend loads it, which is
/// why it is STABLE and not IMMUTABLE.  `extversion` in `pg_extension` is the version of
/// the schema in this database; the two differ until `ALTER EXTENSION ... UPDATE`.
#[pg_extern(stable, parallel_safe)]
fn version() -> &'static str {
    LIBRARY
}

thread_local! {
    /// Set once this backend has seen matching versions.  A backend serves one database,
    /// and an installed extension only moves forward (ALTER EXTENSION UPDATE), to the
    /// version of a library that this backend would then also have to load anew.
    static MATCHED: Cell<bool> = const { Cell::new(false) };
}

/// Refuses (55000) to go on when this database's extension version is not the library's.
/// One boolean test per call once the versions have matched.
pub(crate) fn check() {
    if MATCHED.get() {
        return;
    }
    // Inside CREATE EXTENSION / ALTER EXTENSION UPDATE the scripts that build the schema
    // may call our functions (e.g. to give existing tenants their roles): the schema is
    // on its way to this library's version.
    if backend::creating_extension() {
        return;
    }
    let installed = objects::extension_version(c"stash_tenancy");
    match installed {
        Some(v) if v == LIBRARY => MATCHED.set(true),
        Some(v) => skew(&v),
        // Not installed in this database: nothing of ours can be called here anyway.
        None => {}
    }
}

fn skew(installed: &str) -> ! {
    let (message, hint) = if newer(LIBRARY, installed) {
        (
            format!(
                "the stash_tenancy library is version {LIBRARY}, but this database has the \
                 extension at version {installed}"
            ),
            "Update the database's schema to the library: ALTER EXTENSION stash_tenancy UPDATE; \
             (as the extension's owner, in this database; see UPDATING.md)."
                .to_string(),
        )
    } else {
        (
            format!(
                "this database has stash_tenancy {installed}, but the server loaded the older \
                 library {LIBRARY}"
            ),
            format!(
                "Install the stash_tenancy {installed} library on this server (make install), \
                 then reconnect."
            ),
        )
    };
    errors::raise(
        Code::ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE,
        message,
        &hint,
    )
}

/// The body of a retired C symbol: an older version's install script names it, but no
/// current SQL function does.  Reached only by a database whose schema is older than the
/// library, which [`check`] explains.
pub(crate) fn retired(function: &str) -> ! {
    check();
    errors::raise(
        Code::ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE,
        format!("{function} belongs to an older version of stash_tenancy"),
        "Update the database's schema to the library: ALTER EXTENSION stash_tenancy UPDATE;",
    )
}

/// Whether version `a` is newer than `b` ("0.10.0" > "0.9.1"); non-numeric parts count 0.
fn newer(a: &str, b: &str) -> bool {
    let parts = |v: &str| -> Vec<u64> { v.split('.').map(|p| p.parse().unwrap_or(0)).collect() };
    parts(a) > parts(b)
}

#[cfg(test)]
mod unit {
    #[test]
    fn compares_versions_numerically() {
        assert!(super::newer("0.2.0", "0.1.0"));
        assert!(super::newer("0.10.0", "0.9.1"));
        assert!(!super::newer("0.1.0", "0.2.0"));
        assert!(!super::newer("0.2.0", "0.2.0"));
    }
}
