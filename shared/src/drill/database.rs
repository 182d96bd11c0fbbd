//! The drill's reader of a tenant database's content: every base table's rows and MySQL's
//! `CHECKSUM TABLE`, read over the MySQL protocol as the database's master user (see README,
//! "Restore drills", for what reaching it takes on AWS).

use mysql_async::prelude::Queryable;

use crate::manifest::{TableChecksum, Tables};

/// Where a database is and who reads it.
#[derive(Clone)]
pub struct Access {
    pub host: String,
    pub port: u16,
    pub user: String,
    pub password: String,
    /// The schema holding the site's tables.
    pub schema: String,
}

impl std::fmt::Debug for Access {
    // Never the password, even in a log line.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}@{}:{}/{}",
            self.user, self.host, self.port, self.schema
        )
    }
}

/// The schema's base tables, each with its rows and checksum.
pub async fn tables(access: &Access) -> Result<Tables, String> {
    let opts = mysql_async::OptsBuilder::default()
        .ip_or_hostname(access.host.clone())
        .tcp_port(access.port)
        .user(Some(access.user.clone()))
        .pass(Some(access.password.clone()))
        .db_name(Some(access.schema.clone()));
    let fail = |what: &str, e: mysql_async::Error| format!("{what} {access:?}: {e}");
    let mut conn = mysql_async::Conn::new(opts)
        .await
        .map_err(|e| fail("connecting to", e))?;
    let names: Vec<String> = conn
        .exec(
            "SELECT table_name FROM information_schema.tables \
             WHERE table_schema = ? AND table_type = 'BASE TABLE' ORDER BY table_name",
            (access.schema.as_str(),),
        )
        .await
        .map_err(|e| fail("listing the tables of", e))?;
    let mut out = Tables::new();
    for name in names {
        let quoted = format!("`{}`", name.replace('`', "``"));
        let rows: Option<u64> = conn
            .query_first(format!("SELECT COUNT(*) FROM {quoted}"))
            .await
            .map_err(|e| fail(&format!("counting {name} in"), e))?;
        let checksum: Option<(String, Option<u64>)> = conn
            .query_first(format!("CHECKSUM TABLE {quoted}"))
            .await
            .map_err(|e| fail(&format!("checksumming {name} in"), e))?;
        out.insert(
            name,
            TableChecksum {
                rows: rows.unwrap_or(0),
                checksum: checksum.and_then(|(_, c)| c),
            },
        );
    }
    let _ = conn.disconnect().await;
    Ok(out)
}
