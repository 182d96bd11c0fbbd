//! The `onboard-tenant` Lambda function: see `bbws::handlers::onboard_tenant`.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    bbws::runtime::run_with_events(bbws::handlers::onboard_tenant).await
}
