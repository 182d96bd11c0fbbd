//! The `onboard-tenant` Lambda function: see `bbws::tenants::onboarding::handler`.

fn main() -> Result<(), lambda_runtime::Error> {
    bbws::runtime::start(bbws::tenants::onboarding::handler)
}
