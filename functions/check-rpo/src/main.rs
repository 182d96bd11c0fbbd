//! The `check-rpo` Lambda function: see `bbws::rpo::handler`.

fn main() -> Result<(), lambda_runtime::Error> {
    bbws::runtime::start(bbws::rpo::handler)
}
