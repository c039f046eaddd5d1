//! Fleet migrations: `CALL stash.migrate_all(…)` and the two internal functions it calls.
//!
//! The procedure claims one tenant at a time with SKIP LOCKED and commits after each, so
//! locks stay bounded, runs resume where they stopped, and sessions can run side by side.
//! Its brakes: per-step `lock_timeout` / `statement_timeout` (a tenant that cannot be
//! migrated in time fails with 55P03 / 57014 and is retried once at the end of the run),
//! `max_failures` (stop after that many failed tenants) and `canary` (migrate that many
//! tenants in slug order, then stop).  At the end it counts what still needs work —
//! tenants another session held locked the whole time, tenants that failed — and says so.
#![allow(clippy::type_complexity)]
use super::api::validate_target;
use super::engine::{self, Limits, Outcome, Target};
use crate::catalog::executor;
use crate::errors;
use crate::errors::OrRaise;
use crate::pg::backend;
use crate::pg::user;
use pgrx::prelude::*;
use pgrx::PgSqlErrorCode as Code;

/// Tenants with work to do for `$1` (target version): pending versions, versions above
/// the target, or applied versions whose checksum changed.  `{fence}` is empty for the
/// one-off count, where the planner may hash the second subquery over the whole ledger
/// in one pass, and `OFFSET 0` for the per-tenant claim, where that same hashed plan
/// would scan the whole ledger again for every claim that meets a finished tenant — the
/// profile in BENCHMARKS.md found it was what made parallel sessions slower than one.
macro_rules! needs_work {
    ($fence:literal) => {
        concat!(
            "(EXISTS (SELECT FROM stash.migrations m
                       WHERE m.scope = 'tenant' AND ($1::bigint IS NULL OR m.version <= $1)
                         AND NOT EXISTS (SELECT FROM stash.ledger l
                                          WHERE l.tenant_id = t.id AND l.version = m.version))
               OR EXISTS (SELECT FROM stash.ledger l JOIN stash.migrations m USING (version)
                           WHERE l.tenant_id = t.id AND (l.version > $1 OR l.checksum <> m.checksum) ",
            $fence,
            "))"
        )
    };
}

/// The internal helpers are executable by everyone, so that granting EXECUTE on the
/// procedure is all it takes to let a role run it; they check that grant themselves.
fn require_procedure_privilege() {
    const PROCEDURE: &str = "stash.migrate_all(bigint, bigint, interval, interval, bigint)";
    let allowed = user::may_execute(PROCEDURE).unwrap_or_else(|| {
        errors::raise(
            Code::ERRCODE_UNDEFINED_FUNCTION,
            format!("procedure {PROCEDURE} does not exist"),
            "The extension's objects are incomplete: ALTER EXTENSION stash_tenancy UPDATE, or reinstall it.",
        )
    });
    if !allowed {
        errors::raise(
            Code::ERRCODE_INSUFFICIENT_PRIVILEGE,
            "permission denied for procedure stash.migrate_all".into(),
            "GRANT EXECUTE ON PROCEDURE stash.migrate_all(bigint, bigint, interval, interval, bigint) TO the role; the stash._migrate_all_* functions are its internals.",
        );
    }
}

/// Internal to `migrate_all`: how many tenants it has work for.  Refuses to run inside
/// a transaction block, where migrate_all could not commit after each tenant.
#[pg_extern(volatile, parallel_unsafe, name = "_migrate_all_pending")]
#[search_path(pg_catalog, pg_temp)]
fn migrate_all_pending(target_version: Option<i64>) -> i64 {
    if backend::in_transaction_block() {
        errors::raise(
            Code::ERRCODE_ACTIVE_SQL_TRANSACTION,
            "CALL stash.migrate_all() cannot run inside a transaction block".into(),
            "It commits after every tenant. Run it on its own (autocommit), or use stash.tenant_migrate() inside a transaction.",
        );
    }
    require_procedure_privilege();
    validate_target(target_version);
    super::path::require_safe(); // refused outright, not recorded as one failure per tenant
    let sql = concat!(
        "SELECT count(*) FROM stash.tenants t WHERE ",
        needs_work!("")
    );
    executor::select(sql, &[target_version.into()], |t| {
        t.first().get_one::<i64>()
    })
    .unwrap_or(0)
}

/// Internal to `migrate_all`: claims the next tenant after `after_slug` that has work and
/// is not in `skip`, skipping tenants another session holds, migrates it within the
/// given per-step limits (milliseconds) and returns its report (no row when none is
/// left).  `sqlstate` is the failure's, so the procedure can retry timeouts.
#[pg_extern(volatile, parallel_unsafe, name = "_migrate_all_next")]
#[search_path(pg_catalog, pg_temp)]
fn migrate_all_claim(
    target_version: Option<i64>,
    after_slug: Option<&str>,
    skip: Option<Vec<String>>,
    lock_timeout_ms: Option<i64>,
    statement_timeout_ms: Option<i64>,
) -> TableIterator<
    'static,
    (
        name!(slug, Option<String>),
        name!(from_version, Option<i64>),
        name!(to_version, Option<i64>),
        name!(applied, Option<i32>),
        name!(status, Option<String>),
        name!(error, Option<String>),
        name!(sqlstate, Option<String>),
    ),
> {
    require_procedure_privilege();
    let sql = concat!(
        "SELECT t.id, t.slug, t.schema_name::text FROM stash.tenants t
          WHERE t.slug > $2 AND t.slug <> ALL ($3) AND ",
        needs_work!("OFFSET 0"),
        " ORDER BY t.slug LIMIT 1 FOR UPDATE OF t SKIP LOCKED"
    );
    let limits = Limits {
        lock_timeout_ms,
        statement_timeout_ms,
    };
    let skip = skip.unwrap_or_default();
    let mut after = after_slug.unwrap_or("").to_string();
    let row = loop {
        let claimed = executor::update(
            sql,
            &[
                target_version.into(),
                after.clone().into(),
                skip.clone().into(),
            ],
            |t| {
                if t.is_empty() {
                    return Ok(None);
                }
                let t = t.first();
                Ok(Some((
                    t.get::<pgrx::Uuid>(1)?.or_raise("id"),
                    t.get::<String>(2)?.or_raise("slug"),
                    t.get::<String>(3)?.or_raise("schema"),
                )))
            },
        );
        let Some((id, slug, schema)) = claimed else {
            break None;
        };
        let target = Target::tenant(id, &slug, &schema);
        // The claim judged "needs work" with a snapshot taken before it got the lock: a
        // session that finished this tenant in between leaves nothing to do.  Move on
        // here rather than through a COMMIT and a round trip, or parallel sessions end
        // up trailing each other over the same tenants.  (Under REPEATABLE READ, which
        // the procedure avoids, a tenant changed since the snapshot is such a tenant.)
        if engine::require_fresh_snapshot(&target).is_err() {
            after = slug;
            continue;
        }
        let report = engine::migrate(&target, target_version, &limits);
        if report.status == Outcome::UpToDate {
            after = slug;
            continue;
        }
        let sqlstate = report.sqlstate.clone();
        let (a, b, c, d, e, f) = report.row();
        break Some((a, b, c, d, e, f, sqlstate));
    };
    TableIterator::new(row)
}

extension_sql!(
    r#"
CREATE PROCEDURE stash.migrate_all(
    target_version    bigint   DEFAULT NULL,
    max_failures      bigint   DEFAULT NULL,
    lock_timeout      interval DEFAULT NULL,
    statement_timeout interval DEFAULT NULL,
    canary            bigint   DEFAULT NULL)
LANGUAGE plpgsql AS $proc$
-- No SET search_path here: a procedure with a SET clause cannot COMMIT.  Everything is
-- schema-qualified instead, operators included.  Every transaction of the run is READ
-- COMMITTED whatever the session's default: each tenant's migration must see what the
-- sessions before it committed.
DECLARE
    lock_ms   bigint := (pg_catalog.date_part('epoch', lock_timeout) OPERATOR(pg_catalog.*) 1000)::bigint;
    stmt_ms   bigint := (pg_catalog.date_part('epoch', statement_timeout) OPERATOR(pg_catalog.*) 1000)::bigint;
    total     bigint;
    done      bigint := 0;
    failed    bigint := 0;
    timeouts  bigint := 0;
    pending   bigint;
    r         record;
    last      text := '';
    skip      text[] := '{}';
    pass      int := 1;
    stopped   text;
    reported  timestamptz := pg_catalog.clock_timestamp();
BEGIN
    IF max_failures OPERATOR(pg_catalog.<) 1 OR canary OPERATOR(pg_catalog.<) 1
       OR lock_ms OPERATOR(pg_catalog.<=) 0 OR stmt_ms OPERATOR(pg_catalog.<=) 0 THEN
        RAISE EXCEPTION USING ERRCODE = 'invalid_parameter_value',
            MESSAGE = 'stash.migrate_all: max_failures and canary must be at least 1, and the timeouts longer than 0',
            HINT = 'Leave a brake NULL (the default) to go without it.';
    END IF;
    total := stash._migrate_all_pending(target_version);
    RAISE NOTICE 'stash.migrate_all: % tenant(s) to migrate', total;
    COMMIT;
    SET TRANSACTION ISOLATION LEVEL READ COMMITTED;
    LOOP
        SELECT * INTO r FROM stash._migrate_all_next(target_version, last, skip, lock_ms, stmt_ms);
        IF NOT FOUND THEN
            -- Second and last pass: tenants that timed out, and tenants another session
            -- held locked (SKIP LOCKED passed them by), get one more try.
            EXIT WHEN pass OPERATOR(pg_catalog.=) 2;
            pass := 2;
            last := '';
            COMMIT;
            SET TRANSACTION ISOLATION LEVEL READ COMMITTED;
            CONTINUE;
        END IF;
        COMMIT;   -- one tenant per transaction: bounded locks, resumable, parallel-safe
        SET TRANSACTION ISOLATION LEVEL READ COMMITTED;
        last := r.slug;
        done := done OPERATOR(pg_catalog.+) 1;   -- tenants that turned out up to date are not returned
        IF r.status OPERATOR(pg_catalog.<>) 'ok' THEN
            IF pass OPERATOR(pg_catalog.=) 1 AND r.sqlstate OPERATOR(pg_catalog.=) ANY ('{55P03,57014}') THEN
                timeouts := timeouts OPERATOR(pg_catalog.+) 1;
                RAISE WARNING 'stash.migrate_all: tenant % timed out, will retry at the end: %', r.slug, r.error;
            ELSE
                failed := failed OPERATOR(pg_catalog.+) 1;
                skip := skip OPERATOR(pg_catalog.||) r.slug;   -- failed for good in this run
                RAISE WARNING 'stash.migrate_all: tenant % %: %', r.slug, r.status, r.error;
            END IF;
        END IF;
        IF pass OPERATOR(pg_catalog.=) 2 THEN
            RAISE NOTICE 'stash.migrate_all: retried % at the end of the run: %', r.slug, r.status;
        ELSIF pg_catalog.clock_timestamp() OPERATOR(pg_catalog.-) reported OPERATOR(pg_catalog.>) interval '1 second'
           OR total OPERATOR(pg_catalog.<=) 20 THEN
            RAISE NOTICE 'stash.migrate_all: %/% done, % failed (last: % %)',
                done, total, failed, r.slug, r.status;
            reported := pg_catalog.clock_timestamp();
        END IF;
        IF max_failures IS NOT NULL
           AND failed OPERATOR(pg_catalog.+) timeouts OPERATOR(pg_catalog.>=) max_failures THEN
            stopped := pg_catalog.format('stopped after %s failed tenant(s) (max_failures => %s)',
                                         failed OPERATOR(pg_catalog.+) timeouts, max_failures);
            EXIT;
        END IF;
        IF canary IS NOT NULL AND pass OPERATOR(pg_catalog.=) 1 AND done OPERATOR(pg_catalog.>=) canary THEN
            stopped := pg_catalog.format('canary: stopped after %s tenant(s)', done);
            EXIT;
        END IF;
    END LOOP;
    -- Count again: what another session held the whole time, or what failed, still needs work.
    pending := stash._migrate_all_pending(target_version);
    IF pending OPERATOR(pg_catalog.>) 0 AND stopped IS NULL THEN
        RAISE WARNING 'stash.migrate_all: % tenant(s) still need work', pending
            USING HINT = 'SELECT slug, pending, last_error FROM stash.tenant_status WHERE pending > 0 OR last_error IS NOT NULL; then CALL stash.migrate_all() again.';
    END IF;
    RAISE NOTICE 'stash.migrate_all: %, % tenant(s) migrated by this session, % failed, % still pending%',
        COALESCE(stopped, 'finished'),
        done OPERATOR(pg_catalog.-) failed OPERATOR(pg_catalog.-) timeouts,
        failed, pending,
        CASE WHEN stopped IS NULL THEN ''
             ELSE '; CALL stash.migrate_all() again to continue with the rest' END;
END
$proc$;
REVOKE EXECUTE ON PROCEDURE stash.migrate_all(bigint, bigint, interval, interval, bigint) FROM PUBLIC;
COMMENT ON FUNCTION stash._migrate_all_pending(bigint) IS 'Internal to stash.migrate_all(); not an API.';
COMMENT ON FUNCTION stash._migrate_all_next(bigint, text, text[], bigint, bigint) IS 'Internal to stash.migrate_all(); not an API.';
"#,
    name = "migrate_all",
    requires = ["migrations", migrate_all_pending, migrate_all_claim]
);
