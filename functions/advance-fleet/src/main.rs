//! The `advance-fleet` Lambda function: see `bbws::backup::tenant_runs::handler`.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    bbws::runtime::run(bbws::backup::tenant_runs::handler).await
}
