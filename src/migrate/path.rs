//! The search_path every migration step runs on (apply, rollback, and the replays of
//! verify, clone and restore): the target schema, then `stash.shared_schemas`, then
//! pg_temp.  A step runs as the schema's owner, often a superuser; so a shared schema in
//! which a lower-privileged role can create objects would let that role plant a function
//! (`public.lower(varchar)` beats `pg_catalog.lower(text)` for a varchar argument) that a
//! migration then runs with the owner's rights.  Such a path is refused (42501) before any
//! step runs: a shared schema on it may not be writable by PUBLIC, by the tenant group role
//! (every tenant role is a member) or by an application role — nor hold a function or
//! operator such a role owns (planted while it was writable: overload resolution can pick
//! it over pg_catalog's).  Relations such a role owns are not refused (an application may
//! keep its own tables in public); docs/security.md says what that leaves open.
//!
//! The verdict is remembered per backend for the shared list it was made for, until one
//! of those schemas changes (its pg_namespace row: a GRANT or REVOKE, an owner change, a
//! drop): a syscache callback compares the invalidated row's hash with theirs, so
//! creating and dropping tenant schemas — a fleet of them — never forgets it.  The check
//! itself reads the schemas' ACLs and the functions and operators in them, never the list
//! of roles (tens of thousands at 10,000 tenants).
use crate::catalog::executor;
use crate::errors;
use crate::state::settings;
use pgrx::prelude::*;
use pgrx::PgSqlErrorCode as Code;
use std::cell::RefCell;

/// The shared list last found safe, and the syscache hash values of its schemas' rows.
struct Safe {
    list: String,
    hashes: Vec<u32>,
}

thread_local! {
    static SAFE: RefCell<Option<Safe>> = const { RefCell::new(None) };
}

pub(crate) fn init() {
    // SAFETY: _PG_init, which runs once per process on its only thread.  The callback
    // has exactly the SyscacheCallbackFunction signature, is #[pg_guard]ed and only
    // compares numbers and clears a thread-local; the library is never unloaded, so the
    // registration stays valid (running out of callback slots is a FATAL, not UB).
    unsafe {
        pg_sys::CacheRegisterSyscacheCallback(
            pg_sys::SysCacheIdentifier::NAMESPACEOID as _,
            Some(on_namespace_invalidation),
            pg_sys::Datum::from(0),
        );
    }
}

/// # Safety
/// Called only by PostgreSQL's syscache invalidation for pg_namespace (registered in
/// [`init`]), on the backend's thread; it touches nothing but a thread-local.
#[pg_guard]
unsafe extern "C-unwind" fn on_namespace_invalidation(_arg: pg_sys::Datum, _cache: i32, hash: u32) {
    // 0: every row (e.g. after an invalidation-queue overflow)
    SAFE.with(|s| {
        let mut s = s.borrow_mut();
        if hash == 0 || s.as_ref().is_some_and(|safe| safe.hashes.contains(&hash)) {
            *s = None;
        }
    });
}

/// 42501 unless no lower-privileged role can create objects in a schema of
/// `stash.shared_schemas` (the part of a step's search_path that is not the target's own).
pub(crate) fn require_safe() {
    let shared = settings::shared_schemas();
    if SAFE.with(|s| s.borrow().as_ref().is_some_and(|safe| safe.list == shared)) {
        return;
    }
    let names = settings::shared_schema_names();
    // (rank, schema, what is wrong): writable by PUBLIC, by the group or an application
    // role (granted directly or inherited), by any member of the group role (granted
    // directly), or holding a function or operator one of them owns
    let (writable, oids): (Option<(String, String)>, Vec<pg_sys::Oid>) = executor::select(
        "WITH shared AS (
                SELECT n.oid, n.nspname, n.nspacl FROM pg_catalog.pg_namespace n
                 WHERE n.nspname OPERATOR(pg_catalog.=) ANY ($1::text[])),
              named AS (  -- the group role and the application roles
                SELECT r.oid, r.rolname FROM pg_catalog.pg_roles r
                 WHERE NOT r.rolsuper
                   AND (r.rolname IN (SELECT g.role_name FROM stash.group_role g)
                        OR r.rolname IN (SELECT a.role_name FROM stash.app_role_registry a))),
              problems AS (
                SELECT 1 AS rank, s.nspname, 'is writable by PUBLIC'::text AS what
                  FROM shared s WHERE pg_catalog.has_schema_privilege('public', s.oid, 'CREATE')
                UNION ALL
                SELECT 2, s.nspname, pg_catalog.format('is writable by role %I', r.rolname)
                  FROM shared s, named r WHERE pg_catalog.has_schema_privilege(r.oid, s.oid, 'CREATE')
                UNION ALL
                SELECT 3, s.nspname, pg_catalog.format('is writable by role %I', r.rolname)
                  FROM shared s, pg_catalog.aclexplode(s.nspacl) a
                  JOIN pg_catalog.pg_roles r ON r.oid OPERATOR(pg_catalog.=) a.grantee
                 WHERE a.privilege_type OPERATOR(pg_catalog.=) 'CREATE' AND NOT r.rolsuper
                   AND EXISTS (SELECT FROM stash.group_role g
                                WHERE pg_catalog.pg_has_role(r.oid, g.role_name, 'MEMBER'))
                UNION ALL
                SELECT 4, s.nspname, pg_catalog.format('holds function %s, owned by role %I', p.oid::pg_catalog.regprocedure, o.rolname)
                  FROM shared s JOIN pg_catalog.pg_proc p ON p.pronamespace OPERATOR(pg_catalog.=) s.oid
                  JOIN pg_catalog.pg_roles o ON o.oid OPERATOR(pg_catalog.=) p.proowner
                 WHERE NOT o.rolsuper
                   AND (o.oid IN (SELECT oid FROM named)
                        OR EXISTS (SELECT FROM stash.group_role g
                                    WHERE pg_catalog.pg_has_role(o.oid, g.role_name, 'MEMBER')))
                UNION ALL
                SELECT 5, s.nspname, pg_catalog.format('holds operator %s, owned by role %I', x.oid::pg_catalog.regoperator, o.rolname)
                  FROM shared s JOIN pg_catalog.pg_operator x ON x.oprnamespace OPERATOR(pg_catalog.=) s.oid
                  JOIN pg_catalog.pg_roles o ON o.oid OPERATOR(pg_catalog.=) x.oprowner
                 WHERE NOT o.rolsuper
                   AND (o.oid IN (SELECT oid FROM named)
                        OR EXISTS (SELECT FROM stash.group_role g
                                    WHERE pg_catalog.pg_has_role(o.oid, g.role_name, 'MEMBER'))))
         SELECT (SELECT ARRAY[p.nspname::text, p.what] FROM problems p
                  ORDER BY p.rank, p.nspname, p.what LIMIT 1),
                (SELECT pg_catalog.array_agg(s.oid) FROM shared s)",
        &[names.into()],
        |t| {
            let row = t.first();
            let first = row.get::<Vec<String>>(1)?.and_then(|v| {
                let mut v = v.into_iter();
                v.next().zip(v.next())
            });
            let oids = row.get::<Vec<pg_sys::Oid>>(2)?.unwrap_or_default();
            Ok((first, oids))
        },
    );
    if let Some((schema, what)) = writable {
        errors::raise(
            Code::ERRCODE_INSUFFICIENT_PRIVILEGE,
            format!("refusing to run migrations: shared schema \"{schema}\" {what}"),
            &format!(
                "Migration steps run as the schema owner with \"{schema}\" on their search_path, so an object an \
                 application or tenant role planted there could run with the owner's rights. Revoke CREATE on it \
                 from PUBLIC and those roles, drop what they own in it, or leave it out of stash.shared_schemas."
            ),
        );
    }
    let hashes = oids
        .into_iter()
        .map(|oid| {
            // SAFETY: the hash PostgreSQL's own invalidation of that pg_namespace row carries
            // (GetSysCacheHashValue1 in syscache.h); keys past the first are unused.
            unsafe {
                pg_sys::GetSysCacheHashValue(
                    pg_sys::SysCacheIdentifier::NAMESPACEOID as _,
                    oid.into(),
                    pg_sys::Datum::from(0),
                    pg_sys::Datum::from(0),
                    pg_sys::Datum::from(0),
                )
            }
        })
        .collect();
    SAFE.with(|s| {
        *s.borrow_mut() = Some(Safe {
            list: shared,
            hashes,
        })
    });
}
