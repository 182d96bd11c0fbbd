//! The `force-redeploy` Lambda function: see `bbws::restore::redeploy::handler`.

fn main() -> Result<(), lambda_runtime::Error> {
    bbws::runtime::start(bbws::restore::redeploy::handler)
}
