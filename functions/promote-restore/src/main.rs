//! The `promote-restore` Lambda function: see `bbws::restore::files::handler`.

fn main() -> Result<(), lambda_runtime::Error> {
    bbws::runtime::start(bbws::restore::files::handler)
}
