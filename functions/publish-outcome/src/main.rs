//! The `publish-outcome` Lambda function: see `bbws::events::handler`.

fn main() -> Result<(), lambda_runtime::Error> {
    bbws::runtime::start(bbws::events::handler)
}
