//! The migration catalog (`stash.migrations`), the ledger of what each tenant or the
//! shared schema has applied (`stash.ledger`), and the last failure per tenant
//! (`stash.migration_failures`).  The engine that applies them is in migrate/
use crate::catalog::executor;
use crate::errors;
use pgrx::prelude::*;
use pgrx::PgSqlErrorCode as Code;

/// What a migration applies to; `as_str` is the text of `stash.migrations.scope`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Scope {
    Tenant,
    Shared,
}

impl Scope {
    pub(crate) const ALL: [Scope; 2] = [Scope::Tenant, Scope::Shared];
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Scope::Tenant => "tenant",
            Scope::Shared => "shared",
        }
    }
}

extension_sql!(
    r#"
CREATE TABLE stash.migrations (
    version    bigint      PRIMARY KEY CHECK (version > 0),
    name       text        NOT NULL,
    scope      text        NOT NULL DEFAULT 'tenant' CHECK (scope IN ('tenant', 'shared')),
    up_sql     text        NOT NULL,
    down_sql   text,
    checksum   text        NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE stash.migrations IS 'Registered migrations; add them with stash.migration_add().';

-- tenant_id NULL is the shared schema.
CREATE TABLE stash.ledger (
    tenant_id   uuid        REFERENCES stash.tenants (id) ON DELETE CASCADE,
    version     bigint      NOT NULL REFERENCES stash.migrations (version),
    checksum    text        NOT NULL,
    applied_at  timestamptz NOT NULL DEFAULT clock_timestamp(),
    duration_ms double precision NOT NULL,
    UNIQUE NULLS NOT DISTINCT (tenant_id, version)
);
CREATE INDEX ledger_version_idx ON stash.ledger (version);
COMMENT ON TABLE stash.ledger IS 'Which migration versions each tenant (tenant_id NULL: the shared schema) has applied.';

CREATE TABLE stash.migration_failures (
    tenant_id uuid        UNIQUE NULLS NOT DISTINCT REFERENCES stash.tenants (id) ON DELETE CASCADE,
    version   bigint      NOT NULL,
    sqlstate  text        NOT NULL,
    message   text        NOT NULL,
    at        timestamptz NOT NULL DEFAULT clock_timestamp(),
    detail    text,
    hint      text
);
COMMENT ON TABLE stash.migration_failures IS 'The last failed migration of each tenant (tenant_id NULL: the shared schema), until it succeeds.';

SELECT pg_catalog.pg_extension_config_dump('stash.migrations', '');
SELECT pg_catalog.pg_extension_config_dump('stash.ledger', '');
SELECT pg_catalog.pg_extension_config_dump('stash.migration_failures', '');
REVOKE ALL ON stash.migrations, stash.ledger, stash.migration_failures FROM PUBLIC;

CREATE VIEW stash.tenant_status AS
SELECT t.slug, t.status, t.schema_name,
       coalesce(l.current_version, 0) AS current_version,
       coalesce(m.latest_version, 0) AS latest_version,
       (SELECT count(*) FROM stash.migrations pm
         WHERE pm.scope = 'tenant'
           AND NOT EXISTS (SELECT FROM stash.ledger pl
                            WHERE pl.tenant_id = t.id AND pl.version = pm.version)) AS pending,
       CASE WHEN f.version IS NOT NULL
            THEN format('version %s: %s (SQLSTATE %s)', f.version, f.message, f.sqlstate) END
         AS last_error,
       l.last_migrated_at
  FROM stash.tenants t
  LEFT JOIN LATERAL (SELECT max(version) AS current_version, max(applied_at) AS last_migrated_at
                       FROM stash.ledger WHERE tenant_id = t.id) l ON true
  CROSS JOIN (SELECT max(version) AS latest_version FROM stash.migrations WHERE scope = 'tenant') m
  LEFT JOIN stash.migration_failures f ON f.tenant_id = t.id;
COMMENT ON VIEW stash.tenant_status IS 'Where every tenant is: current and latest version, pending count, last error.';
"#,
    name = "migrations",
    requires = ["registry"]
);

/// Registers a migration.  Idempotent: the same version with the same content is a no-op;
/// different content under an existing version is refused, because tenants that applied
/// it would silently diverge from tenants that apply the new text.
#[pg_extern(volatile, parallel_unsafe)]
#[search_path(pg_catalog, pg_temp)]
fn migration_add(
    version: Option<i64>,
    name: Option<&str>,
    up_sql: Option<&str>,
    down_sql: default!(Option<&str>, "NULL"),
    scope: default!(Option<&str>, "'tenant'"),
) {
    let version = version.unwrap_or_else(|| {
        errors::null_argument("version", "a positive number such as 20251127075307")
    });
    if version <= 0 {
        errors::raise(
            Code::ERRCODE_INVALID_PARAMETER_VALUE,
            format!("migration version must be positive, not {version}"),
            "Use increasing positive numbers, e.g. 1, 2, 3 or timestamps like 20251127075307.",
        );
    }
    let name = name.filter(|n| !n.trim().is_empty()).unwrap_or_else(|| {
        errors::raise(
            Code::ERRCODE_INVALID_PARAMETER_VALUE,
            format!("migration {version} needs a name"),
            "Name it after what it does, e.g. 'create_orders'.",
        )
    });
    let up_sql = up_sql.filter(|s| !s.trim().is_empty()).unwrap_or_else(|| {
        errors::raise(
            Code::ERRCODE_INVALID_PARAMETER_VALUE,
            format!("migration {version} ({name}) has no up_sql"),
            "up_sql holds the SQL that applies the migration, written unqualified.",
        )
    });
    let scope = scope.unwrap_or("tenant");
    if !Scope::ALL.iter().any(|s| s.as_str() == scope) {
        errors::raise(
            Code::ERRCODE_INVALID_PARAMETER_VALUE,
            format!("migration scope must be 'tenant' or 'shared', not '{scope}'"),
            "'tenant' migrations run in every tenant schema; 'shared' ones once, in the first schema of stash.shared_schemas.",
        );
    }
    let existing = executor::select(
        "SELECT m.name = $2 AND m.up_sql = $3 AND m.down_sql IS NOT DISTINCT FROM $4 AND m.scope = $5,
                (SELECT count(*) FROM stash.ledger l WHERE l.version = m.version)
           FROM stash.migrations m WHERE m.version = $1",
        &[
            version.into(),
            name.to_string().into(),
            up_sql.to_string().into(),
            down_sql.map(str::to_string).into(),
            scope.to_string().into(),
        ],
        |t| {
            if t.is_empty() {
                Ok(None)
            } else {
                t.first().get_two::<bool, i64>().map(Some)
            }
        },
    );
    match existing {
        Some((Some(true), _)) => {}
        Some((_, applied)) => errors::raise(
            Code::ERRCODE_DUPLICATE_OBJECT,
            format!(
                "migration {version} is already registered with different content, and {} tenant(s) have applied it",
                applied.unwrap_or(0)
            ),
            "Applied migrations cannot be edited: register the change as a new, higher version.",
        ),
        None => executor::update(
            "INSERT INTO stash.migrations (version, name, scope, up_sql, down_sql, checksum)
             VALUES ($1, $2, $5, $3, $4, encode(sha256(convert_to($3, 'UTF8')), 'hex'))",
            &[
                version.into(),
                name.to_string().into(),
                up_sql.to_string().into(),
                down_sql.map(str::to_string).into(),
                scope.to_string().into(),
            ],
            |_| Ok(()),
        ),
    }
}

/// Unregisters a migration that no tenant (and not the shared schema) has applied.
#[pg_extern(volatile, parallel_unsafe)]
#[search_path(pg_catalog, pg_temp)]
fn migration_remove(version: Option<i64>) {
    let version =
        version.unwrap_or_else(|| errors::null_argument("version", "the version to remove"));
    let applied = executor::select(
        "SELECT (SELECT count(*) FROM stash.ledger WHERE version = $1),
                EXISTS (SELECT FROM stash.migrations WHERE version = $1)",
        &[version.into()],
        |t| t.first().get_two::<i64, bool>(),
    );
    match applied {
        (_, Some(false)) => errors::raise(
            Code::ERRCODE_UNDEFINED_OBJECT,
            format!("migration {version} does not exist"),
            "SELECT version, name FROM stash.migrations lists the registered migrations.",
        ),
        (Some(n), _) if n > 0 => errors::raise(
            Code::ERRCODE_DEPENDENT_OBJECTS_STILL_EXIST,
            format!("migration {version} is applied in {n} place(s) and cannot be removed"),
            "Roll it back first with stash.tenant_migrate(NULL, <lower version>) or stash.shared_migrate(<lower version>).",
        ),
        _ => executor::update(
            "DELETE FROM stash.migrations WHERE version = $1",
            &[version.into()],
            |_| Ok(()),
        ),
    }
}

extension_sql!(
    r#"
REVOKE EXECUTE ON FUNCTION stash.migration_add(bigint, text, text, text, text) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION stash.migration_remove(bigint) FROM PUBLIC;
"#,
    name = "migrations_grants",
    requires = [migration_add, migration_remove]
);

/// SQL: whether the stash.migrations row `m` still has the up_sql its stored checksum
/// was computed from (migration_add computes it the same way).
pub(crate) fn intact_sql(m: &str) -> String {
    format!(
        "{m}.checksum OPERATOR(pg_catalog.=) pg_catalog.encode(pg_catalog.sha256(pg_catalog.convert_to({m}.up_sql, 'UTF8')), 'hex')"
    )
}
