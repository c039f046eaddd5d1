//! Setting GUCs from Rust the way SET LOCAL and PostgreSQL's own nest levels do, reading
//! one, and splitting a list-valued one the way PostgreSQL parses search_path.
use crate::errors::OrRaise;
use pgrx::pg_sys;
use std::ffi::{CStr, CString};

/// SET LOCAL, done with superuser context so it also works for the PGC_SUSET context
/// GUCs; reverts at the end of the (sub)transaction like any SET LOCAL.
pub(crate) fn set_local(name: &'static CStr, value: &str) {
    let value = CString::new(value).or_raise("GUC values never contain NUL");
    set_local_cstr(name, &value);
}

pub(crate) fn set_local_cstr(name: &'static CStr, value: &CStr) {
    set(name, value, pg_sys::GucAction::GUC_ACTION_LOCAL);
}

#[cfg(not(any(feature = "pg17", feature = "pg18")))]
fn set(name: &'static CStr, value: &CStr, action: pg_sys::GucAction::Type) {
    // SAFETY: `name` and `value` are NUL-terminated (CStrs) and live for the call;
    // set_config_option copies the value before it keeps it.  With elevel 0 a refused
    // value is raised as an ERROR, through pgrx's error boundary; callers run inside a
    // transaction, which SET LOCAL and GUC_ACTION_SAVE belong to.
    unsafe {
        pg_sys::set_config_option(
            name.as_ptr(),
            value.as_ptr(),
            pg_sys::GucContext::PGC_SUSET,
            pg_sys::GucSource::PGC_S_SESSION,
            action,
            true,
            0,
            false,
        );
    }
}

#[cfg(any(feature = "pg17", feature = "pg18"))]
thread_local! {
    /// PostgreSQL 17's handles of the settings assigned here, by the address of their
    /// names (`'static`: an address is never another name's): set_config_option looks each name up in the GUC hash table on
    /// every call, a twelfth of a tenant_enter among 10,000 tenants (bench/findings.md).
    static HANDLES: std::cell::RefCell<Vec<(usize, *mut pg_sys::config_handle)>> =
        const { std::cell::RefCell::new(Vec::new()) };
}

/// What set_config_option does (PostgreSQL 17's is a wrapper of exactly this call, with
/// the current user as the role whose SET privilege is checked), through a handle kept
/// per setting instead of a name lookup per call.
#[cfg(any(feature = "pg17", feature = "pg18"))]
fn set(name: &'static CStr, value: &CStr, action: pg_sys::GucAction::Type) {
    let key = name.as_ptr() as usize;
    let cached = HANDLES.with(|h| h.borrow().iter().find(|(k, _)| *k == key).map(|(_, v)| *v));
    let handle = match cached {
        Some(handle) => handle,
        None => {
            // SAFETY: `name` is NUL-terminated; get_config_handle returns the setting's
            // record, or NULL for a name that is no setting (then set_config_with_handle
            // below looks the name up and raises, as set_config_option would).  A record is
            // never freed once a module has defined its setting (a placeholder is replaced
            // only by that definition): only the static names of defined settings (ours,
            // defined in _PG_init before any call, and built-in ones) reach here.
            let handle = unsafe { pg_sys::get_config_handle(name.as_ptr()) };
            if !handle.is_null() {
                HANDLES.with(|h| h.borrow_mut().push((key, handle)));
            }
            handle
        }
    };
    // SAFETY: as for set_config_option: `name` and `value` are NUL-terminated and live
    // for the call, the value is copied before it is kept, elevel 0 raises a refused value
    // as an ERROR through pgrx's error boundary, inside the caller's transaction; `handle`
    // is this name's record from get_config_handle (or NULL: looked up by name).  The role
    // is the current user, as set_config_option passes for an interactive source.
    unsafe {
        pg_sys::set_config_with_handle(
            name.as_ptr(),
            handle,
            value.as_ptr(),
            pg_sys::GucContext::PGC_SUSET,
            pg_sys::GucSource::PGC_S_SESSION,
            pg_sys::GetUserId(),
            action,
            true,
            0,
            false,
        );
    }
}

/// The current value of setting `name`, as SHOW prints it; None if there is no such
/// setting (or it is a string setting with no value).  A copy: the text PostgreSQL hands
/// out is freed or overwritten when that setting (or, for a number, any other) is read or
/// set again.
pub(crate) fn value(name: &CStr) -> Option<CString> {
    // SAFETY: `name` is NUL-terminated (a CStr).  With missing_ok, GetConfigOption returns
    // NULL for an unknown setting instead of raising (restrict_privileged false: no
    // visibility check).  A non-NULL result is a NUL-terminated string, valid until the
    // next read or set, and is copied before this returns.
    unsafe {
        let raw = pg_sys::GetConfigOption(name.as_ptr(), true, false);
        (!raw.is_null()).then(|| CStr::from_ptr(raw).to_owned())
    }
}

/// The current search_path, as SHOW prints it (a copy).  Read from the variable that the
/// setting assigns, without a lookup of the setting by name: tenant_enter keeps it for
/// tenant_exit on every first enter of a transaction.
pub(crate) fn search_path() -> CString {
    // SAFETY: namespace_search_path is the string variable of the built-in search_path
    // setting: guc.c keeps it pointing at a valid NUL-terminated value (never NULL once the
    // settings are initialized, as they are before any function runs) until the setting
    // changes, and it is copied here before anything can change it.
    unsafe {
        let raw = pg_sys::namespace_search_path;
        if raw.is_null() {
            CString::default()
        } else {
            CStr::from_ptr(raw).to_owned()
        }
    }
}

/// A search_path-style list split into names by PostgreSQL's own SplitIdentifierString
/// (quoted names keep commas, case and spaces; unquoted ones are downcased); None if
/// it does not parse.
pub(crate) fn split_identifiers(list: &str) -> Option<Vec<String>> {
    let raw = CString::new(list).ok()?;
    // SAFETY: SplitIdentifierString writes into its input and returns names pointing into
    // it, so it gets a palloc'd copy of the NUL-terminated `raw`, which lives in the
    // current memory context until the names are copied out below.  `names` is then NIL
    // or a List of `length` cells, each a NUL-terminated name inside that copy.
    unsafe {
        let copy = pg_sys::pstrdup(raw.as_ptr());
        let mut names: *mut pg_sys::List = std::ptr::null_mut();
        if !pg_sys::SplitIdentifierString(copy, b',' as std::ffi::c_char, &mut names) {
            return None;
        }
        let count = if names.is_null() { 0 } else { (*names).length };
        Some(
            (0..count as usize)
                .map(|i| {
                    let cell = (*names).elements.add(i);
                    CStr::from_ptr((*cell).ptr_value as *const std::ffi::c_char)
                        .to_string_lossy()
                        .into_owned()
                })
                .collect(),
        )
    }
}

/// Settings that hold only until [`NestLevel::close`].  Closing unwinds the nest level the way
/// an abort would (as PostgreSQL does after index builds and REFRESH MATERIALIZED VIEW):
/// every setting made inside — by us, or by SQL run inside, `SET`, `SET LOCAL` and
/// `set_config()` alike — goes back to what it was when the scope opened.  If an error
/// escapes before close, the (sub)transaction abort unwinds the scope with everything else.
pub(crate) struct NestLevel {
    level: i32,
}

impl NestLevel {
    pub(crate) fn open() -> NestLevel {
        NestLevel {
            // SAFETY: NewGUCNestLevel only increments and returns guc.c's nest level
            // counter, on the backend's only thread.
            level: unsafe { pg_sys::NewGUCNestLevel() },
        }
    }

    pub(crate) fn set(&self, name: &'static CStr, value: &str) {
        let value = CString::new(value).or_raise("GUC values never contain NUL");
        set(name, &value, pg_sys::GucAction::GUC_ACTION_SAVE);
    }

    pub(crate) fn close(self) {
        // SAFETY: `self.level` is what NewGUCNestLevel returned in `open`, and `close`
        // consumes `self`, so each level is closed once.  AtEOXact_GUC(false, level) pops
        // the GUC stack entries of that level and above, restoring their prior values,
        // as PostgreSQL does after index builds; if an error skipped `close`, the
        // (sub)transaction abort already unwound the level and this is never reached.
        unsafe { pg_sys::AtEOXact_GUC(false, self.level) };
    }
}
