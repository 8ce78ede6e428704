//! The worker's Postgres listener: accepts connections, runs the startup handshake,
//! answers cancel requests, and wires each session's thread to its socket.
//!
//! Per connection there are three parts: this task reads and decodes frontend
//! messages, a session thread runs them on DuckDB, and a writer task writes the
//! session's output. The session-to-writer channel is bounded, so a slow reader
//! slows the query down rather than growing memory.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicI32, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::{Buf, BufMut, BytesMut};
use pgwire::messages::{DecodeContext, PgWireFrontendMessage};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, watch};

use crate::duck::Database;
use crate::pg_error::{sqlstate, PgError};
use crate::session::{CancelReason, QueryControl, Session, SessionInit, SessionInput};
use crate::socket_writer::SocketWriter;
use crate::wire;

const SSL_REQUEST: i32 = 80_877_103;
const GSSENC_REQUEST: i32 = 80_877_104;
const CANCEL_REQUEST: i32 = 80_877_102;
/// Largest startup packet accepted (Postgres uses 10000).
const MAX_STARTUP_PACKET: usize = 10_000;
/// Decoded messages queued ahead of a busy session (pipelining).
const INPUT_QUEUE: usize = 256;

/// Sessions by backend pid, for cancel requests.
#[derive(Default)]
struct Registry {
    sessions: Mutex<HashMap<i32, (i32, Arc<QueryControl>)>>,
}

impl Registry {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<i32, (i32, Arc<QueryControl>)>> {
        match self.sessions.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        }
    }
}

/// A running worker: one DuckDB database shared by all sessions.
pub struct Worker {
    db: Arc<Database>,
    registry: Registry,
    next_pid: AtomicI32,
    active: AtomicUsize,
    default_params: Vec<(&'static str, String)>,
}

impl Worker {
    /// `default_params` are session parameter defaults from the configuration
    /// (e.g. `TimeZone`).
    pub fn new(db: Database, default_params: Vec<(&'static str, String)>) -> Arc<Worker> {
        Arc::new(Worker {
            db: Arc::new(db),
            registry: Registry::default(),
            next_pid: AtomicI32::new(std::process::id() as i32 % 10_000 * 1_000 + 1),
            active: AtomicUsize::new(0),
            default_params,
        })
    }

    /// Sessions currently connected.
    pub fn active_sessions(&self) -> usize {
        self.active.load(Ordering::Relaxed)
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

    /// Accepts connections until `shutdown` turns true, then ends every session
    /// (their clients get 57P01) and returns once they are gone.
    pub async fn serve(
        self: Arc<Self>,
        listener: TcpListener,
        mut shutdown: watch::Receiver<bool>,
    ) {
        let mut tasks = tokio::task::JoinSet::new();
        loop {
            tokio::select! {
                accepted = listener.accept() => match accepted {
                    Ok((stream, peer)) => {
                        let worker = self.clone();
                        let shutdown = shutdown.clone();
                        tasks.spawn(async move {
                            if let Err(e) = worker.connection(stream, peer, shutdown).await {
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
        // Sessions see the shutdown themselves; give them a moment to finish.
        let deadline = tokio::time::sleep(Duration::from_secs(10));
        tokio::pin!(deadline);
        loop {
            tokio::select! {
                next = tasks.join_next() => if next.is_none() { break },
                _ = &mut deadline => {
                    tracing::warn!(remaining = tasks.len(), "sessions did not end in time");
                    tasks.abort_all();
                    break;
                }
            }
        }
    }

    async fn connection(
        self: Arc<Self>,
        stream: TcpStream,
        peer: std::net::SocketAddr,
        mut shutdown: watch::Receiver<bool>,
    ) -> std::io::Result<()> {
        stream.set_nodelay(true)?;
        let (mut rd, mut wr) = stream.into_split();
        let Some(startup) = read_startup(&mut rd, &mut wr, &self).await? else {
            return Ok(());
        };
        let user = match startup.iter().find(|(k, _)| k == "user") {
            Some((_, u)) if !u.is_empty() => u.clone(),
            _ => {
                let e = PgError::new(
                    sqlstate::INVALID_AUTHORIZATION,
                    "no PostgreSQL user name specified in startup packet",
                )
                .fatal();
                return write_error(&mut wr, &e).await;
            }
        };
        if startup
            .iter()
            .any(|(k, v)| k == "replication" && v != "false" && v != "0")
        {
            let e = PgError::new(
                sqlstate::FEATURE_NOT_SUPPORTED,
                "replication connections are not supported",
            )
            .fatal();
            return write_error(&mut wr, &e).await;
        }
        let database = startup
            .iter()
            .find(|(k, _)| k == "database")
            .map(|(_, d)| d.clone())
            .unwrap_or_else(|| user.clone());
        let conn = match self.db.connect() {
            Ok(c) => c,
            Err(e) => {
                let e = PgError::new(sqlstate::CONNECTION_EXCEPTION, e.message).fatal();
                return write_error(&mut wr, &e).await;
            }
        };
        // The session thread writes to the socket itself; this task keeps reading.
        let stream = rd
            .reunite(wr)
            .map_err(|e| std::io::Error::other(e.to_string()))?;
        let std_stream = stream.into_std()?;
        let write_half = std_stream.try_clone()?;
        let mut rd = TcpStream::from_std(std_stream)?;
        let closing = Arc::new(AtomicBool::new(false));
        let writer = SocketWriter::new(write_half, closing.clone());

        let pid = self.next_pid.fetch_add(1, Ordering::Relaxed);
        let secret: i32 = rand::random();
        let (in_tx, in_rx) = mpsc::channel::<SessionInput>(INPUT_QUEUE);
        let params: Vec<(String, String)> = startup
            .into_iter()
            .filter(|(k, _)| k != "user" && k != "database" && k != "options")
            .collect();
        let init = SessionInit {
            user,
            database,
            startup_params: params,
            default_params: self.default_params.clone(),
            pid,
            secret,
            client: peer.to_string(),
            runtime: tokio::runtime::Handle::current(),
        };
        let control = Arc::new(QueryControl::new(conn.interrupt_handle()));
        let session_control = control.clone();
        self.registry.lock().insert(pid, (secret, control.clone()));
        self.active.fetch_add(1, Ordering::Relaxed);
        let (done_tx, mut done_rx) = tokio::sync::oneshot::channel::<()>();
        let spawned = std::thread::Builder::new()
            .name(format!("floe-session-{pid}"))
            .spawn(move || {
                Session::new(conn, session_control, init, writer, in_rx).run();
                let _ = done_tx.send(());
            });
        if let Err(e) = spawned {
            self.registry.lock().remove(&pid);
            self.active.fetch_sub(1, Ordering::Relaxed);
            return Err(e);
        }

        // Read and decode frontend messages until the client leaves, the session
        // ends, or the server shuts down.
        let mut ctx = DecodeContext::default();
        ctx.awaiting_frontend_ssl = false;
        ctx.awaiting_frontend_startup = false;
        let mut buf = BytesMut::with_capacity(8 * 1024);
        let mut session_done = false;
        'read: loop {
            loop {
                let input = match PgWireFrontendMessage::decode(&mut buf, &ctx) {
                    Ok(Some(msg)) => SessionInput::Message(msg),
                    Ok(None) => break,
                    Err(e) => SessionInput::Fatal(
                        PgError::new(
                            sqlstate::PROTOCOL_VIOLATION,
                            format!("invalid message: {e}"),
                        )
                        .fatal(),
                    ),
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
        self.active.fetch_sub(1, Ordering::Relaxed);
        Ok(())
    }
}

async fn write_error(wr: &mut tokio::net::tcp::OwnedWriteHalf, e: &PgError) -> std::io::Result<()> {
    let mut b = BytesMut::new();
    wire::error_or_notice(&mut b, e);
    wr.write_all(&b).await?;
    wr.shutdown().await
}

/// Runs the pre-startup exchange: answers SSL and GSS requests with 'N', handles a
/// cancel request, and returns the startup parameters (or `None` if the
/// connection was only a cancel request or was refused).
async fn read_startup(
    rd: &mut tokio::net::tcp::OwnedReadHalf,
    wr: &mut tokio::net::tcp::OwnedWriteHalf,
    worker: &Worker,
) -> std::io::Result<Option<Vec<(String, String)>>> {
    loop {
        let len = rd.read_i32().await?;
        if len < 8 || len as usize > MAX_STARTUP_PACKET {
            let e = PgError::new(
                sqlstate::PROTOCOL_VIOLATION,
                "invalid length of startup packet",
            )
            .fatal();
            write_error(wr, &e).await?;
            return Ok(None);
        }
        let mut body = vec![0u8; len as usize - 4];
        rd.read_exact(&mut body).await?;
        let mut b = &body[..];
        let code = b.get_i32();
        match code {
            SSL_REQUEST | GSSENC_REQUEST => {
                wr.write_all(b"N").await?;
            }
            CANCEL_REQUEST => {
                if b.remaining() >= 8 {
                    let pid = b.get_i32();
                    let secret = b.get_i32();
                    worker.cancel(pid, secret);
                }
                return Ok(None);
            }
            v if v >> 16 == 3 => {
                let minor = v & 0xFFFF;
                let mut params = Vec::new();
                let mut unsupported = Vec::new();
                let mut fields = b.split(|c| *c == 0);
                while let (Some(k), Some(v)) = (fields.next(), fields.next()) {
                    if k.is_empty() {
                        break;
                    }
                    let k = String::from_utf8_lossy(k).into_owned();
                    let v = String::from_utf8_lossy(v).into_owned();
                    if k.starts_with("_pq_.") {
                        unsupported.push(k);
                    } else {
                        params.push((k, v));
                    }
                }
                if minor > 0 || !unsupported.is_empty() {
                    // Protocol 3.x for x > 0: say we speak 3.0.
                    let mut m = BytesMut::new();
                    m.put_u8(b'v');
                    let at = m.len();
                    m.put_i32(0);
                    m.put_i32(0);
                    m.put_i32(unsupported.len() as i32);
                    for o in &unsupported {
                        m.put_slice(o.as_bytes());
                        m.put_u8(0);
                    }
                    let l = (m.len() - at) as i32;
                    m[at..at + 4].copy_from_slice(&l.to_be_bytes());
                    wr.write_all(&m).await?;
                }
                return Ok(Some(params));
            }
            _ => {
                let e = PgError::new(
                    sqlstate::FEATURE_NOT_SUPPORTED,
                    format!(
                        "unsupported frontend protocol {}.{}",
                        code >> 16,
                        code & 0xFFFF
                    ),
                )
                .fatal();
                write_error(wr, &e).await?;
                return Ok(None);
            }
        }
    }
}
