//! Choosing the worker a session runs on: the worker set and its health
//! (`workers`), one pool of ready worker sessions per worker (`pool`), and the
//! router's side of a worker session (`backend`: connect with the internal
//! token, hand over, reset, stats, cancel). [`pin_session`] takes a pooled
//! worker session on the least-loaded healthy worker and hands it to a client;
//! `moving` moves it to another worker between statements.

pub mod backend;
pub mod moving;
pub mod pool;
pub mod workers;

use std::sync::Arc;

use bytes::Bytes;
use deadpool::managed::{Object, PoolError};

use backend::{BackendError, Identity};
use pool::BackendManager;
use workers::{SessionLease, WorkerSet, WorkerSlot, WorkerState};

/// A worker session handed to a client.
pub struct Pinned {
    pub slot: Arc<WorkerSlot>,
    /// Counts the session against its worker while it lives (taken before the
    /// worker session is, so a worker is never drained under a new session).
    pub lease: SessionLease,
    pub backend: Object<BackendManager>,
    /// The worker's ParameterStatus messages, for the client's greeting.
    pub parameter_status: Vec<Bytes>,
}

/// Why no worker session could be had.
pub enum RouteError {
    /// Every worker that answered holds as many sessions as it may.
    Full,
    /// No worker answered.
    NoWorker,
    /// A worker refused the session; the bytes are its answer for the client.
    Refused(Bytes),
}

/// Hands a pooled session on the least-loaded healthy ready worker that
/// accepts it to the client `identity`, with its startup parameters.
pub async fn pin_session(
    workers: &WorkerSet,
    identity: &Identity,
    params: &[(String, String)],
) -> Result<Pinned, RouteError> {
    let mut full = false;
    'workers: for slot in workers.candidates() {
        let lease = workers.lease(&slot);
        // Draining began after the candidates were listed: the lease may have
        // come too late for the supervisor to see it.
        if slot.state() != WorkerState::Ready {
            continue;
        }
        let pool = &slot.pool;
        // A pooled session may belong to a worker that has since restarted:
        // retry with fresh ones before giving up on the worker.
        for _ in 0..3 {
            let mut backend = match pool.get().await {
                Ok(b) => b,
                Err(PoolError::Timeout(_)) => {
                    // Every session this worker may hold is in use.
                    full = true;
                    continue 'workers;
                }
                Err(e) => {
                    tracing::warn!(worker = %slot.addr, error = %e, "worker connection failed");
                    slot.mark(false);
                    continue 'workers;
                }
            };
            match backend::begin_session(&mut backend, identity, params).await {
                Ok(parameter_status) => {
                    return Ok(Pinned {
                        slot,
                        lease,
                        backend,
                        parameter_status,
                    })
                }
                Err(BackendError::Refused(msg)) => return Err(RouteError::Refused(msg)),
                Err(_) => {
                    let _ = Object::take(backend);
                }
            }
        }
    }
    Err(if full {
        RouteError::Full
    } else {
        RouteError::NoWorker
    })
}
