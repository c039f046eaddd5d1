//! A tenant's schema as a PostgreSQL object: the name no one else may hold, dropping it,
//! and the objects outside it that depend on it (which refuse a drop, a reset or a restore).
use crate::catalog::executor;
use crate::errors;
use crate::errors::OrRaise;
use crate::pg::guc;
use crate::slug::Slug;
use pgrx::prelude::*;
use pgrx::PgSqlErrorCode as Code;

/// 42P06 for a schema of that name that is not a registered tenant: taking it over would
/// hand someone else's tables to the tenant, and tenant_drop would later drop them.
pub(crate) fn refuse_foreign_schema(slug: &Slug) {
    let schema = slug.schema();
    let (exists, registered) = executor::select(
        "SELECT EXISTS (SELECT FROM pg_namespace WHERE nspname = $1::name), \
                EXISTS (SELECT FROM stash.tenants WHERE slug = $2)",
        &[
            schema.as_str().to_string().into(),
            slug.as_str().to_string().into(),
        ],
        |t| t.first().get_two::<bool, bool>(),
    );
    if registered == Some(true) {
        errors::tenant_exists(slug.as_str());
    }
    if exists == Some(true) {
        errors::raise(
            Code::ERRCODE_DUPLICATE_SCHEMA,
            format!(
                "schema \"{}\" already exists and is not a registered tenant",
                schema.as_str()
            ),
            "Choose another slug, or rename or drop the existing schema first.",
        );
    }
}

/// DROP SCHEMA … CASCADE of a tenant's schema, as the caller, who must own the schema
/// (or be superuser) to destroy its data; without the NOTICE that lists every dropped
/// object: dropping all of them is the point, and objects outside were named before.
pub(crate) fn drop_schema(schema: &str) {
    let quiet = guc::NestLevel::open();
    quiet.set(c"client_min_messages", "warning");
    Spi::run(&format!(
        "DROP SCHEMA IF EXISTS {} CASCADE",
        pgrx::spi::quote_identifier(schema)
    ))
    .or_raise("DROP SCHEMA");
    quiet.close();
}

/// 2BP01 when `outside` (from [`outside_dependents`]) is not empty: `what` says what
/// cannot be done ("cannot drop tenant \"acme\""), DETAIL lists the objects.
pub(crate) fn refuse_outside_dependents(outside: &[String], what: &str, hint: &str) {
    if outside.is_empty() {
        return;
    }
    errors::raise_detailed(
        Code::ERRCODE_DEPENDENT_OBJECTS_STILL_EXIST,
        format!(
            "{what}: {} object(s) outside its schema depend on it",
            outside.len()
        ),
        outside.join("\n"),
        hint,
    );
}

/// The schema an object of `pg_depend` (columns `d.classid`, `d.objid`) lives in: its own
/// namespace column, or its relation's for the objects that have none.
macro_rules! object_namespace {
    () => {
        "CASE d.classid
           WHEN 'pg_class'::regclass THEN (SELECT relnamespace FROM pg_class WHERE oid = d.objid)
           WHEN 'pg_proc'::regclass THEN (SELECT pronamespace FROM pg_proc WHERE oid = d.objid)
           WHEN 'pg_type'::regclass THEN (SELECT typnamespace FROM pg_type WHERE oid = d.objid)
           WHEN 'pg_constraint'::regclass THEN (SELECT connamespace FROM pg_constraint WHERE oid = d.objid)
           WHEN 'pg_rewrite'::regclass THEN (SELECT c.relnamespace FROM pg_rewrite r JOIN pg_class c ON c.oid = r.ev_class WHERE r.oid = d.objid)
           WHEN 'pg_attrdef'::regclass THEN (SELECT c.relnamespace FROM pg_attrdef a JOIN pg_class c ON c.oid = a.adrelid WHERE a.oid = d.objid)
           WHEN 'pg_trigger'::regclass THEN (SELECT c.relnamespace FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid WHERE t.oid = d.objid)
           WHEN 'pg_policy'::regclass THEN (SELECT c.relnamespace FROM pg_policy p JOIN pg_class c ON c.oid = p.polrelid WHERE p.oid = d.objid)
           WHEN 'pg_statistic_ext'::regclass THEN (SELECT stxnamespace FROM pg_statistic_ext WHERE oid = d.objid)
           WHEN 'pg_collation'::regclass THEN (SELECT collnamespace FROM pg_collation WHERE oid = d.objid)
           WHEN 'pg_operator'::regclass THEN (SELECT oprnamespace FROM pg_operator WHERE oid = d.objid)
           ELSE (SELECT n.oid FROM pg_namespace n
                  WHERE n.nspname = (pg_identify_object(d.classid, d.objid, 0)).schema)
         END"
    };
}

/// Objects outside `schema` that depend on objects inside it, described like
/// PostgreSQL's own DROP messages ("view public.v depends on table tenant_acme.orders").
/// A view's dependency is its rewrite rule's: it is reported as the view.
///
/// The objects inside are found the way DROP SCHEMA … CASCADE finds what it drops: by
/// following `pg_depend` from the namespace (every step an index scan), not by scanning
/// pg_class, pg_proc and pg_type for the namespace — those have no index on it, and at
/// 10,000 tenants such scans cost several times the drop itself (bench/findings.md).
pub(crate) fn outside_dependents(schema: &str) -> Vec<String> {
    // Nearly every drop finds nothing: the walk by index scans says so without SPI; the
    // query below, planned afresh each time (bench/findings.md), only describes a find.
    match crate::pg::objects::schema_oid(schema) {
        Some(oid) if crate::pg::depend::any_outside_dependent(oid) => {}
        _ => return Vec::new(),
    }
    const SQL: &str = concat!(
        "WITH RECURSIVE s AS (SELECT oid FROM pg_namespace WHERE nspname = $1::name),
         inside(classid, objid) AS (
             SELECT 'pg_namespace'::regclass::oid, s.oid FROM s
           UNION
             SELECT d.classid, d.objid
               FROM inside i
               JOIN pg_depend d ON d.refclassid = i.classid AND d.refobjid = i.objid
               CROSS JOIN s
               CROSS JOIN LATERAL (SELECT ",
        object_namespace!(),
        " AS nsp) x
              WHERE x.nsp = s.oid),
         dependent AS (
             SELECT DISTINCT d.classid, d.objid, d.refclassid, d.refobjid, x.nsp
               FROM inside i
               JOIN pg_depend d ON d.refclassid = i.classid AND d.refobjid = i.objid
               CROSS JOIN LATERAL (SELECT ",
        object_namespace!(),
        " AS nsp) x
              WHERE i.classid <> 'pg_namespace'::regclass AND d.deptype IN ('n', 'a'))
         SELECT what || ' depends on ' || min(target)
           FROM (SELECT CASE WHEN x.classid = 'pg_rewrite'::regclass
                             THEN pg_describe_object('pg_class'::regclass, (SELECT ev_class FROM pg_rewrite WHERE oid = x.objid), 0)
                             ELSE pg_describe_object(x.classid, x.objid, 0) END AS what,
                        pg_describe_object(x.refclassid, x.refobjid, 0) AS target
                   FROM dependent x, s
                  WHERE x.nsp IS DISTINCT FROM s.oid) d
          GROUP BY what
          ORDER BY 1"
    );
    Spi::connect(|client| {
        client
            .select(SQL, None, &[schema.to_string().into()])?
            .map(|r| Ok(r.get::<String>(1)?.unwrap_or_default()))
            .collect::<Result<Vec<_>, pgrx::spi::SpiError>>()
    })
    .or_raise_with(|| format!("look up objects that depend on schema {schema}"))
}
