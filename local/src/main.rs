use std::io::Write;

use clap::Parser;
use tracing_subscriber::EnvFilter;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    let config = bbws_local::Config::from(bbws_local::config::Args::parse());
    let (addr, task) = match bbws_local::serve(config).await {
        Ok(served) => served,
        Err(e) => {
            eprintln!("bbws-local: cannot start: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    // Scripts wait for this one line on stdout.
    println!("listening on http://{addr}");
    let _ = std::io::stdout().flush();
    let _ = task.await;
    std::process::ExitCode::FAILURE
}
