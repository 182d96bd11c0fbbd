//! The `publish-outcome` Lambda function: see `bbws::events::handler`.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    bbws::runtime::run(bbws::events::handler).await
}
