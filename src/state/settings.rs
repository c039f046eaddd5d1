//! Configuration parameters.
//!
//! `stash.shared_schemas` is the one administrators set (superuser-only, like every setting
//! that decides what a tenant transaction resolves: an application role that could put
//! `pg_temp` ahead of the shared schemas would shadow them with objects of its own).
//! The settings that show the tenant context (`stash.tenant`, `stash.tenant_id`) are
//! entered.rs's, with the context they show.
use crate::pg::guc;
use pgrx::guc::{GucContext, GucFlags, GucRegistry, GucSetting};
use pgrx::pg_sys;
use std::ffi::{CStr, CString};

pub(crate) static SHARED_SCHEMAS: GucSetting<Option<CString>> =
    GucSetting::<Option<CString>>::new(Some(c"public"));
/// kB; 0 turns the limit off.
static CACHE_LIMIT: GucSetting<i32> = GucSetting::<i32>::new(128 * 1024);
static TOKEN_TENANT_CLAIM: GucSetting<Option<CString>> =
    GucSetting::<Option<CString>>::new(Some(c"tenant"));
static TOKEN_AUDIENCE: GucSetting<Option<CString>> = GucSetting::<Option<CString>>::new(None);
static ALLOW_RESET: GucSetting<bool> = GucSetting::<bool>::new(false);
static COMMIT_MARKER: GucSetting<Option<CString>> = GucSetting::<Option<CString>>::new(None);

/// Set by nothing but isolation.rs, at the commit of a tenant transaction: see
/// isolation::changed_settings.
pub(crate) const COMMIT_MARKER_NAME: &CStr = c"stash.commit_marker";

pub(crate) fn init() {
    // SAFETY: define_string_guc_with_hooks requires hooks that cannot let a Rust panic
    // cross into C: the check hook is #[pg_guard]ed (and has exactly the
    // GucStringCheckHook signature); there is no assign or show hook.  SHARED_SCHEMAS is a
    // static, alive as long as the registration, in _PG_init, which runs once.
    unsafe {
        GucRegistry::define_string_guc_with_hooks(
            c"stash.shared_schemas",
            c"Schemas searched after the tenant's own schema inside stash.tenant_enter().",
            c"A search_path-style list, e.g. 'public' or 'shared, public'; never pg_temp or pg_catalog. Empty means only the tenant schema.",
            &SHARED_SCHEMAS,
            GucContext::Suset,
            GucFlags::default(),
            Some(check_shared_schemas),
            None,
            None,
        );
    }
    let context_flags = GucFlags::NO_RESET_ALL | GucFlags::NO_SHOW_ALL | GucFlags::DISALLOW_IN_FILE;
    GucRegistry::define_string_guc(
        COMMIT_MARKER_NAME,
        c"Internal to stash_tenancy (the check at the commit of a tenant transaction); not a setting.",
        c"",
        &COMMIT_MARKER,
        GucContext::Suset,
        context_flags,
    );
    GucRegistry::define_int_guc(
        c"stash.cache_limit",
        c"Catalog-cache memory per backend above which stash.tenant_enter releases the caches.",
        c"0 turns the limit off. See docs/operations.md for how to size it.",
        &CACHE_LIMIT,
        0,
        i32::MAX,
        GucContext::Suset,
        GucFlags::UNIT_KB,
    );
    GucRegistry::define_bool_guc(
        c"stash.allow_reset",
        c"Allows stash.tenant_reset() in this session (development and tests).",
        c"tenant_reset drops everything in a tenant's schema: it is refused unless an administrator turns this on.",
        &ALLOW_RESET,
        GucContext::Suset,
        GucFlags::default(),
    );
    // Superuser-only: a role that could point the tenant claim at another claim of its
    // own token (or switch the audience check off) could enter a tenant no token names.
    GucRegistry::define_string_guc(
        c"stash.token_tenant_claim",
        c"The JWT claim that names the tenant in stash.tenant_enter_token() and stash.postgrest_pre_request().",
        c"Its value is a tenant slug or a tenant id.",
        &TOKEN_TENANT_CLAIM,
        GucContext::Suset,
        GucFlags::default(),
    );
    GucRegistry::define_string_guc(
        c"stash.token_audience",
        c"When set, stash.tenant_enter_token() requires tokens whose aud claim contains this value.",
        c"Empty: the audience is not checked.",
        &TOKEN_AUDIENCE,
        GucContext::Suset,
        GucFlags::default(),
    );
    // Reserve the prefix: a typo such as `SET stash.shared_schema` is then an error
    // instead of a silently ignored placeholder.
    // SAFETY: c"stash" is a NUL-terminated literal, valid for the whole process, which
    // PostgreSQL only reads (and copies into its list of reserved prefixes); _PG_init, on
    // the backend's only thread.
    unsafe { pg_sys::MarkGUCPrefixReserved(c"stash".as_ptr()) };
}

/// The current value of one of our string GUCs, borrowed: valid until that GUC is set
/// again, so callers copy it (or finish with it) before setting the same GUC.
fn current(setting: &GucSetting<Option<CString>>) -> Option<&'static CStr> {
    // SAFETY: `as_ptr` points to the setting's `char *` variable, a static that PostgreSQL
    // writes only from this (the backend's only) thread; read by value.
    let raw = unsafe { *setting.as_ptr() };
    // SAFETY: a non-NULL value of a string GUC is a NUL-terminated string PostgreSQL
    // allocated.  It stays valid only until that GUC is set again (guc.c frees the old
    // value): the 'static here is a promise the callers keep by copying it or finishing
    // with it first — the type does not enforce it.
    (!raw.is_null()).then(|| unsafe { CStr::from_ptr(raw) })
}

fn non_empty(setting: &GucSetting<Option<CString>>) -> Option<String> {
    current(setting)
        .filter(|s| !s.is_empty())
        .map(|s| s.to_string_lossy().into_owned())
}

/// `stash.cache_limit` in bytes (0: off).
pub(crate) fn cache_limit_bytes() -> i64 {
    CACHE_LIMIT.get() as i64 * 1024
}

pub(crate) fn allow_reset() -> bool {
    ALLOW_RESET.get()
}
pub(crate) fn token_tenant_claim() -> String {
    non_empty(&TOKEN_TENANT_CLAIM).unwrap_or_else(|| "tenant".into())
}
pub(crate) fn token_audience() -> Option<String> {
    non_empty(&TOKEN_AUDIENCE)
}
/// Why a value of `stash.shared_schemas` is refused, if it is: it must parse, and it may
/// not name `pg_temp` (tenant_enter puts it last itself) or `pg_catalog` (searched first
/// anyway; named later, it would let the schemas before it shadow built-in functions).
fn shared_schemas_problem(list: &str) -> Option<String> {
    let Some(names) = guc::split_identifiers(list) else {
        return Some(format!("\"{list}\" is not a list of schema names."));
    };
    names
        .iter()
        .find(|n| n.starts_with("pg_temp") || n.starts_with("pg_toast_temp") || *n == "pg_catalog")
        .map(|n| format!("The shared schemas may not include \"{n}\": tenant_enter searches pg_catalog first and pg_temp last itself."))
}

/// The check hook of `stash.shared_schemas` (22023 with the reason in DETAIL), so a bad
/// value is refused by SET, ALTER ROLE/DATABASE … SET and postgresql.conf alike.
///
/// # Safety
/// Called only by guc.c as the check hook registered in [`init`], with its own
/// arguments: `newval` points to the proposed value.
#[pgrx::pg_guard]
unsafe extern "C-unwind" fn check_shared_schemas(
    newval: *mut *mut std::ffi::c_char,
    _extra: *mut *mut std::ffi::c_void,
    _source: pg_sys::GucSource::Type,
) -> bool {
    // SAFETY: PostgreSQL passes a pointer to the proposed value, a NUL-terminated string
    // or NULL (the boot value of a string GUC may be NULL).
    let value = unsafe {
        if newval.is_null() || (*newval).is_null() {
            return true;
        }
        CStr::from_ptr(*newval).to_string_lossy().into_owned()
    };
    let Some(problem) = shared_schemas_problem(&value) else {
        return true;
    };
    let problem = CString::new(problem).unwrap_or_default();
    // SAFETY: the documented way for a check hook to report (guc.h's GUC_check_errcode,
    // GUC_check_errdetail and GUC_check_errhint), on the backend's only thread: the two
    // globals get palloc'd copies of NUL-terminated strings (`problem` is a CString, the
    // hint a c"" literal), in the current memory context, which lasts until guc.c has
    // reported them.
    unsafe {
        pg_sys::GUC_check_errcode(pgrx::PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE as i32);
        pg_sys::GUC_check_errdetail_string = pg_sys::pstrdup(problem.as_ptr());
        pg_sys::GUC_check_errhint_string = pg_sys::pstrdup(
            c"Name the shared schemas only, e.g. 'shared, public'. Only a superuser (or a role granted SET on this parameter) may change it."
                .as_ptr(),
        );
    }
    false
}

/// `stash.shared_schemas`, borrowed (see [`current`]).
pub(crate) fn shared_schemas_cstr() -> &'static CStr {
    current(&SHARED_SCHEMAS).unwrap_or(c"")
}

/// The search_path of a tenant: its own schema, then `stash.shared_schemas` (if any).
/// tenant_enter and the migration engine must agree on it.
pub(crate) fn tenant_search_path(schema: &str) -> String {
    search_path(&pgrx::spi::quote_identifier(schema), &shared_schemas())
}

/// [`tenant_search_path`] from an already quoted schema name, for callers that cache it.
/// `pg_temp` is named last: unnamed, PostgreSQL searches the session's temporary schema
/// *first*, so a temporary object left on a pooled connection could shadow the tenant's
/// own tables.
pub(crate) fn search_path(quoted_schema: &str, shared: &str) -> String {
    let shared = shared.trim();
    let mut path = String::with_capacity(quoted_schema.len() + shared.len() + 12);
    path.push_str(quoted_schema);
    if !shared.is_empty() {
        path.push_str(", ");
        path.push_str(shared);
    }
    path.push_str(", pg_temp");
    path
}

pub(crate) fn shared_schemas() -> String {
    shared_schemas_cstr().to_string_lossy().into_owned()
}

/// `stash.shared_schemas` as schema names, parsed like search_path is (see
/// [`guc::split_identifiers`]).  An unparsable list is 22023.
pub(crate) fn shared_schema_names() -> Vec<String> {
    let list = shared_schemas();
    guc::split_identifiers(&list).unwrap_or_else(|| {
        crate::errors::raise(
            pgrx::PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE,
            format!("stash.shared_schemas is not a valid list of schema names: {list}"),
            "Use a search_path-style list such as 'shared, public' or '\"My Schema\", public'.",
        )
    })
}
