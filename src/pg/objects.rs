//! Catalog objects by name or oid — schemas and roles — and the schema lock, straight
//! from PostgreSQL's lookup functions (no SPI: these run on every tenant_enter).
use pgrx::pg_sys;

/// The oid of schema `name`, None if there is none.
pub(crate) fn schema_oid(name: &str) -> Option<pg_sys::Oid> {
    let name = std::ffi::CString::new(name).expect("names have no NUL");
    let oid = unsafe { pg_sys::get_namespace_oid(name.as_ptr(), true) };
    (oid != pg_sys::InvalidOid).then_some(oid)
}

/// The oid of the role named `name`, if there is one.
pub(crate) fn role_oid(name: &str) -> Option<pg_sys::Oid> {
    let name = std::ffi::CString::new(name).expect("role names have no NUL");
    let oid = unsafe { pg_sys::get_role_oid(name.as_ptr(), true) };
    (oid != pg_sys::InvalidOid).then_some(oid)
}

/// The name of the role `oid` (its oid as text if it was dropped meanwhile).
pub(crate) fn name_of(oid: pg_sys::Oid) -> String {
    unsafe {
        let name = pg_sys::GetUserNameFromId(oid, true);
        if name.is_null() {
            oid.to_u32().to_string()
        } else {
            std::ffi::CStr::from_ptr(name)
                .to_string_lossy()
                .into_owned()
        }
    }
}

/// Locks a tenant's schema (the schema object, not its tables) until the transaction
/// ends.  The tenant lock: tenant_enter and tenant_clone hold it in share mode; tenant_
/// rename, reset, restore and drop take it exclusively, so they wait for the transactions
/// inside the tenant, and those that come while they run wait and then see their result.
/// Share mode is allowed on a hot standby and writes nothing.  Once granted, pending
/// invalidations are accepted: what we waited for is seen.
pub(crate) fn lock_schema(oid: pg_sys::Oid, mode: u32) {
    unsafe {
        pg_sys::LockDatabaseObject(
            pg_sys::NamespaceRelationId,
            oid,
            0,
            mode as pg_sys::LOCKMODE,
        )
    };
}

/// [`lock_schema`] in exclusive mode, for operations that rename, replace or drop the
/// schema (a missing schema has nobody inside to wait for).
pub(crate) fn lock_schema_exclusively(schema: &str) {
    if let Some(oid) = schema_oid(schema) {
        lock_schema(oid, pg_sys::AccessExclusiveLock);
    }
}
