//! The `start-backup` Lambda function: see `bbws::backup::handler`.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    bbws::runtime::run(bbws::backup::handler).await
}
