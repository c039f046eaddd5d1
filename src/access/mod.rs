//! Who reaches a tenant's data, and how: tenant roles (the wall), the tenant context
//! (`tenant_enter`), application roles and the role switch with the hooks that keep it
//! closed, signed entry (tokens), and PostgREST's pre-request.
pub(crate) mod context;
pub(crate) mod isolation;
pub(crate) mod postgrest;
pub(crate) mod roles;
pub(crate) mod tokens;
