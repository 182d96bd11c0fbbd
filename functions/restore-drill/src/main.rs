//! The `restore-drill` Lambda function: see `bbws::drill::handler`.

fn main() -> Result<(), lambda_runtime::Error> {
    bbws::runtime::start(bbws::drill::handler)
}
