//! The migration engine: plans and applies migrations for one target — a tenant's
//! schema, or the shared schema — and reports what happened.  The SQL functions that
//! drive it are in api.rs (one tenant, the shared schema) and fleet.rs (migrate_all).
//!
//! How one step (one version, up or down) runs, everywhere:
//! * as the owner of the target schema, inside a SECURITY_RESTRICTED_OPERATION, the way
//!   PostgreSQL runs index expressions and REFRESH MATERIALIZED VIEW: whatever the
//!   migration creates belongs to the schema owner whoever ran it, and a function an
//!   application planted in the schema runs with the owner's rights, never a superuser's.
//!   The caller must have the owner's privileges (42501 otherwise);
//! * in a GUC nest level that is unwound after the step as if it had aborted: a `SET`,
//!   `SET LOCAL` or `set_config()` in a migration (pg_dump output starts with a dozen)
//!   ends with its step and never reaches the caller's session;
//! * with search_path = the target schema, then `stash.shared_schemas`, then pg_temp —
//!   refused (42501, path.rs) while a shared schema is writable by a lower-privileged role.
//!
//! Failure isolation: tenant_migrate, migrate_all and shared_migrate run each step in a
//! subtransaction; a failing one is rolled back alone, the versions before it stay, the
//! failure is recorded (stash.migration_failures + a `migration_failed` event, with the
//! error's DETAIL and HINT) and the caller goes on with the next tenant.  Provisioning
//! (tenant_create) uses no subtransactions: any failure fails the whole create, and an
//! error context line names the version.
//!
//! Concurrency: the caller holds the target's lock (the tenant's registry row FOR
//! UPDATE; an advisory lock for the shared schema) while it is migrated.  What the engine
//! then reads of the ledger must include what a migration that held the lock before us
//! committed; under READ COMMITTED every statement sees it, under REPEATABLE READ or
//! SERIALIZABLE the transaction's snapshot may predate it, which [`require_fresh_snapshot`]
//! detects (40001, like PostgreSQL's own "could not serialize access").
use crate::catalog::events::{self, Action};
use crate::catalog::executor;
use crate::catalog::migrations::Scope;
use crate::errors;
use crate::errors::OrRaise;
use crate::pg::backend;
use crate::pg::guc;
use crate::pg::objects;
use crate::pg::subxact::{self, Failure, OnSuccess};
use crate::pg::timeout;
use crate::pg::user;
use crate::state::settings;
use pgrx::datum::DatumWithOid;
use pgrx::prelude::*;
use pgrx::PgSqlErrorCode as Code;
use serde_json::json;
use std::time::Instant;

/// How a target's migration ended; `as_str` is the `status` column of the reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Outcome {
    UpToDate,
    Ok,
    Failed,
    ChecksumMismatch,
}

impl Outcome {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Outcome::UpToDate => "up_to_date",
            Outcome::Ok => "ok",
            Outcome::Failed => "failed",
            Outcome::ChecksumMismatch => "checksum_mismatch",
        }
    }
}

/// Per-step limits of a fleet run (CALL stash.migrate_all(lock_timeout => …, …)).
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Limits {
    pub lock_timeout_ms: Option<i64>,
    pub statement_timeout_ms: Option<i64>,
}

/// Where migrations are applied: a tenant's schema, or the shared schema.
pub(crate) struct Target {
    tenant_id: Option<pgrx::Uuid>,
    /// The tenant slug, or the shared schema's name.
    label: String,
    schema: String,
    search_path: String,
    scope: Scope,
    /// The role steps run as.
    owner: pg_sys::Oid,
}

impl Target {
    pub(crate) fn tenant(id: pgrx::Uuid, slug: &str, schema: &str) -> Target {
        Target {
            tenant_id: Some(id),
            label: slug.to_string(),
            schema: schema.to_string(),
            search_path: settings::tenant_search_path(schema),
            scope: Scope::Tenant,
            owner: schema_owner(schema, Some(slug)),
        }
    }

    /// The shared schema `schema`, first of `search_path` (stash.shared_schemas).
    pub(crate) fn shared(schema: &str, search_path: String) -> Target {
        Target {
            tenant_id: None,
            label: schema.to_string(),
            schema: schema.to_string(),
            search_path,
            scope: Scope::Shared,
            owner: schema_owner(schema, None),
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

    fn what(&self) -> String {
        match self.scope {
            Scope::Tenant => format!("tenant \"{}\"", self.label),
            Scope::Shared => format!("shared schema \"{}\"", self.label),
        }
    }
}

/// The owner of `schema`, whom steps run as.  `public` belongs to pg_database_owner
/// (PostgreSQL 15+), a role that stands for the database's owner: steps then run as the
/// database's owner, so what they create has a real owner.
fn schema_owner(schema: &str, tenant: Option<&str>) -> pg_sys::Oid {
    match objects::schema_oid(schema).and_then(objects::schema_owner) {
        Some(owner) if owner == pg_sys::Oid::from(pg_sys::ROLE_PG_DATABASE_OWNER) => {
            objects::database_owner()
        }
        Some(owner) => owner,
        None => match tenant {
            Some(slug) => errors::tenant_schema_missing(slug, schema),
            None => errors::raise(
                Code::ERRCODE_INVALID_SCHEMA_NAME,
                format!("schema \"{schema}\" does not exist"),
                "Create it, or name an existing schema.",
            ),
        },
    }
}

/// 42501 unless the current user has the privileges of the role the steps run as:
/// running a migration means acting as the schema's owner.
fn require_owner_privileges(target: &Target) {
    let me = user::current();
    if user::has_privs_of_role(me, target.owner) {
        return;
    }
    let (me, owner) = (objects::name_of(me), objects::name_of(target.owner));
    errors::raise(
        Code::ERRCODE_INSUFFICIENT_PRIVILEGE,
        format!(
            "permission denied to migrate {}: its migrations run as role \"{owner}\", the owner of schema \"{}\"",
            target.what(),
            target.schema
        ),
        &format!(
            "Migrations run as the schema's owner. Run them as \"{owner}\" or a superuser, or GRANT \"{owner}\" TO \"{me}\"."
        ),
    )
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
    pub status: Outcome,
    pub error: Option<String>,
    /// SQLSTATE of the failure, if any (fleet runs retry lock and statement timeouts).
    pub sqlstate: Option<String>,
}

/// The row type of tenant_migrate & co.
pub(crate) type ReportRow = (
    Option<String>,
    Option<i64>,
    Option<i64>,
    Option<i32>,
    Option<String>,
    Option<String>,
);

impl Report {
    pub(crate) fn failed(label: &str, error: String) -> Report {
        Report {
            label: label.to_string(),
            from_version: 0,
            to_version: 0,
            applied: 0,
            status: Outcome::Failed,
            error: Some(error),
            sqlstate: None,
        }
    }

    pub(crate) fn row(self) -> ReportRow {
        (
            Some(self.label),
            Some(self.from_version),
            Some(self.to_version),
            Some(self.applied),
            Some(self.status.as_str().to_string()),
            self.error,
        )
    }
}

pub(crate) fn current_version(target: &Target) -> i64 {
    state(target).version
}

/// What the ledger says about a target before it is migrated.
struct State {
    version: i64,
    /// Applied versions whose catalog SQL has changed since, as (version, name).
    mismatches: Vec<(i64, String)>,
    /// Whether a failure is on record (stash.migration_failures) for it.
    failure_recorded: bool,
}

/// The target's [`State`], in one statement, since a fleet migration asks for every
/// tenant.  Every ledger row has its catalog row (foreign key), so the join loses none.
fn state(target: &Target) -> State {
    let pred = target.ledger_predicate();
    let sql = format!(
        "SELECT coalesce(max(l.version), 0),
                array_agg(l.version ORDER BY l.version) FILTER (WHERE l.checksum <> m.checksum),
                array_agg(m.name ORDER BY l.version) FILTER (WHERE l.checksum <> m.checksum),
                EXISTS (SELECT FROM stash.migration_failures l WHERE {pred})
           FROM stash.ledger l JOIN stash.migrations m USING (version)
          WHERE {pred}"
    );
    executor::select(&sql, &[target.tenant_id.into()], |t| {
        let row = t.first();
        let version = row.get::<i64>(1)?.unwrap_or(0);
        let versions = row.get::<Vec<i64>>(2)?.unwrap_or_default();
        let names = row.get::<Vec<String>>(3)?.unwrap_or_default();
        Ok(State {
            version,
            mismatches: versions.into_iter().zip(names).collect(),
            failure_recorded: row.get::<bool>(4)?.unwrap_or(true),
        })
    })
}

/// The target's ledger as one text, for comparing two snapshots' views of it.
fn ledger_fingerprint_sql(target: &Target) -> String {
    format!(
        "SELECT coalesce(string_agg(l.version || ':' || l.checksum, ',' ORDER BY l.version), '')
           FROM stash.ledger l WHERE {}",
        target.ledger_predicate()
    )
}

/// Under REPEATABLE READ or SERIALIZABLE, refuses (40001) to migrate a target whose
/// ledger changed after the transaction's snapshot was taken: the engine would plan from
/// a past state and re-apply what another session already applied ("column already
/// exists", and a false migration_failed).  The caller holds the target's lock, so the
/// latest snapshot is the truth.  READ COMMITTED needs nothing: each statement sees it.
pub(crate) fn require_fresh_snapshot(target: &Target) -> Result<(), String> {
    if backend::snapshot_per_statement() {
        return Ok(());
    }
    let sql = ledger_fingerprint_sql(target);
    let seen = executor::select(&sql, &[target.tenant_id.into()], |t| {
        t.first().get_one::<String>()
    });
    let latest = executor::text_at_latest_snapshot(&sql, target.tenant_id);
    if seen == latest {
        Ok(())
    } else {
        Err(format!(
            "could not serialize access: the migrations of {} changed after this transaction's snapshot was taken",
            target.what()
        ))
    }
}

/// Raises [`require_fresh_snapshot`]'s error as 40001.
pub(crate) fn require_fresh_snapshot_or_raise(target: &Target) {
    if let Err(message) = require_fresh_snapshot(target) {
        errors::raise(
            Code::ERRCODE_T_R_SERIALIZATION_FAILURE,
            message,
            "Retry the transaction. Migrations are best run in READ COMMITTED transactions \
             (CALL stash.migrate_all() always uses READ COMMITTED).",
        )
    }
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
            false,
        ));
    }
    // The checksum is recomputed here, not trusted: it is what makes an edit of an
    // already registered migration visible (see require_intact_failed).
    let sql = format!(
        "SELECT m.version, m.name, m.up_sql, m.checksum, {}
           FROM stash.migrations m
          WHERE m.scope = $3 AND ($2::bigint IS NULL OR m.version <= $2)
            AND NOT EXISTS (SELECT FROM stash.ledger l WHERE {} AND l.version = m.version)
          ORDER BY m.version",
        crate::catalog::migrations::intact_sql("m"),
        target.ledger_predicate()
    );
    steps.extend(read_steps(
        &sql,
        &[
            target.tenant_id.into(),
            to.into(),
            target.scope.as_str().to_string().into(),
        ],
        || Direction::Up,
        true,
    ));
    steps
}

/// The steps `sql` selects; with `checked`, its 5th column says whether the SQL still
/// matches its checksum (rollback steps have none: down_sql is not checksummed).
fn read_steps(
    sql: &str,
    args: &[DatumWithOid],
    direction: impl Fn() -> Direction,
    checked: bool,
) -> Vec<Step> {
    executor::select(sql, args, |t| {
        t.map(|r| {
            let step = Step {
                version: r.get::<i64>(1)?.unwrap_or(0),
                name: r.get::<String>(2)?.unwrap_or_default(),
                sql: r.get::<String>(3)?,
                checksum: r.get::<String>(4)?.unwrap_or_default(),
                direction: direction(),
            };
            if checked && r.get::<bool>(5)? != Some(true) {
                require_intact_failed(step.version, &step.name);
            }
            Ok(step)
        })
        .collect()
    })
}

/// XX001 (data corrupted): a registered migration's SQL no longer matches the checksum
/// migration_add stored, so someone changed `stash.migrations` behind its back.  Nothing
/// of it is applied or replayed, anywhere.
pub(crate) fn require_intact_failed(version: i64, name: &str) -> ! {
    errors::raise(
        Code::ERRCODE_DATA_CORRUPTED,
        format!(
            "migration {version} ({name}) does not match its checksum: its SQL was changed after stash.migration_add registered it"
        ),
        "Applied migrations are never edited: restore the original SQL in stash.migrations, and register the change as a new, higher version.",
    )
}

/// Runs one step's SQL as the target's owner in a security-restricted operation, with
/// every setting it makes undone afterwards (see the module comment).
fn run_sql(target: &Target, sql: &str, limits: &Limits) {
    super::path::require_safe();
    executor::as_role(target.owner, pg_sys::SECURITY_RESTRICTED_OPERATION, || {
        let settings = guc::NestLevel::open();
        settings.set(c"search_path", &target.search_path);
        if let Some(ms) = limits.lock_timeout_ms {
            settings.set(c"lock_timeout", &format!("{ms}ms"));
        }
        let _deadline = limits.statement_timeout_ms.map(Deadline::arm);
        if target.scope == Scope::Tenant && target.tenant_id.is_some() && crate::citus::active() {
            // Under Citus, statement by statement, and what each one created joins the
            // tenant's distributed schema right away, as a top-level CREATE TABLE would
            // (Citus converts only those itself): src/citus.rs.
            let role = target
                .slug()
                .zip(target.tenant_id)
                .map(|(slug, id)| crate::slug::role_name(slug, id));
            crate::citus::settle(&target.schema, role.as_deref());
            for statement in crate::citus::statements(sql) {
                Spi::run(&statement).or_raise("migration SQL");
                crate::citus::settle(&target.schema, role.as_deref());
            }
        } else {
            Spi::run(sql).or_raise("migration SQL");
        }
        settings.close();
    })
}

/// Writes the ledger for a step that ran, as the registry's owner.
fn record_step(target: &Target, step: &Step, started: Instant) {
    let ms = started.elapsed().as_secs_f64() * 1000.0;
    match step.direction {
        Direction::Up => executor::update(
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
            executor::update(
                &sql,
                &[target.tenant_id.into(), step.version.into()],
                |_| Ok(()),
            )
        }
    }
}

/// Runs one step in its own subtransaction: the SQL and its ledger change, both or
/// neither.  A statement timeout of our own is a failure of this step like any other;
/// a cancel from anyone else ends the whole command.
fn apply(target: &Target, step: &Step, limits: &Limits) -> Result<(), Failure> {
    let sql = step.sql.as_deref().unwrap_or_default();
    Deadline::clear_fired();
    subxact::run_keeping(
        OnSuccess::Commit,
        |_| Deadline::fired(),
        || {
            let started = Instant::now();
            run_sql(target, sql, limits);
            record_step(target, step, started);
        },
    )
    .map_err(|mut failure| {
        if Deadline::fired() {
            failure.message = format!(
                "canceling migration: it ran longer than the run's statement_timeout ({} ms)",
                limits.statement_timeout_ms.unwrap_or(0)
            );
        }
        failure
    })
}

fn record_failure(target: &Target, version: i64, failure: &Failure) {
    clear_failure(target);
    executor::update(
        "INSERT INTO stash.migration_failures (tenant_id, version, sqlstate, message, detail, hint)
         VALUES ($1, $2, $3, $4, $5, $6)",
        &[
            target.tenant_id.into(),
            version.into(),
            failure.sqlstate.as_str().to_string().into(),
            failure.message.clone().into(),
            failure.detail.clone().into(),
            failure.hint.clone().into(),
        ],
        |_| Ok(()),
    );
    events::record(
        target.tenant_id,
        target.slug(),
        Action::MigrationFailed,
        json!({ "scope": target.scope.as_str(), "target": target.label, "version": version,
                "sqlstate": failure.sqlstate.as_str(), "message": failure.message,
                "detail": failure.detail, "hint": failure.hint }),
    );
}

fn clear_failure(target: &Target) {
    let sql = format!(
        "DELETE FROM stash.migration_failures l WHERE {}",
        target.ledger_predicate()
    );
    executor::update(&sql, &[target.tenant_id.into()], |_| Ok(()));
}

/// Brings one target to `to` (NULL: the latest version).  The caller holds its lock and
/// has checked its snapshot ([`require_fresh_snapshot`]).
pub(crate) fn migrate(target: &Target, to: Option<i64>, limits: &Limits) -> Report {
    require_owner_privileges(target);
    let State {
        version: from,
        mismatches,
        failure_recorded,
    } = state(target);
    let mut report = Report {
        label: target.label.clone(),
        from_version: from,
        to_version: from,
        applied: 0,
        status: Outcome::UpToDate,
        error: None,
        sqlstate: None,
    };
    if !mismatches.is_empty() {
        let list: Vec<String> = mismatches
            .iter()
            .map(|(v, n)| format!("{v} ({n})"))
            .collect();
        report.status = Outcome::ChecksumMismatch;
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
        report.status = Outcome::Failed;
        report.error = Some(format!(
            "version {} ({}) has no down_sql, so it cannot be rolled back; nothing was changed",
            step.version, step.name
        ));
        return report;
    }
    let (mut up, mut down) = (Vec::new(), Vec::new());
    for step in &steps {
        if let Err(failure) = apply(target, step, limits) {
            record_failure(target, step.version, &failure);
            report.status = Outcome::Failed;
            report.error = Some(format!(
                "version {} ({}): {}",
                step.version,
                step.name,
                failure.describe()
            ));
            report.sqlstate = Some(failure.sqlstate.to_string());
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
    if report.status != Outcome::Failed {
        if failure_recorded {
            clear_failure(target);
        }
        if report.applied > 0 {
            report.status = Outcome::Ok;
        }
    }
    for (action, versions) in [(Action::RolledBack, down), (Action::Migrated, up)] {
        if !versions.is_empty() {
            events::record(
                target.tenant_id,
                target.slug(),
                action,
                json!({ "scope": target.scope.as_str(), "target": target.label, "from": from,
                        "to": report.to_version, "versions": versions }),
            );
        }
    }
    report
}

/// Runs `migrate`, inside a discarded subtransaction when it is a dry run.
pub(crate) fn migrate_maybe_dry(target: &Target, to: Option<i64>, dry_run: bool) -> Report {
    if !dry_run {
        return migrate(target, to, &Limits::default());
    }
    subxact::run(OnSuccess::Discard, || {
        migrate(target, to, &Limits::default())
    })
    .unwrap_or_else(|f| Report::failed(&target.label, f.describe()))
}

/// Applies every tenant-scope migration to a tenant being created, without
/// subtransactions: any failure fails the creation, with the migration's own error
/// (SQLSTATE, message, DETAIL, HINT) and a CONTEXT line naming the version.  A
/// subtransaction per version would cost nothing visible here but overflow the
/// backend's subxact cache past 64 versions, which makes every snapshot on the primary
/// and its standbys consult pg_subtrans while the create runs.  Returns the version.
pub(crate) fn provision(id: pgrx::Uuid, slug: &str, schema: &str) -> i64 {
    provision_to(id, slug, schema, None)
}

/// [`provision`] up to version `to` (every version: None): a clone is built at its
/// source's version.
pub(crate) fn provision_to(id: pgrx::Uuid, slug: &str, schema: &str, to: Option<i64>) -> i64 {
    let target = Target::tenant(id, slug, schema);
    require_owner_privileges(&target);
    let mut version = 0;
    for step in plan(&target, to) {
        let _context = errors::Context::push(&format!(
            "stash_tenancy: migration {} ({}) of tenant \"{slug}\", which is therefore not created",
            step.version, step.name
        ));
        let started = Instant::now();
        run_sql(
            &target,
            step.sql.as_deref().unwrap_or_default(),
            &Limits::default(),
        );
        record_step(&target, &step, started);
        version = step.version;
    }
    version
}

/// Runs the up SQL of `steps` (version, SQL) in `schema` exactly as migrations run in a
/// tenant's schema — as the schema's owner, security-restricted, search_path, settings
/// undone — without touching any ledger: tenant_verify's reference schema (built inside a
/// subtransaction its caller rolls back) and a schema tenant_restore brings forward
/// before it becomes the tenant's.  The caller must have the owner's privileges.
pub(crate) fn replay(schema: &str, steps: &[(i64, String)], why: &str) {
    let target = Target {
        tenant_id: None,
        label: schema.to_string(),
        schema: schema.to_string(),
        search_path: settings::tenant_search_path(schema),
        scope: Scope::Tenant,
        owner: schema_owner(schema, None),
    };
    require_owner_privileges(&target);
    for (version, sql) in steps {
        let _context = errors::Context::push(&format!(
            "stash_tenancy: migration {version}, {why} schema \"{schema}\""
        ));
        run_sql(&target, sql, &Limits::default());
    }
}

// ---- a statement timeout per step ----------------------------------------------------------

type TimestampTz = pg_sys::TimestampTz;

thread_local! {
    /// The deadline of the step that is running, if it set one.
    static DEADLINE: std::cell::Cell<Option<TimestampTz>> = const { std::cell::Cell::new(None) };
}

/// A statement timeout for one step.  `SET statement_timeout` inside a running CALL would
/// not arm anything (PostgreSQL arms the timer when a client statement starts), so the
/// step arms PostgreSQL's statement-timeout timer itself, and puts back the timer of the
/// statement around it (the caller's own statement_timeout) when it ends, unless that one
/// comes first anyway.
struct Deadline {
    outer: Option<TimestampTz>,
    armed: bool,
}

impl Deadline {
    fn arm(ms: i64) -> Deadline {
        let finish = timeout::now() + ms * 1000;
        let outer = timeout::statement_timeout_finish();
        let armed = outer.is_none_or(|o| finish < o);
        if armed {
            timeout::arm_statement_timeout(finish);
            DEADLINE.set(Some(finish));
        }
        Deadline { outer, armed }
    }

    /// Whether the step's own deadline has passed: the cancel that ended it was ours.
    fn fired() -> bool {
        DEADLINE.get().is_some_and(|d| timeout::now() >= d)
    }

    fn clear_fired() {
        DEADLINE.set(None);
    }
}

impl Drop for Deadline {
    fn drop(&mut self) {
        if !self.armed {
            return;
        }
        match self.outer {
            Some(outer) => timeout::arm_statement_timeout(outer),
            None => timeout::disarm_statement_timeout(),
        }
        // `fired` is read after the subtransaction caught the error, i.e. after this
        // drop: keep DEADLINE until the next step clears it.
    }
}
