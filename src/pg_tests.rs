//! In-database unit tests (`cargo pgrx test`).  Each runs inside a transaction that is
//! rolled back afterwards; what must survive a COMMIT is tested in tests/sql and
//! tests/integration instead.
//!
//! pgrx runs them in parallel on one database, each in its own uncommitted transaction,
//! so every test uses its own slugs and migration versions: shared keys would make the
//! tests wait on (and deadlock with) each other.
use pgrx::prelude::*;

#[pg_schema]
mod tests {
    use pgrx::prelude::*;

    fn one<T: IntoDatum + FromDatum>(sql: &str) -> Option<T> {
        Spi::get_one::<T>(sql).unwrap_or_else(|e| panic!("{sql}: {e}"))
    }

    #[pg_test]
    fn version_matches_the_installed_extension() {
        let installed =
            one::<String>("SELECT extversion FROM pg_extension WHERE extname = 'stash_tenancy'");
        let reported = one::<String>("SELECT stash.version()");
        assert_eq!(reported, installed);
        assert_eq!(reported.as_deref(), Some(env!("CARGO_PKG_VERSION")));
    }

    #[pg_test]
    fn create_returns_the_registry_row_and_makes_the_schema() {
        let (slug, schema) = Spi::get_two::<String, String>(
            "SELECT slug, schema_name::text FROM stash.tenant_create('new_acme', 'Acme')",
        )
        .unwrap();
        assert_eq!(slug.as_deref(), Some("new_acme"));
        assert_eq!(schema.as_deref(), Some("tenant_new_acme"));
        assert_eq!(
            one::<i64>("SELECT count(*) FROM pg_namespace WHERE nspname = 'tenant_new_acme'"),
            Some(1)
        );
        // UUIDv7: version nibble 7, and ids are time-ordered
        assert_eq!(
            one::<String>(
                "SELECT substr(id::text, 15, 1) FROM stash.tenants WHERE slug = 'new_acme'"
            )
            .as_deref(),
            Some("7")
        );
    }

    #[pg_test]
    fn enter_sets_search_path_and_context() {
        Spi::run("SELECT stash.tenant_create('in_acme')").unwrap();
        Spi::run("SELECT stash.tenant_enter('in_acme')").unwrap();
        assert_eq!(
            one::<String>("SELECT current_setting('search_path')").as_deref(),
            Some("tenant_in_acme, public, pg_temp")
        );
        assert_eq!(
            one::<bool>(
                "SELECT stash.current_tenant_id() = id FROM stash.tenants WHERE slug = 'in_acme'"
            ),
            Some(true)
        );
        Spi::run("SELECT stash.tenant_exit()").unwrap();
        assert_eq!(one::<String>("SELECT stash.current_tenant()"), None);
    }

    #[pg_test(error = "tenant \"susp_acme\" is suspended")]
    fn suspend_in_the_same_transaction_invalidates_the_cache() {
        Spi::run("SELECT stash.tenant_create('susp_acme')").unwrap();
        Spi::run("SELECT stash.tenant_enter('susp_acme')").unwrap(); // now cached
        Spi::run("SELECT stash.tenant_suspend('susp_acme')").unwrap();
        Spi::run("SELECT stash.tenant_enter('susp_acme')").unwrap();
    }

    #[pg_test(error = "tenant \"nosuch\" does not exist")]
    fn enter_of_an_unknown_tenant_fails() {
        Spi::run("SELECT stash.tenant_enter('nosuch')").unwrap();
    }

    #[pg_test(error = "invalid tenant slug \"Acme\": it starts with 'A', not a lowercase letter")]
    fn create_refuses_a_bad_slug() {
        Spi::run("SELECT stash.tenant_create('Acme')").unwrap();
    }

    #[pg_test]
    fn a_failing_version_is_rolled_back_alone_and_the_transaction_goes_on() {
        Spi::run("SELECT stash.migration_add(101, 'one', 'CREATE TABLE one (id int)')").unwrap();
        Spi::run("SELECT stash.tenant_create('fail_acme')").unwrap();
        Spi::run("SELECT stash.migration_add(102, 'two', 'CREATE TABLE two (id int)')").unwrap();
        Spi::run("SELECT stash.migration_add(103, 'bad', 'SELECT 1/0')").unwrap();
        let (status, error) = Spi::get_two::<String, String>(
            "SELECT status, error FROM stash.tenant_migrate('fail_acme')",
        )
        .unwrap();
        assert_eq!(status.as_deref(), Some("failed"));
        assert_eq!(
            error.as_deref(),
            Some("version 103 (bad): division by zero (SQLSTATE 22012)")
        );
        // version 102 stayed, and the surrounding transaction is still usable
        assert_eq!(
            one::<i64>("SELECT current_version FROM stash.tenant_status WHERE slug = 'fail_acme'"),
            Some(102)
        );
        assert_eq!(
            one::<i64>("SELECT count(*) FROM pg_tables WHERE schemaname = 'tenant_fail_acme'"),
            Some(2)
        );
    }

    #[pg_test]
    fn a_dry_run_leaves_ledger_schema_and_events_untouched() {
        Spi::run("SELECT stash.tenant_create('dry_acme')").unwrap();
        Spi::run("SELECT stash.migration_add(201, 'one', 'CREATE TABLE one (id int)')").unwrap();
        let before = one::<i64>("SELECT count(*) FROM stash.events");
        let status =
            one::<String>("SELECT status FROM stash.tenant_migrate('dry_acme', NULL, true)");
        assert_eq!(status.as_deref(), Some("ok"));
        assert_eq!(
            one::<i64>("SELECT count(*) FROM stash.ledger WHERE version = 201"),
            Some(0)
        );
        assert_eq!(one::<i64>("SELECT count(*) FROM stash.events"), before);
        assert_eq!(
            one::<i64>("SELECT count(*) FROM pg_tables WHERE schemaname = 'tenant_dry_acme'"),
            Some(0)
        );
    }

    #[pg_test(
        error = "migration 301 is already registered with different content, and 0 tenant(s) have applied it"
    )]
    fn a_version_cannot_change_its_sql() {
        Spi::run("SELECT stash.migration_add(301, 'one', 'CREATE TABLE one (id int)')").unwrap();
        Spi::run("SELECT stash.migration_add(301, 'one', 'CREATE TABLE one (id bigint)')").unwrap();
    }
}
