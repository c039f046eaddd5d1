//! `stash migrations load DIR`: reads a directory of migration files and registers them
//! with stash.migration_add in one transaction.
//!
//! Layouts (they may be mixed in one directory):
//! * Flyway: `V<version>__<name>.sql` (up), optional `U<version>__<name>.sql` (down)
//! * golang-migrate / dbmate pairs: `<version>_<name>.up.sql`, optional `<version>_<name>.down.sql`
//! * dbmate single files: `<version>_<name>.sql` holding a `-- migrate:up` line, then the
//!   up SQL, then optionally a `-- migrate:down` line and the down SQL
//!
//! Other `.sql` files are refused (they look like migrations we cannot read); files that
//! do not end in `.sql` and hidden files are ignored.
use crate::{conn, Error, Result};
use clap::{Args, ValueEnum};
use std::collections::BTreeMap;
use std::fs;
use std::path::PathBuf;

#[derive(Args)]
pub struct LoadArgs {
    /// Directory holding the migration files
    dir: PathBuf,
    /// Scope of every migration in DIR
    #[arg(long, value_enum, default_value_t = ScopeArg::Tenant)]
    scope: ScopeArg,
    /// Print what would be added; change nothing
    #[arg(long)]
    dry_run: bool,
}

#[derive(Clone, Copy, ValueEnum)]
enum ScopeArg {
    Tenant,
    Shared,
}

impl ScopeArg {
    fn as_str(self) -> &'static str {
        match self {
            ScopeArg::Tenant => "tenant",
            ScopeArg::Shared => "shared",
        }
    }
}

#[derive(Debug, PartialEq)]
enum Dir {
    Up,
    Down,
    /// dbmate: one file with `-- migrate:up` / `-- migrate:down` sections
    Both,
}

/// A file name parsed: version, name, direction.
fn parse_name(file: &str) -> std::result::Result<Option<(i64, String, Dir)>, String> {
    let Some(stem) = file.strip_suffix(".sql") else {
        return Ok(None);
    };
    let bad = |why: &str| {
        Err(format!(
            "cannot read migration file name {file:?}: {why} (expected V<version>__<name>.sql, U<version>__<name>.sql, <version>_<name>.up.sql, <version>_<name>.down.sql or <version>_<name>.sql)"
        ))
    };
    let version = |digits: &str| -> std::result::Result<i64, String> {
        match digits.parse::<i64>() {
            Ok(v) if v > 0 => Ok(v),
            _ => Err(format!(
                "cannot read migration file name {file:?}: the version must be a whole number from 1 to 9223372036854775807, not {digits:?}"
            )),
        }
    };
    let is_digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    // Flyway
    if let Some(rest) = stem
        .strip_prefix('V')
        .map(|r| (r, Dir::Up))
        .or_else(|| stem.strip_prefix('U').map(|r| (r, Dir::Down)))
    {
        let (rest, dir) = rest;
        if let Some((v, name)) = rest.split_once("__") {
            if !is_digits(v) {
                return bad(
                    "the version is not a whole number (dotted Flyway versions are not supported)",
                );
            }
            if name.trim().is_empty() {
                return bad("no name after the version");
            }
            return Ok(Some((version(v)?, name.to_string(), dir)));
        }
        if rest.starts_with(|c: char| c.is_ascii_digit()) {
            return bad("a Flyway name needs two underscores between version and name");
        }
    }
    if stem.starts_with("R__") {
        return bad("Flyway repeatable migrations (R__) are not supported");
    }
    // golang-migrate / dbmate
    let (base, dir) = if let Some(b) = stem.strip_suffix(".up") {
        (b, Dir::Up)
    } else if let Some(b) = stem.strip_suffix(".down") {
        (b, Dir::Down)
    } else {
        (stem, Dir::Both)
    };
    match base.split_once('_') {
        Some((v, name)) if is_digits(v) && !name.is_empty() => {
            Ok(Some((version(v)?, name.to_string(), dir)))
        }
        _ => bad("the name must start with the version and an underscore"),
    }
}

#[derive(Default)]
struct Migration {
    name: String,
    up: Option<(String, String)>,   // (file, sql)
    down: Option<(String, String)>, // (file, sql)
    single: bool,                   // a dbmate file: up and down in one
}

/// Reads DIR into migrations by version, or every problem found.
fn read_dir(dir: &PathBuf) -> std::result::Result<BTreeMap<i64, Migration>, Vec<String>> {
    let entries = fs::read_dir(dir)
        .map_err(|e| vec![format!("cannot read directory {}: {e}", dir.display())])?;
    let mut files: Vec<(String, PathBuf)> = Vec::new();
    let mut problems = Vec::new();
    for e in entries {
        match e {
            Ok(e) => {
                let name = e.file_name().to_string_lossy().into_owned();
                if name.starts_with('.') {
                    continue;
                }
                // Names are printed and stored: one with terminal escapes could rewrite
                // what the operator sees ({:?} shows them escaped).
                if name.chars().any(char::is_control) {
                    problems.push(format!(
                        "refusing file {name:?}: its name contains control characters"
                    ));
                    continue;
                }
                // file_type() does not follow links: a link could make any file this user can
                // read (outside the directory) a migration that runs as the schema owner.
                match e.file_type() {
                    Ok(t) if t.is_symlink() => {
                        if name.ends_with(".sql") {
                            problems.push(format!(
                                "refusing {name:?}: it is a symbolic link (copy the migration file into {})",
                                dir.display()
                            ));
                        }
                        continue;
                    }
                    Ok(t) if t.is_file() => files.push((name, e.path())),
                    Ok(_) => continue,
                    Err(e) => problems.push(format!("cannot read {name:?}: {e}")),
                }
            }
            Err(e) => problems.push(format!("cannot read directory {}: {e}", dir.display())),
        }
    }
    files.sort();
    let mut out: BTreeMap<i64, Migration> = BTreeMap::new();
    for (file, path) in files {
        let (version, name, direction) = match parse_name(&file) {
            Ok(Some(p)) => p,
            Ok(None) => continue,
            Err(e) => {
                problems.push(e);
                continue;
            }
        };
        let sql = match fs::read_to_string(&path) {
            Ok(s) => s,
            Err(e) => {
                problems.push(format!("cannot read {}: {e}", path.display()));
                continue;
            }
        };
        let m = out.entry(version).or_default();
        if direction == Dir::Both {
            match split_dbmate(&sql) {
                Some((up, down)) => {
                    if let Some((other, _)) = m.up.as_ref().or(m.down.as_ref()) {
                        problems.push(format!("two files for version {version}: {other} and {file}"));
                    } else {
                        m.single = true;
                        m.name = name;
                        m.up = Some((file.clone(), up));
                        m.down = down.map(|d| (file, d));
                    }
                }
                None => problems.push(format!(
                    "{file} has no \"-- migrate:up\" line (a <version>_<name>.sql file is a dbmate migration; or name the files <version>_<name>.up.sql / .down.sql)"
                )),
            }
            continue;
        }
        if m.single {
            let other = &m.up.as_ref().expect("set with single").0;
            problems.push(format!(
                "two files for version {version}: {other} and {file}"
            ));
            continue;
        }
        let slot = match direction {
            Dir::Up => {
                m.name = name;
                &mut m.up
            }
            Dir::Down | Dir::Both => {
                if m.name.is_empty() {
                    m.name = name;
                }
                &mut m.down
            }
        };
        if let Some((other, _)) = slot {
            problems.push(format!(
                "two files for version {version} ({}): {other} and {file}",
                if direction == Dir::Up { "up" } else { "down" }
            ));
        } else {
            *slot = Some((file, sql));
        }
    }
    for (v, m) in &out {
        match &m.up {
            None => problems.push(format!(
                "version {v}: {} has no up file",
                m.down.as_ref().map(|d| d.0.as_str()).unwrap_or("?")
            )),
            Some((file, sql)) if sql.trim().is_empty() => {
                problems.push(format!("version {v}: {file} is empty"))
            }
            _ => {}
        }
    }
    if problems.is_empty() {
        Ok(out)
    } else {
        Err(problems)
    }
}

/// dbmate's single file: (up, down) from the `-- migrate:up` / `-- migrate:down` sections,
/// or None without an up marker.  Sections are trimmed; an empty down section is none.
fn split_dbmate(text: &str) -> Option<(String, Option<String>)> {
    let mut up: Option<Vec<&str>> = None;
    let mut down: Option<Vec<&str>> = None;
    for line in text.lines() {
        let marker = line.trim_start();
        if marker.starts_with("-- migrate:up") {
            up = Some(Vec::new());
        } else if marker.starts_with("-- migrate:down") && up.is_some() {
            down = Some(Vec::new());
        } else if let Some(d) = down.as_mut() {
            d.push(line);
        } else if let Some(u) = up.as_mut() {
            u.push(line);
        }
    }
    let up = up?.join("\n").trim().to_string();
    let down = down
        .map(|d| d.join("\n").trim().to_string())
        .filter(|d| !d.is_empty());
    Some((up, down))
}

pub fn run(args: LoadArgs, verbose: bool) -> Result<()> {
    let migrations = match read_dir(&args.dir) {
        Ok(m) => m,
        Err(problems) => {
            for p in &problems {
                eprintln!("error: {p}");
            }
            eprintln!("nothing registered");
            return Err(Error::Exit(1));
        }
    };
    let scope = args.scope.as_str();
    let mut client = conn::connect(verbose)?;
    let mut tx = client.transaction()?;
    let versions: Vec<i64> = migrations.keys().copied().collect();
    let existing: BTreeMap<i64, (String, String, Option<String>, String)> = tx
        .query(
            "SELECT version, name, up_sql, down_sql, scope FROM stash.migrations WHERE version = ANY($1)",
            &[&versions],
        )?
        .iter()
        .map(|r| (r.get(0), (r.get(1), r.get(2), r.get(3), r.get(4))))
        .collect();
    let mut add = Vec::new();
    let mut skipped = 0;
    let mut conflicts = Vec::new();
    for (v, m) in &migrations {
        let (up_file, up) = m.up.as_ref().expect("checked in read_dir");
        let down = m.down.as_ref().map(|d| d.1.clone());
        match existing.get(v) {
            None => add.push((*v, m.name.clone(), up.clone(), down, up_file.clone())),
            Some((name, e_up, e_down, e_scope)) => {
                let mut diff = Vec::new();
                if name != &m.name {
                    diff.push(format!("name {name:?}, file says {:?}", m.name));
                }
                if e_up != up {
                    diff.push("up SQL differs".to_string());
                }
                if e_down != &down {
                    diff.push("down SQL differs".to_string());
                }
                if e_scope != scope {
                    diff.push(format!("scope {e_scope}, loading as {scope}"));
                }
                if diff.is_empty() {
                    skipped += 1;
                } else {
                    conflicts.push(format!(
                        "version {v} ({up_file}) is registered with other content: {}",
                        diff.join("; ")
                    ));
                }
            }
        }
    }
    if !conflicts.is_empty() {
        for c in &conflicts {
            eprintln!("error: {c}");
        }
        eprintln!("hint: a registered version is immutable; give the change a new version");
        eprintln!("nothing registered");
        return Err(Error::Exit(1));
    }
    let verb = if args.dry_run { "would add" } else { "added" };
    for (v, name, up, down, file) in &add {
        if !args.dry_run {
            tx.execute(
                "SELECT stash.migration_add($1, $2, $3, $4, $5)",
                &[v, name, up, down, &scope],
            )?;
        }
        println!(
            "{verb} {v} {name} ({scope}{}) from {file}",
            if down.is_some() { ", with down" } else { "" }
        );
    }
    if args.dry_run {
        tx.rollback()?;
    } else {
        tx.commit()?;
    }
    println!(
        "{}: {} {verb}, {skipped} already registered",
        args.dir.display(),
        add.len()
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn symlinks_and_control_characters_are_refused() {
        let dir = std::env::temp_dir().join(format!("stash-load-test-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        let outside = dir.with_extension("secret");
        fs::write(&outside, "CREATE TABLE backdoor (x int)").unwrap();
        fs::write(dir.join("V1__init.sql"), "CREATE TABLE t (id int)").unwrap();
        std::os::unix::fs::symlink(&outside, dir.join("V2__linked.sql")).unwrap();
        fs::write(dir.join("V3__\x1b[2Jevil.sql"), "SELECT 1").unwrap();
        let problems = read_dir(&dir).err().expect("problems reported");
        let _ = fs::remove_dir_all(&dir);
        let _ = fs::remove_file(&outside);
        assert_eq!(problems.len(), 2, "{problems:?}");
        assert!(
            problems
                .iter()
                .any(|p| p.contains("\"V2__linked.sql\": it is a symbolic link")),
            "{problems:?}"
        );
        assert!(
            problems.iter().any(|p| p.contains("\\u{1b}[2Jevil.sql")),
            "{problems:?}"
        );
        assert!(!problems.iter().any(|p| p.contains('\x1b')), "{problems:?}");
    }

    #[test]
    fn names() {
        assert_eq!(
            parse_name("V1__init.sql").unwrap(),
            Some((1, "init".into(), Dir::Up))
        );
        assert_eq!(
            parse_name("U001__init.sql").unwrap(),
            Some((1, "init".into(), Dir::Down))
        );
        assert_eq!(
            parse_name("20240101120000_add_x.up.sql").unwrap(),
            Some((20240101120000, "add_x".into(), Dir::Up))
        );
        assert_eq!(
            parse_name("2_b.down.sql").unwrap(),
            Some((2, "b".into(), Dir::Down))
        );
        assert_eq!(parse_name("README.md").unwrap(), None);
        assert!(parse_name("V1.1__x.sql").is_err());
        assert!(parse_name("V2_x.sql").is_err());
        assert_eq!(
            parse_name("3_x.sql").unwrap(),
            Some((3, "x".into(), Dir::Both))
        );
        assert!(parse_name("R__x.sql").is_err());
        assert!(parse_name("V0__x.sql").is_err());
        assert!(parse_name("notes.sql").is_err());
    }

    #[test]
    fn dbmate() {
        assert_eq!(
            split_dbmate("-- migrate:up\nCREATE TABLE a ();\n\n-- migrate:down\nDROP TABLE a;\n"),
            Some(("CREATE TABLE a ();".into(), Some("DROP TABLE a;".into())))
        );
        assert_eq!(
            split_dbmate("-- migrate:up transaction:false\nSELECT 1\n-- migrate:down\n"),
            Some(("SELECT 1".into(), None))
        );
        assert_eq!(split_dbmate("SELECT 1"), None);
    }
}
