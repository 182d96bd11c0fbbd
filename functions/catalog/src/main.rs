//! The `catalog` Lambda function: see `bbws::catalog::events::handler`.

fn main() -> Result<(), lambda_runtime::Error> {
    bbws::runtime::start(bbws::catalog::events::handler)
}
