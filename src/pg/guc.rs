//! Setting GUCs from Rust the way SET LOCAL and PostgreSQL's own nest levels do.
use pgrx::pg_sys;
use std::ffi::{CStr, CString};

/// SET LOCAL, done with superuser context so it also works for the PGC_SUSET context
/// GUCs; reverts at the end of the (sub)transaction like any SET LOCAL.
pub(crate) fn set_local(name: &CStr, value: &str) {
    let value = CString::new(value).expect("GUC values never contain NUL");
    set_local_cstr(name, &value);
}

pub(crate) fn set_local_cstr(name: &CStr, value: &CStr) {
    set(name, value, pg_sys::GucAction::GUC_ACTION_LOCAL);
}

fn set(name: &CStr, value: &CStr, action: pg_sys::GucAction::Type) {
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
            level: unsafe { pg_sys::NewGUCNestLevel() },
        }
    }

    pub(crate) fn set(&self, name: &CStr, value: &str) {
        let value = CString::new(value).expect("GUC values never contain NUL");
        set(name, &value, pg_sys::GucAction::GUC_ACTION_SAVE);
    }

    pub(crate) fn close(self) {
        unsafe { pg_sys::AtEOXact_GUC(false, self.level) };
    }
}
