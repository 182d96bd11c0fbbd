//! The `flush-cache` Lambda function: see `bbws::cache::handler`.

fn main() -> Result<(), lambda_runtime::Error> {
    bbws::runtime::start(bbws::cache::handler)
}
