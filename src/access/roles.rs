//! Tenant roles and the tenant group role: the PostgreSQL roles whose privileges are the
//! wall between tenants (docs/security.md).
//!
//! * Every tenant has a NOLOGIN role, `stash_<slug>_<12 hex of its id>`: cluster-wide
//!   unique (two databases of one cluster each with a tenant `acme` have different ids),
//!   readable in pg_stat_activity and logs, and derived from the registry row, so a
//!   restore into another cluster can recreate it ([`tenant_roles_repair`]).
//! * The tenant role may use its schema and do DML on everything in it, including what
//!   later migrations create (default privileges of the schema owner, who runs every
//!   migration).  It owns nothing: DROP, ALTER, TRUNCATE and CREATE stay with the owner.
//! * Every tenant role is a member of this database's group role, to which an
//!   administrator grants what all tenants may use in shared schemas.  Its name is kept
//!   in `stash.group_role`, so a dump carries it.
//!
//! Role DDL runs as the owner of the registry (a superuser: the extension is not
//! trusted), whoever calls tenant_create, so tenant administrators need no CREATEROLE.
use crate::catalog::executor;
use crate::catalog::registry::Key;
use crate::errors;
use crate::errors::OrRaise;
use crate::pg::objects;
use crate::slug::{role_name, Slug};
use pgrx::prelude::*;
use pgrx::spi::quote_identifier;
use pgrx::PgSqlErrorCode as Code;

extension_sql!(
    r#"
CREATE TABLE stash.group_role (
    singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    role_name name    NOT NULL UNIQUE
);
COMMENT ON TABLE stash.group_role IS 'The name of this database''s tenant group role (see stash.tenant_group_role()).';
SELECT pg_catalog.pg_extension_config_dump('stash.group_role', '');
REVOKE ALL ON stash.group_role FROM PUBLIC;
"#,
    name = "group_role",
    requires = ["registry"]
);

/// A value of SQL type `name` (pgrx maps Rust strings to `text`; role names are `name`).
pub(crate) struct SqlName(String);

pgrx::pgrx_sql_entity_graph::impl_sql_translatable!(SqlName, "name");

// SAFETY: BoxRet's contract is that box_into returns a Datum valid for the SQL type the
// function is declared to return: SqlName declares `name` (impl_sql_translatable above),
// a by-reference type of exactly NAMEDATALEN bytes, and box_into returns a pointer to such
// a NameData.
unsafe impl pgrx::callconv::BoxRet for SqlName {
    /// # Safety
    /// pgrx calls this once, with the fcinfo of the function returning it, and returns
    /// the Datum to PostgreSQL (BoxRet's contract).
    unsafe fn box_into<'fcx>(
        self,
        fcinfo: &mut pgrx::callconv::FcInfo<'fcx>,
    ) -> pgrx::datum::Datum<'fcx> {
        let text = std::ffi::CString::new(self.0).or_raise("role names have no NUL");
        // SAFETY: pgrx calls box_into in the function call's memory context, so the
        // palloc0'd NAMEDATALEN bytes live as long as the caller needs the result;
        // namestrcpy copies the NUL-terminated `text` into them, truncated to
        // NAMEDATALEN - 1 bytes and NUL-padded.  A non-NULL pointer to a complete NameData
        // is a valid by-reference `name` Datum, as return_raw_datum requires.
        unsafe {
            let name = pg_sys::palloc0(pg_sys::NAMEDATALEN as usize) as *mut pg_sys::NameData;
            pg_sys::namestrcpy(name, text.as_ptr());
            fcinfo.return_raw_datum(pg_sys::Datum::from(name))
        }
    }
}

fn run_as_owner(sql: &str) {
    executor::as_owner(|| Spi::run(sql)).or_raise(sql);
}

/// The name of the role that owns schema `schema`, None if there is no such schema.
pub(crate) fn schema_owner_name(schema: &str) -> Option<String> {
    objects::schema_oid(schema)
        .and_then(objects::schema_owner)
        .map(objects::name_of)
}

fn role_exists(name: &str) -> bool {
    objects::role_oid(name).is_some()
}

/// The group role's name, creating the row (and the role) on first use.
pub(crate) fn group_role() -> String {
    let stored = executor::select("SELECT role_name::text FROM stash.group_role", &[], |t| {
        if t.is_empty() {
            Ok(None)
        } else {
            t.first().get_one::<String>()
        }
    });
    let name = match stored {
        Some(name) => name,
        None => {
            // Two sessions creating the first tenants of a database at once: the one
            // whose row wins names (and creates) the role; the other waits for it, then
            // reads its name.
            let token = uuid::Uuid::new_v4().simple().to_string();
            let candidate = format!("stash_tenants_{}", &token[..12]);
            let inserted = executor::update(
                "INSERT INTO stash.group_role (role_name) VALUES ($1::name)
                 ON CONFLICT DO NOTHING RETURNING role_name::text",
                &[candidate.into()],
                |t| {
                    if t.is_empty() {
                        Ok(None)
                    } else {
                        t.first().get_one::<String>()
                    }
                },
            );
            match inserted {
                Some(name) => name,
                None => {
                    executor::update("SELECT role_name::text FROM stash.group_role", &[], |t| {
                        t.first().get_one::<String>()
                    })
                    .or_raise("the row that won the conflict is committed")
                }
            }
        }
    };
    if !role_exists(&name) {
        run_as_owner(&format!(
            "CREATE ROLE {} NOLOGIN; COMMENT ON ROLE {0} IS {}",
            quote_identifier(&name),
            pgrx::spi::quote_literal(format!(
                "stash_tenancy: every tenant of database {} is a member",
                objects::database_name()
            ))
        ));
    }
    name
}

/// Creates the tenant's role if it is missing, makes it a member of the group role, and
/// gives it its privileges in `schema` (owned by `owner`) — now and for every object the
/// owner creates there later.  Idempotent.  Returns whether the role was created.
pub(crate) fn provide(slug: &str, id: pgrx::Uuid, schema: &str) -> bool {
    let role = role_name(slug, id);
    let group = group_role();
    let created = !role_exists(&role);
    let (r, s, g) = (
        quote_identifier(&role),
        quote_identifier(schema),
        quote_identifier(&group),
    );
    if !created {
        require_safe_role(&role);
    }
    if created {
        run_as_owner(&format!(
            "CREATE ROLE {r} NOLOGIN; COMMENT ON ROLE {r} IS {}",
            pgrx::spi::quote_literal(format!(
                "stash_tenancy: tenant {slug} of database {}",
                objects::database_name()
            ))
        ));
        // Under Citus the coordinator connects to the workers as this role: it logs in,
        // with a password only pg_dist_authinfo holds (src/citus.rs).
        crate::citus::give_login(&role);
    }
    let owner =
        schema_owner_name(schema).unwrap_or_else(|| errors::tenant_schema_missing(slug, schema));
    let o = quote_identifier(&owner);
    // GRANT of a membership that exists raises a NOTICE: ask first (a role just created
    // is a member of nothing)
    let member = !created
        && Spi::get_one_with_args::<bool>(
            "SELECT EXISTS (SELECT FROM pg_catalog.pg_auth_members m
                         WHERE m.member = $1::regrole AND m.roleid = $2::regrole)",
            &[role.clone().into(), group.clone().into()],
        )
        .unwrap_or(None)
        .unwrap_or(false);
    let mut grants = if member {
        String::new()
    } else {
        format!("GRANT {g} TO {r};")
    };
    grants.push_str(&format!("GRANT USAGE ON SCHEMA {s} TO {r};"));
    for (privileges, objects) in objects_in_schema(schema) {
        grants.push_str(&format!("GRANT {privileges} {objects} TO {r};"));
    }
    run_as_owner(&format!(
        "{grants}
         ALTER DEFAULT PRIVILEGES FOR ROLE {o} IN SCHEMA {s} GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO {r};
         ALTER DEFAULT PRIVILEGES FOR ROLE {o} IN SCHEMA {s} GRANT USAGE, SELECT, UPDATE ON SEQUENCES TO {r};
         ALTER DEFAULT PRIVILEGES FOR ROLE {o} IN SCHEMA {s} GRANT EXECUTE ON ROUTINES TO {r};
         ALTER DEFAULT PRIVILEGES FOR ROLE {o} IN SCHEMA {s} GRANT USAGE ON TYPES TO {r};"
    ));
    created
}

/// What `GRANT … ON ALL TABLES / SEQUENCES / ROUTINES IN SCHEMA` would grant on, as
/// (privileges, object list) for one GRANT each, leaving out empty lists.  Those GRANTs
/// find their objects by scanning all of pg_class and pg_proc (no index on the namespace):
/// at 10,000 tenants that was two thirds of tenant_create, for a schema just created and
/// still empty (bench/findings.md).  The objects come from the namespace's pg_depend
/// entries, as DROP SCHEMA finds them, without SPI (a query here was planned afresh in
/// every tenant_create: its CREATE SCHEMA invalidates the backend's cached plans).
fn objects_in_schema(schema: &str) -> Vec<(&'static str, String)> {
    let Some(namespace) = objects::schema_oid(schema) else {
        return Vec::new();
    };
    let contents = crate::pg::depend::schema_contents(namespace);
    [
        ("SELECT, INSERT, UPDATE, DELETE ON TABLE", contents.tables),
        ("USAGE, SELECT, UPDATE ON SEQUENCE", contents.sequences),
        ("EXECUTE ON ROUTINE", contents.routines),
    ]
    .into_iter()
    .filter(|(_, list)| !list.is_empty())
    .map(|(privileges, list)| (privileges, list.join(", ")))
    .collect()
}

/// An existing role with a tenant role's name is adopted only if it is what tenant_create
/// would have made: NOLOGIN, no superuser, CREATEROLE, CREATEDB, REPLICATION or BYPASSRLS,
/// and nobody a member of it (whoever pre-created it, e.g. before tenant_roles_repair
/// after a restore, would otherwise hold its door).
fn require_safe_role(role: &str) {
    // Under Citus a tenant role logs in on the workers, with the password stash_tenancy
    // gave it (its pg_dist_authinfo row); any other LOGIN role is not ours.
    let login_ok = crate::citus::login_is_ours(role);
    let unsafe_reason = Spi::get_one_with_args::<String>(
        "SELECT CASE WHEN r.rolcanlogin AND NOT $2 THEN 'it can log in'
                     WHEN r.rolsuper OR r.rolcreaterole OR r.rolcreatedb OR r.rolreplication OR r.rolbypassrls
                       THEN 'it has role attributes a tenant role never has'
                     WHEN EXISTS (SELECT FROM pg_catalog.pg_auth_members m WHERE m.roleid = r.oid)
                       THEN 'other roles are members of it' END
           FROM pg_catalog.pg_roles r WHERE r.rolname = $1::name",
        &[role.to_string().into(), login_ok.into()],
    )
    .or_raise_with(|| format!("check role {role}"));
    if let Some(reason) = unsafe_reason {
        errors::raise(
            Code::ERRCODE_INSUFFICIENT_PRIVILEGE,
            format!("role \"{role}\" exists but is not a safe tenant role: {reason}"),
            "Drop it (it was not made by stash_tenancy), then run stash.tenant_roles_repair() again.",
        );
    }
}

/// Drops the tenant's role and every privilege granted to it in this database (the
/// schema, its objects and its default privileges are dropped with the schema).  A
/// role that still holds privileges in another database cannot be dropped (2BP01 from
/// DROP ROLE): docs/security.md says why that happens and what to do.
pub(crate) fn drop(slug: &str, id: pgrx::Uuid) {
    let role = role_name(slug, id);
    if role_exists(&role) {
        let r = quote_identifier(&role);
        crate::citus::forget_login(&role);
        run_as_owner(&format!("DROP OWNED BY {r}; DROP ROLE {r}"));
    }
}

/// Renames the tenant's role along with its slug (its oid, memberships and privileges
/// stay).  A missing role is left to tenant_roles_repair.
pub(crate) fn rename(old_slug: &str, new_slug: &str, id: pgrx::Uuid) {
    let (old, new) = (role_name(old_slug, id), role_name(new_slug, id));
    if old == new || !role_exists(&old) {
        return;
    }
    let (o, n) = (quote_identifier(&old), quote_identifier(&new));
    run_as_owner(&format!(
        "ALTER ROLE {o} RENAME TO {n}; COMMENT ON ROLE {n} IS {}",
        pgrx::spi::quote_literal(format!(
            "stash_tenancy: tenant {new_slug} of database {}",
            objects::database_name()
        ))
    ));
    // Under Citus: a rename clears an md5 password, so the role gets a new one, kept in
    // pg_dist_authinfo under its new name.
    crate::citus::forget_login(&old);
    crate::citus::give_login(&new);
}

/// The name of the tenant's role.
#[pg_extern(stable, parallel_unsafe)]
#[search_path(pg_catalog, pg_temp)]
fn tenant_role(slug: Option<&str>) -> SqlName {
    let slug = Slug::from_arg(slug);
    let key = Key::Slug(slug.as_str());
    let tenant = crate::catalog::registry::find(&key)
        .unwrap_or_else(|| errors::unknown_tenant(&key.describe()));
    SqlName(role_name(&tenant.slug, tenant.id))
}

/// The NOLOGIN role of this database that every tenant role is a member of: grant it what
/// every tenant may use outside its own schema (`GRANT SELECT ON public.countries TO …`).
#[pg_extern(volatile, parallel_unsafe)]
#[search_path(pg_catalog, pg_temp)]
fn tenant_group_role() -> SqlName {
    SqlName(group_role())
}

/// Recreates missing tenant roles, the group role, and their privileges, for every
/// tenant — e.g. after restoring a dump into another cluster (roles are not part of a
/// database dump).  Idempotent; one row per tenant, `created` when its role was missing.
#[pg_extern(volatile, parallel_unsafe)]
#[search_path(pg_catalog, pg_temp)]
fn tenant_roles_repair() -> TableIterator<
    'static,
    (
        name!(slug, Option<String>),
        name!(role, Option<String>),
        name!(created, Option<bool>),
    ),
> {
    let tenants = executor::select(
        "SELECT id, slug, schema_name::text FROM stash.tenants ORDER BY slug",
        &[],
        |t| {
            t.map(|r| {
                Ok((
                    r.get::<pgrx::Uuid>(1)?.or_raise("id"),
                    r.get::<String>(2)?.or_raise("slug"),
                    r.get::<String>(3)?.or_raise("schema"),
                ))
            })
            .collect::<Result<Vec<_>, _>>()
        },
    );
    group_role();
    let rows: Vec<_> = tenants
        .into_iter()
        .map(|(id, slug, schema)| {
            let exists = Spi::get_one_with_args::<bool>(
                "SELECT EXISTS (SELECT FROM pg_catalog.pg_namespace WHERE nspname = $1::name)",
                &[schema.clone().into()],
            )
            .unwrap_or(None)
            .unwrap_or(false);
            if !exists {
                errors::tenant_schema_missing(&slug, &schema);
            }
            let created = provide(&slug, id, &schema);
            (
                Some(slug.clone()),
                Some(role_name(&slug, id)),
                Some(created),
            )
        })
        .collect();
    TableIterator::new(rows)
}

extension_sql!(
    r#"
REVOKE EXECUTE ON FUNCTION stash.tenant_role(text) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION stash.tenant_group_role() FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION stash.tenant_roles_repair() FROM PUBLIC;
"#,
    name = "roles_grants",
    requires = [
        "group_role",
        tenant_role,
        tenant_group_role,
        tenant_roles_repair
    ]
);
