//! Subtransactions, the way PL/pgSQL's EXCEPTION blocks use them: run a closure inside
//! one, and on error roll just that part back and hand the error to the caller as a
//! value.  This is what isolates one migration version (or one dry run) from the rest.
use pgrx::pg_sys;
use pgrx::pg_sys::panic::CaughtError;
use pgrx::PgTryBuilder;
use std::panic::AssertUnwindSafe;

/// An error caught inside a subtransaction, with everything PostgreSQL said about it.
#[derive(Debug, Clone)]
pub(crate) struct Failure {
    pub sqlstate: String,
    pub message: String,
    pub detail: Option<String>,
    pub hint: Option<String>,
}

impl Failure {
    /// `message (SQLSTATE xxxxx)`, then DETAIL and HINT lines when there are any.
    pub(crate) fn describe(&self) -> String {
        let mut text = format!("{} (SQLSTATE {})", self.message, self.sqlstate);
        for (label, part) in [("DETAIL", &self.detail), ("HINT", &self.hint)] {
            if let Some(part) = part {
                text.push_str(&format!("\n{label}: {part}"));
            }
        }
        text
    }
}

/// How a subtransaction ends when the closure succeeds.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum OnSuccess {
    Commit,
    /// Roll back even on success: a dry run.
    Discard,
}

/// Runs `f` in a subtransaction.  A cancel or a shutdown request is never swallowed: the
/// subtransaction is rolled back and the error goes on up, ending the whole command —
/// unless `keep` claims it (a timeout the caller set itself, say).
pub(crate) fn run<R>(on_success: OnSuccess, f: impl FnOnce() -> R) -> Result<R, Failure> {
    run_keeping(on_success, |_| false, f)
}

pub(crate) fn run_keeping<R>(
    on_success: OnSuccess,
    keep: impl FnOnce(&Failure) -> bool,
    f: impl FnOnce() -> R,
) -> Result<R, Failure> {
    unsafe {
        let context = pg_sys::CurrentMemoryContext;
        let owner = pg_sys::CurrentResourceOwner;
        let restore = move || {
            pg_sys::MemoryContextSwitchTo(context);
            pg_sys::CurrentResourceOwner = owner;
        };
        pg_sys::BeginInternalSubTransaction(std::ptr::null());
        pg_sys::MemoryContextSwitchTo(context);

        let mut f = Some(f);
        let keep = AssertUnwindSafe(std::cell::Cell::new(Some(keep)));
        PgTryBuilder::new(AssertUnwindSafe(|| {
            let value = (f.take().expect("called once"))();
            match on_success {
                OnSuccess::Commit => pg_sys::ReleaseCurrentSubTransaction(),
                OnSuccess::Discard => pg_sys::RollbackAndReleaseCurrentSubTransaction(),
            }
            restore();
            Ok(value)
        }))
        .catch_others(|error: CaughtError| {
            restore();
            pg_sys::RollbackAndReleaseCurrentSubTransaction();
            restore();
            let failure = describe(&error);
            let kept = keep.take().is_some_and(|keep| keep(&failure));
            if failure.sqlstate.starts_with("57") && !kept {
                error.rethrow();
            }
            Err(failure)
        })
        .execute()
    }
}

fn describe(error: &CaughtError) -> Failure {
    match error {
        CaughtError::PostgresError(report)
        | CaughtError::ErrorReport(report)
        | CaughtError::RustPanic {
            ereport: report, ..
        } => Failure {
            sqlstate: sqlstate(report.sql_error_code() as i32),
            message: report.message().to_string(),
            detail: report.detail().map(str::to_string),
            hint: report.hint().map(str::to_string),
        },
    }
}

/// PostgreSQL packs a SQLSTATE into an int, six bits per character (MAKE_SQLSTATE).
fn sqlstate(code: i32) -> String {
    (0..5)
        .map(|i| (((code >> (6 * i)) & 0x3F) as u8 + b'0') as char)
        .collect()
}

#[cfg(test)]
mod unit {
    #[test]
    fn unpacks_sqlstates() {
        let code = pgrx::PgSqlErrorCode::ERRCODE_DIVISION_BY_ZERO as i32;
        assert_eq!(super::sqlstate(code), "22012");
        let code = pgrx::PgSqlErrorCode::ERRCODE_QUERY_CANCELED as i32;
        assert_eq!(super::sqlstate(code), "57014");
    }
}
