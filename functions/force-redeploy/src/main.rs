//! The `force-redeploy` Lambda function: see `bbws::restore::redeploy::handler`.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    bbws::runtime::run(bbws::restore::redeploy::handler).await
}
