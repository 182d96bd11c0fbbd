//! The `list-tenants` Lambda function: see `bbws::handlers::list_tenants`.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    bbws::runtime::run(bbws::handlers::list_tenants).await
}
