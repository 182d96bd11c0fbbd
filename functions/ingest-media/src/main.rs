//! The `ingest-media` Lambda function: see `bbws::media::ingest::handler`.

fn main() -> Result<(), lambda_runtime::Error> {
    bbws::runtime::start(bbws::media::ingest::handler)
}
