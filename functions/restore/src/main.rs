//! The `restore` Lambda function: see `bbws::restore::handler`.

fn main() -> Result<(), lambda_runtime::Error> {
    bbws::runtime::start(bbws::restore::handler)
}
