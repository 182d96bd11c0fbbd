//! Start-up shared by every function binary: logging, the service's settings and SDK
//! clients, built once, then the Lambda runtime loop. A binary is one line:
//! `bbws::runtime::start(bbws::backup::handler)`.

use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};

use aws_config::{BehaviorVersion, ConfigLoader, SdkConfig};
use aws_smithy_http_client::proxy::ProxyConfig;
use aws_smithy_http_client::tls::{rustls_provider::CryptoMode, Provider};
use aws_smithy_http_client::{Builder, ConnectorBuilder};
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::connector_metadata::ConnectorMetadata;
use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnectorSettings, SharedHttpClient, SharedHttpConnector,
};
use aws_smithy_runtime_api::client::runtime_components::{
    RuntimeComponents, RuntimeComponentsBuilder,
};
use aws_smithy_types::config_bag::ConfigBag;
use lambda_runtime::{service_fn, LambdaEvent};
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;

use crate::config::ConfigError;
use crate::error::{Error, Operation};

/// What a handler is given at every invocation: the settings it reads and the clients it
/// calls, built once when the function starts.
pub trait Service: Sized + Sync + 'static {
    /// The SDK's configuration, from the environment. A service that calls no AWS API
    /// returns an empty one instead: its binary then links neither the SDK's configuration
    /// loader (credential providers, STS) nor an HTTPS client.
    fn sdk() -> impl Future<Output = SdkConfig> {
        sdk_defaults().load()
    }

    /// Reads the settings through `lookup` (the environment in Lambda) and builds the
    /// clients from `sdk`. A missing or malformed setting stops the function at start-up,
    /// not in the middle of an execution.
    fn build(sdk: &SdkConfig, lookup: &dyn Fn(&str) -> Option<String>)
        -> Result<Self, ConfigError>;
}

/// The SDK's configuration loader every binary of the project starts from (functions, CLI,
/// end-to-end tests): the latest behaviour version, settings from the environment, and the
/// HTTPS client of [`https_client`].
pub fn sdk_defaults() -> ConfigLoader {
    aws_config::defaults(BehaviorVersion::latest()).http_client(https_client())
}

/// The one HTTP client of the project: the SDK's own hyper client and settings (connector
/// timeouts, proxy from the environment), with rustls on ring rather than the SDK's default
/// aws-lc. It also speaks plain HTTP, for local endpoints.
pub fn https_client() -> SharedHttpClient {
    let client = Builder::new().build_with_connector_fn(|settings, components| {
        let mut connector =
            ConnectorBuilder::default().tls_provider(Provider::Rustls(CryptoMode::Ring));
        connector.set_connector_settings(settings.cloned());
        if let Some(components) = components {
            connector.set_sleep_impl(components.sleep_impl());
        }
        connector.set_proxy_config(Some(ProxyConfig::from_env()));
        connector.build()
    });
    SharedHttpClient::new(CheckedOnce {
        inner: client,
        checked: AtomicBool::new(false),
    })
}

/// The HTTP client, whose start-up check runs for the first SDK client built on it only.
/// The SDK checks the HTTP client of each SDK client it builds, and this client's check
/// builds a connector and drops it, so that the root certificates are read and parsed at
/// start-up rather than at the first request: once does that for every client sharing it.
/// The connectors requests use are built, and cached, by the client itself either way.
#[derive(Debug)]
struct CheckedOnce {
    inner: SharedHttpClient,
    checked: AtomicBool,
}

impl HttpClient for CheckedOnce {
    fn http_connector(
        &self,
        settings: &HttpConnectorSettings,
        components: &RuntimeComponents,
    ) -> SharedHttpConnector {
        self.inner.http_connector(settings, components)
    }

    fn validate_base_client_config(
        &self,
        components: &RuntimeComponentsBuilder,
        cfg: &ConfigBag,
    ) -> Result<(), BoxError> {
        if !self.checked.load(Ordering::Acquire) {
            self.inner.validate_base_client_config(components, cfg)?;
            self.checked.store(true, Ordering::Release);
        }
        Ok(())
    }

    fn validate_final_config(
        &self,
        components: &RuntimeComponents,
        cfg: &ConfigBag,
    ) -> Result<(), BoxError> {
        self.inner.validate_final_config(components, cfg)
    }

    fn connector_metadata(&self) -> Option<ConnectorMetadata> {
        self.inner.connector_metadata()
    }
}

/// A function binary's `main`: prepares the process (the CA bundle, below) while it has one
/// thread, then runs `handler` on a single-threaded Tokio runtime. Lambda hands a process
/// one event at a time, so worker threads would only sit idle and cost start-up time;
/// blocking work (promotion's file moves) still goes to Tokio's blocking pool.
pub fn start<S, F, Fut>(handler: F) -> Result<(), lambda_runtime::Error>
where
    S: Service,
    F: Fn(LambdaEvent<Value>, &'static S) -> Fut,
    Fut: Future<Output = Result<Value, Error>>,
{
    if let Some(bundle) = ca_bundle_file(
        &|name| std::env::var_os(name),
        openssl_probe::probe().cert_file,
    ) {
        // No other thread exists yet: nothing can read the environment while it changes.
        std::env::set_var(CERT_FILE, bundle);
    }
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?
        .block_on(run(handler))
}

const CERT_FILE: &str = "SSL_CERT_FILE";
const CERT_DIR: &str = "SSL_CERT_DIR";

/// The CA bundle file the HTTPS client should read alone, if the process should name one.
///
/// The SDK's client loads its root certificates once, at start-up, through
/// rustls-native-certs: with neither `SSL_CERT_FILE` nor `SSL_CERT_DIR` set, it reads the CA
/// bundle file openssl-probe finds *and* every certificate directory it finds, then drops
/// the duplicates. On the systems the functions run and are tested on, the directories
/// repeat the bundle: Amazon Linux's `/etc/pki/tls/certs` holds the bundle itself and its
/// trust-format twin (no plain `CERTIFICATE` blocks), Debian's `/etc/ssl/certs` holds links
/// to the certificates its bundle is built from. So every start read and decoded the roots
/// twice, about half of a function's start-up. Naming the bundle in `SSL_CERT_FILE` makes
/// the loader read that file alone: the same roots, once.
///
/// Only when the operator has set neither variable (their choice stands), and only the file
/// openssl-probe found to exist on this system at run time: no path is assumed for any
/// distribution. Without one, nothing changes.
fn ca_bundle_file(
    env: &dyn Fn(&str) -> Option<std::ffi::OsString>,
    probed: Option<std::path::PathBuf>,
) -> Option<std::path::PathBuf> {
    if env(CERT_FILE).is_some() || env(CERT_DIR).is_some() {
        return None;
    }
    probed.filter(|file| file.is_file())
}

/// Runs `handler` as a Lambda function with the service it takes.
pub async fn run<S, F, Fut>(handler: F) -> Result<(), lambda_runtime::Error>
where
    S: Service,
    F: Fn(LambdaEvent<Value>, &'static S) -> Fut,
    Fut: Future<Output = Result<Value, Error>>,
{
    lambda_runtime::tracing::init_default_subscriber();
    let sdk = named(
        S::sdk().await,
        std::env::var("AWS_LAMBDA_FUNCTION_NAME").ok(),
    );
    let service = S::build(&sdk, &|name| std::env::var(name).ok())?;
    // The service lives as long as the process: leaking it once lets every invocation
    // borrow it without reference counting.
    let service: &'static S = Box::leak(Box::new(service));
    lambda_runtime::run(service_fn(move |event| handler(event, service))).await
}

/// The SDK configuration with the function's name as its app name, so every call it makes
/// says which function made it (`app/<name>` in the user agent, as CloudTrail records it;
/// the local stack's least-privilege check reads it too). A name the SDK refuses as an app
/// name leaves the configuration as it is.
pub fn named(sdk: SdkConfig, function_name: Option<String>) -> SdkConfig {
    match function_name.map(aws_config::AppName::new) {
        Some(Ok(app_name)) => sdk.into_builder().app_name(app_name).build(),
        _ => sdk,
    }
}

/// Reads a handler's input as `T`; a malformed input is the operation's bad-request error,
/// raised before anything is asked of AWS.
pub fn parse<T: DeserializeOwned>(op: Operation, what: &str, event: Value) -> Result<T, Error> {
    serde_path_to_error::deserialize(event).map_err(|e| {
        // The field's path (`request.count`), then the parser's own words, which may repeat
        // a value: enough to name the field and what was expected, never a whole oversized
        // value.
        let path = e.path().to_string();
        let words = crate::error::capped(e.into_inner().to_string(), 300);
        op.bad_request(if path == "." {
            format!("the {what} input is not valid: {words}")
        } else {
            format!("the {what} input is not valid: {path}: {words}")
        })
    })
}

/// Writes a handler's output for the state machine.
pub fn encode<T: Serialize>(op: Operation, value: &T) -> Result<Value, Error> {
    serde_json::to_value(value).map_err(|e| op.failed(format!("could not encode the output: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ca_bundle_is_named_only_when_the_operator_named_no_certificates() {
        let dir = tempfile::tempdir().unwrap();
        let bundle = dir.path().join("ca-bundle.crt");
        std::fs::write(&bundle, "").unwrap();
        let unset = |_: &str| None;
        assert_eq!(
            ca_bundle_file(&unset, Some(bundle.clone())),
            Some(bundle.clone())
        );
        // An operator's SSL_CERT_FILE or SSL_CERT_DIR stands as it is.
        for set in [CERT_FILE, CERT_DIR] {
            let env = move |name: &str| (name == set).then(|| "/etc/custom".into());
            assert_eq!(ca_bundle_file(&env, Some(bundle.clone())), None);
        }
        // No bundle found, or a path that is not a file: the loader keeps its own search.
        assert_eq!(ca_bundle_file(&unset, None), None);
        assert_eq!(ca_bundle_file(&unset, Some(dir.path().into())), None);
        assert_eq!(
            ca_bundle_file(&unset, Some(dir.path().join("missing"))),
            None
        );
    }

    #[test]
    fn the_function_name_becomes_the_app_name() {
        let sdk = named(SdkConfig::builder().build(), Some("start-backup".into()));
        assert_eq!(
            sdk.app_name().map(|a| a.to_string()).as_deref(),
            Some("start-backup")
        );
        let unnamed = named(SdkConfig::builder().build(), None);
        assert!(unnamed.app_name().is_none());
        let refused = named(SdkConfig::builder().build(), Some("not a name".into()));
        assert!(refused.app_name().is_none());
    }
}

#[cfg(all(test, feature = "sdk-backup", feature = "sdk-efs"))]
mod http_client_tests {
    use std::sync::atomic::AtomicUsize;
    use std::sync::Arc;

    use aws_config::Region;

    use super::*;

    /// An HTTP client that counts its start-up checks; no test here sends a request.
    #[derive(Debug)]
    struct CountsChecks(Arc<AtomicUsize>);

    impl HttpClient for CountsChecks {
        fn http_connector(
            &self,
            _: &HttpConnectorSettings,
            _: &RuntimeComponents,
        ) -> SharedHttpConnector {
            unreachable!("no request is sent")
        }

        fn validate_base_client_config(
            &self,
            _: &RuntimeComponentsBuilder,
            _: &ConfigBag,
        ) -> Result<(), BoxError> {
            self.0.fetch_add(1, Ordering::SeqCst);
            Ok(())
        }
    }

    /// How many times building two SDK clients on `http` checks the counted client.
    fn checks_for_two_clients(http: impl FnOnce(SharedHttpClient) -> SharedHttpClient) -> usize {
        let checks = Arc::new(AtomicUsize::new(0));
        let sdk = SdkConfig::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new("us-east-1"))
            .http_client(http(SharedHttpClient::new(CountsChecks(checks.clone()))))
            .build();
        let _backup = aws_sdk_backup::Client::new(&sdk);
        let _efs = aws_sdk_efs::Client::new(&sdk);
        checks.load(Ordering::SeqCst)
    }

    #[test]
    fn the_sdk_checks_its_http_client_for_each_client_it_builds() {
        assert_eq!(checks_for_two_clients(|http| http), 2);
    }

    #[test]
    fn the_project_client_is_checked_for_the_first_sdk_client_only() {
        let once = |inner| {
            SharedHttpClient::new(CheckedOnce {
                inner,
                checked: AtomicBool::new(false),
            })
        };
        assert_eq!(checks_for_two_clients(once), 1);
    }
}
