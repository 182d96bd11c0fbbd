//! The `restore` Lambda function: see `bbws::restore::handler`.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    bbws::runtime::run(bbws::restore::handler).await
}
