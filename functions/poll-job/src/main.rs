//! The `poll-job` Lambda function: see `bbws::handlers::poll_job`.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    bbws::runtime::run(bbws::handlers::poll_job).await
}
