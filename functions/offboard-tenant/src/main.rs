//! The `offboard-tenant` Lambda function: see `bbws::tenants::access_points::offboard_handler`.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    bbws::runtime::run(bbws::tenants::access_points::offboard_handler).await
}
