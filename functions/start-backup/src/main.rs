//! The `start-backup` Lambda function: see `bbws::handlers::start_backup`.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    bbws::runtime::run(bbws::handlers::start_backup).await
}
