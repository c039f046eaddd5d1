//! A schema's objects and what depends on them, answered from `pg_depend` by index scans
//! and the catalog caches, without SPI.  DROP SCHEMA and CREATE SCHEMA invalidate every
//! cached plan of the backend (the namespace syscache callback), so SQL run by
//! tenant_drop and tenant_create after them is planned afresh each time: the SQL form of
//! the dependents walk cost 2–2.6 ms of planning per drop, for a check that finds nothing
//! in nearly every drop (bench/findings.md).  The SQL in tenant::schema still describes
//! what is found; this only says whether to run it.
use super::index::column;
use pgrx::pg_sys;
use pgrx::pg_sys::DependencyType::{DEPENDENCY_AUTO, DEPENDENCY_NORMAL};
use std::collections::HashSet;

/// Catalogs whose headers pgrx's bindings leave out: the fixed oids and attribute numbers
/// genbki gives them (catalog/pg_depend_d.h and the others; the same in PostgreSQL 15–18).
mod catalog {
    use pgrx::pg_sys::Oid;
    pub const DEPEND: Oid = Oid::from_u32(2608);
    /// pg_depend_reference_index: (refclassid, refobjid, refobjsubid)
    pub const DEPEND_REFERENCE_INDEX: Oid = Oid::from_u32(2674);
    pub const DEPEND_CLASSID: i16 = 1;
    pub const DEPEND_OBJID: i16 = 2;
    pub const DEPEND_REFCLASSID: i16 = 4;
    pub const DEPEND_REFOBJID: i16 = 5;
    pub const DEPEND_DEPTYPE: i16 = 7;
    pub const REWRITE: Oid = Oid::from_u32(2618);
    pub const REWRITE_OID_INDEX: Oid = Oid::from_u32(2692);
    pub const REWRITE_EV_CLASS: i16 = 3;
    pub const ATTRDEF: Oid = Oid::from_u32(2604);
    pub const ATTRDEF_OID_INDEX: Oid = Oid::from_u32(2657);
    pub const ATTRDEF_ADRELID: i16 = 2;
    pub const POLICY: Oid = Oid::from_u32(3256);
    pub const POLICY_OID_INDEX: Oid = Oid::from_u32(3257);
    pub const POLICY_POLRELID: i16 = 3;
}

/// Whether an object outside `namespace` depends (normally or automatically) on one of
/// the objects inside it — the objects reached from the namespace through `pg_depend`
/// that live in it, as DROP SCHEMA … CASCADE finds what it drops.  An object whose
/// schema cannot be told (a class without one) counts as outside: the caller's
/// description then decides, so this may say yes where the description lists nothing,
/// never no where it lists something.
pub(crate) fn any_outside_dependent(namespace: pg_sys::Oid) -> bool {
    let root = (pg_sys::NamespaceRelationId, namespace);
    let mut inside: HashSet<(pg_sys::Oid, pg_sys::Oid)> = HashSet::from([root]);
    let mut queue = vec![root];
    while let Some(referenced) = queue.pop() {
        let from_namespace = referenced.0 == pg_sys::NamespaceRelationId;
        for (object, deptype) in dependents_of(referenced) {
            if inside.contains(&object) {
                continue;
            }
            if namespace_of(object) == Some(namespace) {
                inside.insert(object);
                queue.push(object);
            } else if !from_namespace
                && (deptype == DEPENDENCY_NORMAL as u8 || deptype == DEPENDENCY_AUTO as u8)
            {
                return true;
            }
        }
    }
    false
}

/// What a schema holds that GRANT … ON ALL TABLES / SEQUENCES / ROUTINES IN SCHEMA would
/// grant on, as qualified, quoted SQL names: tables, views, materialized views, foreign and
/// partitioned tables; sequences; functions, procedures and aggregates.  Found through
/// the namespace's normal dependencies, as DROP SCHEMA finds its objects — those GRANTs
/// scan all of pg_class and pg_proc, which have no index on the namespace.
#[derive(Default)]
pub(crate) struct SchemaContents {
    pub tables: Vec<String>,
    pub sequences: Vec<String>,
    pub routines: Vec<String>,
}

pub(crate) fn schema_contents(namespace: pg_sys::Oid) -> SchemaContents {
    let mut contents = SchemaContents::default();
    // SAFETY: get_namespace_name returns a palloc'd copy of the schema's name, or NULL for
    // a schema that is gone (then it holds nothing either).
    let schema = unsafe { pg_sys::get_namespace_name(namespace) };
    if schema.is_null() {
        return contents;
    }
    for ((classid, objid), deptype) in dependents_of((pg_sys::NamespaceRelationId, namespace)) {
        if deptype != DEPENDENCY_NORMAL as u8 {
            continue;
        }
        if classid == pg_sys::RelationRelationId {
            // SAFETY: get_rel_relkind and get_rel_name read the relation's syscache entry
            // by an oid passed by value (0 and NULL for a relation that is gone); the
            // name, palloc'd, is copied by qualified_name.
            let (kind, name) = unsafe {
                (
                    pg_sys::get_rel_relkind(objid) as u8,
                    pg_sys::get_rel_name(objid),
                )
            };
            let list = match kind {
                b'r' | b'v' | b'm' | b'f' | b'p' => &mut contents.tables,
                b'S' => &mut contents.sequences,
                _ => continue,
            };
            if let Some(qualified) = qualified_name(schema, name) {
                list.push(qualified);
            }
        } else if classid == pg_sys::ProcedureRelationId {
            // SAFETY: format_procedure_qualified reads the function's syscache entry by an
            // oid passed by value (an oid pg_depend names exists) and returns a palloc'd,
            // NUL-terminated "schema.name(argument types)", quoted where needed.
            let text = unsafe { pg_sys::format_procedure_qualified(objid) };
            // SAFETY: `text` is that non-NULL NUL-terminated string, copied at once.
            contents.routines.push(
                unsafe { std::ffi::CStr::from_ptr(text) }
                    .to_string_lossy()
                    .into_owned(),
            );
        }
    }
    contents
}

/// `schema.name` quoted, for the relation named `name` (a palloc'd C string, or NULL) in
/// the schema named `schema` (NUL-terminated).
fn qualified_name(schema: *mut std::ffi::c_char, name: *mut std::ffi::c_char) -> Option<String> {
    if name.is_null() {
        return None;
    }
    // SAFETY: quote_qualified_identifier reads both NUL-terminated names and returns a
    // palloc'd NUL-terminated result, copied at once.
    unsafe {
        let quoted = pg_sys::quote_qualified_identifier(schema, name);
        Some(
            std::ffi::CStr::from_ptr(quoted)
                .to_string_lossy()
                .into_owned(),
        )
    }
}

/// The `pg_depend` rows whose referenced object is `(classid, objid)`, any sub-object:
/// the depending object and the dependency type of each.
fn dependents_of(
    (classid, objid): (pg_sys::Oid, pg_sys::Oid),
) -> Vec<((pg_sys::Oid, pg_sys::Oid), u8)> {
    let mut found = Vec::new();
    // SAFETY: pg_depend is opened and closed here with AccessShareLock; the two scan keys
    // compare the leading columns of pg_depend_reference_index (refclassid, refobjid)
    // with oids passed by value, by oid equality, as PostgreSQL's own dependency code
    // builds them; the scan reads with the catalog snapshot (NULL).  Each tuple
    // systable_getnext returns is a pg_depend row of the table's descriptor, valid until
    // the next call; its columns (oids and a "char", by value) are copied out before it.  On an error the transaction's
    // abort releases the scan and the lock.
    unsafe {
        let lock = pg_sys::AccessShareLock as pg_sys::LOCKMODE;
        let rel = pg_sys::table_open(catalog::DEPEND, lock);
        let mut keys = [std::mem::MaybeUninit::<pg_sys::ScanKeyData>::uninit(); 2];
        for (key, (attnum, value)) in keys.iter_mut().zip([
            (catalog::DEPEND_REFCLASSID, classid),
            (catalog::DEPEND_REFOBJID, objid),
        ]) {
            pg_sys::ScanKeyInit(
                key.as_mut_ptr(),
                attnum,
                pg_sys::BTEqualStrategyNumber as pg_sys::StrategyNumber,
                pg_sys::RegProcedure::from(pg_sys::F_OIDEQ),
                pg_sys::Datum::from(value),
            );
        }
        let scan = pg_sys::systable_beginscan(
            rel,
            catalog::DEPEND_REFERENCE_INDEX,
            true,
            std::ptr::null_mut(),
            2,
            keys.as_mut_ptr().cast(),
        );
        let desc = (*rel).rd_att;
        let oid = |tuple, attnum| {
            column(tuple, desc, attnum)
                .map_or(pg_sys::InvalidOid, |d| pg_sys::Oid::from(d.value() as u32))
        };
        loop {
            let tuple = pg_sys::systable_getnext(scan);
            if tuple.is_null() {
                break;
            }
            let deptype =
                column(tuple, desc, catalog::DEPEND_DEPTYPE).map_or(0, |d| d.value() as u8);
            found.push((
                (
                    oid(tuple, catalog::DEPEND_CLASSID),
                    oid(tuple, catalog::DEPEND_OBJID),
                ),
                deptype,
            ));
        }
        pg_sys::systable_endscan(scan);
        pg_sys::table_close(rel, lock);
    }
    found
}

/// The schema object `(classid, objid)` lives in: its own namespace column, or its
/// relation's for a rule, column default, trigger or policy; None for an object of a
/// class without a schema.
fn namespace_of((classid, objid): (pg_sys::Oid, pg_sys::Oid)) -> Option<pg_sys::Oid> {
    let owned_by_relation = match classid {
        catalog::REWRITE => Some((catalog::REWRITE_OID_INDEX, catalog::REWRITE_EV_CLASS)),
        catalog::ATTRDEF => Some((catalog::ATTRDEF_OID_INDEX, catalog::ATTRDEF_ADRELID)),
        catalog::POLICY => Some((catalog::POLICY_OID_INDEX, catalog::POLICY_POLRELID)),
        pg_sys::TriggerRelationId => Some((
            pg_sys::Oid::from(pg_sys::TriggerOidIndexId),
            pg_sys::Anum_pg_trigger_tgrelid as i16,
        )),
        _ => None,
    };
    let namespace = match owned_by_relation {
        Some((index, relation_column)) => {
            let relid = oid_column_by_oid(classid, index, objid, relation_column)?;
            // SAFETY: get_rel_namespace looks the relation up in the syscache by an oid
            // passed by value and returns InvalidOid when there is none.
            unsafe { pg_sys::get_rel_namespace(relid) }
        }
        // SAFETY: is_objectclass_supported only compares the class oid with its table;
        // for a class it knows, get_object_namespace returns InvalidOid when the class
        // has no namespace column, else reads the object's row from the syscache (an
        // object pg_depend names exists: a missing one raises "cache lookup failed").
        None => unsafe {
            if !pg_sys::is_objectclass_supported(classid) {
                return None;
            }
            let address = pg_sys::ObjectAddress {
                classId: classid,
                objectId: objid,
                objectSubId: 0,
            };
            pg_sys::get_object_namespace(&address)
        },
    };
    (namespace != pg_sys::InvalidOid).then_some(namespace)
}

/// Column `wanted` (an oid) of the row of catalog `catalog` whose oid (its first column)
/// is `objid`, found through the catalog's unique index on it, `index`.
fn oid_column_by_oid(
    catalog: pg_sys::Oid,
    index: pg_sys::Oid,
    objid: pg_sys::Oid,
    wanted: i16,
) -> Option<pg_sys::Oid> {
    let equal = super::index::Equal {
        index,
        column: 1, // the oid column of every catalog this is called for
        eq: pg_sys::F_OIDEQ,
        key: pg_sys::Datum::from(objid),
    };
    super::index::unique_row_at_latest(catalog, equal, |tuple, desc| {
        // SAFETY: unique_row_at_latest passes a valid row of `catalog` with its
        // descriptor; the column is an oid, passed by value.
        unsafe { column(tuple, desc, wanted) }.map(|d| pg_sys::Oid::from(d.value() as u32))
    })
    .flatten()
}
