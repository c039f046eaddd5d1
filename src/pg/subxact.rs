//! Subtransactions, the way PL/pgSQL's EXCEPTION blocks use them: run a closure inside
//! one, and on error roll just that part back and hand the error to the caller as a
//! value.  This is what isolates one migration version (or one dry run) from the rest.
use crate::errors::OrRaise;
use pgrx::pg_sys;
use pgrx::pg_sys::panic::CaughtError;
use pgrx::PgTryBuilder;
use std::panic::AssertUnwindSafe;

/// An error caught inside a subtransaction, with everything PostgreSQL said about it.
#[derive(Debug, Clone)]
pub(crate) struct Failure {
    pub sqlstate: SqlState,
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
    // SAFETY: PL/pgSQL's exception-block pattern (pl_exec.c, exec_stmt_block).  Callers
    // run inside a transaction, where BeginInternalSubTransaction starts a subtransaction
    // (its name NULL: unnamed).  The caller's memory context — which outlives the
    // subtransaction — and resource owner, two globals of the backend's only thread, are
    // saved first and put back after the subtransaction starts and after it ends, either
    // way, as PostgreSQL requires.  On success the subtransaction is released (or rolled
    // back, for a dry run) while it is still the current one; on an error, pgrx has
    // already copied and flushed PostgreSQL's error state at its FFI boundary and the
    // closure's frames have unwound, so it is rolled back before anything else runs.
    // error_context_stack is saved and put back on an error as PG_TRY/PG_CATCH do: a
    // context record pushed inside the closure (errors::Context) stays pushed while its
    // error unwinds, and must not outlive the catch (its memory ends with the transaction).
    unsafe {
        let context = pg_sys::CurrentMemoryContext;
        let owner = pg_sys::CurrentResourceOwner;
        let context_stack = pg_sys::error_context_stack;
        let restore = move || {
            pg_sys::MemoryContextSwitchTo(context);
            pg_sys::CurrentResourceOwner = owner;
        };
        pg_sys::BeginInternalSubTransaction(std::ptr::null());
        pg_sys::MemoryContextSwitchTo(context);

        let mut f = Some(f);
        let keep = AssertUnwindSafe(std::cell::Cell::new(Some(keep)));
        PgTryBuilder::new(AssertUnwindSafe(|| {
            let value = (f.take().or_raise("called once"))();
            match on_success {
                OnSuccess::Commit => pg_sys::ReleaseCurrentSubTransaction(),
                OnSuccess::Discard => pg_sys::RollbackAndReleaseCurrentSubTransaction(),
            }
            restore();
            Ok(value)
        }))
        .catch_others(|error: CaughtError| {
            pg_sys::error_context_stack = context_stack;
            restore();
            pg_sys::RollbackAndReleaseCurrentSubTransaction();
            restore();
            let failure = describe(&error);
            let kept = keep.take().is_some_and(|keep| keep(&failure));
            if failure.sqlstate.class() == Class::OperatorIntervention && !kept {
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

/// A SQLSTATE, five characters; its first two are its class.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct SqlState(String);

/// The SQLSTATE classes the extension treats specially (Appendix A of PostgreSQL's docs).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Class {
    /// 57: query_canceled, admin_shutdown, ... — the session or server said stop.
    OperatorIntervention,
    Other,
}

impl SqlState {
    pub(crate) fn as_str(&self) -> &str {
        &self.0
    }

    pub(crate) fn class(&self) -> Class {
        match &self.0[..2] {
            "57" => Class::OperatorIntervention,
            _ => Class::Other,
        }
    }
}

impl std::fmt::Display for SqlState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// PostgreSQL packs a SQLSTATE into an int, six bits per character (MAKE_SQLSTATE).
fn sqlstate(code: i32) -> SqlState {
    SqlState(
        (0..5)
            .map(|i| (((code >> (6 * i)) & 0x3F) as u8 + b'0') as char)
            .collect(),
    )
}

#[cfg(test)]
mod unit {
    #[test]
    fn unpacks_sqlstates() {
        let code = pgrx::PgSqlErrorCode::ERRCODE_DIVISION_BY_ZERO as i32;
        assert_eq!(super::sqlstate(code).as_str(), "22012");
        let code = pgrx::PgSqlErrorCode::ERRCODE_QUERY_CANCELED as i32;
        assert_eq!(super::sqlstate(code).as_str(), "57014");
        assert_eq!(
            super::sqlstate(code).class(),
            super::Class::OperatorIntervention
        );
    }
}
