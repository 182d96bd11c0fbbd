//! The `upload-media` Lambda function: see `bbws::media::upload::handler`.

fn main() -> Result<(), lambda_runtime::Error> {
    bbws::runtime::start(bbws::media::upload::handler)
}
