use pgrx::prelude::*;

/// The version of the extension's shared library, which `ALTER EXTENSION ... UPDATE`
/// keeps equal to `pg_extension.extversion`.
#[pg_extern(immutable, parallel_safe)]
fn version() -> &'static str {
    env!("CARGO_PKG_VERSION")
}
