//! The `copy-to-dr` Lambda function: see `bbws::handlers::copy_to_dr`.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    bbws::runtime::run(bbws::handlers::copy_to_dr).await
}
