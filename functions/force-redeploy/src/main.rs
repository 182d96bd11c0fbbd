//! The `force-redeploy` Lambda function: see `bbws::handlers::force_redeploy`.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    bbws::runtime::run(bbws::handlers::force_redeploy).await
}
