//! The `publish-outcome` Lambda function: see `bbws::handlers::publish_outcome`.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    bbws::runtime::run_with_events(bbws::handlers::publish_outcome).await
}
