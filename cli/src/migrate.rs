//! `stash migrate`: one tenant (stash.tenant_migrate), or the fleet: CALL
//! stash.migrate_all() in N sessions at once, with a progress bar fed by polling the
//! server from another session.
use crate::{conn, Error, Result};
use clap::Args;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use postgres::{CancelToken, NoTls};
use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

#[derive(Args)]
pub struct MigrateArgs {
    /// Migrate only this tenant (stash.tenant_migrate)
    #[arg(long)]
    tenant: Option<String>,
    /// Parallel sessions running stash.migrate_all
    #[arg(long, short = 'j', default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=256))]
    jobs: u32,
    /// Migrate this many tenants first, then stop (runs in one session)
    #[arg(long, value_parser = clap::value_parser!(i64).range(1..))]
    canary: Option<i64>,
    /// Stop a session after this many failed tenants
    #[arg(long, value_parser = clap::value_parser!(i64).range(1..))]
    max_failures: Option<i64>,
    /// Target version (default: the latest; lower rolls back)
    #[arg(long, value_parser = clap::value_parser!(i64).range(0..))]
    to: Option<i64>,
    /// How long one tenant's step waits for a lock (a PostgreSQL interval, e.g. 5s, 1min;
    /// "none": forever).  A tenant whose tables another transaction holds is skipped, retried
    /// once at the end of the run, and reported — it never stalls the fleet.
    #[arg(long, default_value = "5s", value_parser = parse_timeout)]
    lock_timeout: Timeout,
    /// How long one tenant's step may run (e.g. 10min; "none": no limit, the default)
    #[arg(long, default_value = "none", value_parser = parse_timeout)]
    statement_timeout: Timeout,
}

/// A brake of migrate_all: an interval in PostgreSQL's own syntax, or none.
#[derive(Clone, Debug, PartialEq)]
pub struct Timeout(Option<String>);

/// Accepts what PostgreSQL's interval input accepts for a duration that a shell user
/// writes (digits, units, spaces, dots, colons); the server parses it.  Anything else
/// (quotes, semicolons) never reaches the SQL text.
fn parse_timeout(v: &str) -> std::result::Result<Timeout, String> {
    let v = v.trim();
    if v.eq_ignore_ascii_case("none") {
        return Ok(Timeout(None));
    }
    if v.is_empty()
        || !v.chars().any(|c| c.is_ascii_digit())
        || !v
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || " .:".contains(c))
    {
        return Err(format!(
            "\"{v}\" is not a duration: write it as PostgreSQL does, e.g. 5s, 500ms, 2min, or none"
        ));
    }
    Ok(Timeout(Some(v.to_string())))
}

impl Timeout {
    fn sql(&self) -> String {
        self.0
            .as_ref()
            .map_or("NULL".into(), |v| format!("'{v}'::interval"))
    }
}

fn sql_int(v: Option<i64>) -> String {
    v.map_or("NULL".into(), |v| v.to_string())
}

pub fn run(args: MigrateArgs, verbose: bool) -> Result<()> {
    match &args.tenant {
        Some(slug) => one(slug, &args, verbose),
        None => fleet(&args, verbose),
    }
}

fn one(slug: &str, args: &MigrateArgs, verbose: bool) -> Result<()> {
    let to = args.to;
    let mut c = conn::connect(verbose)?;
    // The session's own timeouts are the steps' here (tenant_migrate runs in this statement).
    for (name, t) in [
        ("lock_timeout", &args.lock_timeout),
        ("statement_timeout", &args.statement_timeout),
    ] {
        if let Some(v) = &t.0 {
            c.execute(
                "SELECT pg_catalog.set_config($1, \
                 (pg_catalog.date_part('epoch', $2::text::interval) * 1000)::bigint::text, false)",
                &[&name, v],
            )?;
        }
    }
    let rows = c.query(
        "SELECT slug, from_version, to_version, applied, status, error FROM stash.tenant_migrate($1, $2)",
        &[&slug, &to],
    )?;
    let mut bad = false;
    for r in rows {
        let status: String = r.get(4);
        let from: Option<i64> = r.get(1);
        let to: Option<i64> = r.get(2);
        let applied: Option<i32> = r.get(3);
        println!(
            "{}: {status}, version {} -> {}, {} step(s)",
            r.get::<_, String>(0),
            from.unwrap_or(0),
            to.unwrap_or(0),
            applied.unwrap_or(0)
        );
        if let Some(e) = r.get::<_, Option<String>>(5) {
            println!("  {}", e.replace('\n', "\n  "));
        }
        if status != "ok" && status != "up_to_date" {
            bad = true;
        }
    }
    if bad {
        return Err(Error::Exit(1));
    }
    Ok(())
}

struct Poll {
    remaining: i64,
    failed: i64,
}

fn poll(c: &mut postgres::Client, to: Option<i64>, since: &str) -> Result<Poll> {
    let r = c.query_one(
        "SELECT stash._migrate_all_pending($1),
                (SELECT count(*) FROM stash.migration_failures
                  WHERE tenant_id IS NOT NULL AND at >= $2::text::timestamptz)",
        &[&to, &since],
    )?;
    Ok(Poll {
        remaining: r.get(0),
        failed: r.get(1),
    })
}

fn fleet(args: &MigrateArgs, verbose: bool) -> Result<()> {
    let mut main = conn::connect(verbose)?;
    let since: String = main
        .query_one("SELECT pg_catalog.clock_timestamp()::text", &[])?
        .get(0);
    let total = poll(&mut main, args.to, &since)?.remaining;
    if total == 0 {
        println!("nothing to migrate: every tenant is at the target version");
        return summary(&mut main, args.to, 0, Duration::ZERO, false, &[]);
    }
    let mut jobs = args.jobs as i64;
    if args.canary.is_some() && jobs > 1 {
        eprintln!("note: --canary runs in one session (--jobs ignored)");
        jobs = 1;
    }
    let jobs = jobs.min(total);
    let call = format!(
        "CALL stash.migrate_all(target_version => {}, max_failures => {}, canary => {}, \
         lock_timeout => {}, statement_timeout => {})",
        sql_int(args.to),
        sql_int(args.max_failures),
        sql_int(args.canary),
        args.lock_timeout.sql(),
        args.statement_timeout.sql()
    );
    println!("migrating {total} tenant(s) in {jobs} session(s)");

    let interrupted = Arc::new(AtomicBool::new(false));
    {
        let flag = interrupted.clone();
        let _ = ctrlc::set_handler(move || flag.store(true, Ordering::SeqCst));
    }
    let tokens: Arc<Mutex<Vec<CancelToken>>> = Arc::new(Mutex::new(Vec::new()));
    // (slug, message) of every tenant a session reported failed: its WARNINGs are the only
    // record of a refused rollback or a checksum mismatch (stash.migration_failures has not)
    // (several sessions may each try, and report, the same failing tenant: keyed by slug)
    let warned: Arc<Mutex<BTreeMap<String, String>>> = Arc::new(Mutex::new(BTreeMap::new()));
    let mut workers = Vec::new();
    for _ in 0..jobs {
        let call = call.clone();
        let tokens = tokens.clone();
        let warned = warned.clone();
        workers.push(thread::spawn(move || -> Result<()> {
            let mut cfg = conn::config()?;
            cfg.notice_callback(move |n| {
                if verbose {
                    eprintln!("{}: {}", n.severity(), n.message());
                }
                if let Some(rest) = n.message().strip_prefix("stash.migrate_all: tenant ") {
                    let mut it = rest.splitn(3, ' ');
                    if let (Some(slug), Some(status)) = (it.next(), it.next()) {
                        if status != "timed" {
                            warned
                                .lock()
                                .unwrap()
                                .insert(slug.to_string(), rest.to_string());
                        }
                    }
                }
            });
            let mut c = cfg.connect(NoTls)?;
            tokens.lock().unwrap().push(c.cancel_token());
            // simple protocol: CALL may COMMIT only as a top-level statement
            c.batch_execute(&call)?;
            Ok(())
        }));
    }

    let tty = std::io::stdout().is_terminal();
    let bar = ProgressBar::with_draw_target(
        Some(total as u64),
        if tty {
            ProgressDrawTarget::stdout()
        } else {
            ProgressDrawTarget::hidden()
        },
    );
    bar.set_style(
        ProgressStyle::with_template(
            "{bar:40.cyan/blue} {pos}/{len} tenants  {msg}  {per_sec}  ETA {eta}",
        )
        .unwrap(),
    );
    let started = Instant::now();
    let mut last_line = Instant::now();
    let mut last_reported = (-1, -1);
    let mut cancelled = false;
    // The progress query counts what is pending, which costs the server more the larger
    // the fleet (~44 ms at 10,000 tenants), time the migrating sessions then lack: poll
    // at most every 20 times its own cost.  Between polls, wake often to notice that the
    // sessions finished or Ctrl-C at once.
    let every = Duration::from_millis(if tty { 200 } else { 500 });
    let mut next_poll = Instant::now();
    loop {
        let finished = workers.iter().all(|w| w.is_finished());
        if interrupted.load(Ordering::SeqCst) && !cancelled {
            cancelled = true;
            bar.println("interrupted: cancelling the running migrations ...");
            for t in tokens.lock().unwrap().iter() {
                let _ = t.cancel_query(NoTls);
            }
        }
        if !finished && !cancelled && Instant::now() < next_poll {
            thread::sleep(Duration::from_millis(20));
            continue;
        }
        let polled = Instant::now();
        if let Ok(mut p) = poll(&mut main, args.to, &since) {
            p.failed = p.failed.max(warned.lock().unwrap().len() as i64);
            let done = (total - p.remaining).max(0);
            let pos = (done + p.failed).min(total);
            bar.set_position(pos as u64);
            bar.set_message(format!("{} failed", p.failed));
            if !tty
                && (pos, p.failed) != last_reported
                && (finished || last_line.elapsed() >= Duration::from_secs(2))
            {
                let secs = started.elapsed().as_secs_f64();
                let rate = pos as f64 / secs.max(0.001);
                let eta = if rate > 0.0 {
                    format!("{:.0}s", (total - pos) as f64 / rate)
                } else {
                    "?".into()
                };
                println!(
                    "progress: {pos}/{total} tenants, {} failed, {rate:.1}/s, ETA {eta}",
                    p.failed
                );
                last_line = Instant::now();
                last_reported = (pos, p.failed);
            }
        }
        if finished {
            break;
        }
        next_poll = Instant::now() + every.max(polled.elapsed() * 20);
    }
    bar.finish_and_clear();
    let mut session_errors = Vec::new();
    for w in workers {
        match w.join() {
            Ok(Ok(())) => {}
            Ok(Err(e)) => session_errors.push(e),
            Err(_) => session_errors.push(Error::Msg("a session thread panicked".into())),
        }
    }
    if cancelled {
        // cancelled sessions report 57014; only other errors are worth showing
        session_errors.retain(|e| {
            !matches!(e, Error::Db(d) if d.code() == Some(&postgres::error::SqlState::QUERY_CANCELED))
        });
    }
    for e in &session_errors {
        eprintln!("a migrate_all session ended with an error:\n{e}");
    }
    let warned: Vec<(String, String)> = std::mem::take(&mut *warned.lock().unwrap())
        .into_iter()
        .collect();
    let r = summary(
        &mut main,
        args.to,
        total,
        started.elapsed(),
        cancelled,
        &warned,
    );
    if cancelled {
        eprintln!("interrupted: every tenant is at a version its ledger describes; run `stash migrate` again to continue");
        return Err(Error::Exit(130));
    }
    if !session_errors.is_empty() {
        return Err(Error::Exit(1));
    }
    r
}

fn summary(
    c: &mut postgres::Client,
    to: Option<i64>,
    total: i64,
    took: Duration,
    quiet_exit: bool,
    warned: &[(String, String)],
) -> Result<()> {
    let p = c.query_one("SELECT stash._migrate_all_pending($1)", &[&to])?;
    let pending: i64 = p.get(0);
    let failed = c.query(
        "SELECT slug, current_version, last_error FROM stash.tenant_status
          WHERE last_error IS NOT NULL ORDER BY slug",
        &[],
    )?;
    let mut lines: Vec<(String, String)> = failed
        .iter()
        .map(|r| {
            let slug: String = r.get(0);
            let line = format!(
                "failed {slug} (at version {}): {}",
                r.get::<_, i64>(1),
                r.get::<_, String>(2)
            );
            (slug, line)
        })
        .collect();
    for (slug, msg) in warned {
        if !lines.iter().any(|(s, _)| s == slug) {
            lines.push((slug.clone(), format!("failed {msg}")));
        }
    }
    lines.sort();
    let migrated = (total - pending).max(0);
    let secs = took.as_secs_f64();
    println!(
        "summary: {migrated} tenant(s) migrated in {secs:.1}s ({:.1}/s), {} failed, {} still pending",
        if secs > 0.0 { migrated as f64 / secs } else { 0.0 },
        lines.len(),
        (pending - lines.len() as i64).max(0)
    );
    for (_, line) in &lines {
        println!("  {}", line.replace('\n', "\n    "));
    }
    let failed = lines;
    if pending > 0 || !failed.is_empty() {
        if !quiet_exit {
            println!("see `stash status`; fix the cause and run `stash migrate` again");
        }
        return Err(Error::Exit(1));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timeouts_are_durations_or_none_and_nothing_else() {
        assert_eq!(parse_timeout("5s"), Ok(Timeout(Some("5s".into()))));
        assert_eq!(
            parse_timeout(" 1 min 30 s "),
            Ok(Timeout(Some("1 min 30 s".into())))
        );
        assert_eq!(
            parse_timeout("00:00:05"),
            Ok(Timeout(Some("00:00:05".into())))
        );
        assert_eq!(parse_timeout("none"), Ok(Timeout(None)));
        assert_eq!(Timeout(None).sql(), "NULL");
        assert_eq!(Timeout(Some("5s".into())).sql(), "'5s'::interval");
        for bad in ["", "s", "5s'; DROP TABLE x; --", "5s)", "ten seconds"] {
            assert!(parse_timeout(bad).is_err(), "{bad:?} accepted");
        }
    }
}
