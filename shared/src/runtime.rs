//! Start-up shared by every function binary: logging, configuration, SDK clients, then the
//! Lambda runtime loop.

use std::future::Future;

use lambda_runtime::{service_fn, LambdaEvent};
use serde_json::Value;

use crate::handlers::{Deps, EventDeps};
use crate::{Config, Error};

/// Runs `handler` as a Lambda function with the EventBridge client too.
pub async fn run_with_events<F, Fut>(handler: F) -> Result<(), lambda_runtime::Error>
where
    F: Fn(LambdaEvent<Value>, &'static EventDeps) -> Fut,
    Fut: Future<Output = Result<Value, Error>>,
{
    lambda_runtime::tracing::init_default_subscriber();
    let config = Config::from_env()?;
    let sdk = aws_config::load_from_env().await;
    let deps: &'static EventDeps = Box::leak(Box::new(EventDeps::new(config, &sdk)));
    lambda_runtime::run(service_fn(move |event| handler(event, deps))).await
}

/// Runs `handler` as a Lambda function. A missing or malformed setting stops the function
/// here, at start-up, not in the middle of an execution.
pub async fn run<F, Fut>(handler: F) -> Result<(), lambda_runtime::Error>
where
    F: Fn(LambdaEvent<Value>, &'static Deps) -> Fut,
    Fut: Future<Output = Result<Value, Error>>,
{
    lambda_runtime::tracing::init_default_subscriber();
    let config = Config::from_env()?;
    let sdk = aws_config::load_from_env().await;
    // The dependencies live as long as the process: leaking them once lets every
    // invocation borrow them without reference counting.
    let deps: &'static Deps = Box::leak(Box::new(Deps::new(config, &sdk)));
    lambda_runtime::run(service_fn(move |event| handler(event, deps))).await
}
