//! The `start-backup` Lambda function: see `bbws::backup::handler`.

fn main() -> Result<(), lambda_runtime::Error> {
    bbws::runtime::start(bbws::backup::handler)
}
