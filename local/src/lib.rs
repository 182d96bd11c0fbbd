//! The front server of the local stack: one port that lets the real handlers and the real
//! state machine run with no AWS account.
//!
//! * `/_local/...` is the admin API (faults, state dump, health) for tests and scripts;
//! * a Lambda Invoke goes to `cargo lambda watch`, its failures translated to Lambda's shape;
//! * a request signed for the `backup` service is served by [`backup`], a stand-in for the
//!   AWS Backup operations no emulator implements, with real file snapshots of EFS;
//! * everything else goes to moto unchanged.

pub mod access_points;
pub mod admin;
pub mod backup;
pub mod calls;
pub mod config;
pub mod elasticache;
pub mod front;
pub mod global_tables;
pub mod ids;
pub mod lambda;
pub mod presigned;
pub mod proxy;
pub mod sigv4;
pub mod snapshots;
pub mod web;
pub mod xml;

use std::net::SocketAddr;
use std::sync::Arc;

use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

pub use config::{Config, JobDurations};

/// Binds `config.listen` (port 0 picks a free one) and serves until the task is dropped or
/// aborted. Returns the bound address once the socket accepts connections.
pub async fn serve(config: Config) -> std::io::Result<(SocketAddr, JoinHandle<()>)> {
    let front = Arc::new(front::Front::new(&config)?);
    let listener = TcpListener::bind(config.listen).await?;
    let addr = listener.local_addr()?;
    let task = tokio::spawn(accept_loop(listener, front));
    Ok((addr, task))
}

async fn accept_loop(listener: TcpListener, front: Arc<front::Front>) {
    loop {
        let stream = match listener.accept().await {
            Ok((stream, _)) => stream,
            Err(e) => {
                // Running out of file descriptors must not end the server: wait and go on.
                tracing::warn!(error = %e, "accept failed");
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                continue;
            }
        };
        let front = front.clone();
        tokio::spawn(async move {
            let service = service_fn(move |req| front.clone().handle(req));
            if let Err(e) = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await
            {
                tracing::debug!(error = %e, "connection ended with an error");
            }
        });
    }
}
