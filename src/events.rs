//! The audit log, `stash.events`.
use crate::registry;

/// `tenant_id` and `slug` are NULL for events of the shared schema.
pub(crate) fn record(
    tenant_id: Option<pgrx::Uuid>,
    slug: Option<&str>,
    action: &str,
    detail: serde_json::Value,
) {
    registry::update(
        "INSERT INTO stash.events (tenant_id, slug, action, detail) VALUES ($1, $2, $3, $4)",
        &[
            tenant_id.into(),
            slug.map(str::to_string).into(),
            action.to_string().into(),
            pgrx::JsonB(detail).into(),
        ],
        |_| Ok(()),
    )
}

/// Forget everything the audit log says about a tenant (tenant_drop keeps only the fact
/// of the drop).
pub(crate) fn forget(tenant_id: pgrx::Uuid) {
    registry::update(
        "DELETE FROM stash.events WHERE tenant_id = $1",
        &[tenant_id.into()],
        |_| Ok(()),
    )
}
