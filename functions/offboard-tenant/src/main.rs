//! The `offboard-tenant` Lambda function: see `bbws::handlers::offboard_tenant`.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    bbws::runtime::run_with_events(bbws::handlers::offboard_tenant).await
}
