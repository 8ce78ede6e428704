//! The worker's Postgres listener: accepts connections (TCP or unix socket), runs
//! the startup handshake (with the internal token when one is set), answers cancel
//! requests, and wires each session's thread to its socket.
//!
//! Per connection, this task reads and decodes frontend messages and a session
//! thread runs them on DuckDB, writing its output straight to the socket.

use parking_lot::Mutex;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::BytesMut;
use floe_protocol::control::{Control, CONTROL_TAG, MAX_CONTROL};
use floe_protocol::frontend;
use floe_protocol::lake_changes::LakeChange;
use floe_protocol::startup::{self, Opening, StartupPacket};
use floe_protocol::{Listener, Stream};
use pgwire::messages::{DecodeContext, PgWireFrontendMessage};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::{mpsc, watch};

use crate::cache::results::ResultCache;
use crate::engine::duck::Database;
use crate::lake::LakeReader;
use crate::pg_error::{sqlstate, PgError};
use crate::session::{CancelReason, QueryControl, Session, SessionInit, SessionInput};
use crate::wire::socket_writer::SocketWriter;

/// A session thread's stack: enough for walking and dropping the deepest
/// statement tree `floe_sql::policy` allows (reserved, not committed, memory).
const SESSION_STACK: usize = 64 * 1024 * 1024;

/// Sessions a worker admits beyond its limit for the router's own checks and
/// stats (as Postgres reserves connections for superusers).
const RESERVED_SESSIONS: usize = 8;

/// Decoded messages queued ahead of a busy session (pipelining).
const INPUT_QUEUE: usize = 256;

/// Sessions by backend pid, for cancel requests.
#[derive(Default)]
struct Registry {
    sessions: Mutex<HashMap<i32, (i32, Arc<QueryControl>)>>,
}

impl Registry {
    fn lock(&self) -> parking_lot::MutexGuard<'_, HashMap<i32, (i32, Arc<QueryControl>)>> {
        self.sessions.lock()
    }
}

/// A running worker: one DuckDB database shared by all sessions.
pub struct Worker {
    db: Arc<Database>,
    registry: Registry,
    next_pid: AtomicI32,
    default_params: Vec<(&'static str, String)>,
    /// When set, clients must present it as their password (router-to-worker
    /// authentication); the router authenticates end users.
    token: Option<String>,
    lake: Option<Arc<LakeReader>>,
    /// Sessions at once; beyond it (and the reserve) a connection gets 53300.
    max_sessions: usize,
    /// Answers shared by the worker's sessions (`None`: nothing is cached).
    result_cache: Option<Arc<ResultCache>>,
}

impl Worker {
    /// `default_params` are session parameter defaults from the configuration
    /// (e.g. `TimeZone`).
    pub fn new(
        db: Database,
        default_params: Vec<(&'static str, String)>,
        token: Option<String>,
        lake: Option<Arc<LakeReader>>,
        max_sessions: usize,
        result_cache: Option<Arc<ResultCache>>,
    ) -> Arc<Worker> {
        Arc::new(Worker {
            db: Arc::new(db),
            registry: Registry::default(),
            next_pid: AtomicI32::new(std::process::id() as i32 % 10_000 * 1_000 + 1),
            default_params,
            token,
            lake,
            max_sessions,
            result_cache,
        })
    }

    fn cancel(&self, pid: i32, secret: i32) {
        let control = self
            .registry
            .lock()
            .get(&pid)
            .filter(|(s, _)| *s == secret)
            .map(|(_, c)| c.clone());
        match control {
            Some(c) => {
                tracing::info!(pid, "cancel request");
                c.cancel(CancelReason::User);
            }
            None => tracing::debug!(pid, "cancel request for unknown session"),
        }
    }

    async fn connection(
        self: Arc<Self>,
        mut stream: Stream,
        peer: String,
        mut shutdown: watch::Receiver<bool>,
    ) -> std::io::Result<()> {
        let Some(startup) = self.startup(&mut stream).await? else {
            return Ok(());
        };
        let user = match StartupPacket::user(&startup) {
            Ok(user) => user,
            Err(e) => return write_error(&mut stream, &e.fatal()).await,
        };
        if StartupPacket::param(&startup, "replication").is_some_and(|v| v != "false" && v != "0") {
            let e = PgError::new(
                sqlstate::FEATURE_NOT_SUPPORTED,
                "replication connections are not supported",
            )
            .fatal();
            return write_error(&mut stream, &e).await;
        }
        if let Some(token) = &self.token {
            if !authenticate_token(&mut stream, token).await? {
                let e = PgError::new(
                    sqlstate::INVALID_PASSWORD,
                    format!("password authentication failed for user \"{user}\""),
                )
                .fatal();
                return write_error(&mut stream, &e).await;
            }
        }
        let database = StartupPacket::param(&startup, "database")
            .unwrap_or(&user)
            .to_string();
        if self.registry.lock().len() >= self.max_sessions + RESERVED_SESSIONS {
            let e = PgError::new(
                sqlstate::TOO_MANY_CONNECTIONS,
                "sorry, too many clients already",
            )
            .fatal();
            return write_error(&mut stream, &e).await;
        }
        let conn = match self.db.connect() {
            Ok(c) => c,
            Err(e) => {
                let e = PgError::new(sqlstate::CONNECTION_EXCEPTION, e.message).fatal();
                return write_error(&mut stream, &e).await;
            }
        };
        // The session thread writes to the socket itself; this task keeps reading.
        let (mut rd, write_half) = stream.into_async_and_std()?;
        let closing = Arc::new(AtomicBool::new(false));
        let writer = SocketWriter::new(write_half, closing.clone());

        let pid = self.next_pid.fetch_add(1, Ordering::Relaxed);
        let secret: i32 = rand::random();
        let (in_tx, in_rx) = mpsc::channel::<SessionInput>(INPUT_QUEUE);
        // Identity is the router's to give (a control message), never a
        // startup parameter's.
        let params: Vec<(String, String)> = startup
            .into_iter()
            .filter(|(k, _)| k != "user" && k != "database" && !k.starts_with("floe."))
            .collect();
        let init = SessionInit {
            user,
            database,
            startup_params: params,
            default_params: self.default_params.clone(),
            pid,
            secret,
            // The token holder is the router itself until it hands the session on.
            superuser: self.token.is_some(),
            client: peer,
            runtime: tokio::runtime::Handle::current(),
            lake: self.lake.clone(),
            reports_lake_changes: self.token.is_some(),
            result_cache: self.result_cache.clone(),
        };
        let control = Arc::new(QueryControl::new(conn.interrupt_handle()));
        let session_control = control.clone();
        self.registry.lock().insert(pid, (secret, control.clone()));
        let (done_tx, mut done_rx) = tokio::sync::oneshot::channel::<()>();
        let spawned = std::thread::Builder::new()
            .name(format!("floe-session-{pid}"))
            // Room for the deepest statement the SQL policy lets through.
            .stack_size(SESSION_STACK)
            .spawn(move || {
                Session::new(conn, session_control, init, writer, in_rx).run();
                let _ = done_tx.send(());
            });
        if let Err(e) = spawned {
            self.registry.lock().remove(&pid);
            return Err(e);
        }

        // Read and decode frontend messages until the client leaves, the session
        // ends, or the server shuts down.
        let mut ctx = DecodeContext::default();
        ctx.awaiting_frontend_ssl = false;
        ctx.awaiting_frontend_startup = false;
        let mut buf = BytesMut::with_capacity(8 * 1024);
        let mut session_done = false;
        // The router's analysis travels with the Query or Parse after it.
        let mut analysis: Option<Control> = None;
        'read: loop {
            loop {
                let Some(input) = next_input(&mut buf, &ctx, self.token.is_some()) else {
                    break;
                };
                let input = match (input, analysis.take()) {
                    (SessionInput::Control(c @ Control::Analysed { .. }), _) => {
                        analysis = Some(c);
                        continue;
                    }
                    // Applied before any later message reaches the session, so
                    // the next statement reads what other workers committed.
                    (SessionInput::Control(Control::LakeChanged(changes)), pending) => {
                        if let Some(lake) = &self.lake {
                            lake.lakehouse().apply_changes(&changes);
                        }
                        if let Some(cache) = &self.result_cache {
                            for change in &changes {
                                if let LakeChange::ResultCacheCleared { at_ms } = change {
                                    cache.clear_once(*at_ms);
                                }
                            }
                        }
                        analysis = pending;
                        continue;
                    }
                    (
                        SessionInput::Message(
                            message @ (PgWireFrontendMessage::Query(_)
                            | PgWireFrontendMessage::Parse(_)),
                        ),
                        Some(analysis),
                    ) => SessionInput::Analysed { analysis, message },
                    (input, _) => input,
                };
                let last = matches!(
                    input,
                    SessionInput::Fatal(_)
                        | SessionInput::Message(PgWireFrontendMessage::Terminate(_))
                );
                if last {
                    control.cancel(CancelReason::ClientGone);
                }
                tokio::select! {
                    sent = in_tx.send(input) => if sent.is_err() { break 'read },
                    _ = &mut done_rx => { session_done = true; break 'read }
                }
                if last {
                    break 'read;
                }
            }
            tokio::select! {
                n = rd.read_buf(&mut buf) => match n {
                    Ok(0) | Err(_) => {
                        control.cancel(CancelReason::ClientGone);
                        closing.store(true, Ordering::Relaxed);
                        break 'read;
                    }
                    Ok(_) => {}
                },
                _ = &mut done_rx => { session_done = true; break 'read }
                _ = shutdown.changed() => {
                    control.cancel(CancelReason::User);
                    let err = PgError::new(sqlstate::ADMIN_SHUTDOWN, "terminating connection due to administrator command").fatal();
                    let _ = in_tx.send(SessionInput::Fatal(err)).await;
                    break 'read;
                }
            }
        }
        // Closing the input ends the session loop; wait for it to finish.
        drop(in_tx);
        if !session_done {
            let _ = done_rx.await;
        }
        self.registry.lock().remove(&pid);
        Ok(())
    }

    /// Accepts connections until `shutdown` turns true, then ends every session
    /// (their clients get 57P01) and returns once they are gone.
    pub async fn serve(self: Arc<Self>, listener: Listener, shutdown: watch::Receiver<bool>) {
        // Sessions see the shutdown themselves; they get 10 s to finish.
        let handle = move |stream, peer, shutdown| self.clone().connection(stream, peer, shutdown);
        let grace = Duration::from_secs(10);
        floe_protocol::serve::accept_until(listener, shutdown, grace, handle).await;
    }
}

/// Takes the next whole message off `buf`: a frontend message, or a control
/// message from the router (only on a connection that presented the internal
/// token; anywhere else it is a protocol violation that ends the session).
fn next_input(buf: &mut BytesMut, ctx: &DecodeContext, trusted: bool) -> Option<SessionInput> {
    let violation =
        |m: String| SessionInput::Fatal(PgError::new(sqlstate::PROTOCOL_VIOLATION, m).fatal());
    if buf.first() == Some(&CONTROL_TAG) {
        if !trusted {
            return Some(violation(format!(
                "invalid frontend message type {CONTROL_TAG}"
            )));
        }
        if buf.len() < 5 {
            return None;
        }
        let len = i32::from_be_bytes([buf[1], buf[2], buf[3], buf[4]]);
        if len < 4 || len as usize > MAX_CONTROL {
            return Some(violation(format!("invalid control message length {len}")));
        }
        if buf.len() < 1 + len as usize {
            return None;
        }
        let message = buf.split_to(1 + len as usize);
        return Some(match Control::decode(&message[5..]) {
            Ok(c) => SessionInput::Control(c),
            Err(e) => violation(e.to_string()),
        });
    }
    // The body's shape is checked before the decoder reads it, so no count or
    // length in it can send the decoder past its end.
    if buf.len() >= 5 {
        let len = i32::from_be_bytes([buf[1], buf[2], buf[3], buf[4]]);
        if len < 4 {
            return Some(violation(format!("invalid message length {len}")));
        }
        let total = 1 + len as usize;
        if buf.len() >= total {
            if let Err(e) = frontend::check_body(buf[0], &buf[5..total]) {
                return Some(violation(e.to_string()));
            }
        }
    }
    match PgWireFrontendMessage::decode(buf, ctx) {
        Ok(Some(msg)) => Some(SessionInput::Message(msg)),
        Ok(None) => None,
        Err(e) => Some(violation(format!("invalid message: {e}"))),
    }
}

async fn write_error(stream: &mut Stream, e: &PgError) -> std::io::Result<()> {
    stream.write_all(&startup::error_message(e)).await?;
    stream.shutdown().await
}

/// Asks for the password and checks it against the internal token.
async fn authenticate_token(stream: &mut Stream, token: &str) -> std::io::Result<bool> {
    stream
        .write_all(&startup::request_cleartext_password())
        .await?;
    let tag = stream.read_u8().await?;
    let len = stream.read_i32().await?;
    if tag != b'p' || !(5..=1024).contains(&len) {
        return Ok(false);
    }
    let mut body = vec![0u8; len as usize - 4];
    stream.read_exact(&mut body).await?;
    let given = body.strip_suffix(&[0]).unwrap_or(&body);
    // Compare in constant time so the token cannot be guessed byte by byte.
    let want = token.as_bytes();
    let mut diff = given.len() ^ want.len();
    for (i, w) in want.iter().enumerate() {
        diff |= usize::from(given.get(i).copied().unwrap_or(0) ^ w);
    }
    Ok(diff == 0)
}

impl Worker {
    /// Runs the pre-startup exchange: answers SSL and GSS requests with 'N', handles
    /// a cancel request, and returns the startup parameters (or `None` if the
    /// connection was only a cancel request or was refused).
    async fn startup(&self, stream: &mut Stream) -> std::io::Result<Option<Vec<(String, String)>>> {
        match startup::opening(stream, None, None).await? {
            Opening::Startup(params) => Ok(Some(params)),
            Opening::Cancel { pid, secret } => {
                self.cancel(pid, secret);
                Ok(None)
            }
            Opening::Invalid(e) => {
                write_error(stream, &e).await?;
                Ok(None)
            }
        }
    }
}
