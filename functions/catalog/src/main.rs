//! The `catalog` Lambda function: see `bbws::catalog::events::handler`.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    bbws::runtime::run(bbws::catalog::events::handler).await
}
