//! The `list-tenants` Lambda function: see `bbws::backup::fleet::handler`.

fn main() -> Result<(), lambda_runtime::Error> {
    bbws::runtime::start(bbws::backup::fleet::handler)
}
