//! The `promote-restore` Lambda function: see `bbws::restore::files::handler`.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    bbws::runtime::run(bbws::restore::files::handler).await
}
