//! The `promote-restore` Lambda function: see `bbws::handlers::promote_restore`.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    bbws::runtime::run(bbws::handlers::promote_restore).await
}
