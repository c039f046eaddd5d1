//! `stash`: the command-line tool for the stash_tenancy extension.  Every command is a
//! thin client of the extension's SQL API (schema `stash`); the server does the work.
mod conn;
mod load;
mod migrate;

use clap::{Parser, Subcommand};
use std::fmt;
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "stash",
    version,
    about = "Manage a stash_tenancy database: migrations, tenants, fleet migrations",
    after_help = "Connects with DATABASE_URL, else the libpq variables PGHOST, PGPORT, PGUSER, PGDATABASE, PGPASSWORD."
)]
struct Cli {
    /// Show the server's NOTICEs (e.g. migrate_all's progress messages)
    #[arg(short, long, global = true)]
    verbose: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Register migration files with stash.migration_add
    #[command(subcommand)]
    Migrations(MigrationsCmd),
    /// Migrate one tenant, or the whole fleet in parallel sessions
    Migrate(migrate::MigrateArgs),
    /// Create, drop, suspend, resume, rename or clone a tenant
    #[command(subcommand)]
    Tenant(TenantCmd),
    /// List the tenants: slug, status, version, pending, size
    Tenants,
    /// Fleet summary: tenants per version, pending, failed with their errors
    Status,
    /// Compare tenant schemas with their migrations (stash.tenant_verify)
    Verify {
        /// One tenant (default: every tenant)
        slug: Option<String>,
    },
}

#[derive(Subcommand)]
enum MigrationsCmd {
    /// Register every migration file of DIR in one transaction (idempotent)
    Load(load::LoadArgs),
}

#[derive(Subcommand)]
enum TenantCmd {
    /// stash.tenant_create: a new tenant with every migration applied
    Create {
        slug: String,
        /// Display name (default: the slug)
        #[arg(long)]
        name: Option<String>,
    },
    /// stash.tenant_drop: the schema, its data and the registry row
    Drop {
        slug: String,
        /// Also drop objects outside the tenant's schema that depend on it
        #[arg(long)]
        force: bool,
    },
    /// stash.tenant_suspend: tenant_enter refuses the tenant from now on
    Suspend { slug: String },
    /// stash.tenant_resume
    Resume { slug: String },
    /// stash.tenant_rename: slug, schema and role
    Rename { slug: String, new_slug: String },
    /// stash.tenant_clone: a new tenant at the source's version, with its data
    Clone {
        source: String,
        slug: String,
        /// Display name of the new tenant
        #[arg(long)]
        name: Option<String>,
        /// Schema only, no rows
        #[arg(long)]
        no_data: bool,
    },
}

/// What ends a command unsuccessfully.
pub enum Error {
    /// The server's error (or a connection error)
    Db(postgres::Error),
    /// Our own refusal, with its message
    Msg(String),
    /// Already reported; exit with this code
    Exit(u8),
}

impl From<postgres::Error> for Error {
    fn from(e: postgres::Error) -> Self {
        Error::Db(e)
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Db(e) => match e.as_db_error() {
                Some(db) => {
                    write!(
                        f,
                        "{}: {}\nSQLSTATE: {}",
                        db.severity(),
                        db.message(),
                        db.code().code()
                    )?;
                    if let Some(d) = db.detail() {
                        write!(f, "\nDETAIL: {d}")?;
                    }
                    if let Some(h) = db.hint() {
                        write!(f, "\nHINT: {h}")?;
                    }
                    if let Some(w) = db.where_() {
                        write!(f, "\nCONTEXT: {w}")?;
                    }
                    Ok(())
                }
                None => write!(f, "error: {e}"),
            },
            Error::Msg(m) => write!(f, "error: {m}"),
            Error::Exit(_) => Ok(()),
        }
    }
}

pub type Result<T> = std::result::Result<T, Error>;

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(Error::Exit(code)) => ExitCode::from(code),
        Err(e) => {
            eprintln!("{e}");
            ExitCode::from(1)
        }
    }
}

fn run(cli: Cli) -> Result<()> {
    let verbose = cli.verbose;
    match cli.command {
        Command::Migrations(MigrationsCmd::Load(args)) => load::run(args, verbose),
        Command::Migrate(args) => migrate::run(args, verbose),
        Command::Tenant(cmd) => tenant(cmd),
        Command::Tenants => tenants(),
        Command::Status => status(),
        Command::Verify { slug } => verify(slug),
    }
}

fn tenant(cmd: TenantCmd) -> Result<()> {
    // NOTICEs of these calls are worth seeing (e.g. "already suspended", forced drops)
    let mut c = conn::connect(true)?;
    match cmd {
        TenantCmd::Create { slug, name } => {
            let row = c.query_one(
                "SELECT slug, schema_name::text FROM stash.tenant_create($1, $2)",
                &[&slug, &name],
            )?;
            println!(
                "created tenant {} (schema {})",
                row.get::<_, String>(0),
                row.get::<_, String>(1)
            );
        }
        TenantCmd::Drop { slug, force } => {
            c.execute(
                "SELECT stash.tenant_drop($1, force => $2)",
                &[&slug, &force],
            )?;
            println!("dropped tenant {slug}");
        }
        TenantCmd::Suspend { slug } => {
            c.execute("SELECT stash.tenant_suspend($1)", &[&slug])?;
            println!("tenant {slug} is suspended");
        }
        TenantCmd::Resume { slug } => {
            c.execute("SELECT stash.tenant_resume($1)", &[&slug])?;
            println!("tenant {slug} is active");
        }
        TenantCmd::Rename { slug, new_slug } => {
            c.execute("SELECT stash.tenant_rename($1, $2)", &[&slug, &new_slug])?;
            println!("renamed tenant {slug} to {new_slug} (schema tenant_{new_slug})");
        }
        TenantCmd::Clone {
            source,
            slug,
            name,
            no_data,
        } => {
            let with_data = !no_data;
            let row = c.query_one(
                "SELECT slug, schema_name::text FROM stash.tenant_clone($1, $2, $3, with_data => $4)",
                &[&source, &slug, &name, &with_data],
            )?;
            println!(
                "cloned tenant {source} to {} (schema {}, {})",
                row.get::<_, String>(0),
                row.get::<_, String>(1),
                if with_data {
                    "with data"
                } else {
                    "schema only"
                }
            );
        }
    }
    Ok(())
}

/// Prints rows as aligned columns; `right` marks right-aligned (numeric) columns.
fn print_table(header: &[&str], right: &[bool], rows: &[Vec<String>]) {
    let mut width: Vec<usize> = header.iter().map(|h| h.len()).collect();
    for r in rows {
        for (i, v) in r.iter().enumerate() {
            width[i] = width[i].max(v.chars().count());
        }
    }
    let line = |cells: Vec<&str>| {
        let s: Vec<String> = cells
            .iter()
            .enumerate()
            .map(|(i, v)| {
                if right[i] {
                    format!("{v:>w$}", w = width[i])
                } else {
                    format!("{v:<w$}", w = width[i])
                }
            })
            .collect();
        println!("{}", s.join("  ").trim_end());
    };
    line(header.to_vec());
    for r in rows {
        line(r.iter().map(String::as_str).collect());
    }
}

fn tenants() -> Result<()> {
    let mut c = conn::connect(false)?;
    let rows = c.query(
        "SELECT l.slug, l.status, s.current_version, s.latest_version, s.pending,
                pg_catalog.pg_size_pretty(l.size_bytes), s.last_error IS NOT NULL
           FROM stash.tenant_list l JOIN stash.tenant_status s USING (slug)
          ORDER BY l.slug",
        &[],
    )?;
    let table: Vec<Vec<String>> = rows
        .iter()
        .map(|r| {
            let failed: bool = r.get(6);
            vec![
                r.get::<_, String>(0),
                r.get::<_, String>(1),
                r.get::<_, i64>(2).to_string(),
                r.get::<_, i64>(4).to_string(),
                r.get::<_, String>(5),
                if failed {
                    "failed".into()
                } else {
                    String::new()
                },
            ]
        })
        .collect();
    print_table(
        &["slug", "status", "version", "pending", "size", "migration"],
        &[false, false, true, true, true, false],
        &table,
    );
    println!("({} tenant(s))", rows.len());
    Ok(())
}

fn status() -> Result<()> {
    let mut c = conn::connect(false)?;
    let head = c.query_one(
        "SELECT count(*), count(*) FILTER (WHERE status = 'suspended'),
                count(*) FILTER (WHERE pending > 0), count(*) FILTER (WHERE last_error IS NOT NULL),
                (SELECT coalesce(max(version), 0) FROM stash.migrations WHERE scope = 'tenant'),
                (SELECT count(*) FROM stash.migrations)
           FROM stash.tenant_status",
        &[],
    )?;
    let (total, suspended, pending, failed, latest, migrations): (i64, i64, i64, i64, i64, i64) = (
        head.get(0),
        head.get(1),
        head.get(2),
        head.get(3),
        head.get(4),
        head.get(5),
    );
    println!(
        "tenants: {total} ({} active, {suspended} suspended)",
        total - suspended
    );
    println!("migrations registered: {migrations}, latest tenant version: {latest}");
    let per = c.query(
        "SELECT current_version, count(*) FROM stash.tenant_status GROUP BY 1 ORDER BY 1",
        &[],
    )?;
    if !per.is_empty() {
        println!("tenants per version:");
        for r in &per {
            let v: i64 = r.get(0);
            let n: i64 = r.get(1);
            let mark = if v == latest { " (latest)" } else { "" };
            println!("  {v:>14}: {n}{mark}");
        }
    }
    println!("pending: {pending} tenant(s) with migrations to apply");
    println!("failed: {failed} tenant(s)");
    for r in c.query(
        "SELECT slug, last_error FROM stash.tenant_status WHERE last_error IS NOT NULL ORDER BY slug",
        &[],
    )? {
        println!("  {}: {}", r.get::<_, String>(0), r.get::<_, String>(1));
    }
    Ok(())
}

fn verify(slug: Option<String>) -> Result<()> {
    let mut c = conn::connect(false)?;
    let rows = c.query(
        "SELECT slug, status, coalesce(differences, '{}') FROM stash.tenant_verify($1) ORDER BY slug",
        &[&slug],
    )?;
    let mut bad = 0;
    for r in &rows {
        let s: String = r.get(0);
        let st: String = r.get(1);
        let diffs: Vec<String> = r.get(2);
        println!("{st:<12} {s}");
        for d in &diffs {
            println!("             - {d}");
        }
        if st != "ok" {
            bad += 1;
        }
    }
    println!(
        "{} tenant(s) verified, {} ok, {bad} not ok",
        rows.len(),
        rows.len() - bad
    );
    if bad > 0 {
        return Err(Error::Exit(1));
    }
    Ok(())
}
