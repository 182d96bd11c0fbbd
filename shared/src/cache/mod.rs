//! `flush-cache`: after a restore, the tenant's keys are removed from the platform's shared
//! Redis, so the restored site does not mix objects cached before the restore (options,
//! posts, transients) with the restored content until they expire.
//!
//! The key convention: each site's object cache prefixes its keys with its tenant id and a
//! colon (`WP_CACHE_KEY_SALT = "<tenant-id>:"`), so a tenant's keys are those matching
//! `<tenant-id>:*`. They are found with SCAN (MATCH, COUNT: the server is never blocked for
//! long) and removed with UNLINK (memory freed off the server's main thread), a page at a
//! time. Never FLUSHALL or FLUSHDB: the cache is every tenant's.
//!
//! The connection is TLS ([`tls`]), authenticated as flush-cache's own RBAC user (its
//! username and password from Secrets Manager), allowed SCAN and UNLINK and nothing else:
//! each tenant's site has its own user, limited to its prefix. The replication
//! group's primary endpoint (cluster mode disabled) holds every key, so one SCAN sees them
//! all. A cache that cannot be reached, or refuses, is `CacheNotFlushed`: the content is
//! restored by then, only the flush is missing.

pub mod resp;
pub mod tls;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use aws_config::SdkConfig;
use lambda_runtime::LambdaEvent;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tokio::io::{AsyncRead, AsyncWrite};

use crate::config::{required, ConfigError};
use crate::error::{Error, ErrorKind, Operation};
use crate::runtime::{encode, parse, Service};
use crate::tenant_id::TenantId;
use resp::{Connection, Reply};
use tls::Endpoint;

const OP: Operation = Operation::Restore;

/// The keys SCAN is asked to look at per call, unless `CACHE_SCAN_COUNT` says otherwise.
const DEFAULT_SCAN_COUNT: u32 = 1000;
/// The most keys one UNLINK names.
const UNLINK_BATCH: usize = 500;
/// The longest a TLS handshake or one command may take.
const IO_TIMEOUT: Duration = Duration::from_secs(10);

/// The flush step's input: the tenant whose keys go (the restore's target: with `cloneTo`,
/// the tenant the backup was restored into).
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FlushInput {
    pub tenant_id: String,
}

/// What the flush did, for the restore's report.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Flushed {
    pub tenant_id: String,
    /// The SCAN MATCH pattern the keys were selected by.
    pub key_pattern: String,
    pub keys_removed: u64,
    /// SCAN calls made: one per page of the key space.
    pub scan_calls: u64,
}

/// The flush's settings and its one SDK client.
pub struct CacheFlusher {
    pub secrets: aws_sdk_secretsmanager::Client,
    /// The secret holding the AUTH token (`CACHE_AUTH_SECRET_ARN`).
    pub secret_id: String,
    /// The primary endpoint (`CACHE_ENDPOINT`, `host:port`).
    pub endpoint: Endpoint,
    pub tls: Arc<rustls::ClientConfig>,
    pub scan_count: u32,
}

impl Service for CacheFlusher {
    fn build(
        sdk: &SdkConfig,
        lookup: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Self, ConfigError> {
        let ca_file = lookup("CACHE_CA_FILE")
            .filter(|v| !v.trim().is_empty())
            .map(PathBuf::from);
        let scan_count =
            match lookup("CACHE_SCAN_COUNT").filter(|v| !v.trim().is_empty()) {
                None => DEFAULT_SCAN_COUNT,
                Some(raw) => raw.trim().parse().ok().filter(|n| *n > 0).ok_or_else(|| {
                    ConfigError::Invalid {
                        name: "CACHE_SCAN_COUNT",
                        reason: format!("{raw:?} is not a positive whole number"),
                    }
                })?,
            };
        Ok(Self {
            secrets: aws_sdk_secretsmanager::Client::new(sdk),
            secret_id: required(&lookup, "CACHE_AUTH_SECRET_ARN")?,
            endpoint: Endpoint::parse(&required(&lookup, "CACHE_ENDPOINT")?)?,
            tls: tls::client_config(ca_file.as_deref())?,
            scan_count,
        })
    }
}

/// The `flush-cache` handler.
pub async fn handler(event: LambdaEvent<Value>, flusher: &CacheFlusher) -> Result<Value, Error> {
    let input: FlushInput = parse(OP, "flush-cache", event.payload)?;
    let tenant = TenantId::parse(&input.tenant_id)?;
    let credentials = credentials(flusher).await?;
    let endpoint = &flusher.endpoint;
    let unreachable =
        |e: std::io::Error| not_flushed(format!("could not reach the cache at {endpoint}: {e}"), e);
    let stream = tls::connect(endpoint, flusher.tls.clone(), IO_TIMEOUT)
        .await
        .map_err(unreachable)?;
    let mut connection = Connection::new(stream);
    authenticate(&mut connection, &credentials).await?;
    let flushed = flush_tenant(&mut connection, &tenant, flusher.scan_count).await?;
    tracing::info!(
        tenant = %tenant,
        keys_removed = flushed.keys_removed,
        scan_calls = flushed.scan_calls,
        "object cache flushed"
    );
    encode(OP, &flushed)
}

/// The failure of this step: the content is in place, its cache still holds the old
/// objects. The cause says both, so the operator knows nothing is to be restored again.
fn not_flushed(detail: String, source: impl std::error::Error + Send + Sync + 'static) -> Error {
    Error::caused_by(
        ErrorKind::CacheNotFlushed,
        format!(
            "the tenant's content is restored, but its object cache was not flushed ({detail}); \
             until it is, the site may serve objects cached before the restore"
        ),
        source,
    )
}

/// A refusal or an answer the flush cannot use, as an error with no other cause.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
struct CacheAnswer(String);

fn refused(detail: String) -> Error {
    not_flushed(detail.clone(), CacheAnswer(detail))
}

/// Who the flush authenticates as: the secret's `username` and `password`, as the data layer
/// generates them; a secret with a `token` key (or that is the token alone) authenticates as
/// the default user, for a cache still on an AUTH token.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Credentials {
    username: Option<String>,
    password: String,
}

async fn credentials(flusher: &CacheFlusher) -> Result<Credentials, Error> {
    let out = flusher
        .secrets
        .get_secret_value()
        .secret_id(&flusher.secret_id)
        .send()
        .await
        .map_err(|e| {
            let error = OP.aws("reading the cache user's secret", e);
            if error.is_transient() {
                error
            } else {
                let detail = error.message().to_owned();
                not_flushed(detail, error)
            }
        })?;
    let text = out
        .secret_string()
        .ok_or_else(|| refused("the cache user's secret holds no string".into()))?;
    Ok(credentials_of(text))
}

fn credentials_of(secret: &str) -> Credentials {
    let field = |map: &serde_json::Map<String, Value>, key: &str| {
        map.get(key).and_then(Value::as_str).map(str::to_owned)
    };
    match serde_json::from_str::<Value>(secret) {
        Ok(Value::Object(map)) => match (field(&map, "username"), field(&map, "password")) {
            (Some(username), Some(password)) => Credentials {
                username: Some(username),
                password,
            },
            _ => Credentials {
                username: None,
                password: field(&map, "token").unwrap_or_else(|| secret.to_owned()),
            },
        },
        _ => Credentials {
            username: None,
            password: secret.to_owned(),
        },
    }
}

async fn command<S: AsyncRead + AsyncWrite + Unpin + Send>(
    connection: &mut Connection<S>,
    args: &[&[u8]],
) -> Result<Reply, Error> {
    match tokio::time::timeout(IO_TIMEOUT, connection.command(args)).await {
        Ok(Ok(reply)) => Ok(reply),
        Ok(Err(e)) => Err(not_flushed(format!("the cache connection failed: {e}"), e)),
        Err(_) => Err(refused(format!(
            "the cache did not answer {} within {} s",
            String::from_utf8_lossy(args[0]),
            IO_TIMEOUT.as_secs()
        ))),
    }
}

async fn authenticate<S: AsyncRead + AsyncWrite + Unpin + Send>(
    connection: &mut Connection<S>,
    credentials: &Credentials,
) -> Result<(), Error> {
    let password = credentials.password.as_bytes();
    let reply = match &credentials.username {
        Some(user) => command(connection, &[b"AUTH", user.as_bytes(), password]).await?,
        None => command(connection, &[b"AUTH", password]).await?,
    };
    match reply {
        Reply::Simple(_) => Ok(()),
        // The server's words (`WRONGPASS …`), never the password.
        Reply::Error(message) => Err(refused(format!("the cache refused AUTH: {message}"))),
        other => Err(refused(format!("the cache answered AUTH with {other:?}"))),
    }
}

/// The SCAN MATCH pattern of a tenant's keys: its id, glob metacharacters escaped (a strict
/// id has none, but the pattern must never widen if ids ever allow more), then `:*`.
pub fn key_pattern(tenant: &TenantId) -> String {
    let mut pattern = String::with_capacity(tenant.as_str().len() + 2);
    for c in tenant.as_str().chars() {
        if matches!(c, '*' | '?' | '[' | ']' | '\\') {
            pattern.push('\\');
        }
        pattern.push(c);
    }
    pattern.push_str(":*");
    pattern
}

/// Removes every key of `tenant` through `connection` (authenticated): SCAN pages with
/// MATCH and COUNT, each page's keys UNLINKed in batches. A key a page repeats (SCAN may
/// while the table grows) is counted once, since UNLINK counts only what it removed.
pub async fn flush_tenant<S: AsyncRead + AsyncWrite + Unpin + Send>(
    connection: &mut Connection<S>,
    tenant: &TenantId,
    scan_count: u32,
) -> Result<Flushed, Error> {
    let pattern = key_pattern(tenant);
    let prefix = format!("{}:", tenant.as_str());
    let count = scan_count.to_string();
    let mut cursor = b"0".to_vec();
    let mut flushed = Flushed {
        tenant_id: tenant.as_str().to_owned(),
        key_pattern: pattern.clone(),
        keys_removed: 0,
        scan_calls: 0,
    };
    loop {
        let reply = command(
            connection,
            &[
                b"SCAN",
                &cursor,
                b"MATCH",
                pattern.as_bytes(),
                b"COUNT",
                count.as_bytes(),
            ],
        )
        .await?;
        flushed.scan_calls += 1;
        let (next, keys) = scan_page(reply)?;
        // MATCH already selected them; the prefix check keeps a server that ignored MATCH
        // from ever making this remove another tenant's key.
        let keys: Vec<Vec<u8>> = keys
            .into_iter()
            .filter(|k| k.starts_with(prefix.as_bytes()))
            .collect();
        for batch in keys.chunks(UNLINK_BATCH) {
            let mut args: Vec<&[u8]> = Vec::with_capacity(batch.len() + 1);
            args.push(b"UNLINK");
            args.extend(batch.iter().map(Vec::as_slice));
            match command(connection, &args).await? {
                Reply::Integer(n) => flushed.keys_removed += u64::try_from(n).unwrap_or(0),
                Reply::Error(message) => {
                    return Err(refused(format!("the cache refused UNLINK: {message}")))
                }
                other => return Err(refused(format!("the cache answered UNLINK with {other:?}"))),
            }
        }
        if next == b"0" {
            return Ok(flushed);
        }
        cursor = next;
    }
}

/// A SCAN reply: the next cursor and the page's keys.
fn scan_page(reply: Reply) -> Result<(Vec<u8>, Vec<Vec<u8>>), Error> {
    let unexpected = |reply: &Reply| refused(format!("the cache answered SCAN with {reply:?}"));
    let Reply::Array(Some(parts)) = &reply else {
        return Err(match &reply {
            Reply::Error(message) => refused(format!("the cache refused SCAN: {message}")),
            _ => unexpected(&reply),
        });
    };
    match parts.as_slice() {
        [Reply::Bulk(Some(cursor)), Reply::Array(Some(keys))] => {
            let keys = keys
                .iter()
                .map(|k| match k {
                    Reply::Bulk(Some(key)) => Ok(key.clone()),
                    _ => Err(unexpected(&reply)),
                })
                .collect::<Result<_, _>>()?;
            Ok((cursor.clone(), keys))
        }
        _ => Err(unexpected(&reply)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tenants_keys_are_its_id_and_a_colon() {
        let tenant = TenantId::parse("tenant-1").unwrap();
        assert_eq!(key_pattern(&tenant), "tenant-1:*");
    }

    #[test]
    fn the_flush_authenticates_as_the_secrets_user_or_with_a_legacy_token() {
        let user = credentials_of(r#"{"username":"bbws-dev-flush-cache","password":"p-1"}"#);
        assert_eq!(user.username.as_deref(), Some("bbws-dev-flush-cache"));
        assert_eq!(user.password, "p-1");
        let token = credentials_of(r#"{"token":"abcdefghijklmnop-1"}"#);
        assert_eq!(
            (token.username, token.password.as_str()),
            (None, "abcdefghijklmnop-1")
        );
        assert_eq!(
            credentials_of("abcdefghijklmnop-1").password,
            "abcdefghijklmnop-1"
        );
        // A password without its user is not a user's: the whole secret is the token.
        assert_eq!(credentials_of(r#"{"password":"x"}"#).username, None);
    }

    #[tokio::test]
    async fn auth_names_the_flush_user_and_its_password() {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let (client, mut server) = tokio::io::duplex(1 << 12);
        server.write_all(b"+OK\r\n").await.unwrap();
        let mut connection = Connection::new(client);
        let credentials = credentials_of(r#"{"username":"u-1","password":"p-1"}"#);
        authenticate(&mut connection, &credentials).await.unwrap();
        drop(connection);
        let mut sent = Vec::new();
        server.read_to_end(&mut sent).await.unwrap();
        assert_eq!(sent, b"*3\r\n$4\r\nAUTH\r\n$3\r\nu-1\r\n$3\r\np-1\r\n");
    }

    #[test]
    fn a_failure_says_the_content_is_restored_and_the_cache_not_flushed() {
        let error = refused("the cache refused AUTH: WRONGPASS".into());
        assert_eq!(error.name(), "CacheNotFlushed");
        assert!(error.message().contains("content is restored"), "{error}");
        assert!(error.message().contains("not flushed"), "{error}");
    }

    /// A server that answers each command from a script and records what it was sent.
    async fn scripted(
        answers: Vec<&'static [u8]>,
        tenant: &str,
    ) -> (Result<Flushed, Error>, Vec<u8>) {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let (client, mut server) = tokio::io::duplex(1 << 16);
        for answer in answers {
            server.write_all(answer).await.unwrap();
        }
        server.shutdown().await.unwrap();
        let mut connection = Connection::new(client);
        let tenant = TenantId::parse(tenant).unwrap();
        let result = flush_tenant(&mut connection, &tenant, 2).await;
        drop(connection);
        let mut sent = Vec::new();
        server.read_to_end(&mut sent).await.unwrap();
        (result, sent)
    }

    #[tokio::test]
    async fn every_page_is_scanned_and_only_the_tenants_keys_are_unlinked() {
        let (result, sent) = scripted(
            vec![
                b"*2\r\n$2\r\n17\r\n*2\r\n$5\r\nt-1:a\r\n$5\r\nt-2:b\r\n",
                b":1\r\n",
                b"*2\r\n$1\r\n0\r\n*1\r\n$5\r\nt-1:c\r\n",
                b":1\r\n",
            ],
            "t-1",
        )
        .await;
        let flushed = result.unwrap();
        assert_eq!(flushed.keys_removed, 2);
        assert_eq!(flushed.scan_calls, 2);
        let sent = String::from_utf8(sent).unwrap();
        assert!(sent.starts_with("*6\r\n$4\r\nSCAN\r\n$1\r\n0\r\n$5\r\nMATCH\r\n$5\r\nt-1:*\r\n$5\r\nCOUNT\r\n$1\r\n2\r\n"), "{sent}");
        assert!(sent.contains("$4\r\nSCAN\r\n$2\r\n17\r\n"), "{sent}");
        assert!(
            !sent.contains("t-2:b"),
            "another tenant's key is never named: {sent}"
        );
        assert!(!sent.contains("FLUSH"), "{sent}");
    }

    #[tokio::test]
    async fn a_refused_scan_is_cache_not_flushed() {
        let (result, _) = scripted(vec![b"-NOAUTH Authentication required.\r\n"], "t-1").await;
        let error = result.unwrap_err();
        assert_eq!(error.name(), "CacheNotFlushed");
        assert!(error.message().contains("NOAUTH"), "{error}");
    }
}
