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
//! The verdict is remembered per backend for the shared list it was made for, until a
//! schema, role, membership or the registry changes (syscache callbacks and the registry's
//! own invalidation), so a fleet run checks once, not once per tenant.
use crate::errors;
use crate::executor;
use crate::guc;
use pgrx::prelude::*;
use pgrx::PgSqlErrorCode as Code;
use std::cell::{Cell, RefCell};

thread_local! {
    /// The shared list last found safe, with the generations it was checked at.
    static SAFE: RefCell<Option<(String, u64, u64)>> = const { RefCell::new(None) };
    /// Bumped when any schema or role membership changes.
    static GENERATION: Cell<u64> = const { Cell::new(0) };
}

pub(crate) fn init() {
    // SAFETY: _PG_init, once per backend; the callbacks only bump a counter.
    unsafe {
        for cache in [
            pg_sys::SysCacheIdentifier::NAMESPACEOID,
            pg_sys::SysCacheIdentifier::AUTHMEMROLEMEM,
        ] {
            pg_sys::CacheRegisterSyscacheCallback(
                cache as _,
                Some(on_invalidation),
                pg_sys::Datum::from(0),
            );
        }
    }
}

#[pg_guard]
unsafe extern "C-unwind" fn on_invalidation(_arg: pg_sys::Datum, _cache: i32, _hash: u32) {
    GENERATION.set(GENERATION.get() + 1);
}

/// 42501 unless no lower-privileged role can create objects in a schema of
/// `stash.shared_schemas` (the part of a step's search_path that is not the target's own).
pub(crate) fn require_safe() {
    let shared = guc::shared_schemas();
    let now = (GENERATION.get(), crate::cache::generation());
    if SAFE.with(|s| {
        s.borrow()
            .as_ref()
            .is_some_and(|(list, g, r)| *list == shared && (*g, *r) == now)
    }) {
        return;
    }
    let names = guc::shared_schema_names();
    // (schema, what is wrong): writable by whom, or holding whose object
    let writable: Option<(String, String)> = executor::select(
        "WITH lower_roles AS (  -- named: the group and application roles themselves (0), or members (1)
                SELECT r.oid, r.rolname,
                       CASE WHEN r.rolname IN (SELECT g.role_name FROM stash.group_role g)
                              OR r.rolname IN (SELECT a.role_name FROM stash.app_role_registry a)
                            THEN 0 ELSE 1 END AS indirect
                  FROM pg_catalog.pg_roles r
                 WHERE NOT r.rolsuper  -- a superuser \"is a member\" of every role
                   AND (r.rolname IN (SELECT a.role_name FROM stash.app_role_registry a)
                        OR EXISTS (SELECT FROM stash.group_role g
                                    WHERE pg_catalog.pg_has_role(r.oid, g.role_name, 'MEMBER'))))
         SELECT n.nspname::text, w.what
           FROM pg_catalog.pg_namespace n
          CROSS JOIN LATERAL (
                SELECT 1 AS rank, 'is writable by PUBLIC'::text AS what
                 WHERE pg_catalog.has_schema_privilege('public', n.oid, 'CREATE')
                UNION ALL
                SELECT 2 + l.indirect, pg_catalog.format('is writable by role %I', l.rolname)
                  FROM lower_roles l WHERE pg_catalog.has_schema_privilege(l.oid, n.oid, 'CREATE')
                UNION ALL
                SELECT 4, pg_catalog.format('holds function %s, owned by role %I', p.oid::regprocedure, l.rolname)
                  FROM pg_catalog.pg_proc p JOIN lower_roles l ON l.oid = p.proowner
                 WHERE p.pronamespace = n.oid
                UNION ALL
                SELECT 5, pg_catalog.format('holds operator %s, owned by role %I', o.oid::regoperator, l.rolname)
                  FROM pg_catalog.pg_operator o JOIN lower_roles l ON l.oid = o.oprowner
                 WHERE o.oprnamespace = n.oid) w
          WHERE n.nspname OPERATOR(pg_catalog.=) ANY ($1::text[])
          ORDER BY w.rank, 1, 2
          LIMIT 1",
        &[names.into()],
        |t| {
            if t.is_empty() {
                return Ok(None);
            }
            let (schema, who) = t.first().get_two::<String, String>()?;
            Ok(schema.zip(who))
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
    SAFE.with(|s| *s.borrow_mut() = Some((shared, now.0, now.1)));
}
