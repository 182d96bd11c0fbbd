//! The TLS side of a cache connection: whom to trust and how to connect.
//!
//! ElastiCache takes an AUTH token only on a replication group encrypted in transit ("AUTH
//! can only be enabled for encryption in-transit enabled ElastiCache for Redis clusters",
//! ElastiCache user guide, "Authenticating with the Redis AUTH command"), so the token is
//! never sent over plain TCP: every connection is TLS, verified against the public roots
//! ElastiCache's certificates chain to. The local stack's `redis-server` has a certificate of
//! its own CA, which `CACHE_CA_FILE` names; nothing else reads that setting.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use rustls::{ClientConfig, RootCertStore};
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;
use tokio_rustls::TlsConnector;

use crate::config::ConfigError;

/// The client side of TLS: the roots from `ca_file` alone when it is given, else the
/// system's (the Lambda image's CA bundle); rustls on ring, as the SDK's HTTPS client.
pub fn client_config(ca_file: Option<&Path>) -> Result<Arc<ClientConfig>, ConfigError> {
    let mut roots = RootCertStore::empty();
    match ca_file {
        Some(file) => {
            let invalid = |reason: String| ConfigError::Invalid {
                name: "CACHE_CA_FILE",
                reason,
            };
            let certificates: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(file)
                .map_err(|e| invalid(format!("{}: {e}", file.display())))?
                .collect::<Result<_, _>>()
                .map_err(|e| invalid(format!("{}: {e}", file.display())))?;
            let (added, _) = roots.add_parsable_certificates(certificates);
            if added == 0 {
                return Err(invalid(format!(
                    "{} holds no CA certificate",
                    file.display()
                )));
            }
        }
        None => {
            // Unreadable entries of the system store are skipped, as the SDK's client does.
            roots.add_parsable_certificates(rustls_native_certs::load_native_certs().certs);
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| ConfigError::Invalid {
            name: "CACHE_ENDPOINT",
            reason: format!("no TLS version to offer: {e}"),
        })?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(config))
}

/// A cache endpoint, `host:port` as the data layer exports it (`RedisPrimaryEndpoint`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Endpoint {
    pub host: String,
    pub port: u16,
}

impl Endpoint {
    pub fn parse(raw: &str) -> Result<Self, ConfigError> {
        let invalid = || ConfigError::Invalid {
            name: "CACHE_ENDPOINT",
            reason: format!("{raw:?} is not host:port"),
        };
        let (host, port) = raw.trim().rsplit_once(':').ok_or_else(invalid)?;
        let port = port.parse().ok().filter(|p| *p > 0).ok_or_else(invalid)?;
        if host.is_empty() || ServerName::try_from(host.to_owned()).is_err() {
            return Err(invalid());
        }
        Ok(Self {
            host: host.to_owned(),
            port,
        })
    }
}

impl std::fmt::Display for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.host, self.port)
    }
}

/// A TLS connection to `endpoint`, its certificate verified for the endpoint's host name (or
/// IP address), within `timeout` for the TCP and TLS handshakes together.
pub async fn connect(
    endpoint: &Endpoint,
    config: Arc<ClientConfig>,
    timeout: Duration,
) -> std::io::Result<TlsStream<TcpStream>> {
    let name = ServerName::try_from(endpoint.host.clone())
        .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e))?;
    let handshake = async {
        let tcp = TcpStream::connect((endpoint.host.as_str(), endpoint.port)).await?;
        tcp.set_nodelay(true)?;
        TlsConnector::from(config).connect(name, tcp).await
    };
    tokio::time::timeout(timeout, handshake)
        .await
        .map_err(|_| {
            std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                format!("no TLS connection within {} s", timeout.as_secs()),
            )
        })?
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_endpoint_is_host_and_port() {
        assert_eq!(
            Endpoint::parse("master.bbws-dev.abc123.use1.cache.amazonaws.com:6379").unwrap(),
            Endpoint {
                host: "master.bbws-dev.abc123.use1.cache.amazonaws.com".into(),
                port: 6379
            }
        );
        assert_eq!(Endpoint::parse("127.0.0.1:6490").unwrap().port, 6490);
        for bad in [
            "",
            "host",
            "host:",
            ":6379",
            "host:0",
            "host:65536",
            "a b:6379",
        ] {
            assert!(Endpoint::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn a_ca_file_without_certificates_stops_the_function() {
        let dir = tempfile::tempdir().unwrap();
        let empty = dir.path().join("ca.pem");
        std::fs::write(&empty, "not a certificate").unwrap();
        assert!(matches!(
            client_config(Some(&empty)),
            Err(ConfigError::Invalid {
                name: "CACHE_CA_FILE",
                ..
            })
        ));
        assert!(client_config(Some(&dir.path().join("missing.pem"))).is_err());
    }
}
