//! The `sync-content` Lambda function: see `bbws::sync::service::handler`.

fn main() -> Result<(), lambda_runtime::Error> {
    bbws::runtime::start(bbws::sync::service::handler)
}
