//! Who may enter tenants, and the role switch that makes a tenant's privileges — and only
//! its privileges — the application's for one transaction (docs/security.md).
//!
//! * Application roles (`stash.app_role_add`) have no privilege on any tenant schema.
//!   Their `tenant_enter` makes the tenant's role the current user until the transaction
//!   ends, with SECURITY_LOCAL_USERID_CHANGE set: PostgreSQL then refuses SET ROLE, RESET
//!   ROLE, set_config('role', …) and SET SESSION AUTHORIZATION, and the switch cannot be
//!   undone from SQL.  One tenant per transaction.
//! * Administrators — superusers and roles with the privileges of the registry's owner —
//!   enter without a switch, for maintenance.
//! * Everyone else gets 42501 for every slug, before any lookup: no enumeration.
//!
//! PostgreSQL undoes a user-id change itself at ROLLBACK and ROLLBACK TO SAVEPOINT, but
//! not at COMMIT or PREPARE: the transaction callback here restores the caller then.
//!
//! The rule for an application role's tenant transaction: it changes nothing outside its
//! tenant's own schema objects, and nothing it sets or creates outlives it.  So, whatever
//! path a statement takes (top level, SQL and PL/pgSQL functions, DO, EXPLAIN ANALYZE,
//! CREATE … AS, triggers):
//! * creating any object is refused — the object access hook sees every creation,
//!   temporary objects, conversions and large objects included (a temporary view or
//!   function left on a pooled connection would run as the next tenant's role);
//! * the utility hook refuses what outlives the transaction or reaches beyond the tenant:
//!   WITH HOLD cursors, LISTEN, session-level SET/RESET, ALTER ROLE, ALTER DEFAULT
//!   PRIVILEGES, DROP/REASSIGN OWNED, grants on large objects;
//! * at commit, a session-level setting changed in the transaction (`set_config(…,
//!   false)`, which no hook sees when it runs) fails the commit;
//! * session advisory locks taken are released at commit.
use crate::catalog::executor;
use crate::errors;
use crate::errors::OrRaise;
use crate::pg::objects;
use crate::pg::user;
use pgrx::prelude::*;
use pgrx::PgSqlErrorCode as Code;
use std::cell::Cell;

extension_sql!(
    r#"
CREATE TABLE stash.app_role_registry (
    role_name      name        PRIMARY KEY,
    added_at       timestamptz NOT NULL DEFAULT now(),
    token_required boolean     NOT NULL DEFAULT false
);
COMMENT ON TABLE stash.app_role_registry IS 'Application roles: they enter tenants with the tenant''s role (stash.app_role_add).';
SELECT pg_catalog.pg_extension_config_dump('stash.app_role_registry', '');
REVOKE ALL ON stash.app_role_registry FROM PUBLIC;
CREATE TRIGGER app_roles_invalidate
    AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON stash.app_role_registry
    FOR EACH STATEMENT EXECUTE FUNCTION stash.tenants_invalidate();
ALTER TABLE stash.app_role_registry ENABLE ALWAYS TRIGGER app_roles_invalidate;

CREATE VIEW stash.app_roles AS
SELECT a.role_name AS role, r.oid IS NOT NULL AS role_exists, a.added_at, a.token_required
  FROM stash.app_role_registry a
  LEFT JOIN pg_catalog.pg_roles r ON r.rolname = a.role_name;
COMMENT ON VIEW stash.app_roles IS 'Application roles (stash.app_role_add / stash.app_role_remove).';
REVOKE ALL ON stash.app_roles FROM PUBLIC;
"#,
    name = "app_roles",
    requires = ["registry", "tenants_invalidate_trigger"]
);

/// Registers an application role.  Refuses roles that no wall could hold: superusers and
/// BYPASSRLS roles (22023).  (SQL spelled out: the argument is a regrole, which pgrx
/// would otherwise declare as a plain oid.)
#[pg_extern(sql = r#"
CREATE FUNCTION stash.app_role_add("role" regrole) RETURNS void
VOLATILE PARALLEL UNSAFE
SET search_path TO pg_catalog, pg_temp
LANGUAGE c AS 'MODULE_PATHNAME', 'app_role_add_wrapper';
"#)]
fn app_role_add(role: Option<pg_sys::Oid>) {
    let role =
        role.unwrap_or_else(|| errors::null_argument("role", "a role such as 'app'::regrole"));
    // No row (a regrole cast from an oid that names no role) reads as no name: 42704 below.
    let (name, superuser, bypassrls) = match Spi::get_three_with_args::<String, bool, bool>(
        "SELECT rolname::text, rolsuper, rolbypassrls FROM pg_catalog.pg_roles WHERE oid = $1",
        &[role.into()],
    ) {
        Err(pgrx::spi::SpiError::InvalidPosition) => (None, None, None),
        found => found.or_raise("look up the role"),
    };
    let name = name.unwrap_or_else(|| {
        errors::raise(
            Code::ERRCODE_UNDEFINED_OBJECT,
            format!("role with OID {} does not exist", role.to_u32()),
            "Pass an existing role, e.g. 'app'::regrole.",
        )
    });
    if superuser == Some(true) || bypassrls == Some(true) {
        errors::raise(
            Code::ERRCODE_INVALID_PARAMETER_VALUE,
            format!("role \"{name}\" is a superuser or has BYPASSRLS, so it cannot be an application role"),
            "Application roles are the roles the application connects as: create one without SUPERUSER and BYPASSRLS.",
        );
    }
    executor::update(
        "INSERT INTO stash.app_role_registry (role_name) VALUES ($1::name) ON CONFLICT DO NOTHING",
        &[name.into()],
        |_| Ok(()),
    );
}

/// Unregisters an application role; it can no longer enter tenants.
#[pg_extern(sql = r#"
CREATE FUNCTION stash.app_role_remove("role" regrole) RETURNS void
VOLATILE PARALLEL UNSAFE
SET search_path TO pg_catalog, pg_temp
LANGUAGE c AS 'MODULE_PATHNAME', 'app_role_remove_wrapper';
"#)]
fn app_role_remove(role: Option<pg_sys::Oid>) {
    let role =
        role.unwrap_or_else(|| errors::null_argument("role", "a role such as 'app'::regrole"));
    executor::update(
        "DELETE FROM stash.app_role_registry WHERE role_name = (SELECT rolname FROM pg_catalog.pg_roles WHERE oid = $1)",
        &[role.into()],
        |_| Ok(()),
    );
}

extension_sql!(
    r#"
REVOKE EXECUTE ON FUNCTION stash.app_role_add(regrole) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION stash.app_role_remove(regrole) FROM PUBLIC;
"#,
    name = "app_roles_grants",
    requires = ["app_roles", app_role_add, app_role_remove]
);

/// How the caller of tenant_enter enters.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Entrant {
    /// An application role: enters as the tenant's role; `token_only` if it may enter
    /// only by token (stash.app_role_require_token).
    Application { token_only: bool },
    /// A superuser or a role with the registry owner's privileges: enters as itself.
    Administrator,
}

/// Classifies the current user, or refuses (42501) — the same error whatever the slug.
/// Inside a transaction that switched already, the caller is who it was before.
pub(crate) fn entrant() -> Entrant {
    if let Some(s) = SWITCHED.get() {
        let token_only = crate::state::cache::app_role(s.outer_user) == Some(true);
        return Entrant::Application { token_only };
    }
    let me = user::current();
    if let Some(token_only) = crate::state::cache::app_role(me) {
        return Entrant::Application { token_only };
    }
    if user::is_superuser()
        || user::has_privs_of_role(me, crate::catalog::invalidation::registry_owner())
    {
        return Entrant::Administrator;
    }
    let name = objects::name_of(me);
    errors::raise(
        Code::ERRCODE_INSUFFICIENT_PRIVILEGE,
        format!("permission denied to enter tenants: role \"{name}\" is not an application role"),
        "An administrator registers the role the application connects as with SELECT stash.app_role_add('role').",
    )
}

/// The caller's identity before the first switch of this transaction, and the tenant it
/// entered (one per transaction, even after tenant_exit or ROLLBACK TO SAVEPOINT).
#[derive(Clone, Copy)]
struct Switched {
    outer_user: pg_sys::Oid,
    outer_context: i32,
    tenant_role: pg_sys::Oid,
}

thread_local! {
    static SWITCHED: Cell<Option<Switched>> = const { Cell::new(None) };
}

/// Makes `tenant_role` the current user for the rest of the transaction.  A second tenant
/// in the same transaction is refused (42501); the same tenant again is a no-op.
pub(crate) fn switch_to(tenant_role: pg_sys::Oid, slug: &str) {
    let (outer_user, context) = user::identity();
    if SWITCHED.get().is_none() && context != 0 {
        // Inside a SECURITY DEFINER function (or a security-restricted operation) the
        // identity to restore at COMMIT is not the session's, and the function's exit
        // would undo the switch anyway.
        errors::raise(
            Code::ERRCODE_INSUFFICIENT_PRIVILEGE,
            format!("cannot enter tenant \"{slug}\" from a SECURITY DEFINER function or a security-restricted operation"),
            "Call stash.tenant_enter() directly in the transaction (or from a SECURITY INVOKER function).",
        );
    }
    let state = match SWITCHED.get() {
        Some(s) if s.tenant_role != tenant_role => errors::raise(
            Code::ERRCODE_INSUFFICIENT_PRIVILEGE,
            format!("cannot enter tenant \"{slug}\": this transaction already entered another tenant"),
            "An application role enters one tenant per transaction: COMMIT, then BEGIN and enter the next.",
        ),
        Some(s) => s,
        None => Switched {
            outer_user,
            outer_context: context,
            tenant_role,
        },
    };
    SWITCHED.set(Some(state));
    let flag = pg_sys::SECURITY_LOCAL_USERID_CHANGE as i32;
    user::set_identity(tenant_role, state.outer_context | flag);
}

/// tenant_exit for an application role: back to the caller's own identity (which has no
/// tenant privileges).  The transaction still may not enter another tenant.
pub(crate) fn switch_back() {
    if let Some(s) = SWITCHED.get() {
        user::set_identity(s.outer_user, s.outer_context);
    }
}

/// Whether the current user is the tenant role this transaction switched to.
pub(crate) fn is_switched_to(tenant_role: pg_sys::Oid) -> bool {
    SWITCHED.get().is_some() && user::current() == tenant_role
}

pub(crate) fn init() {
    // SAFETY: _PG_init runs once per process, on its only thread, before any statement,
    // so nothing reads the hook globals meanwhile.  The previous hooks are saved before
    // ours are installed, and ours call them, as every PostgreSQL hook chain expects.  The
    // callbacks have exactly the XactCallback, ProcessUtility_hook_type and
    // object_access_hook_type signatures (checked against pgrx's bindings), and the
    // library is never unloaded, so the function pointers stay valid.
    unsafe {
        pg_sys::RegisterXactCallback(Some(on_xact_event), std::ptr::null_mut());
        PREVIOUS_UTILITY_HOOK = pg_sys::ProcessUtility_hook;
        pg_sys::ProcessUtility_hook = Some(utility_hook);
        PREVIOUS_OBJECT_ACCESS_HOOK = pg_sys::object_access_hook;
        pg_sys::object_access_hook = Some(object_access_hook);
    }
}

/// Ends what a tenant switch started, at the end of every transaction that made one.
///
/// # Safety
/// Called only by PostgreSQL's CallXactCallbacks (registered in [`init`] with this
/// XactCallback signature), on the backend's thread, as a transaction commits, prepares
/// or aborts; `_arg` is the NULL it was registered with.
#[pg_guard]
unsafe extern "C-unwind" fn on_xact_event(
    event: pg_sys::XactEvent::Type,
    _arg: *mut std::ffi::c_void,
) {
    use pg_sys::XactEvent::*;
    let Some(s) = SWITCHED.get() else { return };
    match event {
        XACT_EVENT_PRE_COMMIT | XACT_EVENT_PRE_PREPARE => {
            refuse_session_settings();
            // Session-level advisory locks taken inside the tenant would stay with the
            // connection, which a pooler hands to the next client.
            // SAFETY: USER_LOCKMETHOD is the valid lock method id of advisory locks;
            // LockReleaseSession only releases this backend's own session-level locks of
            // that method, in its own lock tables, while the transaction is still open.
            unsafe { pg_sys::LockReleaseSession(pg_sys::USER_LOCKMETHOD as u16) };
        }
        XACT_EVENT_COMMIT | XACT_EVENT_PREPARE => {
            // CommitTransaction does not undo a user-id change; the next transaction
            // must start as the caller, with no security context flags.
            user::set_identity(s.outer_user, s.outer_context);
            SWITCHED.set(None);
        }
        XACT_EVENT_ABORT => SWITCHED.set(None), // AbortTransaction restored the caller
        _ => {}
    }
}

static mut PREVIOUS_UTILITY_HOOK: pg_sys::ProcessUtility_hook_type = None;

// SAFETY: the declaration is standard_ProcessUtility's in tcop/utility.h, identical in
// PostgreSQL 15 to 18 and the one pgrx binds as pg_sys::standard_ProcessUtility (and as
// ProcessUtility_hook_type); only pgrx's error boundary is left out, on purpose.
unsafe extern "C-unwind" {
    // The same function as pg_sys::standard_ProcessUtility, declared without pgrx's error
    // boundary: see utility_hook.
    #[link_name = "standard_ProcessUtility"]
    fn standard_process_utility(
        pstmt: *mut pg_sys::PlannedStmt,
        query_string: *const std::ffi::c_char,
        read_only_tree: bool,
        context: pg_sys::ProcessUtilityContext::Type,
        params: pg_sys::ParamListInfo,
        query_env: *mut pg_sys::QueryEnvironment,
        dest: *mut pg_sys::DestReceiver,
        qc: *mut pg_sys::QueryCompletion,
    );
}

/// The utility hook.  Deliberately not a #[pg_guard] function, and calling the next hook
/// without pgrx's error boundary: an error raised by the command itself (a DO block, a
/// CALL, DDL) must reach the client exactly as PostgreSQL raised it, CONTEXT, constraint
/// and column names included, which re-raising through Rust would drop.  This frame owns
/// nothing that needs dropping when such an error jumps over it.
///
/// # Safety
/// Called only by PostgreSQL's ProcessUtility() as `ProcessUtility_hook` (installed in
/// [`init`]), with its own arguments: `pstmt` is a valid PlannedStmt of a utility command
/// (so its `utilityStmt` is a non-NULL node), inside a transaction.
#[allow(clippy::too_many_arguments)]
unsafe extern "C-unwind" fn utility_hook(
    pstmt: *mut pg_sys::PlannedStmt,
    query_string: *const std::ffi::c_char,
    read_only_tree: bool,
    context: pg_sys::ProcessUtilityContext::Type,
    params: pg_sys::ParamListInfo,
    query_env: *mut pg_sys::QueryEnvironment,
    dest: *mut pg_sys::DestReceiver,
    qc: *mut pg_sys::QueryCompletion,
) {
    // SAFETY: `pstmt` is the utility PlannedStmt ProcessUtility passed us, as
    // refuse_what_outlives_the_tenant requires (it only reads it).  Every argument goes
    // on unchanged to the hook installed before ours (saved in init, read here on the
    // backend's only thread) or to standard_ProcessUtility, as ProcessUtility() itself
    // would pass them.  Nothing in this frame needs dropping if an error longjmps over it.
    unsafe {
        if SWITCHED.get().is_some() {
            refuse_what_outlives_the_tenant(pstmt);
        }
        match PREVIOUS_UTILITY_HOOK {
            Some(hook) => hook(
                pstmt,
                query_string,
                read_only_tree,
                context,
                params,
                query_env,
                dest,
                qc,
            ),
            None => standard_process_utility(
                pstmt,
                query_string,
                read_only_tree,
                context,
                params,
                query_env,
                dest,
                qc,
            ),
        }
    }
}

/// Inside an application role's tenant transaction, refuses the commands whose effect
/// outlives the transaction with what the tenant could see: DECLARE … WITH HOLD (its rows
/// are materialized at commit and FETCH never checks privileges again), LISTEN, and
/// creating objects — a tenant role can create only temporary ones, and a temporary view,
/// function or trigger left on a pooled connection would run as the next tenant's role.
///
/// # Safety
/// `pstmt` is the valid PlannedStmt of a utility command that the utility hook received:
/// its `utilityStmt` is a non-NULL parse node.
#[pg_guard]
unsafe extern "C-unwind" fn refuse_what_outlives_the_tenant(pstmt: *mut pg_sys::PlannedStmt) {
    // SAFETY: `pstmt` is a valid PlannedStmt (this function's contract).
    let stmt = unsafe { (*pstmt).utilityStmt };
    // SAFETY: a utility PlannedStmt's `utilityStmt` is a non-NULL node (this function's
    // contract), and every node begins with its NodeTag.
    let refused = match unsafe { (*stmt).type_ } {
        pg_sys::NodeTag::T_DeclareCursorStmt => {
            let declare = stmt as *mut pg_sys::DeclareCursorStmt;
            // SAFETY: the node's tag says it is a DeclareCursorStmt.
            (unsafe { (*declare).options } & pg_sys::CURSOR_OPT_HOLD as i32 != 0)
                .then_some("DECLARE ... WITH HOLD")
        }
        pg_sys::NodeTag::T_ListenStmt => Some("LISTEN"),
        // SAFETY: the node's tag says it is a VariableSetStmt.
        pg_sys::NodeTag::T_VariableSetStmt => unsafe {
            session_setting(stmt as *mut pg_sys::VariableSetStmt)
        },
        pg_sys::NodeTag::T_AlterRoleStmt | pg_sys::NodeTag::T_AlterRoleSetStmt => {
            Some("ALTER ROLE")
        }
        pg_sys::NodeTag::T_AlterDatabaseSetStmt | pg_sys::NodeTag::T_AlterDatabaseStmt => {
            Some("ALTER DATABASE")
        }
        pg_sys::NodeTag::T_AlterDefaultPrivilegesStmt => Some("ALTER DEFAULT PRIVILEGES"),
        pg_sys::NodeTag::T_DropOwnedStmt => Some("DROP OWNED"),
        pg_sys::NodeTag::T_ReassignOwnedStmt => Some("REASSIGN OWNED"),
        pg_sys::NodeTag::T_GrantStmt => {
            let grant = stmt as *mut pg_sys::GrantStmt;
            // SAFETY: the node's tag says it is a GrantStmt.
            (unsafe { (*grant).objtype } == pg_sys::ObjectType::OBJECT_LARGEOBJECT)
                .then_some("GRANT or REVOKE on a large object")
        }
        pg_sys::NodeTag::T_AlterOwnerStmt => {
            let alter = stmt as *mut pg_sys::AlterOwnerStmt;
            // SAFETY: the node's tag says it is an AlterOwnerStmt.
            (unsafe { (*alter).objectType } == pg_sys::ObjectType::OBJECT_LARGEOBJECT)
                .then_some("ALTER LARGE OBJECT")
        }
        pg_sys::NodeTag::T_CreateStmt
        | pg_sys::NodeTag::T_CreateTableAsStmt
        | pg_sys::NodeTag::T_ViewStmt
        | pg_sys::NodeTag::T_CreateSeqStmt
        | pg_sys::NodeTag::T_CreateFunctionStmt
        | pg_sys::NodeTag::T_CreateTrigStmt
        | pg_sys::NodeTag::T_RuleStmt
        | pg_sys::NodeTag::T_IndexStmt
        | pg_sys::NodeTag::T_CompositeTypeStmt
        | pg_sys::NodeTag::T_CreateEnumStmt
        | pg_sys::NodeTag::T_CreateRangeStmt
        | pg_sys::NodeTag::T_CreateDomainStmt
        | pg_sys::NodeTag::T_DefineStmt
        | pg_sys::NodeTag::T_CreateConversionStmt => Some("CREATE"),
        _ => None,
    };
    if let Some(command) = refused {
        let hint = match command {
            "CREATE" => CREATE_HINT,
            "SET" | "RESET" | "SET SESSION CHARACTERISTICS" => SET_HINT,
            "LISTEN" | "DECLARE ... WITH HOLD" => {
                "It would outlive the transaction on this connection, which a pooler may hand to another tenant's client."
            }
            _ => {
                "A tenant transaction may change only its own tenant's data: roles, default privileges, \
                 ownership and large objects are the administrator's (and would outlive the transaction)."
            }
        };
        errors::raise(
            Code::ERRCODE_INSUFFICIENT_PRIVILEGE,
            format!("cannot execute {command} inside a tenant"),
            hint,
        );
    }
}

const CREATE_HINT: &str =
    "Inside a tenant the application creates nothing: a temporary object would outlive \
     the transaction on this connection, which a pooler may hand to another tenant's client. \
     Schema changes are migrations (stash.migration_add).";
const SET_HINT: &str =
    "A session-level setting would outlive the transaction on this connection, which a pooler \
     may hand to another tenant's client: use SET LOCAL (or set_config(name, value, true)).";

/// Which session-level SET a statement is, if it is one.  SET LOCAL ends with the
/// transaction; SET TRANSACTION (… SNAPSHOT) changes only this transaction.
///
/// # Safety
/// `set` points to a valid VariableSetStmt (the utility statement being executed).
unsafe fn session_setting(set: *mut pg_sys::VariableSetStmt) -> Option<&'static str> {
    // SAFETY: `set` is a valid VariableSetStmt (this function's contract); its name is
    // NULL or a NUL-terminated string owned by the statement, which outlives this call.
    let (kind, local, name) = unsafe {
        let name = (*set).name;
        let name = (!name.is_null()).then(|| std::ffi::CStr::from_ptr(name));
        ((*set).kind, (*set).is_local, name)
    };
    use pg_sys::VariableSetKind::*;
    match kind {
        _ if local => None,
        VAR_SET_MULTI => match name.map(|n| n.to_bytes()) {
            Some(b"TRANSACTION") | Some(b"TRANSACTION SNAPSHOT") => None,
            Some(b"SESSION CHARACTERISTICS") => Some("SET SESSION CHARACTERISTICS"),
            _ => Some("SET"),
        },
        VAR_RESET | VAR_RESET_ALL => Some("RESET"),
        _ => Some("SET"),
    }
}

/// Settings that PostgreSQL itself scopes to the transaction whatever the SET says.
const TRANSACTION_SCOPED: [&[u8]; 3] = [
    b"transaction_isolation",
    b"transaction_read_only",
    b"transaction_deferrable",
];

/// At the commit of an application role's tenant transaction: refuses (42501, failing the
/// commit, so the change is rolled back with everything else) a session-level setting
/// changed in the transaction.  `SET` is refused when it runs (utility hook), but
/// `set_config(name, value, false)` is a function call no hook sees; what it leaves is a
/// GUC stack entry in the SET state, which commit would make the session's value.
#[pg_guard]
extern "C-unwind" fn refuse_session_settings() {
    changed_settings(|guc| {
        // SAFETY: `guc` comes from PostgreSQL's own table of settings, valid for the
        // backend's life; its stack is a linked list PostgreSQL maintains, NULL-terminated.
        let (name, mut entry) = unsafe { (std::ffi::CStr::from_ptr((*guc).name), (*guc).stack) };
        while !entry.is_null() {
            // SAFETY: a non-NULL entry of that list.
            let (state, prev) = unsafe { ((*entry).state, (*entry).prev) };
            if (state == pg_sys::GucStackState::GUC_SET
                || state == pg_sys::GucStackState::GUC_SET_LOCAL)
                && !TRANSACTION_SCOPED.contains(&name.to_bytes())
            {
                errors::raise(
                    Code::ERRCODE_INSUFFICIENT_PRIVILEGE,
                    format!(
                        "cannot change setting \"{}\" for the session inside a tenant",
                        name.to_string_lossy()
                    ),
                    SET_HINT,
                );
            }
            entry = prev;
        }
    });
}

/// Calls `f` for (at least) every setting changed in this transaction: those with a GUC
/// stack.  PostgreSQL 15 keeps its settings in an array, which is walked whole (as its
/// own end-of-transaction code does).  PostgreSQL 16+ keeps the settings that have a
/// stack in a list of their own, linked through `stack_link`, and puts a setting at its
/// head when its stack is first pushed: so a marker setting nobody else touches is set
/// here, becomes the head, and the list is walked from it — a handful of settings
/// instead of the ~400 a walk of them all (a hash table scan and an allocation) costs.
fn changed_settings(mut f: impl FnMut(*mut pg_sys::config_generic)) {
    #[cfg(feature = "pg15")]
    {
        // SAFETY: PostgreSQL 15's own array of settings and its length; the array is
        // reallocated only when a setting is added, which `f` does not do.
        let (vars, count) = unsafe { (pg_sys::get_guc_variables(), pg_sys::GetNumConfigOptions()) };
        for i in 0..count.max(0) as usize {
            // SAFETY: `i` is below the array's length.
            f(unsafe { *vars.add(i) });
        }
    }
    #[cfg(not(feature = "pg15"))]
    // SAFETY: find_option returns the setting's record (NULL if unknown, with
    // skip_errors); `stack` and `stack_link` are maintained by guc.c, and a record with a
    // stack is in guc_stack_list, linked through `stack_link`, NULL-terminated.
    unsafe {
        let marker = pg_sys::find_option(
            crate::state::settings::COMMIT_MARKER_NAME.as_ptr(),
            false,
            true,
            PgLogLevel::ERROR as i32,
        );
        if !marker.is_null() && (*marker).stack.is_null() {
            crate::pg::guc::set_local_cstr(crate::state::settings::COMMIT_MARKER_NAME, c"commit");
            if !(*marker).stack.is_null() {
                let offset = std::mem::offset_of!(pg_sys::config_generic, stack_link);
                let mut node = (*marker).stack_link.next;
                while !node.is_null() {
                    f((node as *mut u8).sub(offset) as *mut pg_sys::config_generic);
                    node = (*node).next;
                }
                return;
            }
        }
        // Not expected (the marker had a stack already): every setting, the slow way.
        let mut count = 0;
        let vars = pg_sys::get_guc_variables(&mut count);
        for i in 0..count.max(0) as usize {
            f(*vars.add(i));
        }
    }
}

static mut PREVIOUS_OBJECT_ACCESS_HOOK: pg_sys::object_access_hook_type = None;

/// The object access hook: every object PostgreSQL creates passes OAT_POST_CREATE here,
/// whichever statement created it — including those the utility hook never sees
/// (`EXPLAIN ANALYZE CREATE TABLE … AS`, `lo_create()`, `lo_from_bytea()`).  Not a
/// #[pg_guard] function, for the reason utility_hook gives; the refusal is guarded.
///
/// # Safety
/// Called only by PostgreSQL's object access hook invocations as `object_access_hook`
/// (installed in [`init`]), with their own arguments, on the backend's thread.
unsafe extern "C-unwind" fn object_access_hook(
    access: pg_sys::ObjectAccessType::Type,
    class_id: pg_sys::Oid,
    object_id: pg_sys::Oid,
    sub_id: std::ffi::c_int,
    arg: *mut std::ffi::c_void,
) {
    if access == pg_sys::ObjectAccessType::OAT_POST_CREATE && SWITCHED.get().is_some() {
        refuse_creation(class_id);
    }
    // SAFETY: PREVIOUS_OBJECT_ACCESS_HOOK was saved in init() before ours was installed,
    // and is only read after, on the backend's only thread; it gets PostgreSQL's own
    // arguments unchanged (`arg` is whatever this access type carries), as
    // RunObjectPostCreateHook and its siblings would pass them.
    unsafe {
        if let Some(hook) = PREVIOUS_OBJECT_ACCESS_HOOK {
            hook(access, class_id, object_id, sub_id, arg);
        }
    }
}

/// catalog/pg_largeobject.h (not in pgrx's bindings): large objects' post-create class.
const LARGE_OBJECT_RELATION_ID: u32 = 2613;

#[pg_guard]
extern "C-unwind" fn refuse_creation(class_id: pg_sys::Oid) {
    let large_object = class_id.to_u32() == LARGE_OBJECT_RELATION_ID;
    let what = if large_object {
        "create a large object"
    } else {
        "create objects"
    };
    errors::raise(
        Code::ERRCODE_INSUFFICIENT_PRIVILEGE,
        format!("cannot {what} inside a tenant"),
        if large_object {
            "Large objects belong to the whole database, not to the tenant: store the data in a bytea column."
        } else {
            CREATE_HINT
        },
    );
}
