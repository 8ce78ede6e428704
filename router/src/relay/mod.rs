//! Relaying a client session to its worker: whole frames passed both ways without
//! decoding rows (`pump`), the client's Query and Parse messages put through the
//! policy and rewrites on the way (`gate`, `crate::compat`), the session observed
//! for metrics and `pg_stat_activity` (`observe`), and a lone session's wait for
//! its answer spun rather than slept (`spin`), and lake changes carried between
//! workers (`freshness`). [`relay`] runs until one side ends
//! and says whether the worker session is fit for the next client; between
//! requests it may move the session to another worker ([`Placement`]).

pub mod freshness;
pub mod gate;
pub mod observe;
pub mod pump;
pub mod spin;

use std::os::fd::{AsFd, OwnedFd};
use std::sync::Arc;

use bytes::BytesMut;
use floe_protocol::lake_changes::ChangeLog;
use floe_protocol::{frame, sqlstate, startup, PgError, Stream};
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};
use tokio::sync::watch;

use crate::admin::metrics::Metrics;
use crate::compat::activity::{self, Activity, AdminAction, SessionInfo};
use crate::compat::rewrite;
use crate::frontend::own_fd;
use gate::{PolicyContext, Refusal, Rewritten, SqlGate};
use observe::Observer;
use pump::{pump, Pumped, Side};
use spin::SpinWait;

/// Read buffer per direction; frames larger than this are read in several steps.
pub(crate) const RELAY_BUFFER: usize = 64 * 1024;

/// How a relayed session ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionEnd {
    /// The client terminated or disconnected.
    ClientGone,
    /// The worker connection closed or failed.
    WorkerGone,
    Shutdown,
}

/// What a relay needs from the router around it.
pub struct RelayContext<'a> {
    pub spin: &'a SpinWait,
    pub metrics: &'a Metrics,
    /// Every session, for `pg_stat_activity` and the admin functions.
    pub activity: &'a Activity,
    /// Carries out `pg_cancel_backend` / `pg_terminate_backend` (action, target
    /// pid) for this session's user: `Ok(false)` for no such session, `Err` with
    /// the message for one the user may not signal.
    pub admin: &'a (dyn Fn(AdminAction, i32) -> Result<bool, String> + Sync),
    /// Largest message a client may send.
    pub max_message_bytes: usize,
    /// Every lake change workers reported, in order.
    pub lake_changes: &'a ChangeLog,
}

/// Why a session moves to another worker.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MoveWhy {
    /// Its worker is draining: the session moves even while its client is
    /// silent.
    Drain,
    /// Its worker holds more sessions than another: the session moves before
    /// its client's next request.
    Balance,
}

impl MoveWhy {
    pub fn name(self) -> &'static str {
        match self {
            MoveWhy::Drain => "drain",
            MoveWhy::Balance => "balance",
        }
    }
}

/// A test, cheap enough to run before each request, of whether a session at
/// an idle boundary should move now, and why.
pub type MoveTest = Box<dyn Fn() -> Option<MoveWhy> + Send + Sync>;

/// Where a relayed session's worker side is, and how it moves.
pub trait Placement: Send {
    /// The worker session now, and where in the router's lake change log its
    /// news ends.
    fn backend(&mut self) -> (&mut Stream, &mut u64);
    /// Whether the session should move (the answer may change over time).
    fn move_test(&self) -> MoveTest;
    /// Turns true when the session's worker begins draining.
    fn worker_draining(&self) -> watch::Receiver<bool>;
    /// Moves the session, at an idle boundary, to a session on another
    /// worker with the same state; `false` when it stays where it is.
    fn try_move(&mut self, why: MoveWhy) -> impl std::future::Future<Output = bool> + Send;
}

/// How often a silent session on a draining worker looks whether it may move
/// (it may be running a statement, or have been refused a move a moment ago).
const DRAIN_LOOK: std::time::Duration = std::time::Duration::from_millis(500);

/// Relays frames both ways until one side ends; between requests the
/// session may move to another worker (`place`).
pub async fn relay<S: AsyncRead + AsyncWrite + Unpin + Send, P: Placement>(
    client: S,
    client_fd: Option<OwnedFd>,
    place: &mut P,
    mut shutdown: watch::Receiver<bool>,
    ctx: &RelayContext<'_>,
    info: &Arc<SessionInfo>,
) -> std::io::Result<(SessionEnd, bool)> {
    let _relayed = ctx.spin.session();
    let observer = Observer::new(ctx.metrics, info);
    // Statements about sessions (pg_stat_activity, pg_cancel_backend, …) are
    // answered from the router's view of all sessions; Postgres-isms DuckDB lacks
    // are rewritten. Texts known to need neither are remembered.
    let mut plain: std::collections::HashSet<String> = std::collections::HashSet::new();
    let mut rewrite = |sql: &str| -> Rewritten {
        if plain.contains(sql) {
            return Rewritten::Same;
        }
        let mut current: Option<String> = None;
        let mut live = false;
        if activity::mentions(sql) {
            let r = activity::rewrite(
                sql,
                ctx.activity,
                (info.pid, &info.user, info.superuser),
                ctx.admin,
            );
            match r {
                Ok(new) => {
                    live = new.is_some();
                    current = new;
                }
                Err(why) => {
                    return Rewritten::Refused(Refusal {
                        sqlstate: sqlstate::INSUFFICIENT_PRIVILEGE,
                        message: why,
                    })
                }
            }
        }
        let text = current.as_deref().unwrap_or(sql);
        if rewrite::mentions(text) {
            if let Some(new) = rewrite::rewrite(text) {
                current = Some(new);
            }
        }
        if current.is_none() && !activity::mentions(sql) {
            if plain.len() >= 256 {
                plain.clear();
            }
            plain.insert(sql.to_string());
        }
        match current {
            Some(new) if live => Rewritten::Live(new),
            Some(new) => Rewritten::Text(new),
            None => Rewritten::Same,
        }
    };
    let (mut client_rd, mut client_wr) = tokio::io::split(client);
    enum Outcome {
        Client(std::io::Result<Pumped>),
        Worker(std::io::Result<Pumped>),
        Move(MoveWhy),
        Shutdown,
        Terminated,
    }
    let mut gate = SqlGate::new(PolicyContext::for_database(&info.database));
    // The client's bytes not yet relayed (a request held back for a move).
    let mut from_client = BytesMut::with_capacity(RELAY_BUFFER);
    let outcome = loop {
        let test = place.move_test();
        let mut draining = place.worker_draining();
        let balance_now = || test().is_some();
        // One round on the worker session there is now; its borrows end with
        // the block, before a move.
        let outcome = {
            let (backend, lake_seen) = place.backend();
            let backend_fd = own_fd(&*backend);
            let (mut backend_rd, mut backend_wr) = tokio::io::split(backend);
            let mut from_worker = BytesMut::with_capacity(RELAY_BUFFER);
            let upstream = pump(
                &mut client_rd,
                &mut backend_wr,
                &mut from_client,
                Side::ToWorker {
                    gate: &mut gate,
                    rewrite: &mut rewrite,
                    lake: ctx.lake_changes,
                    seen: lake_seen,
                },
                &observer,
                backend_fd.as_ref().map(|fd| (ctx.spin, fd.as_fd())),
                ctx.max_message_bytes,
                Some(&balance_now),
            );
            let downstream = pump(
                &mut backend_rd,
                &mut client_wr,
                &mut from_worker,
                Side::ToClient {
                    lake: ctx.lake_changes,
                },
                &observer,
                client_fd.as_ref().map(|fd| (ctx.spin, fd.as_fd())),
                frame::MAX_MESSAGE,
                None,
            );
            // A silent session on a draining worker moves without waiting for
            // its client; until its worker drains it only waits.
            let drained = async {
                if draining.wait_for(|d| *d).await.is_err() {
                    std::future::pending::<()>().await;
                }
                loop {
                    tokio::time::sleep(DRAIN_LOOK).await;
                    if test() == Some(MoveWhy::Drain) && observer.at_boundary() {
                        return MoveWhy::Drain;
                    }
                }
            };
            tokio::select! {
                r = upstream => match r {
                    Ok(Pumped::Moving) => match test() {
                        Some(why) => Outcome::Move(why),
                        None => continue,
                    },
                    r => Outcome::Client(r),
                },
                r = downstream => Outcome::Worker(r),
                why = drained => Outcome::Move(why),
                _ = shutdown.changed() => Outcome::Shutdown,
                _ = info.terminate.notified() => Outcome::Terminated,
            }
        };
        match outcome {
            Outcome::Move(why) => {
                place.try_move(why).await;
            }
            other => break other,
        }
    };
    // A client that left cleanly, with nothing running and no transaction open,
    // leaves a worker session fit for the next client; otherwise closing the
    // worker side ends it (and interrupts its query).
    let idle = observer.pending.lock().is_none() && info.live().state == "idle";
    let reusable = matches!(outcome, Outcome::Client(Ok(_))) && idle;
    if !reusable {
        let _ = place.backend().0.shutdown().await;
    }
    let (end, message) = match outcome {
        Outcome::Client(Err(e)) if e.kind() == std::io::ErrorKind::InvalidData => (
            SessionEnd::ClientGone,
            Some(PgError::new(
                sqlstate::PROTOCOL_VIOLATION,
                format!("invalid message: {e}"),
            )),
        ),
        Outcome::Client(_) => (SessionEnd::ClientGone, None),
        Outcome::Worker(Ok(Pumped::Closed { last_was_error })) => (
            SessionEnd::WorkerGone,
            (!last_was_error).then(|| {
                PgError::new(
                    sqlstate::ADMIN_SHUTDOWN,
                    "terminating connection because its Floe worker exited",
                )
            }),
        ),
        Outcome::Worker(_) => (SessionEnd::ClientGone, None),
        Outcome::Shutdown | Outcome::Terminated | Outcome::Move(_) => (
            SessionEnd::Shutdown,
            Some(PgError::new(
                sqlstate::ADMIN_SHUTDOWN,
                "terminating connection due to administrator command",
            )),
        ),
    };
    if let Some(e) = message {
        let _ = client_wr
            .write_all(&startup::error_message(&e.fatal()))
            .await;
    }
    let _ = client_wr.shutdown().await;
    Ok((end, reusable))
}

#[cfg(test)]
mod tests;
