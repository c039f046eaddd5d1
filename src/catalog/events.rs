//! The audit log, `stash.events`: its DDL, the [`Action`]s it records, and the two writes
//! the extension makes to it.
use crate::catalog::executor;
use pgrx::prelude::*;

extension_sql!(
    r#"
CREATE TABLE stash.events (
    id        bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at        timestamptz NOT NULL DEFAULT clock_timestamp(),
    tenant_id uuid,
    slug      text,
    action    text        NOT NULL CHECK (action IN ('created', 'suspended', 'resumed', 'dropped',
                                                     'migrated', 'rolled_back', 'migration_failed',
                                                     'renamed', 'reset', 'cloned', 'restored',
                                                     'moved')),
    detail    jsonb       NOT NULL DEFAULT '{}',
    actor     text        NOT NULL DEFAULT session_user
);
CREATE INDEX events_tenant_id_at_idx ON stash.events (tenant_id, at);
COMMENT ON TABLE stash.events IS 'Audit log of tenant lifecycle and migration events.';

-- pg_dump keeps the rows and the event counter.
SELECT pg_catalog.pg_extension_config_dump('stash.events', '');
SELECT pg_catalog.pg_extension_config_dump('stash.events_id_seq', '');
REVOKE ALL ON stash.events FROM PUBLIC;
"#,
    name = "events",
    requires = ["registry"]
);

/// What an event records; `as_str` is the text in `stash.events.action`, which the
/// table's CHECK constraint lists.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Action {
    Created,
    Suspended,
    Resumed,
    Dropped,
    Migrated,
    RolledBack,
    MigrationFailed,
    Renamed,
    Reset,
    Cloned,
    Restored,
    Moved,
}

impl Action {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Action::Created => "created",
            Action::Suspended => "suspended",
            Action::Resumed => "resumed",
            Action::Dropped => "dropped",
            Action::Migrated => "migrated",
            Action::RolledBack => "rolled_back",
            Action::MigrationFailed => "migration_failed",
            Action::Renamed => "renamed",
            Action::Reset => "reset",
            Action::Cloned => "cloned",
            Action::Restored => "restored",
            Action::Moved => "moved",
        }
    }
}

/// `tenant_id` and `slug` are NULL for events of the shared schema.
pub(crate) fn record(
    tenant_id: Option<pgrx::Uuid>,
    slug: Option<&str>,
    action: Action,
    detail: serde_json::Value,
) {
    executor::update(
        "INSERT INTO stash.events (tenant_id, slug, action, detail) VALUES ($1, $2, $3, $4)",
        &[
            tenant_id.into(),
            slug.map(str::to_string).into(),
            action.as_str().to_string().into(),
            pgrx::JsonB(detail).into(),
        ],
        |_| Ok(()),
    )
}

/// Forget everything the audit log says about a tenant (tenant_drop keeps only the fact
/// of the drop).
pub(crate) fn forget(tenant_id: pgrx::Uuid) {
    executor::update(
        "DELETE FROM stash.events WHERE tenant_id = $1",
        &[tenant_id.into()],
        |_| Ok(()),
    )
}
