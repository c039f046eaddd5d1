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
use crate::pg::guc;
use crate::pg::user;
use crate::pg::wal;
use pgrx::prelude::*;
use pgrx::PgSqlErrorCode as Code;

/// The tenants with work to do for `$1` (target version), as (id, slug) in slug order:
/// pending versions, versions above the target, or applied versions whose checksum
/// changed.  Set-based — one pass over the ledger, counting per tenant the rows that match
/// a wanted version and its checksum — because a per-tenant anti-join over the catalog
/// cost 30 µs a tenant with 16 versions, and a run with nothing to do reads this twice
/// (bench/findings.md).  (tenant, version) is unique in the ledger, so `good` counts
/// distinct wanted versions.
const NEEDS_WORK: &str = "
WITH want AS (SELECT m.version, m.checksum FROM stash.migrations m
               WHERE m.scope = 'tenant' AND ($1::bigint IS NULL OR m.version <= $1)),
     per_tenant AS (SELECT l.tenant_id, count(*) AS all_rows, count(w.version) AS good
                      FROM stash.ledger l
                      LEFT JOIN want w ON w.version = l.version AND w.checksum = l.checksum
                     WHERE l.tenant_id IS NOT NULL
                     GROUP BY l.tenant_id)
SELECT t.id, t.slug FROM stash.tenants t
  LEFT JOIN per_tenant p ON p.tenant_id = t.id
 WHERE coalesce(p.good, 0) < (SELECT count(*) FROM want)
    OR coalesce(p.all_rows, 0) > coalesce(p.good, 0)
 ORDER BY t.slug";

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
    // The run's one wait for the WAL: what it committed before (this is its closing
    // count) is durable before it reports.
    wal::flush_own_commits();
    validate_target(target_version);
    super::path::require_safe(); // refused outright, not recorded as one failure per tenant
    Run::start(target_version) as i64
}

/// The tenants a run visits, read once by its opening count: each claim is then a
/// primary-key lock instead of a query over the ledger (bench/findings.md).  Each
/// candidate is judged again, under its lock, by the engine itself, so a tenant another
/// session finished in the meantime costs a lock and one read, and a tenant that got work
/// after the count is left to the next run (the run's closing count names it).  Kept per
/// backend: about 60 bytes a tenant.
struct Run {
    target: Option<i64>,
    queue: std::collections::VecDeque<(pgrx::Uuid, String)>,
    /// Set by the count, taken by the first claim of the run.
    counted: bool,
    /// Whether the first pass left work for the second: a tenant another session held,
    /// or a tenant that timed out.
    revisit: bool,
}

thread_local! {
    static RUN: std::cell::RefCell<Option<Run>> = const { std::cell::RefCell::new(None) };
}

impl Run {
    fn read(target: Option<i64>) -> Run {
        let queue = executor::select(NEEDS_WORK, &[target.into()], |t| {
            t.map(|r| {
                Ok((
                    r.get::<pgrx::Uuid>(1)?.or_raise("id"),
                    r.get::<String>(2)?.or_raise("slug"),
                ))
            })
            .collect()
        });
        Run {
            target,
            queue,
            counted: false,
            revisit: false,
        }
    }

    /// Reads the run's tenants; returns how many there are.
    fn start(target: Option<i64>) -> usize {
        let mut run = Run::read(target);
        run.counted = true;
        let n = run.queue.len();
        RUN.set(Some(run));
        n
    }

    /// Readies the run for a claim after `after` (a pass starts with '').  Once per call
    /// of `_migrate_all_next`, which may try several candidates.
    fn begin(target: Option<i64>, after: &str) {
        RUN.with(|cell| {
            let mut cell = cell.borrow_mut();
            let same = cell.as_ref().is_some_and(|r| r.target == target);
            match cell.as_mut() {
                // the first pass, with what the count read
                Some(run) if same && after.is_empty() && run.counted => run.counted = false,
                // the second pass, when the first left nothing to revisit
                Some(run) if same && after.is_empty() && !run.revisit => run.queue.clear(),
                Some(_) if same && !after.is_empty() => {}
                // the second pass with work left, or a caller other than the procedure
                _ => *cell = Some(Run::read(target)),
            }
        })
    }

    /// The next tenant after `after`, not in `skip`.
    fn next(after: &str, skip: &[String]) -> Option<pgrx::Uuid> {
        RUN.with(|cell| {
            let mut cell = cell.borrow_mut();
            let run = cell.as_mut()?;
            while let Some((id, slug)) = run.queue.pop_front() {
                if slug.as_str() > after && !skip.contains(&slug) {
                    return Some(id);
                }
            }
            None
        })
    }

    /// Something of this pass is left for the second.
    fn revisit() {
        RUN.with(|cell| {
            if let Some(run) = cell.borrow_mut().as_mut() {
                run.revisit = true;
            }
        })
    }
}

/// Locks tenant `id` for its migration and returns its slug and schema; None when another
/// session holds it (SKIP LOCKED: the run's second pass comes back for it) or it is gone.
fn lock(id: pgrx::Uuid) -> Option<(String, String)> {
    executor::update(
        "SELECT t.slug, t.schema_name::text FROM stash.tenants t WHERE t.id = $1
            FOR UPDATE SKIP LOCKED",
        &[id.into()],
        |t| {
            if t.is_empty() {
                return Ok(None);
            }
            let t = t.first();
            Ok(Some((
                t.get::<String>(1)?.or_raise("slug"),
                t.get::<String>(2)?.or_raise("schema"),
            )))
        },
    )
}

/// Internal to `migrate_all`: claims the next tenant after `after_slug` that has work and
/// is not in `skip`, skipping tenants another session holds, migrates it within the
/// given per-step limits (milliseconds) and returns its report (no row when none is
/// left).  `sqlstate` is the failure's, so the procedure can retry timeouts.
///
/// The tenant's transaction commits without waiting for its WAL flush (synchronous_commit
/// off, for this transaction only): the migration and its ledger row commit or vanish
/// together, so a crash can only undo whole tenants, which the next run migrates again;
/// and the run waits once, before it reports (`_migrate_all_pending`), for everything it
/// committed to be as durable as the session's synchronous_commit asks.
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
    let limits = Limits {
        lock_timeout_ms,
        statement_timeout_ms,
    };
    let skip = skip.unwrap_or_default();
    let after = after_slug.unwrap_or("");
    if wal::commits_synchronously() {
        guc::set_local(c"synchronous_commit", "off");
    }
    Run::begin(target_version, after);
    let row = loop {
        let Some(id) = Run::next(after, &skip) else {
            break None;
        };
        let Some((slug, schema)) = lock(id) else {
            Run::revisit();
            continue;
        };
        let target = Target::tenant(id, &slug, &schema);
        // The run's count judged "needs work" with an older snapshot: a session that
        // finished this tenant since leaves nothing to do, which the engine finds out by
        // itself.
        // Move on here rather than through a COMMIT and a round trip, or parallel
        // sessions end up trailing each other over the same tenants.  (Under REPEATABLE
        // READ, which the procedure avoids, a tenant changed since the snapshot is such a
        // tenant.)
        if engine::require_fresh_snapshot(&target).is_err() {
            continue;
        }
        let report = engine::migrate(&target, target_version, &limits);
        if report.status == Outcome::UpToDate {
            continue;
        }
        let sqlstate = report.sqlstate.clone();
        if matches!(sqlstate.as_deref(), Some("55P03" | "57014")) {
            Run::revisit(); // the procedure retries timeouts in its second pass
        }
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
