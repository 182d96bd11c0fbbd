//! The `onboard-tenant` Lambda function: see `bbws::tenants::onboarding::handler`.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    bbws::runtime::run(bbws::tenants::onboarding::handler).await
}
