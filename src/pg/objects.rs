//! Catalog objects by name or oid — schemas, roles, extensions, this database — and the
//! schema lock, straight from PostgreSQL's lookup functions (no SPI: these run on every
//! tenant_enter).  Every lookup reads the catalogs, which needs a transaction: every
//! caller in this crate runs inside one (SQL functions, and hooks PostgreSQL calls while
//! executing a statement).
use crate::errors::OrRaise;
use pgrx::pg_sys;
use std::ffi::CStr;

/// The oid of schema `name`, None if there is none.
pub(crate) fn schema_oid(name: &str) -> Option<pg_sys::Oid> {
    let name = std::ffi::CString::new(name).or_raise("names have no NUL");
    // SAFETY: `name` is a NUL-terminated CString that outlives the call, which only reads
    // it; with missing_ok it returns InvalidOid instead of raising for an unknown name.
    let oid = unsafe { pg_sys::get_namespace_oid(name.as_ptr(), true) };
    (oid != pg_sys::InvalidOid).then_some(oid)
}

/// The oid of the role named `name`, if there is one.
pub(crate) fn role_oid(name: &str) -> Option<pg_sys::Oid> {
    let name = std::ffi::CString::new(name).or_raise("role names have no NUL");
    // SAFETY: `name` is a NUL-terminated CString that outlives the call, which only reads
    // it; with missing_ok it returns InvalidOid instead of raising for an unknown name.
    let oid = unsafe { pg_sys::get_role_oid(name.as_ptr(), true) };
    (oid != pg_sys::InvalidOid).then_some(oid)
}

/// Every role whose name starts with `prefix`, by name, read in one scan of pg_authid at
/// the latest snapshot: a backend that enters thousands of tenants would otherwise miss
/// the syscache once per tenant role, an index scan each (bench/findings.md).
pub(crate) fn roles_with_prefix(prefix: &str) -> std::collections::HashMap<String, pg_sys::Oid> {
    let mut roles = std::collections::HashMap::new();
    super::index::rows_at_latest(pg_sys::AuthIdRelationId, |tuple, desc| {
        // SAFETY: rows_at_latest passes valid pg_authid tuples with pg_authid's descriptor;
        // rolname is a NOT NULL `name`, read and copied while the tuple is valid, and oid a
        // NOT NULL oid passed by value.
        unsafe {
            let Some(name) =
                super::index::column(tuple, desc, pg_sys::Anum_pg_authid_rolname as i16)
            else {
                return;
            };
            let name = super::index::name_text(name);
            if !name.starts_with(prefix) {
                return;
            }
            if let Some(oid) = super::index::column(tuple, desc, pg_sys::Anum_pg_authid_oid as i16)
            {
                roles.insert(name, pg_sys::Oid::from(oid.value() as u32));
            }
        }
    });
    roles
}

/// The name of the role `oid` (its oid as text if it was dropped meanwhile).
pub(crate) fn name_of(oid: pg_sys::Oid) -> String {
    // SAFETY: with noerr, GetUserNameFromId returns NULL for an unknown oid (checked) or a
    // palloc'd NUL-terminated copy of the name, which stays valid while it is copied.
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

/// The owner of the schema `oid`, None if there is no such schema.  From the syscache,
/// not SPI: the fleet engine asks once per tenant, and a one-off SPI query costs a parse
/// and a plan each time.
pub(crate) fn schema_owner(oid: pg_sys::Oid) -> Option<pg_sys::Oid> {
    // SAFETY: SearchSysCache1 on NAMESPACEOID takes the oid by value and returns NULL or a
    // pinned pg_namespace tuple, whose data is a FormData_pg_namespace (GETSTRUCT); the
    // owner is copied out before ReleaseSysCache unpins it.
    unsafe {
        let tuple = pg_sys::SearchSysCache1(
            pg_sys::SysCacheIdentifier::NAMESPACEOID as _,
            pg_sys::Datum::from(oid),
        );
        if tuple.is_null() {
            return None;
        }
        let owner =
            (*pg_sys::heap_tuple_get_struct::<pg_sys::FormData_pg_namespace>(tuple)).nspowner;
        pg_sys::ReleaseSysCache(tuple);
        Some(owner)
    }
}

/// The owner of the database this backend is connected to (the role pg_database_owner
/// stands for).
pub(crate) fn database_owner() -> pg_sys::Oid {
    // SAFETY: as schema_owner, on DATABASEOID with MyDatabaseId: the database a backend is
    // connected to exists for the backend's life (see database_name), so the tuple is
    // there; were it not, this raises rather than read a NULL.
    unsafe {
        let tuple = pg_sys::SearchSysCache1(
            pg_sys::SysCacheIdentifier::DATABASEOID as _,
            pg_sys::Datum::from(pg_sys::MyDatabaseId),
        );
        if tuple.is_null() {
            crate::errors::bug("this database is not in pg_database".into());
        }
        let owner = (*pg_sys::heap_tuple_get_struct::<pg_sys::FormData_pg_database>(tuple)).datdba;
        pg_sys::ReleaseSysCache(tuple);
        owner
    }
}

/// Whether extension `name` is installed in this database.
pub(crate) fn extension_exists(name: &CStr) -> bool {
    // SAFETY: `name` is NUL-terminated (a CStr) and only read; with missing_ok,
    // get_extension_oid returns InvalidOid for an extension that is not installed.
    unsafe { pg_sys::get_extension_oid(name.as_ptr(), true) != pg_sys::InvalidOid }
}

/// The version of extension `name` installed in this database, None if it is not.  An
/// index scan of pg_extension, as get_extension_oid does: a one-off SPI query for it was
/// a sixth of a fresh connection's first tenant_enter.
pub(crate) fn extension_version(name: &CStr) -> Option<String> {
    // SAFETY: pg_extension is opened and closed here with AccessShareLock, the scan key
    // compares the name column with `name` (NUL-terminated, alive for the whole scan) by
    // name equality, as get_extension_oid builds it; the scan uses the catalog snapshot
    // (NULL).  The tuple systable_getnext returns is valid until the scan ends, and its
    // extversion (a NOT NULL text) is copied out as a Rust String before that.
    unsafe {
        let rel = pg_sys::table_open(pg_sys::ExtensionRelationId, pg_sys::AccessShareLock as _);
        let mut key = std::mem::MaybeUninit::<pg_sys::ScanKeyData>::uninit();
        pg_sys::ScanKeyInit(
            key.as_mut_ptr(),
            pg_sys::Anum_pg_extension_extname as pg_sys::AttrNumber,
            pg_sys::BTEqualStrategyNumber as pg_sys::StrategyNumber,
            pg_sys::RegProcedure::from(pg_sys::F_NAMEEQ),
            pg_sys::Datum::from(name.as_ptr()),
        );
        let scan = pg_sys::systable_beginscan(
            rel,
            pg_sys::Oid::from(pg_sys::ExtensionNameIndexId),
            true,
            std::ptr::null_mut(),
            1,
            key.as_mut_ptr(),
        );
        let tuple = pg_sys::systable_getnext(scan);
        let version = if tuple.is_null() {
            None
        } else {
            let mut isnull = false;
            let datum = pg_sys::heap_getattr(
                tuple,
                pg_sys::Anum_pg_extension_extversion as i32,
                (*rel).rd_att,
                &mut isnull,
            );
            (!isnull).then(|| {
                let text = pg_sys::text_to_cstring(datum.cast_mut_ptr());
                CStr::from_ptr(text).to_string_lossy().into_owned()
            })
        };
        pg_sys::systable_endscan(scan);
        pg_sys::table_close(rel, pg_sys::AccessShareLock as _);
        version
    }
}

/// The oid of relation `schema.name`, None if there is none.
pub(crate) fn relation_oid(schema: &str, name: &CStr) -> Option<pg_sys::Oid> {
    let namespace = schema_oid(schema)?;
    // SAFETY: get_relname_relid reads the NUL-terminated `name` (alive for the call) and
    // returns InvalidOid when there is no such relation.
    let relid = unsafe { pg_sys::get_relname_relid(name.as_ptr(), namespace) };
    (relid != pg_sys::InvalidOid).then_some(relid)
}

/// The oid and owner of relation `schema.name`, None if there is no such relation.
pub(crate) fn relation_and_owner(schema: &str, name: &CStr) -> Option<(pg_sys::Oid, pg_sys::Oid)> {
    let relid = relation_oid(schema, name)?;
    // SAFETY: SearchSysCache1 on RELOID returns NULL or a pinned pg_class tuple whose
    // data is a FormData_pg_class (GETSTRUCT), the owner copied out before
    // ReleaseSysCache unpins it.
    unsafe {
        let tuple = pg_sys::SearchSysCache1(
            pg_sys::SysCacheIdentifier::RELOID as _,
            pg_sys::Datum::from(relid),
        );
        if tuple.is_null() {
            return None;
        }
        let owner = (*pg_sys::heap_tuple_get_struct::<pg_sys::FormData_pg_class>(tuple)).relowner;
        pg_sys::ReleaseSysCache(tuple);
        Some((relid, owner))
    }
}

/// The attribute number of column `name` of relation `relid`, None if it has none.
pub(crate) fn attnum(relid: pg_sys::Oid, name: &CStr) -> Option<i16> {
    // SAFETY: get_attnum reads the NUL-terminated `name` (alive for the call) and looks
    // the column up in the syscache, returning InvalidAttrNumber (0) when there is none.
    let n = unsafe { pg_sys::get_attnum(relid, name.as_ptr()) };
    (n > 0).then_some(n)
}

/// Whether role `oid` is a superuser or may bypass row-level security — a role no wall
/// holds — None if there is no such role.
pub(crate) fn role_is_above_walls(oid: pg_sys::Oid) -> Option<bool> {
    // SAFETY: SearchSysCache1 on AUTHOID returns NULL or a pinned pg_authid tuple whose
    // data is a FormData_pg_authid (GETSTRUCT); both flags are copied out before
    // ReleaseSysCache unpins it.
    unsafe {
        let tuple = pg_sys::SearchSysCache1(
            pg_sys::SysCacheIdentifier::AUTHOID as _,
            pg_sys::Datum::from(oid),
        );
        if tuple.is_null() {
            return None;
        }
        let role = &*pg_sys::heap_tuple_get_struct::<pg_sys::FormData_pg_authid>(tuple);
        let above = role.rolsuper || role.rolbypassrls;
        pg_sys::ReleaseSysCache(tuple);
        Some(above)
    }
}

/// The name of the database this backend is connected to.
pub(crate) fn database_name() -> String {
    // SAFETY: get_database_name returns a palloc'd NUL-terminated copy of the name, never
    // NULL for MyDatabaseId: the database a backend is connected to cannot be dropped
    // under it (DROP DATABASE refuses, or terminates the backend first) — PostgreSQL's own
    // current_database() relies on the same.
    unsafe {
        let name = pg_sys::get_database_name(pg_sys::MyDatabaseId);
        CStr::from_ptr(name).to_string_lossy().into_owned()
    }
}

/// Locks a tenant's schema (the schema object, not its tables) until the transaction
/// ends.  The tenant lock: tenant_enter and tenant_clone hold it in share mode; tenant_
/// rename, reset, restore and drop take it exclusively, so they wait for the transactions
/// inside the tenant, and those that come while they run wait and then see their result.
/// Share mode is allowed on a hot standby and writes nothing.  Once granted, pending
/// invalidations are accepted: what we waited for is seen.
pub(crate) fn lock_schema(oid: pg_sys::Oid, mode: u32) {
    // SAFETY: every argument is a plain value (LockAcquire refuses a mode it does not
    // know with an ERROR); LockDatabaseObject needs a transaction to own the lock, which
    // callers run in, and raises through pgrx's error boundary (a deadlock, a cancel).
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

/// `pg_class.relkind`, as PostgreSQL's RELKIND_* letters.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum RelKind {
    Table,
    PartitionedTable,
    View,
    MaterializedView,
    Sequence,
    ForeignTable,
    Index,
    PartitionedIndex,
    CompositeType,
    Toast,
}

impl RelKind {
    /// From `relkind::text`; None for a letter this PostgreSQL version does not have.
    pub(crate) fn from_text(letter: &str) -> Option<RelKind> {
        Some(match letter {
            "r" => RelKind::Table,
            "p" => RelKind::PartitionedTable,
            "v" => RelKind::View,
            "m" => RelKind::MaterializedView,
            "S" => RelKind::Sequence,
            "f" => RelKind::ForeignTable,
            "i" => RelKind::Index,
            "I" => RelKind::PartitionedIndex,
            "c" => RelKind::CompositeType,
            "t" => RelKind::Toast,
            _ => return None,
        })
    }
}
