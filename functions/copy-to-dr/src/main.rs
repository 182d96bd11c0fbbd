//! The `copy-to-dr` Lambda function: see `bbws::jobs::copy::handler`.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    bbws::runtime::run(bbws::jobs::copy::handler).await
}
