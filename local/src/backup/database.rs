//! The data behind RDS on the local stack: one MariaDB server (`scripts/local-db.sh`), one
//! schema per DB identifier and region (`<identifier>@<region>`, [`schema`]). A database
//! backup keeps a consistent copy of the schema (`mariadb-dump --single-transaction`, with
//! the binary-log position it is consistent with) as its recovery point's content; a restore
//! loads the newest copy into the new database's schema and, for a point in time, replays
//! the binary log from that position up to the second asked (`mariadb-binlog
//! --stop-datetime`, only the source schema's events, rewritten to the new one), as RDS
//! restores "from the backup and then [applies] transaction logs up to the point in time"
//! (https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/USER_PIT.html).

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde::{Deserialize, Serialize};

/// The schema holding DB instance or cluster `id` of `region`: the same identifier in two
/// regions (a tenant's database in the primary and in the DR region) are two databases.
pub fn schema(region: &str, id: &str) -> String {
    format!("{id}@{region}")
}

/// The schema an RDS endpoint host leads to: `<identifier>.<…>.<region>.rds.amazonaws.com`.
pub fn schema_of_host(host: &str) -> Option<String> {
    let labels: Vec<&str> = host.split('.').collect();
    let n = labels.len();
    (n >= 5 && labels[n - 2..] == ["amazonaws", "com"] && labels[n - 3] == "rds")
        .then(|| schema(labels[n - 4], labels[0]))
}

/// One copy of a schema, as its `.json` beside the `.sql` records it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Dump {
    pub schema: String,
    /// Unix seconds when it was taken (the binary log's times are whole seconds).
    pub taken: i64,
    pub binlog_file: String,
    pub binlog_position: u64,
    /// The dump's file name in the recovery point's directory.
    pub file: String,
}

/// The local MariaDB server, reached as the stand-in's administrator.
#[derive(Clone, Debug)]
pub struct Databases {
    /// `[client]` option file with the administrator's user, password, host and port.
    pub admin_cnf: PathBuf,
    pub port: u16,
}

impl Databases {
    /// The server `admin.cnf` (written by `scripts/local-db.sh`) names.
    pub fn from_cnf(admin_cnf: &Path) -> Result<Self, String> {
        let text = fs::read_to_string(admin_cnf)
            .map_err(|e| format!("cannot read {}: {e}", admin_cnf.display()))?;
        let port = text
            .lines()
            .filter_map(|l| l.split_once('='))
            .find(|(k, _)| k.trim() == "port")
            .and_then(|(_, v)| v.trim().parse().ok())
            .ok_or_else(|| format!("{} names no port", admin_cnf.display()))?;
        Ok(Databases {
            admin_cnf: admin_cnf.to_owned(),
            port,
        })
    }

    fn tool(&self, name: &str) -> Command {
        let mut c = Command::new(name);
        c.arg(format!(
            "--defaults-extra-file={}",
            self.admin_cnf.display()
        ));
        // mariadb-binlog reads and writes times in the local zone: UTC, as AWS gives them.
        c.env("TZ", "UTC");
        c
    }

    /// Runs `sql` and returns its tab-separated output.
    pub fn sql(&self, sql: &str) -> Result<String, String> {
        let out = self
            .tool("mariadb")
            .args(["--batch", "--skip-column-names", "-e", sql])
            .output()
            .map_err(|e| format!("cannot run mariadb: {e}"))?;
        if !out.status.success() {
            return Err(format!(
                "the database server refused: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            ));
        }
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }

    fn exists(&self, schema: &str) -> Result<bool, String> {
        Ok(!self
            .sql(&format!(
                "SELECT 1 FROM information_schema.schemata WHERE schema_name = {}",
                literal(schema)
            ))?
            .trim()
            .is_empty())
    }

    /// Copies `schema` into `dir` (made if missing) as one more dump; returns its bytes. A
    /// schema the server does not hold (a database seeded without content) leaves no dump:
    /// its restore makes an empty schema.
    pub fn dump(&self, schema: &str, dir: &Path) -> Result<u64, String> {
        fs::create_dir_all(dir).map_err(|e| format!("Cannot prepare the vault: {e}"))?;
        if !self.exists(schema)? {
            tracing::warn!(
                schema,
                "no schema on the local database server: nothing to copy"
            );
            return Ok(0);
        }
        let taken = crate::ids::now().floor() as i64;
        let file = format!("dump-{taken}-{}.sql", crate::ids::uuid());
        let path = dir.join(&file);
        let out = fs::File::create(&path).map_err(|e| format!("Cannot write the copy: {e}"))?;
        let status = self
            .tool("mariadb-dump")
            // One consistent snapshot without locking the tenant's tables, and the binary
            // log position it is consistent with (as a comment), where replay starts.
            .args(["--single-transaction", "--master-data=2", "--no-create-db"])
            .arg(schema)
            .stdout(out)
            .stderr(Stdio::piped())
            .output()
            .map_err(|e| format!("cannot run mariadb-dump: {e}"))?;
        let fail = |m: String| {
            let _ = fs::remove_file(&path);
            Err(m)
        };
        if !status.status.success() {
            return fail(format!(
                "Cannot copy the database {schema}: {}",
                String::from_utf8_lossy(&status.stderr).trim()
            ));
        }
        let text = fs::read_to_string(&path).map_err(|e| e.to_string())?;
        let Some((binlog_file, binlog_position)) = binlog_position(&text) else {
            return fail(format!(
                "The copy of {schema} names no binary log position (is log-bin on?)"
            ));
        };
        let dump = Dump {
            schema: schema.to_owned(),
            taken,
            binlog_file,
            binlog_position,
            file: file.clone(),
        };
        let meta = serde_json::to_vec_pretty(&dump).expect("plain fields");
        fs::write(path.with_extension("json"), meta).map_err(|e| e.to_string())?;
        Ok(text.len() as u64)
    }

    /// Makes `target` from the newest copy in `dir` taken at or before `at` (the newest of all
    /// when `at` is `None`), then, for a point in time, replays the source schema's binary
    /// log events from that copy's position up to `at` (excluded: events of second `at` and
    /// later are after the time asked).
    pub fn restore(&self, dir: Option<&Path>, target: &str, at: Option<i64>) -> Result<(), String> {
        let dumps = dir.map(dumps_in).unwrap_or_default();
        let chosen = dumps
            .iter()
            .filter(|d| at.is_none_or(|t| d.taken <= t))
            .max_by_key(|d| (d.taken, d.binlog_file.clone(), d.binlog_position));
        if let (Some(t), None, false) = (at, chosen, dumps.is_empty()) {
            return Err(format!(
                "No copy of the database was taken at or before {}: the earliest is from {}.",
                iso(t),
                iso(dumps.iter().map(|d| d.taken).min().unwrap_or_default())
            ));
        }
        self.sql(&format!("CREATE DATABASE {}", ident(target)))
            .map_err(|e| format!("Cannot create the restored database {target}: {e}"))?;
        let Some(dump) = chosen else { return Ok(()) };
        let dir = dir.expect("dumps come from a directory");
        let input = fs::File::open(dir.join(&dump.file)).map_err(|e| e.to_string())?;
        self.load(target, Stdio::from(input))?;
        let Some(at) = at else { return Ok(()) };
        let mut binlog = self
            .tool("mariadb-binlog")
            .args(["--read-from-remote-server", "--to-last-log"])
            .arg(format!("--start-position={}", dump.binlog_position))
            .arg(format!("--stop-datetime={}", sql_time(at)))
            .arg(format!("--database={}", dump.schema))
            .arg(format!("--rewrite-db={}->{target}", dump.schema))
            .arg(&dump.binlog_file)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("cannot run mariadb-binlog: {e}"))?;
        let stdout = binlog.stdout.take().expect("piped");
        let loaded = self.load(target, Stdio::from(stdout));
        let out = binlog.wait_with_output().map_err(|e| e.to_string())?;
        if !out.status.success() {
            return Err(format!(
                "Cannot read the binary log of {}: {}",
                dump.schema,
                String::from_utf8_lossy(&out.stderr).trim()
            ));
        }
        loaded
    }

    fn load(&self, target: &str, input: Stdio) -> Result<(), String> {
        let out = self
            .tool("mariadb")
            .arg(target)
            .stdin(input)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .output()
            .map_err(|e| format!("cannot run mariadb: {e}"))?;
        if out.status.success() {
            Ok(())
        } else {
            Err(format!(
                "Cannot load the restored database {target}: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            ))
        }
    }
}

/// The copies a recovery point's directory holds.
pub fn dumps_in(dir: &Path) -> Vec<Dump> {
    let Ok(entries) = fs::read_dir(dir) else {
        return Vec::new();
    };
    entries
        .filter_map(Result::ok)
        .filter(|e| e.path().extension().is_some_and(|x| x == "json"))
        .filter_map(|e| serde_json::from_slice(&fs::read(e.path()).ok()?).ok())
        .collect()
}

/// `-- CHANGE MASTER TO MASTER_LOG_FILE='mariadb-bin.000001', MASTER_LOG_POS=1345;`
fn binlog_position(dump: &str) -> Option<(String, u64)> {
    let line = dump
        .lines()
        .take(100)
        .find(|l| l.contains("CHANGE MASTER TO"))?;
    let file = line.split("MASTER_LOG_FILE='").nth(1)?.split('\'').next()?;
    let pos = line
        .split("MASTER_LOG_POS=")
        .nth(1)?
        .trim_end_matches(';')
        .trim();
    Some((file.to_owned(), pos.parse().ok()?))
}

fn ident(name: &str) -> String {
    format!("`{}`", name.replace('`', "``"))
}

fn literal(value: &str) -> String {
    format!("'{}'", value.replace('\\', "\\\\").replace('\'', "''"))
}

fn sql_time(t: i64) -> String {
    let at =
        time::OffsetDateTime::from_unix_timestamp(t).unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02}:{:02}",
        at.year(),
        at.month() as u8,
        at.day(),
        at.hour(),
        at.minute(),
        at.second()
    )
}

fn iso(t: i64) -> String {
    sql_time(t).replace(' ', "T") + "Z"
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_endpoint_host_leads_to_its_identifiers_schema_in_its_region() {
        assert_eq!(
            schema_of_host("tenant-1.aaaaaaaaaa.us-east-1.rds.amazonaws.com").as_deref(),
            Some("tenant-1@us-east-1")
        );
        assert_eq!(
            schema_of_host("t-2.cluster-abc.eu-west-1.rds.amazonaws.com").as_deref(),
            Some("t-2@eu-west-1")
        );
        assert_eq!(schema_of_host("127.0.0.1"), None);
    }

    #[test]
    fn the_dumps_binlog_position_is_read_from_its_change_master_comment() {
        let dump = "-- x\n-- CHANGE MASTER TO MASTER_LOG_FILE='mariadb-bin.000002', MASTER_LOG_POS=1345;\n";
        assert_eq!(
            binlog_position(dump),
            Some(("mariadb-bin.000002".to_owned(), 1345))
        );
        assert_eq!(binlog_position("CREATE TABLE t (a int);"), None);
    }

    #[test]
    fn a_point_in_time_is_written_as_mariadb_binlog_reads_it_in_utc() {
        assert_eq!(sql_time(1_796_695_719), "2026-12-08 02:08:39");
        assert_eq!(iso(0), "1970-01-01T00:00:00Z");
    }
}
