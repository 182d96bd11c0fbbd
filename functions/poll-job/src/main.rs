//! The `poll-job` Lambda function: see `bbws::jobs::poll::handler`.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    bbws::runtime::run(bbws::jobs::poll::handler).await
}
