//! Tenant slugs and the schema names derived from them.
//!
//! A slug is validated once, into [`Slug`]; the only way to get a schema name is from a
//! `Slug`, and the only way to put it into SQL is [`TenantSchema::quoted`].
use crate::errors;
use pgrx::PgSqlErrorCode as Code;
use std::fmt;

/// `tenant_` + 56 bytes = 63 bytes = NAMEDATALEN - 1: the schema name is never truncated.
pub(crate) const MAX_SLUG_BYTES: usize = 56;
pub(crate) const SCHEMA_PREFIX: &str = "tenant_";
const RULE: &str =
    "A slug starts with a lowercase ASCII letter, continues with lowercase letters, \
digits or underscores (^[a-z][a-z0-9_]*$), and is at most 56 bytes long.";

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) struct Slug(String);

#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct TenantSchema(String);

/// Why a string is not a slug; `Display` is the user-facing message.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum SlugError {
    Empty,
    TooLong(usize),
    BadFirst(char),
    BadChar(char),
}

impl fmt::Display for SlugError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SlugError::Empty => write!(f, "is empty"),
            SlugError::TooLong(n) => write!(f, "is {n} bytes long, more than {MAX_SLUG_BYTES}"),
            SlugError::BadFirst(c) => {
                write!(f, "starts with '{}', not a lowercase letter", printable(*c))
            }
            SlugError::BadChar(c) => write!(f, "contains '{}'", printable(*c)),
        }
    }
}

impl Slug {
    pub(crate) fn parse(raw: &str) -> Result<Slug, SlugError> {
        let mut chars = raw.chars();
        match chars.next() {
            None => return Err(SlugError::Empty),
            Some(c) if !c.is_ascii_lowercase() => return Err(SlugError::BadFirst(c)),
            Some(_) => {}
        }
        if let Some(c) =
            chars.find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '_'))
        {
            return Err(SlugError::BadChar(c));
        }
        if raw.len() > MAX_SLUG_BYTES {
            return Err(SlugError::TooLong(raw.len()));
        }
        Ok(Slug(raw.to_owned()))
    }

    /// Validates a SQL argument, raising 22004 for NULL and 22023 for anything malformed.
    pub(crate) fn from_arg(raw: Option<&str>) -> Slug {
        let Some(raw) = raw else {
            errors::null_argument("tenant slug", "a tenant slug such as 'acme'")
        };
        Slug::parse(raw).unwrap_or_else(|e| {
            errors::raise(
                Code::ERRCODE_INVALID_PARAMETER_VALUE,
                format!("invalid tenant slug {}: it {e}", literal(raw)),
                RULE,
            )
        })
    }

    pub(crate) fn as_str(&self) -> &str {
        &self.0
    }

    pub(crate) fn schema(&self) -> TenantSchema {
        TenantSchema(format!("{SCHEMA_PREFIX}{}", self.0))
    }
}

impl fmt::Display for Slug {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "\"{}\"", self.0)
    }
}

impl TenantSchema {
    pub(crate) fn as_str(&self) -> &str {
        &self.0
    }

    /// The schema name as a SQL identifier, ready to splice into DDL.
    pub(crate) fn quoted(&self) -> String {
        pgrx::spi::quote_identifier(&self.0)
    }
}

/// Echo bad input back safely: control characters and overlong input would make the
/// error message itself unreadable.
fn literal(raw: &str) -> String {
    let shown: String = raw.chars().take(70).map(printable).collect();
    let ellipsis = if raw.chars().count() > 70 { "..." } else { "" };
    format!("\"{shown}{ellipsis}\"")
}

fn printable(c: char) -> String {
    if c.is_control() {
        c.escape_default().collect()
    } else {
        c.to_string()
    }
}

/// The tenant role's name: `stash_` + the slug (its first 40 bytes) + `_` + the last 12
/// hex digits of the tenant id, which are random in a UUIDv7.  At most 59 bytes.
pub(crate) fn role_name(slug: &str, id: pgrx::Uuid) -> String {
    let hex: String = id.as_bytes().iter().map(|b| format!("{b:02x}")).collect();
    let short = &slug[..slug.len().min(40)];
    format!("{ROLE_PREFIX}{short}_{}", &hex[20..])
}

/// What every tenant role's name starts with.
pub(crate) const ROLE_PREFIX: &str = "stash_";

#[cfg(test)]
mod unit {
    use super::*;

    #[test]
    fn accepts_the_documented_alphabet() {
        for ok in ["a", "acme", "acme_2", "a1", "x_", &"a".repeat(56)] {
            assert_eq!(Slug::parse(ok).map(|s| s.0), Ok(ok.to_string()), "{ok}");
        }
    }

    #[test]
    fn refuses_everything_else() {
        assert_eq!(Slug::parse(""), Err(SlugError::Empty));
        assert_eq!(Slug::parse("Acme"), Err(SlugError::BadFirst('A')));
        assert_eq!(Slug::parse("1acme"), Err(SlugError::BadFirst('1')));
        assert_eq!(Slug::parse("_acme"), Err(SlugError::BadFirst('_')));
        assert_eq!(Slug::parse("ac me"), Err(SlugError::BadChar(' ')));
        assert_eq!(Slug::parse("acme;drop"), Err(SlugError::BadChar(';')));
        assert_eq!(Slug::parse("ac\"me"), Err(SlugError::BadChar('"')));
        assert_eq!(Slug::parse("acmé"), Err(SlugError::BadChar('é')));
        assert_eq!(Slug::parse("acme-co"), Err(SlugError::BadChar('-')));
        assert_eq!(Slug::parse(&"a".repeat(57)), Err(SlugError::TooLong(57)));
    }

    #[test]
    fn schema_name_fits_in_namedatalen() {
        let s = Slug::parse(&"z".repeat(MAX_SLUG_BYTES)).unwrap();
        assert_eq!(s.schema().as_str().len(), 63);
        assert_eq!(s.schema().as_str(), format!("tenant_{}", "z".repeat(56)));
    }
}
