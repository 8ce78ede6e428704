//! Per-worker pools of started worker sessions (deadpool). A client session takes
//! one for its life; when the client leaves cleanly and idle, the worker session is
//! reset (`FLOE RESET`: transaction, statements and settings discarded) and goes
//! back to the pool, so the next client skips the connection and startup cost.

use deadpool::managed::{self, Metrics, RecycleError, RecycleResult};
use floe_protocol::ListenAddr;

use crate::route::backend::{self, Backend, BackendError};

pub struct BackendManager {
    pub addr: ListenAddr,
    pub token: Option<String>,
}

impl managed::Manager for BackendManager {
    type Type = Backend;
    type Error = BackendError;

    async fn create(&self) -> Result<Backend, BackendError> {
        let params = [
            ("user".to_string(), "floe".to_string()),
            ("database".to_string(), "floe".to_string()),
        ];
        backend::connect(&self.addr, &params, self.token.as_deref()).await
    }

    async fn recycle(&self, obj: &mut Backend, _: &Metrics) -> RecycleResult<BackendError> {
        // Sessions are reset before they return to the pool; one whose worker has
        // since gone shows it when the new client's session begins.
        if obj.broken {
            return Err(RecycleError::Message("worker session broken".into()));
        }
        Ok(())
    }
}

pub type BackendPool = managed::Pool<BackendManager>;

/// Pooled worker sessions idle longer than this are closed.
pub const IDLE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(300);

/// How long a new client waits for a worker session when a worker's pool is
/// full before it is told there are too many clients (53300).
pub const WAIT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

/// A pool for one worker holding at most `max` sessions (busy plus idle).
pub fn new_pool(addr: ListenAddr, token: Option<String>, max: usize) -> BackendPool {
    managed::Pool::builder(BackendManager { addr, token })
        .max_size(max)
        .wait_timeout(Some(WAIT_TIMEOUT))
        .runtime(deadpool::Runtime::Tokio1)
        .build()
        .unwrap_or_else(|_| unreachable!("a pool with a runtime always builds"))
}
