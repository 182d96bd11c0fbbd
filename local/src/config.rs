//! What the front server needs to know: where to listen, its two upstreams, where recovery
//! points and file systems live, and how long jobs take.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::Parser;

#[derive(Clone, Debug)]
pub struct Config {
    pub listen: SocketAddr,
    /// moto, for every request that is neither a Lambda invoke nor AWS Backup.
    pub moto: String,
    /// `cargo lambda watch`, for Lambda invokes.
    pub lambda: String,
    /// Another `cargo lambda watch` per region, for the functions of a second deployment
    /// (the DR region's): an invoke of a function ARN in that region goes there.
    pub regional_lambdas: Vec<(String, String)>,
    /// Global tables: a write to one of these tables in one of its regions is replicated to
    /// the table in its other regions (moto keeps each region's table apart).
    pub global_tables: Vec<(String, Vec<String>)>,
    /// Recovery-point snapshots go to `<state_dir>/recovery-points/<id>/`.
    pub state_dir: PathBuf,
    /// EFS file system `fs-xxx` is the directory `<efs_root>/fs-xxx/`.
    pub efs_root: PathBuf,
    pub durations: JobDurations,
    /// Whether AWS Backup's job state change events go to EventBridge in moto.
    pub backup_events: bool,
    /// How many copy jobs may run at once into a destination region.
    pub copy_quota: CopyQuota,
    /// The local redis-server's directory (`scripts/local-cache.sh`): ElastiCache users in a
    /// user group are set on it.
    pub cache_dir: Option<PathBuf>,
    /// The local MariaDB server's administrator option file (`scripts/local-db.sh`): database
    /// backups copy their schema there, restores make theirs.
    pub db_admin_cnf: Option<PathBuf>,
}

/// AWS Backup's quota on concurrent copy jobs into a destination region: "The limit for
/// concurrent copy jobs from one Region to another Region is 100 per account per Region. Once
/// this limit is reached, if a specific vault in the destination Region has fewer than 5
/// concurrent copy jobs, new copy jobs can begin, up to a maximum of 5 concurrently"
/// (neither adjustable; https://docs.aws.amazon.com/aws-backup/latest/devguide/aws-backup-limits.html).
/// A copy past both waits in CREATED. Settable so tests can reach it with a few jobs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CopyQuota {
    pub per_region: usize,
    pub per_vault: usize,
}

impl Default for CopyQuota {
    fn default() -> Self {
        CopyQuota {
            per_region: 100,
            per_vault: 5,
        }
    }
}

/// How long a job of each kind takes from start to end.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct JobDurations {
    pub backup: Duration,
    pub copy: Duration,
    pub restore: Duration,
}

impl Default for JobDurations {
    fn default() -> Self {
        let two = Duration::from_secs(2);
        JobDurations {
            backup: two,
            copy: two,
            restore: two,
        }
    }
}

impl Config {
    /// A server on a free loopback port with the default upstreams and durations, sending no
    /// events (a test that checks them turns them on, with its own moto).
    pub fn local(state_dir: impl Into<PathBuf>, efs_root: impl Into<PathBuf>) -> Self {
        Config {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            moto: "http://127.0.0.1:4598".to_owned(),
            lambda: "http://127.0.0.1:9000".to_owned(),
            regional_lambdas: Vec::new(),
            global_tables: Vec::new(),
            state_dir: state_dir.into(),
            efs_root: efs_root.into(),
            durations: JobDurations::default(),
            backup_events: false,
            copy_quota: CopyQuota::default(),
            cache_dir: None,
            db_admin_cnf: None,
        }
    }
}

/// The command line; every option can also come from the environment.
#[derive(Debug, Parser)]
#[command(
    name = "bbws-local",
    about = "Front server of the local stack: Lambda invokes to cargo lambda watch, an AWS \
             Backup stand-in, everything else to moto"
)]
pub struct Args {
    /// Address to listen on (keep it on loopback).
    #[arg(long, env = "BBWS_LOCAL_LISTEN", default_value = "127.0.0.1:4599")]
    pub listen: SocketAddr,
    /// moto's base URL.
    #[arg(long, env = "BBWS_LOCAL_MOTO", default_value = "http://127.0.0.1:4598")]
    pub moto: String,
    /// `cargo lambda watch`'s invoke base URL.
    #[arg(
        long,
        env = "BBWS_LOCAL_LAMBDA",
        default_value = "http://127.0.0.1:9000"
    )]
    pub lambda: String,
    /// `<region>=<url>`: the `cargo lambda watch` serving the functions deployed in that
    /// region (repeatable).
    #[arg(long = "lambda-region", value_parser = region_lambda)]
    pub lambda_region: Vec<(String, String)>,
    /// `<table>=<region>,<region>,…`: a global table and its replicas' regions (repeatable).
    #[arg(long = "global-table", value_parser = global_table)]
    pub global_table: Vec<(String, Vec<String>)>,
    /// Directory for recovery-point snapshots.
    #[arg(long, env = "BBWS_LOCAL_STATE_DIR")]
    pub state_dir: PathBuf,
    /// Directory holding one directory per EFS file system id.
    #[arg(long, env = "BBWS_LOCAL_EFS_ROOT")]
    pub efs_root: PathBuf,
    /// Seconds a backup job takes (fractions allowed).
    #[arg(long, env = "BBWS_LOCAL_BACKUP_SECONDS", default_value = "2", value_parser = seconds)]
    pub backup_seconds: Duration,
    /// Seconds a copy job takes.
    #[arg(long, env = "BBWS_LOCAL_COPY_SECONDS", default_value = "2", value_parser = seconds)]
    pub copy_seconds: Duration,
    /// Seconds a restore job takes.
    #[arg(long, env = "BBWS_LOCAL_RESTORE_SECONDS", default_value = "2", value_parser = seconds)]
    pub restore_seconds: Duration,
    /// Send no AWS Backup events (job state changes) to EventBridge in moto.
    #[arg(long, env = "BBWS_LOCAL_NO_BACKUP_EVENTS")]
    pub no_backup_events: bool,
    /// Copy jobs that may run at once into one destination region (AWS's quota: 100).
    #[arg(
        long,
        env = "BBWS_LOCAL_OUTBOUND_COPIES_PER_REGION",
        default_value = "100"
    )]
    pub outbound_copies_per_region: usize,
    /// Copy jobs a destination vault may still run once the region's are all taken (AWS: 5).
    #[arg(
        long,
        env = "BBWS_LOCAL_OUTBOUND_COPIES_PER_VAULT",
        default_value = "5"
    )]
    pub outbound_copies_per_vault: usize,
    /// The local redis-server's directory (its Unix socket and the stand-in's admin token).
    #[arg(long, env = "BBWS_LOCAL_CACHE_DIR")]
    pub cache_dir: Option<PathBuf>,
    /// The local MariaDB server's administrator option file (`[client]` user, password,
    /// host, port).
    #[arg(long, env = "BBWS_LOCAL_DB_ADMIN_CNF")]
    pub db_admin_cnf: Option<PathBuf>,
}

impl From<Args> for Config {
    fn from(a: Args) -> Self {
        Config {
            listen: a.listen,
            moto: a.moto,
            lambda: a.lambda,
            regional_lambdas: a.lambda_region,
            global_tables: a.global_table,
            state_dir: a.state_dir,
            efs_root: a.efs_root,
            durations: JobDurations {
                backup: a.backup_seconds,
                copy: a.copy_seconds,
                restore: a.restore_seconds,
            },
            backup_events: !a.no_backup_events,
            copy_quota: CopyQuota {
                per_region: a.outbound_copies_per_region,
                per_vault: a.outbound_copies_per_vault,
            },
            cache_dir: a.cache_dir,
            db_admin_cnf: a.db_admin_cnf,
        }
    }
}

/// Parses `<region>=<url>`.
pub fn region_lambda(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((region, url)) if !region.is_empty() && url.starts_with("http://") => {
            Ok((region.to_owned(), url.to_owned()))
        }
        _ => Err(format!("{s:?} is not <region>=http://<host>:<port>")),
    }
}

/// Parses `<table>=<region>,<region>,…` (at least two regions).
pub fn global_table(s: &str) -> Result<(String, Vec<String>), String> {
    let (table, regions) = s
        .split_once('=')
        .ok_or_else(|| format!("{s:?} is not <table>=<region>,<region>"))?;
    let regions: Vec<String> = regions
        .split(',')
        .map(str::trim)
        .filter(|r| !r.is_empty())
        .map(str::to_owned)
        .collect();
    if table.is_empty() || regions.len() < 2 {
        return Err(format!(
            "{s:?}: a global table has a name and two regions or more"
        ));
    }
    Ok((table.to_owned(), regions))
}

/// Parses a non-negative number of seconds, fractions allowed (`0.2`).
pub fn seconds(s: &str) -> Result<Duration, String> {
    let v: f64 = s
        .trim()
        .parse()
        .map_err(|_| format!("{s:?} is not a number of seconds"))?;
    Duration::try_from_secs_f64(v).map_err(|_| format!("{s:?} is not a non-negative duration"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regional_lambdas_and_global_tables_are_parsed() {
        assert_eq!(
            region_lambda("eu-west-1=http://127.0.0.1:9010"),
            Ok(("eu-west-1".into(), "http://127.0.0.1:9010".into()))
        );
        assert!(region_lambda("eu-west-1").is_err());
        assert_eq!(
            global_table("t=us-east-1,eu-west-1"),
            Ok(("t".into(), vec!["us-east-1".into(), "eu-west-1".into()]))
        );
        assert!(global_table("t=us-east-1").is_err());
        assert!(global_table("=us-east-1,eu-west-1").is_err());
    }

    #[test]
    fn seconds_accept_fractions_and_refuse_negatives() {
        assert_eq!(seconds("0.2"), Ok(Duration::from_millis(200)));
        assert_eq!(seconds("2"), Ok(Duration::from_secs(2)));
        assert!(seconds("-1").is_err());
        assert!(seconds("soon").is_err());
        assert!(seconds("NaN").is_err());
    }
}
