//! The migration engine: plans and applies migrations for one tenant (or the shared
//! schema), one version per subtransaction, and reports what happened.
//!
//! * A failing version is rolled back alone; the versions before it stay applied, the
//!   failure is recorded (stash.migration_failures + a `migration_failed` event) and the
//!   caller goes on with the next tenant.
//! * The tenant's registry row is locked (FOR UPDATE) while it is migrated: two
//!   migrations of one tenant queue up, tenant_drop waits, tenant_enter (a plain read)
//!   never does.
//! * A dry run does all of it inside a subtransaction that is then rolled back.
//! * `CALL stash.migrate_all()` claims one tenant at a time with SKIP LOCKED and commits
//!   after each, so locks stay bounded, runs resume, and sessions can run side by side.

// pgrx reads a set-returning function's columns from its signature, so the report's row
// type is spelled out in each one instead of behind a type alias.
#![allow(clippy::type_complexity)]
use crate::errors;
use crate::events;
use crate::guc;
use crate::registry::{self, Key};
use crate::slug::Slug;
use crate::subxact::{self, Failure, OnSuccess};
use pgrx::pg_sys::panic::ErrorReport;
use pgrx::prelude::*;
use pgrx::PgSqlErrorCode as Code;
use serde_json::json;
use std::time::Instant;

/// Where migrations are applied: a tenant's schema, or the shared schema.
pub(crate) struct Target {
    tenant_id: Option<pgrx::Uuid>,
    /// The tenant slug, or the shared schema's name.
    label: String,
    search_path: String,
    scope: &'static str,
}

impl Target {
    fn tenant(id: pgrx::Uuid, slug: &str, schema: &str) -> Target {
        Target {
            tenant_id: Some(id),
            label: slug.to_string(),
            search_path: guc::tenant_search_path(schema),
            scope: "tenant",
        }
    }

    /// `l.tenant_id` predicate for this target; `$1` is always the tenant id (or NULL).
    fn ledger_predicate(&self) -> &'static str {
        match self.tenant_id {
            Some(_) => "l.tenant_id = $1",
            None => "l.tenant_id IS NULL AND $1::uuid IS NULL",
        }
    }

    fn slug(&self) -> Option<&str> {
        self.tenant_id.map(|_| self.label.as_str())
    }
}

enum Direction {
    Up,
    Down,
}

struct Step {
    version: i64,
    name: String,
    sql: Option<String>,
    checksum: String,
    direction: Direction,
}

/// One row of tenant_migrate's result.
pub(crate) struct Report {
    pub label: String,
    pub from_version: i64,
    pub to_version: i64,
    pub applied: i32,
    pub status: &'static str,
    pub error: Option<String>,
}

/// The row type of tenant_migrate & co.  (pgrx needs it spelled out in each signature.)
type ReportRow = (
    name!(slug, Option<String>),
    name!(from_version, Option<i64>),
    name!(to_version, Option<i64>),
    name!(applied, Option<i32>),
    name!(status, Option<String>),
    name!(error, Option<String>),
);

impl Report {
    fn row(self) -> ReportRow {
        (
            Some(self.label),
            Some(self.from_version),
            Some(self.to_version),
            Some(self.applied),
            Some(self.status.to_string()),
            self.error,
        )
    }
}

fn current_version(target: &Target) -> i64 {
    state(target).0
}

/// The target's current version and its applied versions whose catalog SQL has changed
/// since, as (version, name) — in one statement, since a fleet migration asks for every
/// tenant.  Every ledger row has its catalog row (foreign key), so the join loses none.
fn state(target: &Target) -> (i64, Vec<(i64, String)>) {
    let sql = format!(
        "SELECT coalesce(max(l.version), 0),
                array_agg(l.version ORDER BY l.version) FILTER (WHERE l.checksum <> m.checksum),
                array_agg(m.name ORDER BY l.version) FILTER (WHERE l.checksum <> m.checksum)
           FROM stash.ledger l JOIN stash.migrations m USING (version)
          WHERE {}",
        target.ledger_predicate()
    );
    registry::select(&sql, &[target.tenant_id.into()], |t| {
        let row = t.first();
        let version = row.get::<i64>(1)?.unwrap_or(0);
        let versions = row.get::<Vec<i64>>(2)?.unwrap_or_default();
        let names = row.get::<Vec<String>>(3)?.unwrap_or_default();
        Ok((version, versions.into_iter().zip(names).collect()))
    })
}

/// Rollback steps (applied versions above the target, newest first), then the pending
/// versions up to the target, oldest first.
fn plan(target: &Target, to: Option<i64>) -> Vec<Step> {
    let mut steps = Vec::new();
    if let Some(to) = to {
        let sql = format!(
            "SELECT l.version, m.name, m.down_sql, m.checksum
               FROM stash.ledger l JOIN stash.migrations m USING (version)
              WHERE {} AND l.version > $2 ORDER BY l.version DESC",
            target.ledger_predicate()
        );
        steps.extend(read_steps(
            &sql,
            &[target.tenant_id.into(), to.into()],
            || Direction::Down,
        ));
    }
    let sql = format!(
        "SELECT m.version, m.name, m.up_sql, m.checksum FROM stash.migrations m
          WHERE m.scope = $3 AND ($2::bigint IS NULL OR m.version <= $2)
            AND NOT EXISTS (SELECT FROM stash.ledger l WHERE {} AND l.version = m.version)
          ORDER BY m.version",
        target.ledger_predicate()
    );
    steps.extend(read_steps(
        &sql,
        &[
            target.tenant_id.into(),
            to.into(),
            target.scope.to_string().into(),
        ],
        || Direction::Up,
    ));
    steps
}

fn read_steps(
    sql: &str,
    args: &[pgrx::datum::DatumWithOid],
    direction: impl Fn() -> Direction,
) -> Vec<Step> {
    registry::select(sql, args, |t| {
        t.map(|r| {
            Ok(Step {
                version: r.get::<i64>(1)?.unwrap_or(0),
                name: r.get::<String>(2)?.unwrap_or_default(),
                sql: r.get::<String>(3)?,
                checksum: r.get::<String>(4)?.unwrap_or_default(),
                direction: direction(),
            })
        })
        .collect()
    })
}

/// Runs one step in its own subtransaction: the SQL as the caller, with search_path on
/// the target, and the ledger change as the registry owner — both or neither.
fn apply(target: &Target, step: &Step) -> Result<(), Failure> {
    let sql = step.sql.as_deref().unwrap_or_default();
    subxact::run(OnSuccess::Commit, || {
        let started = Instant::now();
        let path = guc::Scope::open();
        path.set(c"search_path", &target.search_path);
        Spi::run(sql).unwrap_or_else(|e| panic!("{e}"));
        path.close();
        let ms = started.elapsed().as_secs_f64() * 1000.0;
        match step.direction {
            Direction::Up => registry::update(
                "INSERT INTO stash.ledger (tenant_id, version, checksum, duration_ms)
                 VALUES ($1, $2, $3, $4)",
                &[
                    target.tenant_id.into(),
                    step.version.into(),
                    step.checksum.clone().into(),
                    ms.into(),
                ],
                |_| Ok(()),
            ),
            Direction::Down => {
                let sql = format!(
                    "DELETE FROM stash.ledger l WHERE {} AND l.version = $2",
                    target.ledger_predicate()
                );
                registry::update(
                    &sql,
                    &[target.tenant_id.into(), step.version.into()],
                    |_| Ok(()),
                )
            }
        }
    })
}

fn record_failure(target: &Target, version: i64, failure: &Failure) {
    clear_failure(target);
    registry::update(
        "INSERT INTO stash.migration_failures (tenant_id, version, sqlstate, message)
         VALUES ($1, $2, $3, $4)",
        &[
            target.tenant_id.into(),
            version.into(),
            failure.sqlstate.clone().into(),
            failure.message.clone().into(),
        ],
        |_| Ok(()),
    );
    events::record(
        target.tenant_id,
        target.slug(),
        "migration_failed",
        json!({ "scope": target.scope, "target": target.label, "version": version,
                "sqlstate": failure.sqlstate, "message": failure.message }),
    );
}

fn clear_failure(target: &Target) {
    let sql = format!(
        "DELETE FROM stash.migration_failures l WHERE {}",
        target.ledger_predicate()
    );
    registry::update(&sql, &[target.tenant_id.into()], |_| Ok(()));
}

/// Brings one target to `to` (NULL: the latest version).  The caller holds its lock.
fn migrate(target: &Target, to: Option<i64>) -> Report {
    let (from, mismatches) = state(target);
    let mut report = Report {
        label: target.label.clone(),
        from_version: from,
        to_version: from,
        applied: 0,
        status: "up_to_date",
        error: None,
    };
    if !mismatches.is_empty() {
        let list: Vec<String> = mismatches
            .iter()
            .map(|(v, n)| format!("{v} ({n})"))
            .collect();
        report.status = "checksum_mismatch";
        report.error = Some(format!(
            "applied version(s) {} no longer match the catalog's SQL; nothing was changed",
            list.join(", ")
        ));
        return report;
    }
    let steps = plan(target, to);
    if let Some(step) = steps
        .iter()
        .find(|s| matches!(s.direction, Direction::Down) && s.sql.is_none())
    {
        report.status = "failed";
        report.error = Some(format!(
            "version {} ({}) has no down_sql, so it cannot be rolled back; nothing was changed",
            step.version, step.name
        ));
        return report;
    }
    let (mut up, mut down) = (Vec::new(), Vec::new());
    for step in &steps {
        if let Err(failure) = apply(target, step) {
            record_failure(target, step.version, &failure);
            report.status = "failed";
            report.error = Some(format!(
                "version {} ({}): {} (SQLSTATE {})",
                step.version, step.name, failure.message, failure.sqlstate
            ));
            break;
        }
        report.applied += 1;
        match step.direction {
            Direction::Up => up.push(step.version),
            Direction::Down => down.push(step.version),
        }
    }
    // Without rollbacks the new version follows from what was applied; after one, ask.
    report.to_version = if down.is_empty() {
        up.iter().copied().fold(from, i64::max)
    } else {
        current_version(target)
    };
    if report.status != "failed" {
        clear_failure(target);
        if report.applied > 0 {
            report.status = "ok";
        }
    }
    for (action, versions) in [("rolled_back", down), ("migrated", up)] {
        if !versions.is_empty() {
            events::record(
                target.tenant_id,
                target.slug(),
                action,
                json!({ "scope": target.scope, "target": target.label, "from": from,
                        "to": report.to_version, "versions": versions }),
            );
        }
    }
    report
}

/// Runs `migrate`, inside a discarded subtransaction when it is a dry run.
fn migrate_maybe_dry(target: &Target, to: Option<i64>, dry_run: bool) -> Report {
    if !dry_run {
        return migrate(target, to);
    }
    subxact::run(OnSuccess::Discard, || migrate(target, to)).unwrap_or_else(|f| Report {
        label: target.label.clone(),
        from_version: 0,
        to_version: 0,
        applied: 0,
        status: "failed",
        error: Some(format!("{} (SQLSTATE {})", f.message, f.sqlstate)),
    })
}

fn validate_target(to: Option<i64>) {
    if let Some(to) = to {
        if to < 0 {
            errors::raise(
                Code::ERRCODE_INVALID_PARAMETER_VALUE,
                format!("target_version must be 0 or a registered version, not {to}"),
                "0 rolls everything back; NULL means the latest version.",
            );
        }
    }
}

/// Applies pending tenant migrations (or rolls back to `target_version`) for one tenant,
/// or for every tenant when `slug` is NULL, in one transaction.  For fleets, prefer
/// `CALL stash.migrate_all()`, which commits after each tenant.
#[pg_extern(volatile, parallel_unsafe)]
#[search_path(pg_catalog, pg_temp)]
fn tenant_migrate(
    slug: default!(Option<&str>, "NULL"),
    target_version: default!(Option<i64>, "NULL"),
    dry_run: default!(Option<bool>, "false"),
) -> TableIterator<
    'static,
    (
        name!(slug, Option<String>),
        name!(from_version, Option<i64>),
        name!(to_version, Option<i64>),
        name!(applied, Option<i32>),
        name!(status, Option<String>),
        name!(error, Option<String>),
    ),
> {
    validate_target(target_version);
    let dry_run = dry_run.unwrap_or(false);
    let ids: Vec<pgrx::Uuid> = match slug {
        Some(raw) => {
            let slug = Slug::from_arg(Some(raw));
            let key = Key::Slug(slug.as_str());
            let tenant =
                registry::find(&key).unwrap_or_else(|| errors::unknown_tenant(&key.describe()));
            vec![tenant.id]
        }
        None => registry::select("SELECT id FROM stash.tenants ORDER BY slug", &[], |t| {
            t.map(|r| Ok(r.get::<pgrx::Uuid>(1)?.expect("id")))
                .collect()
        }),
    };
    let mut rows = Vec::with_capacity(ids.len());
    for id in ids {
        // Locked one by one, in slug order.  A tenant dropped meanwhile is skipped in a
        // fleet run, and is an unknown tenant when it was the one asked for.
        let Some(tenant) = registry::lock(&Key::Id(id)) else {
            match slug {
                Some(slug) => errors::unknown_tenant(&Key::Slug(slug).describe()),
                None => continue,
            }
        };
        let target = Target::tenant(tenant.id, &tenant.slug, &tenant.schema);
        rows.push(migrate_maybe_dry(&target, target_version, dry_run).row());
    }
    TableIterator::new(rows)
}

/// Applies every tenant-scope migration to a tenant being created.  Any failure fails
/// the creation, naming the version, with the original SQLSTATE.  Returns the version.
pub(crate) fn provision(id: pgrx::Uuid, slug: &str, schema: &str) -> i64 {
    let target = Target::tenant(id, slug, schema);
    for step in plan(&target, None) {
        if let Err(f) = apply(&target, &step) {
            ErrorReport::new(
                Code::from(f.code),
                format!(
                    "tenant \"{slug}\" was not created: migration {} ({}) failed: {}",
                    step.version, step.name, f.message
                ),
                "stash_tenancy",
            )
            .set_hint(if f.sqlstate.starts_with("53") {
                // out of shared memory: usually the lock table, filled by creating many
                // tenants (each locking all its new tables) in one transaction
                "The transaction holds too many locks: create tenants in separate transactions, or raise max_locks_per_transaction."
            } else {
                "Fix the migration (register a corrected version, or migration_remove() it), then create the tenant again."
            })
            .report(PgLogLevel::ERROR);
        }
    }
    current_version(&target)
}

// ---- fleets: CALL stash.migrate_all() ----------------------------------------------------

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

/// How many tenants `migrate_all` has work for.  Refuses to run inside a transaction
/// block, where migrate_all could not commit after each tenant.
#[pg_extern(volatile, parallel_unsafe)]
#[search_path(pg_catalog, pg_temp)]
fn migrate_all_pending(target_version: Option<i64>) -> i64 {
    if unsafe { pg_sys::IsTransactionBlock() } {
        errors::raise(
            Code::ERRCODE_ACTIVE_SQL_TRANSACTION,
            "CALL stash.migrate_all() cannot run inside a transaction block".into(),
            "It commits after every tenant. Run it on its own (autocommit), or use stash.tenant_migrate() inside a transaction.",
        );
    }
    validate_target(target_version);
    let sql = concat!(
        "SELECT count(*) FROM stash.tenants t WHERE ",
        needs_work!("")
    );
    registry::select(sql, &[target_version.into()], |t| {
        t.first().get_one::<i64>()
    })
    .unwrap_or(0)
}

/// Claims the next tenant after `after_slug` that has work, skipping tenants another
/// session holds, migrates it and returns its report (no row when none is left).
#[pg_extern(volatile, parallel_unsafe)]
#[search_path(pg_catalog, pg_temp)]
fn migrate_all_next(
    target_version: Option<i64>,
    after_slug: Option<&str>,
) -> TableIterator<
    'static,
    (
        name!(slug, Option<String>),
        name!(from_version, Option<i64>),
        name!(to_version, Option<i64>),
        name!(applied, Option<i32>),
        name!(status, Option<String>),
        name!(error, Option<String>),
    ),
> {
    let sql = concat!(
        "SELECT t.id, t.slug, t.schema_name::text FROM stash.tenants t WHERE t.slug > $2 AND ",
        needs_work!("OFFSET 0"),
        " ORDER BY t.slug LIMIT 1 FOR UPDATE OF t SKIP LOCKED"
    );
    let mut after = after_slug.unwrap_or("").to_string();
    let rows = loop {
        let claimed = registry::update(sql, &[target_version.into(), after.clone().into()], |t| {
            if t.is_empty() {
                return Ok(None);
            }
            let t = t.first();
            Ok(Some((
                t.get::<pgrx::Uuid>(1)?.expect("id"),
                t.get::<String>(2)?.expect("slug"),
                t.get::<String>(3)?.expect("schema"),
            )))
        });
        let Some((id, slug, schema)) = claimed else {
            break None;
        };
        let report = migrate(&Target::tenant(id, &slug, &schema), target_version);
        // The claim judged "needs work" with a snapshot taken before it got the lock: a
        // session that finished this tenant in between leaves nothing to do.  Move on
        // here rather than through a COMMIT and a round trip, or parallel sessions end
        // up trailing each other over the same tenants.
        if report.status == "up_to_date" {
            after = slug;
            continue;
        }
        break Some(report.row());
    };
    TableIterator::new(rows)
}

extension_sql!(
    r#"
CREATE PROCEDURE stash.migrate_all(target_version bigint DEFAULT NULL)
LANGUAGE plpgsql AS $proc$
-- No SET search_path here: a procedure with a SET clause cannot COMMIT.  Everything is
-- schema-qualified instead.
DECLARE
    total    bigint;
    done     bigint := 0;
    failed   bigint := 0;
    r        record;
    last     text := '';
    reported timestamptz := pg_catalog.clock_timestamp();
BEGIN
    total := stash.migrate_all_pending(target_version);
    RAISE NOTICE 'stash.migrate_all: % tenant(s) to migrate', total;
    COMMIT;
    LOOP
        SELECT * INTO r FROM stash.migrate_all_next(target_version, last);
        EXIT WHEN NOT FOUND;
        COMMIT;   -- one tenant per transaction: bounded locks, resumable, parallel-safe
        last := r.slug;
        done := done + 1;   -- migrate_all_next skips tenants that turned out up to date
        IF r.status <> 'ok' THEN
            failed := failed + 1;
            RAISE WARNING 'stash.migrate_all: tenant % %: %', r.slug, r.status, r.error;
        END IF;
        IF pg_catalog.clock_timestamp() - reported > interval '1 second' OR total <= 20 THEN
            RAISE NOTICE 'stash.migrate_all: %/% done, % failed (last: % %)',
                done, total, failed, r.slug, r.status;
            reported := pg_catalog.clock_timestamp();
        END IF;
    END LOOP;
    RAISE NOTICE 'stash.migrate_all: finished, % tenant(s) migrated by this session, % failed',
        done - failed, failed;
END
$proc$;
REVOKE EXECUTE ON PROCEDURE stash.migrate_all(bigint) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION stash.migrate_all_pending(bigint) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION stash.migrate_all_next(bigint, text) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION stash.tenant_migrate(text, bigint, boolean) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION stash.shared_migrate(bigint, boolean) FROM PUBLIC;
"#,
    name = "migrate_all",
    requires = [
        "migrations",
        migrate_all_pending,
        migrate_all_next,
        tenant_migrate,
        shared_migrate
    ]
);

// ---- the shared schema -------------------------------------------------------------------

/// Applies (or rolls back to `target_version`) the shared-scope migrations, once, in the
/// first schema of `stash.shared_schemas`.
#[pg_extern(volatile, parallel_unsafe)]
#[search_path(pg_catalog, pg_temp)]
fn shared_migrate(
    target_version: default!(Option<i64>, "NULL"),
    dry_run: default!(Option<bool>, "false"),
) -> TableIterator<
    'static,
    (
        name!(slug, Option<String>),
        name!(from_version, Option<i64>),
        name!(to_version, Option<i64>),
        name!(applied, Option<i32>),
        name!(status, Option<String>),
        name!(error, Option<String>),
    ),
> {
    validate_target(target_version);
    let shared = guc::shared_schemas();
    let first = shared.split(',').next().unwrap_or("").trim().to_string();
    let schema = first.trim_matches('"').to_string();
    let exists = registry::select(
        "SELECT EXISTS (SELECT FROM pg_namespace WHERE nspname = $1::name)",
        &[schema.clone().into()],
        |t| t.first().get_one::<bool>(),
    );
    if schema.is_empty() || exists != Some(true) {
        errors::raise(
            Code::ERRCODE_INVALID_SCHEMA_NAME,
            format!("shared schema \"{schema}\" does not exist"),
            "Shared migrations run in the first schema of stash.shared_schemas; create it, or set stash.shared_schemas.",
        );
    }
    // One shared schema, one migrator at a time.
    Spi::run("SELECT pg_advisory_xact_lock(hashtext('stash.shared_migrate'))").expect("lock");
    let target = Target {
        tenant_id: None,
        label: schema,
        search_path: shared,
        scope: "shared",
    };
    let report = migrate_maybe_dry(&target, target_version, dry_run.unwrap_or(false));
    TableIterator::new(std::iter::once(report.row()))
}
