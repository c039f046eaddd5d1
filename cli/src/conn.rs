//! Connecting like every PostgreSQL tool: DATABASE_URL (a URL or a libpq key=value
//! string), else the libpq environment variables PGHOST (a host name or a unix-socket
//! directory), PGPORT, PGUSER, PGDATABASE and PGPASSWORD.
use crate::{Error, Result};
use postgres::{Client, Config, NoTls};
use std::env;
use std::path::Path;

fn var(name: &str) -> Option<String> {
    env::var(name).ok().filter(|v| !v.is_empty())
}

pub fn config() -> Result<Config> {
    let mut cfg = if let Some(url) = var("DATABASE_URL") {
        url.parse::<Config>().map_err(|e| {
            Error::Msg(format!(
                "DATABASE_URL is not a valid connection string: {e}"
            ))
        })?
    } else {
        let mut cfg = Config::new();
        let port: u16 = match var("PGPORT") {
            Some(p) => p
                .parse()
                .map_err(|_| Error::Msg(format!("PGPORT is not a port number: {p}")))?,
            None => 5432,
        };
        cfg.port(port);
        match var("PGHOST") {
            Some(hosts) => {
                for h in hosts.split(',') {
                    cfg.host(h);
                }
            }
            // libpq's default: the unix socket directory (Debian's, else /tmp)
            None => {
                let dir = ["/var/run/postgresql", "/tmp"]
                    .into_iter()
                    .find(|d| Path::new(d).join(format!(".s.PGSQL.{port}")).exists());
                cfg.host(dir.unwrap_or("localhost"));
            }
        }
        let user = var("PGUSER")
            .or_else(|| var("USER"))
            .unwrap_or_else(|| "postgres".into());
        cfg.dbname(var("PGDATABASE").as_deref().unwrap_or(&user));
        cfg.user(&user);
        if let Some(pw) = var("PGPASSWORD") {
            cfg.password(pw);
        }
        cfg
    };
    if cfg.get_application_name().is_none() {
        cfg.application_name("stash-cli");
    }
    Ok(cfg)
}

/// A connection; with `notices`, the server's NOTICEs and WARNINGs go to stderr.
pub fn connect(notices: bool) -> Result<Client> {
    let mut cfg = config()?;
    if notices {
        cfg.notice_callback(|n| eprintln!("{}: {}", n.severity(), n.message()));
    } else {
        cfg.notice_callback(|_| {});
    }
    cfg.connect(NoTls).map_err(Error::Db)
}
