//! The `list-tenants` Lambda function: see `bbws::backup::fleet::handler`.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    bbws::runtime::run(bbws::backup::fleet::handler).await
}
