//! The `poll-job` Lambda function: see `bbws::jobs::poll::handler`.

fn main() -> Result<(), lambda_runtime::Error> {
    bbws::runtime::start(bbws::jobs::poll::handler)
}
