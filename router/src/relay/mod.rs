//! Relaying a client session to its worker: whole frames passed both ways without
//! decoding rows (`pump`), the client's Query and Parse messages put through the
//! policy and rewrites on the way (`gate`, `crate::compat`), the session observed
//! for metrics and `pg_stat_activity` (`observe`), and a lone session's wait for
//! its answer spun rather than slept (`spin`), and lake changes carried between
//! workers (`freshness`). [`relay`] runs until one side ends
//! and says whether the worker session is fit for the next client.

pub mod freshness;
pub mod gate;
pub mod observe;
pub mod pump;
pub mod spin;

use std::os::fd::{AsFd, OwnedFd};
use std::sync::Arc;

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
use pump::{pump, Side};
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

/// Relays frames both ways until one side ends. `lake_seen` is where in
/// `ctx.lake_changes` the worker session's news ends.
pub async fn relay<S: AsyncRead + AsyncWrite + Unpin>(
    client: S,
    client_fd: Option<OwnedFd>,
    backend: &mut Stream,
    lake_seen: &mut u64,
    mut shutdown: watch::Receiver<bool>,
    ctx: &RelayContext<'_>,
    info: &Arc<SessionInfo>,
) -> std::io::Result<(SessionEnd, bool)> {
    let _relayed = ctx.spin.session();
    let backend_fd = own_fd(&*backend);
    let observer = Observer {
        metrics: ctx.metrics,
        info,
        pending: parking_lot::Mutex::new(None),
        parsed: parking_lot::Mutex::new(String::new()),
    };
    // Statements about sessions (pg_stat_activity, pg_cancel_backend, …) are
    // answered from the router's view of all sessions; Postgres-isms DuckDB lacks
    // are rewritten. Texts known to need neither are remembered.
    let mut plain: std::collections::HashSet<String> = std::collections::HashSet::new();
    let mut rewrite = |sql: &str| -> Rewritten {
        if plain.contains(sql) {
            return Rewritten::Same;
        }
        let mut current: Option<String> = None;
        if activity::mentions(sql) {
            let r = activity::rewrite(
                sql,
                ctx.activity,
                (info.pid, &info.user, info.superuser),
                ctx.admin,
            );
            match r {
                Ok(new) => current = new,
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
            Some(new) => Rewritten::Text(new),
            None => Rewritten::Same,
        }
    };
    let (mut client_rd, mut client_wr) = tokio::io::split(client);
    let (mut backend_rd, mut backend_wr) = tokio::io::split(backend);
    enum Outcome {
        Client(std::io::Result<bool>),
        Worker(std::io::Result<bool>),
        Shutdown,
        Terminated,
    }
    let mut gate = SqlGate::new(PolicyContext::for_database(&info.database));
    let outcome = {
        let upstream = pump(
            &mut client_rd,
            &mut backend_wr,
            Side::ToWorker {
                gate: &mut gate,
                rewrite: &mut rewrite,
                lake: ctx.lake_changes,
                seen: lake_seen,
            },
            &observer,
            backend_fd.as_ref().map(|fd| (ctx.spin, fd.as_fd())),
            ctx.max_message_bytes,
        );
        let downstream = pump(
            &mut backend_rd,
            &mut client_wr,
            Side::ToClient {
                lake: ctx.lake_changes,
            },
            &observer,
            client_fd.as_ref().map(|fd| (ctx.spin, fd.as_fd())),
            frame::MAX_MESSAGE,
        );
        tokio::select! {
            r = upstream => Outcome::Client(r),
            r = downstream => Outcome::Worker(r),
            _ = shutdown.changed() => Outcome::Shutdown,
            _ = info.terminate.notified() => Outcome::Terminated,
        }
    };
    // A client that left cleanly, with nothing running and no transaction open,
    // leaves a worker session fit for the next client; otherwise closing the
    // worker side ends it (and interrupts its query).
    let idle = observer.pending.lock().is_none() && info.live().state == "idle";
    let reusable = matches!(outcome, Outcome::Client(Ok(_))) && idle;
    if !reusable {
        let _ = backend_wr.shutdown().await;
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
        Outcome::Worker(Ok(last_was_error)) => (
            SessionEnd::WorkerGone,
            (!last_was_error).then(|| {
                PgError::new(
                    sqlstate::ADMIN_SHUTDOWN,
                    "terminating connection because its Floe worker exited",
                )
            }),
        ),
        Outcome::Worker(Err(_)) => (SessionEnd::ClientGone, None),
        Outcome::Shutdown | Outcome::Terminated => (
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
