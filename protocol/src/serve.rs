//! The accept loop shared by the router and the workers: hand each connection to
//! a task until shutdown, then give open connections a grace period to finish.

use std::future::Future;
use std::time::Duration;

use tokio::sync::watch;

use crate::listen::{Listener, Stream};

/// Accepts connections on `listener` and runs `handle(stream, peer, shutdown)`
/// for each until `shutdown` turns true; then waits up to `grace` for the
/// running handlers (which see the shutdown themselves) before aborting the
/// rest. A handler's error is logged with its peer.
pub async fn accept_until<F, Fut>(
    listener: Listener,
    mut shutdown: watch::Receiver<bool>,
    grace: Duration,
    handle: F,
) where
    F: Fn(Stream, String, watch::Receiver<bool>) -> Fut,
    Fut: Future<Output = std::io::Result<()>> + Send + 'static,
{
    let mut tasks = tokio::task::JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => {
                    let connection = handle(stream, peer.clone(), shutdown.clone());
                    tasks.spawn(async move {
                        if let Err(e) = connection.await {
                            tracing::debug!(%peer, error = %e, "connection ended with an error");
                        }
                    });
                }
                Err(e) => {
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            },
            _ = shutdown.changed() => break,
            Some(_) = tasks.join_next(), if !tasks.is_empty() => {}
        }
    }
    drop(listener);
    let deadline = tokio::time::sleep(grace);
    tokio::pin!(deadline);
    loop {
        tokio::select! {
            next = tasks.join_next() => if next.is_none() { break },
            _ = &mut deadline => {
                tracing::warn!(remaining = tasks.len(), "connections did not end in time");
                tasks.abort_all();
                break;
            }
        }
    }
}
