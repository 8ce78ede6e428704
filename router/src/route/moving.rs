//! A client session moving to another worker between statements, as PgDog
//! and transaction-mode poolers hand a client to another server connection:
//! when its worker drains, or holds more sessions than another, a session at
//! an idle boundary (no transaction, nothing in flight) has its state
//! exported by its worker (settings, prepared statements, sequences'
//! `currval`), imported into a session begun for the same client on the
//! least-loaded other worker, and relays there from its next request on. A
//! session holding something only its worker has (a TEMP table, a cursor, a
//! statement SQL's PREPARE keeps in the engine) stays; the client sees no
//! difference but timing.

use std::sync::Arc;
use std::time::{Duration, Instant};

use deadpool::managed::Object;
use floe_protocol::lake_changes::ChangeLog;
use floe_protocol::Stream;
use tokio::io::AsyncWriteExt;

use super::backend::{self, BackendError, Identity};
use super::pool::BackendManager;
use super::workers::{SessionLease, WorkerSet, WorkerState};
use crate::admin::metrics::Metrics;
use crate::frontend::cancel::WorkerKey;
use crate::relay::{freshness, MoveTest, MoveWhy, Placement};

/// A balance move is worth it only when the session's worker holds this many
/// sessions more than the least-loaded other one (one move then narrows the
/// gap without reversing it).
const IMBALANCE: usize = 2;
/// How long a session waits after a move before it is considered again.
const AFTER_MOVE: Duration = Duration::from_secs(1);
/// How long a session that could not move waits before it is tried again.
const AFTER_REFUSAL: Duration = Duration::from_secs(3);
/// How long a move waits for a session on the other worker.
const TARGET_WAIT: Duration = Duration::from_millis(500);

/// Why a move was given up.
#[derive(Debug, thiserror::Error)]
enum MoveError {
    #[error("the session stays: {0}")]
    Held(String),
    #[error("no other worker can take the session")]
    NoWorker,
    #[error("the other worker refused the session")]
    Refused,
    #[error(transparent)]
    Backend(#[from] BackendError),
    #[error("the other worker did not answer: {0}")]
    Io(#[from] std::io::Error),
}

impl MoveError {
    /// The metric label.
    fn kind(&self) -> &'static str {
        match self {
            MoveError::Held(_) => "held",
            MoveError::NoWorker => "no_worker",
            MoveError::Refused => "refused",
            MoveError::Backend(_) | MoveError::Io(_) => "failed",
        }
    }
}

/// What a session's moves need from the router around it.
pub struct MoveContext<'a> {
    pub workers: &'a WorkerSet,
    pub identity: &'a Identity,
    /// The client's startup parameters, for the session begun elsewhere.
    pub params: &'a [(String, String)],
    pub lake: &'a ChangeLog,
    pub metrics: &'a Metrics,
    /// Tells the router's cancel keys and `pg_stat_activity` where the
    /// session went.
    pub retarget: &'a (dyn Fn(WorkerKey) + Send + Sync),
    /// The router's pid of the session, for the log.
    pub pid: i32,
}

/// A client session's worker session, which may move.
pub struct Placed<'a> {
    lease: SessionLease,
    backend: Object<BackendManager>,
    ctx: MoveContext<'a>,
    not_before: Instant,
}

impl<'a> Placed<'a> {
    pub fn new(
        lease: SessionLease,
        backend: Object<BackendManager>,
        ctx: MoveContext<'a>,
    ) -> Placed<'a> {
        Placed {
            lease,
            backend,
            ctx,
            not_before: Instant::now() + AFTER_MOVE,
        }
    }

    /// The worker session it ends on, and its lease.
    pub fn into_parts(self) -> (SessionLease, Object<BackendManager>) {
        (self.lease, self.backend)
    }

    async fn move_once(&mut self, why: MoveWhy) -> Result<(), MoveError> {
        let started = Instant::now();
        let from = self.lease.slot().clone();
        let target = self
            .ctx
            .workers
            .candidates()
            .into_iter()
            .find(|s| !Arc::ptr_eq(s, &from))
            .ok_or(MoveError::NoWorker)?;
        if why == MoveWhy::Balance && target.sessions() + IMBALANCE > from.sessions() {
            return Err(MoveError::NoWorker);
        }
        // Counted on the new worker from now, so that sessions moving at the
        // same moment see it.
        let lease = self.ctx.workers.lease(&target);
        if target.state() != WorkerState::Ready {
            return Err(MoveError::NoWorker);
        }
        let state = backend::export(&mut self.backend)
            .await?
            .map_err(MoveError::Held)?;
        let statements = state.statements.len();
        let mut fresh = match tokio::time::timeout(TARGET_WAIT, target.pool.get()).await {
            Ok(Ok(b)) => b,
            _ => return Err(MoveError::NoWorker),
        };
        let begun = async {
            // The new worker session hears the lake news before it prepares
            // anything, so the statements it prepares read what committed.
            if let Some(news) = freshness::news_for(self.ctx.lake, &mut fresh.lake_seen) {
                fresh.stream.write_all(&news).await?;
            }
            backend::begin_session(&mut fresh, self.ctx.identity, self.ctx.params).await?;
            backend::import(&mut fresh, state).await?;
            Ok::<(), MoveError>(())
        }
        .await;
        if let Err(e) = begun {
            // Whatever it holds is this client's: reset it, or close it.
            if backend::reset_session(&mut fresh).await.is_err() {
                let _ = Object::take(fresh);
            }
            return Err(match e {
                MoveError::Backend(BackendError::Refused(_)) => MoveError::Refused,
                e => e,
            });
        }
        let from_id = from.id;
        let mut old = std::mem::replace(&mut self.backend, fresh);
        let old_lease = std::mem::replace(&mut self.lease, lease);
        (self.ctx.retarget)(WorkerKey {
            addr: target.addr.clone(),
            pid: self.backend.pid,
            secret: self.backend.secret,
        });
        // The old session goes back to its worker's pool (or is closed when
        // that worker drains) off the client's path; it counts on its worker
        // until then.
        tokio::spawn(async move {
            let keep = from.state() == WorkerState::Ready
                && backend::reset_session(&mut old).await.is_ok()
                && from.state() == WorkerState::Ready;
            if !keep {
                let mut gone = Object::take(old);
                let _ = gone.stream.shutdown().await;
            }
            drop(old_lease);
        });
        tracing::info!(
            pid = self.ctx.pid,
            from = from_id,
            to = target.id,
            reason = why.name(),
            statements,
            move_us = started.elapsed().as_micros() as u64,
            "session moved to another worker"
        );
        Ok(())
    }
}

impl Placement for Placed<'_> {
    fn backend(&mut self) -> (&mut Stream, &mut u64) {
        let b = &mut *self.backend;
        (&mut b.stream, &mut b.lake_seen)
    }

    fn move_test(&self) -> MoveTest {
        let slot = self.lease.slot().clone();
        let workers = self.ctx.workers.clone();
        let not_before = self.not_before;
        Box::new(move || {
            if Instant::now() < not_before {
                return None;
            }
            match slot.state() {
                WorkerState::Draining => return Some(MoveWhy::Drain),
                WorkerState::Starting => return None,
                WorkerState::Ready => {}
            }
            let mine = slot.sessions();
            if mine < IMBALANCE + 1 {
                return None;
            }
            let least = workers.least_sessions_besides(&slot)?;
            (least + IMBALANCE <= mine).then_some(MoveWhy::Balance)
        })
    }

    fn worker_draining(&self) -> tokio::sync::watch::Receiver<bool> {
        self.lease.slot().draining()
    }

    async fn try_move(&mut self, why: MoveWhy) -> bool {
        match self.move_once(why).await {
            Ok(()) => {
                self.ctx.metrics.moved(why.name());
                self.not_before = Instant::now() + AFTER_MOVE;
                true
            }
            Err(e) => {
                self.ctx.metrics.move_refused(e.kind());
                tracing::debug!(pid = self.ctx.pid, reason = why.name(), error = %e, "session not moved");
                self.not_before = Instant::now() + AFTER_REFUSAL;
                false
            }
        }
    }
}
