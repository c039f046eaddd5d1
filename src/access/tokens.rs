//! Signed entry: `stash.tenant_enter_token(token)` verifies a JWT inside the server and
//! enters the tenant its claim names; its keys (`stash.token_key_add` / `token_key_remove`,
//! table `stash.token_keys`, readable by administrators only); and
//! `stash.app_role_require_token`, which closes an application role's door by name.
//!
//! Why it exists: an application role that can run arbitrary SQL (an injection) can
//! COMMIT and `tenant_enter('b')`.  A role that must present a token can only reach the
//! tenants its caller holds tokens for.
//!
//! Signatures are checked by `jsonwebtoken` (RustCrypto: HMAC-SHA256, RSA PKCS#1 v1.5,
//! ECDSA P-256); nothing here is hand-rolled crypto.  The header is also decoded here,
//! before verification, only to pick the key and to say precisely what is wrong.
use crate::access::context::{self, Door};
use crate::catalog::executor;
use crate::catalog::invalidation;
use crate::catalog::registry::Key;
use crate::errors;
use crate::pg::backend;
use crate::pg::objects;
use crate::pg::snapshot;
use crate::slug::Slug;
use crate::state::settings;
use base64::Engine as _;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use pgrx::prelude::*;
use pgrx::PgSqlErrorCode as Code;
use std::cell::RefCell;
use std::rc::Rc;

/// Larger tokens are refused before any decoding (a request header rarely allows more).
pub(crate) const MAX_TOKEN_BYTES: usize = 8192;

/// Clock skew tolerated on `exp` and `nbf`, in seconds (docs/sql.md).
pub(crate) const LEEWAY_SECONDS: u64 = 30;

/// HMAC keys shorter than the hash are refused (RFC 7518, section 3.2).
const MIN_HMAC_KEY_BYTES: usize = 32;

extension_sql!(
    r#"
CREATE TABLE stash.token_keys (
    kid      text        PRIMARY KEY CHECK (kid <> '' AND length(kid) <= 200),
    alg      text        NOT NULL CHECK (alg IN ('HS256', 'RS256', 'ES256')),
    key      text        NOT NULL,
    added_at timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE stash.token_keys IS 'Keys that verify tokens for stash.tenant_enter_token (administrators only: it holds HS256 secrets).';
SELECT pg_catalog.pg_extension_config_dump('stash.token_keys', '');
REVOKE ALL ON stash.token_keys FROM PUBLIC;
CREATE TRIGGER token_keys_invalidate
    AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON stash.token_keys
    FOR EACH STATEMENT EXECUTE FUNCTION stash.tenants_invalidate();
ALTER TABLE stash.token_keys ENABLE ALWAYS TRIGGER token_keys_invalidate;
"#,
    name = "token_keys",
    requires = ["registry", "tenants_invalidate_trigger"]
);

/// A key as verification uses it.
struct RingKey {
    kid: String,
    alg: Algorithm,
    key: DecodingKey,
}

#[derive(Default)]
struct Ring {
    keys: Vec<RingKey>,
    generation: Option<u64>,
}

thread_local! {
    /// The keys, parsed once per backend and registry generation: parsing a PEM costs
    /// more than verifying an HS256 token.
    static RING: RefCell<Rc<Ring>> = RefCell::new(Rc::new(Ring::default()));
}

fn parse_alg(alg: &str) -> Option<Algorithm> {
    match alg {
        "HS256" => Some(Algorithm::HS256),
        "RS256" => Some(Algorithm::RS256),
        "ES256" => Some(Algorithm::ES256),
        _ => None,
    }
}

/// The key material as jsonwebtoken takes it, or why it cannot be used.  The messages
/// never quote the key.
fn decoding_key(alg: Algorithm, key: &str) -> Result<DecodingKey, String> {
    match alg {
        Algorithm::HS256 if key.len() < MIN_HMAC_KEY_BYTES => Err(format!(
            "an HS256 secret must be at least {MIN_HMAC_KEY_BYTES} bytes (this one has {})",
            key.len()
        )),
        Algorithm::HS256 => Ok(DecodingKey::from_secret(key.as_bytes())),
        _ if key.contains("PRIVATE KEY") => {
            Err("this is a private key: register the public key; the private key stays with whoever signs the tokens".into())
        }
        Algorithm::RS256 => DecodingKey::from_rsa_pem(key.as_bytes())
            .map_err(|_| "not an RSA public key in PEM form (-----BEGIN PUBLIC KEY-----)".into()),
        _ => DecodingKey::from_ec_pem(key.as_bytes()).map_err(|_| {
            "not a P-256 public key in PEM form (-----BEGIN PUBLIC KEY-----)".into()
        }),
    }
}

fn ring() -> Rc<Ring> {
    let generation = invalidation::generation();
    if let Some(ring) = RING.with(|r| {
        let r = r.borrow();
        (r.generation == Some(generation)).then(|| r.clone())
    }) {
        return ring;
    }
    // As the registry owner (application roles cannot read the table), at the latest
    // snapshot: a key removed by a commit whose invalidation was just accepted is gone.
    let rows = snapshot::with_latest_snapshot(|| {
        executor::select(
            "SELECT kid, alg, key FROM stash.token_keys ORDER BY kid",
            &[],
            |table| {
                table
                    .map(|row| {
                        Ok((
                            row.get::<String>(1)?.unwrap_or_default(),
                            row.get::<String>(2)?.unwrap_or_default(),
                            row.get::<String>(3)?.unwrap_or_default(),
                        ))
                    })
                    .collect::<Result<Vec<_>, pgrx::spi::SpiError>>()
            },
        )
    });
    let keys = rows
        .into_iter()
        .filter_map(|(kid, alg, key)| {
            // token_key_add validated it; a row written by hand that does not parse is
            // simply not a usable key (its kid is then "unknown").
            let alg = parse_alg(&alg)?;
            let key = decoding_key(alg, &key).ok()?;
            Some(RingKey { kid, alg, key })
        })
        .collect();
    let cacheable = backend::snapshot_per_statement() && invalidation::generation() == generation;
    let ring = Rc::new(Ring {
        keys,
        generation: cacheable.then_some(generation),
    });
    RING.with(|r| *r.borrow_mut() = ring.clone());
    ring
}

/// 28000, changing nothing: the one error of a token that does not verify.
fn refuse(message: impl Into<String>, hint: &str) -> ! {
    errors::raise(
        Code::ERRCODE_INVALID_AUTHORIZATION_SPECIFICATION,
        message.into(),
        hint,
    )
}

const HINT_SIGN: &str = "Sign tokens with a key registered by stash.token_key_add (its kid in the token header), with an exp claim.";

/// Text from a token for an error message: short, printable.
fn shown(text: &str) -> String {
    let clean: String = text.chars().filter(|c| !c.is_control()).take(64).collect();
    format!("\"{clean}\"")
}

/// Verifies `token` and returns the tenant key its claim names (owned slug or id).
pub(crate) fn verify(token: &str) -> OwnedKey {
    if token.len() > MAX_TOKEN_BYTES {
        refuse(
            format!(
                "token is too large: {} bytes (at most {MAX_TOKEN_BYTES})",
                token.len()
            ),
            HINT_SIGN,
        );
    }
    let parts: Vec<&str> = token.split('.').collect();
    if parts.len() != 3 {
        refuse(
            "token is malformed: a JWT has three base64url parts separated by dots",
            HINT_SIGN,
        );
    }
    let header: serde_json::Value = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(parts[0].trim_end_matches('='))
        .ok()
        .and_then(|bytes| serde_json::from_slice(&bytes).ok())
        .filter(serde_json::Value::is_object)
        .unwrap_or_else(|| {
            refuse(
                "token is malformed: its header is not base64url-encoded JSON",
                HINT_SIGN,
            )
        });
    let alg_name = match header.get("alg") {
        Some(serde_json::Value::String(a)) => a.as_str(),
        _ => refuse("token is malformed: its header has no alg", HINT_SIGN),
    };
    if alg_name.eq_ignore_ascii_case("none") {
        refuse(
            "token is not signed (alg \"none\"): only signed tokens are accepted",
            HINT_SIGN,
        );
    }
    let alg = parse_alg(alg_name).unwrap_or_else(|| {
        refuse(
            format!(
                "token algorithm {} is not accepted (HS256, RS256, ES256)",
                shown(alg_name)
            ),
            HINT_SIGN,
        )
    });
    let ring = ring();
    let key = match header.get("kid") {
        Some(serde_json::Value::String(kid)) => {
            ring.keys.iter().find(|k| &k.kid == kid).unwrap_or_else(|| {
                refuse(format!("token key {} is unknown", shown(kid)), HINT_SIGN)
            })
        }
        Some(_) => refuse("token is malformed: its kid is not a string", HINT_SIGN),
        None => match ring.keys.as_slice() {
            [only] => only,
            [] => refuse(
                "no token keys are registered",
                "An administrator registers one with SELECT stash.token_key_add(kid, alg, key).",
            ),
            keys => refuse(
                format!(
                    "token has no kid header, and {} keys are registered",
                    keys.len()
                ),
                "Put the kid of the signing key into the token header.",
            ),
        },
    };
    if key.alg != alg {
        refuse(
            format!(
                "token algorithm {alg_name} does not match key {} ({:?})",
                shown(&key.kid),
                key.alg
            ),
            HINT_SIGN,
        );
    }
    let mut validation = Validation::new(key.alg);
    validation.leeway = LEEWAY_SECONDS;
    validation.validate_nbf = true;
    validation.validate_exp = true;
    match settings::token_audience() {
        Some(audience) => {
            validation.set_audience(&[audience]);
            validation.set_required_spec_claims(&["exp", "aud"]);
        }
        None => {
            validation.validate_aud = false;
            validation.set_required_spec_claims(&["exp"]);
        }
    }
    let claims = match jsonwebtoken::decode::<serde_json::Value>(token, &key.key, &validation) {
        Ok(data) => data.claims,
        Err(e) => {
            use jsonwebtoken::errors::ErrorKind as E;
            let message = match e.kind() {
                E::InvalidSignature => "token signature does not verify".to_string(),
                E::ExpiredSignature => "token has expired".to_string(),
                E::ImmatureSignature => "token is not valid yet (nbf)".to_string(),
                E::MissingRequiredClaim(claim) => format!("token has no \"{claim}\" claim"),
                E::InvalidClaimFormat(claim) => format!("token claim \"{claim}\" is malformed"),
                E::InvalidAudience => {
                    "token audience does not match stash.token_audience".to_string()
                }
                E::InvalidAlgorithm => "token algorithm does not match its key".to_string(),
                _ => "token is malformed".to_string(),
            };
            refuse(message, HINT_SIGN)
        }
    };
    tenant_of(&claims)
}

/// A tenant key owned by the caller (a claim's value outlives no borrow).
pub(crate) enum OwnedKey {
    Slug(Slug),
    Id(pgrx::Uuid),
}

impl OwnedKey {
    pub(crate) fn as_key(&self) -> Key<'_> {
        match self {
            OwnedKey::Slug(s) => Key::Slug(s.as_str()),
            OwnedKey::Id(id) => Key::Id(*id),
        }
    }
}

/// The tenant named by the tenant claim (`stash.token_tenant_claim`) of verified claims:
/// a tenant id, or else a slug (an invalid slug is tenant_enter's 22023).
pub(crate) fn tenant_of(claims: &serde_json::Value) -> OwnedKey {
    let claim = settings::token_tenant_claim();
    let value = match claims.get(&claim) {
        Some(serde_json::Value::String(v)) => v,
        Some(_) => refuse(
            format!("token claim \"{claim}\" is not a string"),
            "The tenant claim holds a tenant slug or a tenant id (stash.token_tenant_claim names the claim).",
        ),
        None => refuse(
            format!("token has no \"{claim}\" claim"),
            "The tenant claim holds a tenant slug or a tenant id (stash.token_tenant_claim names the claim).",
        ),
    };
    match uuid::Uuid::parse_str(value) {
        Ok(id) => OwnedKey::Id(pgrx::Uuid::from_bytes(*id.as_bytes())),
        Err(_) => OwnedKey::Slug(Slug::from_arg(Some(value))),
    }
}

/// Verifies a signed token (JWT: HS256, RS256 or ES256, with `exp`) and enters the tenant
/// its tenant claim names, exactly like tenant_enter.  Anything wrong with the token is
/// 28000 and changes nothing.
#[pg_extern(volatile, parallel_unsafe)]
fn tenant_enter_token(token: Option<&str>) {
    let token = token.unwrap_or_else(|| errors::null_argument("token", "a signed JWT"));
    let entrant = context::admit("stash.tenant_enter_token()", Door::Token);
    let key = verify(token);
    context::enter_admitted(entrant, key.as_key());
}

/// Registers a key that verifies tokens: an HS256 secret (at least 32 bytes), or an RS256
/// / ES256 public key in PEM form.  Adding the same key again is a no-op; another key
/// under an existing kid is 23505.
#[pg_extern(volatile, parallel_unsafe)]
fn token_key_add(kid: Option<&str>, alg: Option<&str>, key: Option<&str>) {
    let kid = kid.unwrap_or_else(|| errors::null_argument("kid", "a key id such as 'main-2026'"));
    let alg_name =
        alg.unwrap_or_else(|| errors::null_argument("alg", "'HS256', 'RS256' or 'ES256'"));
    let key = key.unwrap_or_else(|| errors::null_argument("key", "the secret or the public key"));
    if kid.is_empty() || kid.len() > 200 {
        errors::raise(
            Code::ERRCODE_INVALID_PARAMETER_VALUE,
            "a token key id must be 1 to 200 bytes long".into(),
            "Use the kid your token issuer puts into the token header.",
        );
    }
    let alg = parse_alg(alg_name).unwrap_or_else(|| {
        errors::raise(
            Code::ERRCODE_INVALID_PARAMETER_VALUE,
            format!("token algorithm {} is not supported", shown(alg_name)),
            "Use 'HS256' (shared secret), 'RS256' or 'ES256' (public key in PEM form).",
        )
    });
    if let Err(why) = decoding_key(alg, key) {
        errors::raise(
            Code::ERRCODE_INVALID_PARAMETER_VALUE,
            format!("token key \"{kid}\" cannot be used: {why}"),
            "The key itself is never shown in messages or logs written by stash_tenancy.",
        );
    }
    let added = executor::update(
        "INSERT INTO stash.token_keys (kid, alg, key) VALUES ($1, $2, $3)
         ON CONFLICT (kid) DO UPDATE SET kid = EXCLUDED.kid
          WHERE stash.token_keys.alg OPERATOR(pg_catalog.=) EXCLUDED.alg
            AND stash.token_keys.key OPERATOR(pg_catalog.=) EXCLUDED.key
         RETURNING kid",
        &[kid.into(), alg_name.into(), key.into()],
        |table| Ok(!table.is_empty()),
    );
    if !added {
        errors::raise(
            Code::ERRCODE_UNIQUE_VIOLATION,
            format!("token key \"{kid}\" already exists with another key"),
            "To rotate, add the new key under a new kid, move token issuers to it, then stash.token_key_remove the old kid.",
        );
    }
}

/// Removes a token key: tokens signed with it no longer verify, in every session, from
/// the next tenant_enter_token on.  An unknown kid is 42704.
#[pg_extern(volatile, parallel_unsafe)]
fn token_key_remove(kid: Option<&str>) {
    let kid = kid.unwrap_or_else(|| errors::null_argument("kid", "the key id to remove"));
    let removed = executor::update(
        "DELETE FROM stash.token_keys WHERE kid OPERATOR(pg_catalog.=) $1 RETURNING kid",
        &[kid.into()],
        |table| Ok(!table.is_empty()),
    );
    if !removed {
        errors::raise(
            Code::ERRCODE_UNDEFINED_OBJECT,
            format!("token key {} does not exist", shown(kid)),
            "SELECT kid, alg, added_at FROM stash.token_keys lists the keys.",
        );
    }
}

/// Requires (or no longer requires) an application role to enter tenants by token:
/// its tenant_enter(slug) and tenant_enter(id) are then 42501.  (SQL spelled out: the
/// argument is a regrole, which pgrx would otherwise declare as a plain oid.)
#[pg_extern(sql = r#"
CREATE FUNCTION stash.app_role_require_token("role" regrole, required boolean DEFAULT true) RETURNS void
VOLATILE PARALLEL UNSAFE
SET search_path TO pg_catalog, pg_temp
LANGUAGE c AS 'MODULE_PATHNAME', 'app_role_require_token_wrapper';
"#)]
fn app_role_require_token(role: Option<pg_sys::Oid>, required: Option<bool>) {
    let role =
        role.unwrap_or_else(|| errors::null_argument("role", "a role such as 'app'::regrole"));
    let required = required.unwrap_or_else(|| errors::null_argument("required", "true or false"));
    let changed = executor::update(
        "UPDATE stash.app_role_registry SET token_required = $2
          WHERE role_name OPERATOR(pg_catalog.=)
                (SELECT rolname FROM pg_catalog.pg_roles WHERE oid OPERATOR(pg_catalog.=) $1)
         RETURNING role_name",
        &[role.into(), required.into()],
        |table| Ok(!table.is_empty()),
    );
    if !changed {
        let name = objects::name_of(role);
        errors::raise(
            Code::ERRCODE_UNDEFINED_OBJECT,
            format!("role \"{name}\" is not an application role"),
            "Register it first with SELECT stash.app_role_add('role').",
        );
    }
}

extension_sql!(
    r#"
REVOKE EXECUTE ON FUNCTION stash.token_key_add(text, text, text) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION stash.token_key_remove(text) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION stash.app_role_require_token(regrole, boolean) FROM PUBLIC;
"#,
    name = "token_grants",
    requires = [
        "token_keys",
        "app_roles",
        token_key_add,
        token_key_remove,
        app_role_require_token
    ]
);
