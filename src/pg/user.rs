//! The current user: who it is, whose privileges it has, and switching it together with
//! the security context (the role switch of tenant_enter and of the privileged executor)
//! — miscadmin.h's user-id functions and acl.c's role membership test.
use pgrx::pg_sys;

/// The current user (what `current_user` says).
pub(crate) fn current() -> pg_sys::Oid {
    // SAFETY: GetUserId only returns the backend's CurrentUserId global, which is set
    // when the session starts, before any SQL can call into this library.
    unsafe { pg_sys::GetUserId() }
}

/// Whether the current user is a superuser.
pub(crate) fn is_superuser() -> bool {
    // SAFETY: superuser() looks the current user up in the pg_authid syscache, which needs
    // a transaction: every caller of this crate runs inside one (SQL functions, and hooks
    // PostgreSQL calls while executing a statement).
    unsafe { pg_sys::superuser() }
}

/// Whether `member` has the privileges of `role`: is a superuser, or a member that
/// inherits them.
pub(crate) fn has_privs_of_role(member: pg_sys::Oid, role: pg_sys::Oid) -> bool {
    // SAFETY: takes two oids by value; the membership lookup it does reads the pg_authid
    // and pg_auth_members catalogs, which needs a transaction: every caller of this crate
    // runs inside one (SQL functions).  Unknown oids are simply not members.
    unsafe { pg_sys::has_privs_of_role(member, role) }
}

/// The current user and security context flags (SECURITY_LOCAL_USERID_CHANGE, …).
pub(crate) fn identity() -> (pg_sys::Oid, i32) {
    let (mut user, mut context) = (pg_sys::InvalidOid, 0i32);
    // SAFETY: GetUserIdAndSecContext writes the two globals it reads into the two
    // out-parameters, which point to these live, writable locals.
    unsafe { pg_sys::GetUserIdAndSecContext(&mut user, &mut context) };
    (user, context)
}

/// Makes `user` the current user with security context `context`, as SECURITY DEFINER
/// functions do; PostgreSQL's (sub)transaction abort puts the saved identity back.
pub(crate) fn set_identity(user: pg_sys::Oid, context: i32) {
    // SAFETY: SetUserIdAndSecContext only assigns the two globals CurrentUserId and
    // SecurityRestrictionContext from these by-value arguments; no pointer is involved.
    unsafe { pg_sys::SetUserIdAndSecContext(user, context) };
}

/// Whether the current user may EXECUTE the function or procedure `signature` (regprocedure
/// syntax, schema-qualified), None if there is no such function.  What
/// has_function_privilege() answers, without a query: the fleet engine asks once per tenant.
pub(crate) fn may_execute(signature: &str) -> Option<bool> {
    use pgrx::IntoDatum;
    // SAFETY: to_regprocedure is a built-in taking one text argument, given here as a
    // text datum built from `signature` (alive for the call), and using neither flinfo nor
    // a collation; it returns NULL (None) for a function that does not exist, and raises —
    // through pgrx's guard, as a Rust panic — for a malformed signature.
    let oid = unsafe {
        pgrx::direct_function_call::<pg_sys::Oid>(
            pg_sys::to_regprocedure,
            &[signature.into_datum()],
        )
    }?;
    // SAFETY: the ACL check takes oids by value and reads pg_proc through the syscache,
    // inside the caller's transaction.  No lock keeps the function from being dropped
    // between the lookup and the check: if it is, the check raises an ERROR through
    // pgrx's guard; it never reads freed memory.
    let result = unsafe {
        #[cfg(feature = "pg15")]
        {
            pg_sys::pg_proc_aclcheck(oid, current(), pg_sys::ACL_EXECUTE as pg_sys::AclMode)
        }
        #[cfg(not(feature = "pg15"))]
        {
            pg_sys::object_aclcheck(
                pg_sys::ProcedureRelationId,
                oid,
                current(),
                pg_sys::ACL_EXECUTE as pg_sys::AclMode,
            )
        }
    };
    Some(result == pg_sys::AclResult::ACLCHECK_OK)
}
