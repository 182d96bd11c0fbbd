//! The `copy-to-dr` Lambda function: see `bbws::jobs::copy::handler`.

fn main() -> Result<(), lambda_runtime::Error> {
    bbws::runtime::start(bbws::jobs::copy::handler)
}
