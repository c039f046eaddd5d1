//! The privileged statement executor: every read and write of the extension's own tables
//! (registry, events, catalog, ledger) goes through [`select`] / [`update`], which run one
//! statement as the owner of `stash.tenants`, from a plan kept per backend.
//!
//! Why as the owner: granting EXECUTE on `stash.tenant_create` should be all it takes to
//! let a role create tenants, without also handing it write access to the registry (which
//! would let it forge rows).  So these statements switch to the owner for the duration of
//! one statement, the way SECURITY DEFINER would, while the DDL on tenant schemas runs
//! as the tenant schema's owner (see migrate/engine.rs).
use crate::catalog::invalidation;
use crate::errors::OrRaise;
use crate::pg::guc;
use crate::pg::snapshot;
use crate::pg::user;
use pgrx::datum::DatumWithOid;
use pgrx::prelude::*;
use pgrx::spi::{OwnedPreparedStatement, SpiClient, SpiResult, SpiTupleTable};
use pgrx::PgOid;
use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

/// Runs `f` with `role` as the current user and `extra` added to the security context,
/// restoring the caller afterwards, also when `f` raises (the guard's Drop runs during
/// unwinding; a PostgreSQL-level abort restores it too).
pub(crate) fn as_role<R>(role: pg_sys::Oid, extra: u32, f: impl FnOnce() -> R) -> R {
    struct Restore(pg_sys::Oid, i32);
    impl Drop for Restore {
        fn drop(&mut self) {
            user::set_identity(self.0, self.1);
        }
    }
    let (uid, ctx) = user::identity();
    let _restore = Restore(uid, ctx);
    let extra = (pg_sys::SECURITY_LOCAL_USERID_CHANGE | extra) as i32;
    user::set_identity(role, ctx | extra);
    f()
}

/// Runs `f` as the owner of `stash.tenants`.
/// Everything runs with `search_path = pg_catalog, pg_temp`: tenant_enter has no SET
/// clause (it must SET LOCAL the caller's search_path), so without this an operator or
/// function planted in a schema the caller put first would run as the owner — a
/// superuser.  The same path for every call also keeps the kept plans valid.
pub(crate) fn as_owner<R>(f: impl FnOnce() -> R) -> R {
    // Every read or write of the extension's tables comes through here: the one place
    // to refuse running this library against another version's schema.
    crate::catalog::version::check();
    as_role(invalidation::registry_owner(), 0, || {
        let path = guc::NestLevel::open();
        path.set(c"search_path", "pg_catalog, pg_temp");
        let result = f();
        path.close();
        result
    })
}

thread_local! {
    /// Plans of the registry statements, prepared once per backend and kept (SPI_keepplan):
    /// the same few statements run for every tenant of a fleet migration, and parsing and
    /// planning them each time cost more than running them.  PostgreSQL's plan cache
    /// re-plans them by itself when the tables they use change.
    static PLANS: RefCell<HashMap<String, Rc<OwnedPreparedStatement>>> = RefCell::new(HashMap::new());
}

fn plan(
    client: &SpiClient,
    sql: &str,
    args: &[DatumWithOid],
    mutating: bool,
) -> SpiResult<Rc<OwnedPreparedStatement>> {
    if let Some(plan) = PLANS.with(|p| p.borrow().get(sql).cloned()) {
        return Ok(plan);
    }
    let oids: Vec<PgOid> = args.iter().map(|a| PgOid::from(a.oid())).collect();
    let prepared = if mutating {
        client.prepare_mut(sql, &oids)?
    } else {
        client.prepare(sql, &oids)?
    };
    let plan = Rc::new(prepared.keep());
    PLANS.with(|p| p.borrow_mut().insert(sql.to_string(), plan.clone()));
    Ok(plan)
}

/// One SQL statement against the extension's tables, as their owner.  `sql` must be one
/// of a fixed set of statements (its plan is kept per backend); values go in `args`.
pub(crate) fn select<R>(
    sql: &str,
    args: &[DatumWithOid],
    f: impl FnOnce(SpiTupleTable) -> SpiResult<R>,
) -> R {
    as_owner(|| {
        Spi::connect(|client| {
            let plan = plan(client, sql, args, false)?;
            f(client.select(&*plan, None, args)?)
        })
    })
    .or_raise("registry query failed")
}

/// Like [`select`], for statements that write.
pub(crate) fn update<R>(
    sql: &str,
    args: &[DatumWithOid],
    f: impl FnOnce(SpiTupleTable) -> SpiResult<R>,
) -> R {
    as_owner(|| {
        Spi::connect_mut(|client| {
            let plan = plan(client, sql, args, true)?;
            f(client.update(&*plan, None, args)?)
        })
    })
    .or_raise("registry update failed")
}

/// Runs `sql` (one text column, one row; `$1` is a uuid or NULL) as the owner of
/// stash.tenants with the **latest** snapshot instead of the transaction's, and returns
/// the text.  Under REPEATABLE READ a statement otherwise sees the transaction's snapshot,
/// which the migration engine must be able to compare against the present.  Rare (only
/// REPEATABLE READ and SERIALIZABLE callers), so it prepares a one-off plan.
pub(crate) fn text_at_latest_snapshot(sql: &str, arg: Option<pgrx::Uuid>) -> Option<String> {
    let sql = std::ffi::CString::new(sql).or_raise("SQL has no NUL");
    as_owner(|| snapshot::text_at_latest_snapshot(&sql, arg))
}
