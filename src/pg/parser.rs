//! PostgreSQL's own SQL parser, for where statement boundaries must be exactly the ones
//! PostgreSQL finds (quoting, dollar quotes and comments included).
use pgrx::pg_sys;
use std::ffi::CStr;

/// Where each statement of `sql` is, as PostgreSQL's raw parser reports it: its byte
/// offset and length (length 0: to the end of the text).  A syntax error raises, with
/// PostgreSQL's message.
pub(crate) fn statement_spans(sql: &CStr) -> Vec<(usize, usize)> {
    // SAFETY: `sql` is NUL-terminated (a CStr); raw_parser only reads it and returns a
    // List of RawStmt nodes (NIL for no statement) palloc'd in the current memory
    // context, which outlives this function; a syntax error is raised as an ERROR
    // through pgrx's error boundary.
    let parsed =
        unsafe { pg_sys::raw_parser(sql.as_ptr(), pg_sys::RawParseMode::RAW_PARSE_DEFAULT) };
    // SAFETY: `parsed` is the List raw_parser just returned (or NIL): a list of RawStmt.
    let list = unsafe { pgrx::PgList::<pg_sys::RawStmt>::from_pg(parsed) };
    list.iter_ptr()
        .map(|stmt| {
            // SAFETY: every element of that list is a valid RawStmt.
            let (start, len) = unsafe { ((*stmt).stmt_location, (*stmt).stmt_len) };
            (start as usize, len as usize)
        })
        .collect()
}
