//! Start-up shared by every function binary: logging, the service's settings and SDK
//! clients, built once, then the Lambda runtime loop. A binary is one line:
//! `bbws::runtime::run(bbws::backup::handler)`.

use std::future::Future;

use aws_config::SdkConfig;
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
        aws_config::load_from_env()
    }

    /// Reads the settings through `lookup` (the environment in Lambda) and builds the
    /// clients from `sdk`. A missing or malformed setting stops the function at start-up,
    /// not in the middle of an execution.
    fn build(sdk: &SdkConfig, lookup: &dyn Fn(&str) -> Option<String>)
        -> Result<Self, ConfigError>;
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
    serde_json::from_value(event).map_err(|e| {
        op.bad_request(format!(
            "the {what} input is not valid: {}",
            // The parser's own words, which may repeat a value: enough to name the
            // field and what was expected, never a whole oversized value.
            crate::error::capped(e.to_string(), 300)
        ))
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
