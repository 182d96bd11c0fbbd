//! The database a restore creates, made in moto through RDS's Query API as any client would:
//! `CreateDBInstance` for an RDS recovery point, `CreateDBCluster` for an Aurora one (the
//! cluster only: AWS Backup puts no instance in a restored cluster).
//!
//! Nothing else of the backed-up database comes along: moto keeps no data, AWS Backup copies
//! no tags unless asked, and the master user is a fixed local-only dummy.

use std::collections::BTreeMap;

use bytes::Bytes;
use hyper::Method;

use super::error::ApiError;
use super::model::{restore_target_id, ResourceKind};
use crate::proxy::{Answer, Upstream};
use crate::web::percent_encode;

/// The RDS Query API version the SDKs speak.
const API_VERSION: &str = "2014-10-31";
/// The restored database's master user: a dummy, for the local stack only.
const MASTER_USERNAME: &str = "restored";
const MASTER_USER_PASSWORD: &str = "local-only-password";
const DEFAULT_INSTANCE_ENGINE: &str = "mysql";
const DEFAULT_INSTANCE_CLASS: &str = "db.t3.micro";
const DEFAULT_CLUSTER_ENGINE: &str = "aurora-mysql";
const ALLOCATED_STORAGE_GIB: &str = "20";

/// What a database restore creates, decided from its metadata when the job starts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NewDatabase {
    /// A DB instance: `DBInstanceIdentifier`, `Engine` (mysql), `DBInstanceClass`
    /// (db.t3.micro).
    Instance {
        region: String,
        id: String,
        engine: String,
        class: String,
    },
    /// An Aurora cluster with no instance in it: `DBClusterIdentifier`, `Engine`
    /// (aurora-mysql).
    Cluster {
        region: String,
        id: String,
        engine: String,
    },
}

impl NewDatabase {
    /// What restoring a `kind` recovery point in `region` with `metadata` creates; `None` for
    /// EFS, which creates no database.
    pub fn for_restore(
        kind: ResourceKind,
        region: &str,
        metadata: &BTreeMap<String, String>,
    ) -> Result<Option<Self>, ApiError> {
        let id = restore_target_id(kind, metadata)?.to_owned();
        let region = region.to_owned();
        let given = |key: &str, default: &str| {
            metadata
                .get(key)
                .filter(|v| !v.is_empty())
                .map_or(default, String::as_str)
                .to_owned()
        };
        Ok(match kind {
            ResourceKind::Efs => None,
            ResourceKind::Rds => Some(NewDatabase::Instance {
                region,
                id,
                engine: given("Engine", DEFAULT_INSTANCE_ENGINE),
                class: given("DBInstanceClass", DEFAULT_INSTANCE_CLASS),
            }),
            ResourceKind::Aurora => Some(NewDatabase::Cluster {
                region,
                id,
                engine: given("Engine", DEFAULT_CLUSTER_ENGINE),
            }),
        })
    }

    /// The identifier it is created with.
    pub fn id(&self) -> &str {
        match self {
            NewDatabase::Instance { id, .. } | NewDatabase::Cluster { id, .. } => id,
        }
    }

    pub fn region(&self) -> &str {
        match self {
            NewDatabase::Instance { region, .. } | NewDatabase::Cluster { region, .. } => region,
        }
    }

    /// "DB instance tenant-1", for status messages.
    fn describe(&self) -> String {
        match self {
            NewDatabase::Instance { id, .. } => format!("DB instance {id}"),
            NewDatabase::Cluster { id, .. } => format!("DB cluster {id}"),
        }
    }

    /// The Query API call that creates it: action and parameters.
    fn create_call(&self) -> (&'static str, Vec<(&'static str, &str)>) {
        let master = [
            ("MasterUsername", MASTER_USERNAME),
            ("MasterUserPassword", MASTER_USER_PASSWORD),
        ];
        match self {
            NewDatabase::Instance {
                id, engine, class, ..
            } => {
                let mut params = vec![
                    ("DBInstanceIdentifier", id.as_str()),
                    ("Engine", engine.as_str()),
                    ("DBInstanceClass", class.as_str()),
                    ("AllocatedStorage", ALLOCATED_STORAGE_GIB),
                ];
                params.extend(master);
                ("CreateDBInstance", params)
            }
            NewDatabase::Cluster { id, engine, .. } => {
                let mut params = vec![
                    ("DBClusterIdentifier", id.as_str()),
                    ("Engine", engine.as_str()),
                ];
                params.extend(master);
                ("CreateDBCluster", params)
            }
        }
    }
}

/// RDS in moto, where database restores create what they restore.
pub struct Rds {
    moto: Upstream,
    /// The local database server's port, which the databases it creates announce.
    port: Option<String>,
}

impl Rds {
    /// RDS at moto's base URL (`http://host:port`).
    pub fn new(moto: &str) -> std::io::Result<Self> {
        Ok(Rds {
            moto: Upstream::new(moto)?,
            port: None,
        })
    }

    /// Databases created announce `port` (the local server's) as their endpoint's.
    pub fn with_port(mut self, port: Option<u16>) -> Self {
        self.port = port.map(|p| p.to_string());
        self
    }

    /// Creates `db`; the error is the restore job's status message, naming the cause.
    pub async fn create(&self, db: &NewDatabase) -> Result<(), String> {
        let region = db.region();
        if let NewDatabase::Cluster { id, .. } = db {
            self.refuse_existing_cluster(region, id).await?;
        }
        let (action, mut params) = db.create_call();
        if let Some(port) = &self.port {
            params.push(("Port", port.as_str()));
        }
        let answer = self
            .call(region, action, &params)
            .await
            .map_err(|e| format!("Could not reach RDS to create {}: {e}", db.describe()))?;
        if answer.status.is_success() {
            Ok(())
        } else {
            Err(refusal(&answer, action))
        }
    }

    /// moto replaces a cluster created twice where AWS refuses the second: ask first.
    async fn refuse_existing_cluster(&self, region: &str, id: &str) -> Result<(), String> {
        let answer = self
            .call(region, "DescribeDBClusters", &[("DBClusterIdentifier", id)])
            .await
            .map_err(|e| format!("Could not reach RDS to create DB cluster {id}: {e}"))?;
        if answer.status.is_success() {
            return Err(aws_message(&RdsError {
                status: 400,
                code: "DBClusterAlreadyExistsFault".to_owned(),
                message: "DB cluster already exists".to_owned(),
            }));
        }
        match RdsError::of(&answer) {
            Some(e) if e.code == "DBClusterNotFoundFault" => Ok(()),
            _ => Err(refusal(&answer, "DescribeDBClusters")),
        }
    }

    /// One Query API call, signed (in form only: nothing checks it) for `rds` in `region`
    /// so moto serves it from that region.
    async fn call(
        &self,
        region: &str,
        action: &str,
        params: &[(&str, &str)],
    ) -> Result<Answer, String> {
        let headers = crate::sigv4::scoped_headers(
            "rds",
            region,
            Some("application/x-www-form-urlencoded; charset=utf-8"),
        )?;
        let body = form(action, params);
        self.moto
            .send(Method::POST, "/", headers, Bytes::from(body), false)
            .await
            .map_err(|e| e.message)
    }
}

/// `Action=…&Version=…&<params>`, form-encoded.
fn form(action: &str, params: &[(&str, &str)]) -> String {
    [("Action", action), ("Version", API_VERSION)]
        .iter()
        .chain(params)
        .map(|(k, v)| format!("{}={}", percent_encode(k), percent_encode(v)))
        .collect::<Vec<_>>()
        .join("&")
}

/// An RDS error answer: `<ErrorResponse><Error><Code>…</Code><Message>…</Message>…`.
#[derive(Debug, PartialEq, Eq)]
struct RdsError {
    status: u16,
    code: String,
    message: String,
}

impl RdsError {
    fn of(answer: &Answer) -> Option<Self> {
        let xml = std::str::from_utf8(&answer.body).ok()?;
        let error = element(xml, "Error")?;
        Some(RdsError {
            status: answer.status.as_u16(),
            code: unescape(element(error, "Code")?.trim()),
            message: element(error, "Message")
                .map(|m| unescape(m.trim()))
                .unwrap_or_default(),
        })
    }
}

/// The status message of a call RDS refused, as AWS Backup words a service's error.
fn refusal(answer: &Answer, action: &str) -> String {
    match RdsError::of(answer) {
        Some(e) => aws_message(&e),
        None => {
            let body = String::from_utf8_lossy(&answer.body);
            let body: String = body.chars().take(200).collect();
            format!(
                "RDS answered {action} with status {} and no error code: {body}",
                answer.status.as_u16()
            )
        }
    }
}

/// "DB instance already exists (Service: AmazonRDS; Status Code: 400; Error Code:
/// DBInstanceAlreadyExists)".
fn aws_message(e: &RdsError) -> String {
    format!(
        "{} (Service: AmazonRDS; Status Code: {}; Error Code: {})",
        e.message, e.status, e.code
    )
}

/// The text inside the first `<tag>…</tag>`.
use crate::xml::{element, unescape};

#[cfg(test)]
mod tests {
    use super::*;
    use hyper::HeaderMap;
    use hyper::StatusCode;

    fn metadata(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn a_restore_creates_what_its_metadata_names() {
        let rds = NewDatabase::for_restore(
            ResourceKind::Rds,
            "eu-west-1",
            &metadata(&[("DBInstanceIdentifier", "t-1"), ("Engine", "")]),
        )
        .unwrap();
        assert_eq!(
            rds,
            Some(NewDatabase::Instance {
                region: "eu-west-1".into(),
                id: "t-1".into(),
                engine: "mysql".into(),
                class: "db.t3.micro".into(),
            })
        );
        let aurora = NewDatabase::for_restore(
            ResourceKind::Aurora,
            "us-east-1",
            &metadata(&[
                ("DBClusterIdentifier", "c-1"),
                ("Engine", "aurora-postgresql"),
            ]),
        )
        .unwrap();
        assert_eq!(
            aurora,
            Some(NewDatabase::Cluster {
                region: "us-east-1".into(),
                id: "c-1".into(),
                engine: "aurora-postgresql".into(),
            })
        );
        let efs = metadata(&[("file-system-id", "fs-1")]);
        assert_eq!(
            NewDatabase::for_restore(ResourceKind::Efs, "us-east-1", &efs).unwrap(),
            None
        );
        assert!(NewDatabase::for_restore(ResourceKind::Rds, "us-east-1", &efs).is_err());
    }

    #[test]
    fn the_form_is_encoded() {
        assert_eq!(
            form("CreateDBCluster", &[("Engine", "a b&c")]),
            "Action=CreateDBCluster&Version=2014-10-31&Engine=a%20b%26c"
        );
    }

    #[test]
    fn refusals_are_worded_as_aws_words_them() {
        let answer = |status: u16, body: &'static str| Answer {
            status: StatusCode::from_u16(status).unwrap(),
            headers: HeaderMap::new(),
            body: Bytes::from_static(body.as_bytes()),
        };
        let exists = answer(
            400,
            "<ErrorResponse><Error><Type>Sender</Type><Code>DBInstanceAlreadyExists</Code>\
             <Message>DB instance &quot;t-1&quot; already exists</Message></Error>\
             <RequestId>1</RequestId></ErrorResponse>",
        );
        assert_eq!(
            refusal(&exists, "CreateDBInstance"),
            "DB instance \"t-1\" already exists (Service: AmazonRDS; Status Code: 400; \
             Error Code: DBInstanceAlreadyExists)"
        );
        assert_eq!(
            refusal(&answer(500, "boom"), "CreateDBInstance"),
            "RDS answered CreateDBInstance with status 500 and no error code: boom"
        );
    }
}
