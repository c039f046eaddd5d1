//! PostgREST: `stash.postgrest_pre_request()`, for PostgREST's `db-pre-request`.
//!
//! PostgREST verifies the JWT itself, then in the request's transaction sets the JWT's
//! `role` as the current role, `request.jwt.claims`, `request.headers` and a search_path
//! whose first schema is the request's profile (`Accept-Profile` / `Content-Profile`), and
//! calls the pre-request function.  This one enters the tenant the tenant claim names
//! (the role switch included: the JWT's role is the application role).
//!
//! Table endpoints are schema-qualified with the profile, so search_path alone would not
//! route them: a profile that is a tenant schema must be the entered tenant's (42501
//! otherwise).  A profile outside the tenant schemas (an API schema of views and
//! functions that resolve names through search_path) is allowed.
//!
//! `request.jwt.claims` is an ordinary setting that any SQL can write.  For an application
//! role that must enter by token (stash.app_role_require_token) the claims are therefore
//! not enough: the bearer token in `request.headers` is verified here again, with the
//! keys of stash.token_keys, and names the tenant.
use crate::access::context::{self, Door};
use crate::access::isolation::Entrant;
use crate::access::tokens;
use crate::errors;
use crate::pg::guc;
use crate::slug::SCHEMA_PREFIX;
use pgrx::prelude::*;
use pgrx::PgSqlErrorCode as Code;
use std::ffi::CStr;

/// A setting PostgREST wrote for this request, if any.
fn setting(name: &CStr) -> Option<String> {
    guc::value(name)
        .map(|value| value.to_string_lossy().into_owned())
        .filter(|s| !s.is_empty())
}

fn json_setting(name: &CStr) -> serde_json::Value {
    let Some(text) = setting(name) else {
        return serde_json::Value::Null;
    };
    serde_json::from_str(&text).unwrap_or_else(|_| {
        errors::raise(
            Code::ERRCODE_INVALID_AUTHORIZATION_SPECIFICATION,
            format!("{} is not JSON", name.to_string_lossy()),
            "stash.postgrest_pre_request() is meant to be PostgREST's db-pre-request, which sets it.",
        )
    })
}

/// The bearer token of the request, from `request.headers`.
fn bearer_token() -> String {
    let headers = json_setting(c"request.headers");
    headers
        .get("authorization")
        .and_then(serde_json::Value::as_str)
        .and_then(|h| {
            // as PostgREST reads it: the scheme in any case, then any whitespace
            let (scheme, rest) = h.trim_start().split_once(char::is_whitespace)?;
            scheme.eq_ignore_ascii_case("bearer").then(|| rest.trim().to_string())
        })
        .filter(|t| !t.is_empty())
        .unwrap_or_else(|| {
            errors::raise(
                Code::ERRCODE_INVALID_AUTHORIZATION_SPECIFICATION,
                "the request carries no bearer token".into(),
                "This application role enters tenants only by token: send Authorization: Bearer <token>.",
            )
        })
}

/// Enters the tenant named by the request's JWT (claim `stash.token_tenant_claim`), and
/// refuses a request whose profile schema is another tenant's.  For PostgREST's
/// `db-pre-request`.
#[pg_extern(volatile, parallel_unsafe)]
fn postgrest_pre_request() {
    // PostgREST's search_path, read before entering replaces it: its first schema is the
    // request's profile.
    let profile = guc::split_identifiers(&setting(c"search_path").unwrap_or_default())
        .and_then(|names| names.into_iter().next());
    let entrant = context::admit("stash.postgrest_pre_request()", Door::Token);
    let key = if entrant == (Entrant::Application { token_only: true }) {
        tokens::verify(&bearer_token())
    } else {
        let claims = json_setting(c"request.jwt.claims");
        if !claims.is_object() {
            errors::raise(
                Code::ERRCODE_INVALID_AUTHORIZATION_SPECIFICATION,
                "the request has no JWT claims (request.jwt.claims)".into(),
                "PostgREST sets them from the request's JWT; anonymous requests cannot enter a tenant.",
            );
        }
        tokens::tenant_of(&claims)
    };
    context::enter_admitted(entrant, key.as_key());
    let Some(profile) = profile else { return };
    let Some(entered) = crate::state::entered::slug() else {
        return;
    };
    let own = format!("{SCHEMA_PREFIX}{entered}");
    if profile != own && profile.starts_with(SCHEMA_PREFIX) {
        errors::raise(
            Code::ERRCODE_INSUFFICIENT_PRIVILEGE,
            format!("the request's profile schema \"{profile}\" is not the schema of tenant \"{entered}\""),
            "Send Accept-Profile / Content-Profile naming the tenant's own schema, or use an API schema whose views and functions resolve names through search_path (docs/recipes/postgrest.md).",
        );
    }
}
