//! The `advance-fleet` Lambda function: see `bbws::backup::tenant_runs::handler`.

fn main() -> Result<(), lambda_runtime::Error> {
    bbws::runtime::start(bbws::backup::tenant_runs::handler)
}
