//! The `restore` Lambda function: see `bbws::handlers::restore`.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    bbws::runtime::run(bbws::handlers::restore).await
}
