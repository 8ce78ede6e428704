//! The client-facing listener and the per-session relay.
//!
//! A client session is pinned to one worker connection for its life. Messages are
//! relayed in both directions as whole frames, never decoded and re-encoded: the
//! router only looks at the type byte (and at ReadyForQuery's status) as the frames
//! pass. A worker that goes away ends only its own sessions, each with a Postgres
//! error; new sessions go to the healthy workers.

use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use bytes::{BufMut, BytesMut};
use floe_protocol::frame;
use floe_protocol::startup::{self, StartupPacket};
use floe_protocol::{sqlstate, Listener, PgError, Stream};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::{watch, Notify};

use crate::activity::{self, Activity, AdminAction, LiveState, SessionInfo};
use crate::auth::{self, AuthConfig, AuthMethod};
use crate::backend::{self, BackendError};
use crate::cancel::{CancelRegistry, WorkerKey};
use crate::limits::{self, ConnectionCount, ConnectionSlot, Limits, LoginThrottle};
use crate::metrics::Metrics;
use crate::policy::{self, PolicyContext, Refusal, Rewritten, SqlGate};
use crate::pool::{new_pool, trim_idle, BackendPool};
use crate::rewrite;
use crate::spin::SpinWait;
use crate::workers::{WorkerSet, WorkerSlot};

/// Read buffer per direction; frames larger than this are read in several steps.
const RELAY_BUFFER: usize = 64 * 1024;

/// How the router is set up.
#[derive(Clone, Default)]
pub struct RouterConfig {
    /// The internal token workers require (none for workers that require none).
    pub worker_token: Option<String>,
    pub auth: AuthConfig,
    /// Database names clients may connect to; others get 3D000.
    pub databases: Vec<String>,
    /// TLS for clients that ask for it (SSLRequest); `None` answers 'N'.
    pub tls: Option<tokio_rustls::TlsAcceptor>,
    /// Refuse clients that do not use TLS.
    pub require_tls: bool,
    /// How long a session relayed alone spins for the next bytes instead of
    /// sleeping (zero: never).
    pub spin: Duration,
    pub limits: Limits,
}

/// One worker's counters, as `FLOE STATS` reported them.
pub struct WorkerStats {
    pub worker: String,
    pub values: Vec<(String, u64)>,
}

pub struct Router {
    workers: WorkerSet,
    /// One pool of worker sessions per worker, in the order of `workers.slots()`.
    pools: Vec<BackendPool>,
    cancels: CancelRegistry,
    config: RouterConfig,
    metrics: Arc<Metrics>,
    activity: Activity,
    spin: SpinWait,
    connections: ConnectionCount,
    logins: LoginThrottle,
}

impl Router {
    pub fn new(workers: WorkerSet, config: RouterConfig) -> Arc<Router> {
        let pools: Vec<BackendPool> = workers
            .slots()
            .iter()
            .map(|s| {
                new_pool(
                    s.addr.clone(),
                    config.worker_token.clone(),
                    config.limits.sessions_per_worker,
                )
            })
            .collect();
        tokio::spawn(trim_idle(pools.clone()));
        Arc::new(Router {
            pools,
            workers,
            cancels: CancelRegistry::new(),
            spin: SpinWait::new(config.spin),
            config,
            metrics: Metrics::new(),
            activity: Activity::default(),
            connections: ConnectionCount::default(),
            logins: LoginThrottle::default(),
        })
    }

    fn pool_for(&self, slot: &Arc<WorkerSlot>) -> &BackendPool {
        let i = self
            .workers
            .slots()
            .iter()
            .position(|s| Arc::ptr_eq(s, slot))
            .unwrap_or(0);
        &self.pools[i]
    }

    pub fn workers(&self) -> &WorkerSet {
        &self.workers
    }

    pub fn metrics(&self) -> &Arc<Metrics> {
        &self.metrics
    }

    /// Each healthy worker's counters (SSD cache), asked over a pooled session;
    /// a worker that does not answer within a second is left out.
    pub async fn worker_stats(&self) -> Vec<WorkerStats> {
        let mut all = Vec::new();
        for (slot, pool) in self.workers.slots().iter().zip(&self.pools) {
            if !slot.is_healthy() {
                continue;
            }
            let asked = tokio::time::timeout(Duration::from_secs(1), async {
                let mut backend = pool.get().await.ok()?;
                match crate::backend::stats(&mut backend).await {
                    Ok(pairs) => Some(pairs),
                    Err(_) => {
                        backend.broken = true;
                        None
                    }
                }
            })
            .await;
            if let Ok(Some(pairs)) = asked {
                let values = pairs
                    .into_iter()
                    .filter_map(|(k, v)| Some((k, v.parse().ok()?)))
                    .collect();
                all.push(WorkerStats {
                    worker: slot.addr.to_string(),
                    values,
                });
            }
        }
        all
    }

    /// Accepts clients until `shutdown` turns true, then waits (up to 15 s) for
    /// open sessions to end.
    pub async fn serve(self: Arc<Self>, listener: Listener, shutdown: watch::Receiver<bool>) {
        let handler_shutdown = shutdown.clone();
        floe_protocol::serve::accept_until(
            listener,
            shutdown,
            Duration::from_secs(15),
            move |stream, peer| {
                let router = self.clone();
                let shutdown = handler_shutdown.clone();
                async move {
                    if let Err(e) = router.client(stream, peer.clone(), shutdown).await {
                        tracing::debug!(%peer, error = %e, "client connection ended with an error");
                    }
                }
            },
        )
        .await;
    }

    async fn client(
        self: Arc<Self>,
        mut client: Stream,
        peer: String,
        shutdown: watch::Receiver<bool>,
    ) -> std::io::Result<()> {
        // Everything up to a finished authentication has authentication_timeout.
        let deadline = tokio::time::Instant::now() + self.config.limits.authentication_timeout;
        let slot = self
            .connections
            .try_open(self.config.limits.max_connections);
        // The first packet may ask for TLS; everything after runs over it.
        match within(deadline, startup::read_startup_packet(&mut client)).await? {
            StartupPacket::SslRequest => match &self.config.tls {
                Some(acceptor) => {
                    client.write_all(b"S").await?;
                    let tls = within(deadline, acceptor.accept(client)).await?;
                    self.session(tls, handshake(true, None, peer, deadline, slot), shutdown)
                        .await
                }
                None => {
                    client.write_all(b"N").await?;
                    let fd = own_fd(&client);
                    self.session(client, handshake(false, fd, peer, deadline, slot), shutdown)
                        .await
                }
            },
            StartupPacket::GssEncRequest => {
                client.write_all(b"N").await?;
                let fd = own_fd(&client);
                self.session(client, handshake(false, fd, peer, deadline, slot), shutdown)
                    .await
            }
            first => {
                let hs = handshake(false, own_fd(&client), peer, deadline, slot);
                self.session_after(client, hs, shutdown, first).await
            }
        }
    }

    async fn session<S>(
        self: Arc<Self>,
        mut client: S,
        hs: Handshake,
        shutdown: watch::Receiver<bool>,
    ) -> std::io::Result<()>
    where
        S: AsyncRead + AsyncWrite + Unpin + Send,
    {
        let first = within(hs.deadline, startup::read_startup_packet(&mut client)).await?;
        self.session_after(client, hs, shutdown, first).await
    }

    async fn session_after<S>(
        self: Arc<Self>,
        mut client: S,
        hs: Handshake,
        shutdown: watch::Receiver<bool>,
        first: StartupPacket,
    ) -> std::io::Result<()>
    where
        S: AsyncRead + AsyncWrite + Unpin + Send,
    {
        let Handshake {
            tls,
            client_fd,
            peer,
            deadline,
            slot,
        } = hs;
        let mut packet = first;
        let params = loop {
            match packet {
                StartupPacket::SslRequest | StartupPacket::GssEncRequest => {
                    // A second encryption request (after 'N') is answered 'N' again.
                    client.write_all(b"N").await?;
                }
                StartupPacket::Cancel { pid, secret } => {
                    self.forward_cancel(pid, secret).await;
                    return Ok(());
                }
                StartupPacket::Startup {
                    minor,
                    params,
                    unsupported,
                } => {
                    if minor > 0 || !unsupported.is_empty() {
                        client
                            .write_all(&startup::negotiate_protocol_version(&unsupported))
                            .await?;
                    }
                    break params;
                }
                StartupPacket::Invalid(e) => return fatal(&mut client, &e).await,
            }
            packet = within(deadline, startup::read_startup_packet(&mut client)).await?;
        };
        // As Postgres: a connection over the limit learns so after its startup packet.
        let Some(_slot) = slot else {
            let e = PgError::new(
                sqlstate::TOO_MANY_CONNECTIONS,
                "sorry, too many clients already",
            );
            return fatal(&mut client, &e.fatal()).await;
        };
        let user = match StartupPacket::param(&params, "user") {
            Some(u) if !u.is_empty() => u.to_string(),
            _ => {
                let e = PgError::new(
                    sqlstate::INVALID_AUTHORIZATION,
                    "no PostgreSQL user name specified in startup packet",
                );
                return fatal(&mut client, &e.fatal()).await;
            }
        };

        let database = StartupPacket::param(&params, "database")
            .unwrap_or(&user)
            .to_string();
        // On the trust-on-loopback default any database name connects (psql's
        // default is the OS user's name); with users configured, only known ones.
        let open_door =
            self.config.auth.method == AuthMethod::Trust && self.config.auth.users.is_empty();
        if !open_door && !self.config.databases.contains(&database) {
            let e = PgError::new(
                sqlstate::INVALID_CATALOG_NAME,
                format!("database \"{database}\" does not exist"),
            );
            return fatal(&mut client, &e.fatal()).await;
        }
        let auth = &self.config.auth;
        if auth.method == AuthMethod::Trust
            && !auth.users.is_empty()
            && !auth.users.contains_key(&user)
        {
            let e = PgError::new(
                sqlstate::INVALID_AUTHORIZATION,
                format!("role \"{user}\" does not exist"),
            );
            return fatal(&mut client, &e.fatal()).await;
        }
        if self.config.require_tls && !tls {
            let e = PgError::new(
                sqlstate::INVALID_AUTHORIZATION,
                format!("no pg_hba.conf entry for host \"{peer}\", user \"{user}\", database \"{database}\", SSL off"),
            );
            return fatal(&mut client, &e.fatal()).await;
        }
        let address = limits::peer_ip(&peer);
        if !self.logins.allowed(address, &self.config.limits) {
            tracing::warn!(%user, client = %peer, "login refused: too many failed attempts");
            let e = PgError::new(
                sqlstate::INVALID_AUTHORIZATION,
                "too many failed authentication attempts from this address; try again later",
            );
            return fatal(&mut client, &e.fatal()).await;
        }
        let authenticated = match tokio::time::timeout_at(
            deadline,
            auth::authenticate(&mut client, auth, &user, tls),
        )
        .await
        {
            Ok(r) => r,
            // Postgres closes the connection when authentication_timeout passes.
            Err(_) => {
                tracing::info!(%user, client = %peer, "authentication timed out");
                return client.shutdown().await;
            }
        };
        if let Err(e) = authenticated {
            self.logins.failed(address, &self.config.limits);
            tracing::info!(%user, client = %peer, error = %e.message, "authentication failed");
            self.metrics
                .auth_failures_total
                .fetch_add(1, Ordering::Relaxed);
            return fatal(&mut client, &e).await;
        }

        let superuser = match self.config.auth.method {
            AuthMethod::Trust => self
                .config
                .auth
                .users
                .get(&user)
                .is_none_or(|u| u.superuser),
            _ => self
                .config
                .auth
                .users
                .get(&user)
                .is_some_and(|u| u.superuser),
        };
        // Identity comes only from authentication; the client's own startup
        // parameters never name it (user and database travel in the identity).
        let identity = backend::Identity {
            user: user.clone(),
            database: database.clone(),
            superuser,
        };
        let session_params: Vec<(String, String)> = params
            .iter()
            .filter(|(k, _)| k != "user" && k != "database" && !k.starts_with("floe."))
            .cloned()
            .collect();
        // Pin the session to the least-loaded healthy worker that accepts it.
        let mut chosen = None;
        let mut full = false;
        'workers: for slot in self.workers.candidates() {
            let pool = self.pool_for(&slot);
            // A pooled session may belong to a worker that has since restarted:
            // retry with fresh ones before giving up on the worker.
            for _ in 0..3 {
                let mut backend = match pool.get().await {
                    Ok(b) => b,
                    Err(deadpool::managed::PoolError::Timeout(_)) => {
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
                match backend::begin_session(&mut backend, &identity, &session_params).await {
                    Ok(status) => {
                        chosen = Some((slot, backend, status));
                        break 'workers;
                    }
                    Err(BackendError::Refused(msg)) => {
                        client.write_all(&msg).await?;
                        return client.shutdown().await;
                    }
                    Err(_) => {
                        let _ = deadpool::managed::Object::take(backend);
                    }
                }
            }
        }
        let Some((slot, mut backend, parameter_status)) = chosen else {
            if full {
                let e = PgError::new(
                    sqlstate::TOO_MANY_CONNECTIONS,
                    "sorry, too many clients already",
                );
                return fatal(&mut client, &e.fatal()).await;
            }
            let e = PgError::new(
                sqlstate::CANNOT_CONNECT_NOW,
                "no Floe worker is available; try again shortly",
            );
            return fatal(&mut client, &e.fatal()).await;
        };
        let lease = self.workers.lease(&slot);
        let worker_pid = backend.pid;
        let worker_key = WorkerKey {
            addr: slot.addr.clone(),
            pid: backend.pid,
            secret: backend.secret,
        };
        let (pid, secret) = self.cancels.register(worker_key.clone());
        let info = Arc::new(SessionInfo {
            pid,
            user: user.clone(),
            database: database.clone(),
            client_addr: peer.clone(),
            backend_start: SystemTime::now(),
            superuser,
            worker: worker_key,
            terminate: Notify::new(),
            live: parking_lot::Mutex::new(LiveState {
                application_name: StartupPacket::param(&params, "application_name")
                    .unwrap_or("")
                    .to_string(),
                state: "idle",
                query: String::new(),
                query_start: None,
            }),
        });
        self.activity.register(info.clone());
        self.metrics.sessions_total.fetch_add(1, Ordering::Relaxed);
        self.metrics.sessions_active.fetch_add(1, Ordering::Relaxed);
        let started = Instant::now();

        let mut hello = BytesMut::new();
        hello.put_u8(b'R');
        hello.put_i32(8);
        hello.put_i32(0);
        for s in &parameter_status {
            hello.extend_from_slice(s);
        }
        hello.put_u8(b'K');
        hello.put_i32(12);
        hello.put_i32(pid);
        hello.put_i32(secret);
        hello.put_u8(b'Z');
        hello.put_i32(5);
        hello.put_u8(b'I');
        let result = match client.write_all(&hello).await {
            Ok(()) => {
                relay(
                    client,
                    client_fd,
                    &mut backend.stream,
                    shutdown,
                    &self,
                    &info,
                )
                .await
            }
            Err(e) => Err(e),
        };
        // A worker session the client left cleanly and idle goes back to the pool.
        let reusable = matches!(result, Ok((SessionEnd::ClientGone, true)));
        let result = result.map(|(end, _)| end);
        if reusable && backend::reset_session(&mut backend).await.is_ok() {
            drop(backend);
        } else {
            let mut gone = deadpool::managed::Object::take(backend);
            gone.broken = true;
            let _ = gone.stream.shutdown().await;
        }

        self.cancels.unregister(pid);
        self.activity.unregister(pid);
        self.metrics.sessions_active.fetch_sub(1, Ordering::Relaxed);
        tracing::info!(
            pid,
            %user,
            client = %peer,
            worker = %lease.slot().addr,
            worker_pid = worker_pid,
            duration_ms = started.elapsed().as_millis() as u64,
            ended = ?result.as_ref().map(|e| *e).unwrap_or(SessionEnd::ClientGone),
            "client session ended"
        );
        if matches!(result, Ok(SessionEnd::WorkerGone)) {
            // The worker may be dead: let the next sessions go elsewhere until a
            // health check finds it back.
            if slot.addr.connect().await.is_err() {
                slot.mark(false);
            }
        }
        drop(lease);
        result.map(|_| ())
    }

    /// Carries out pg_cancel_backend / pg_terminate_backend for `caller`: allowed
    /// on one's own sessions, or on any for a superuser.
    fn admin(&self, caller: &SessionInfo, action: AdminAction, pid: i32) -> Result<bool, String> {
        let Some(target) = self.activity.get(pid) else {
            return Ok(false);
        };
        if !caller.superuser && caller.user != target.user {
            return Err(match action {
                AdminAction::Cancel => "must be a superuser or have privileges of the role whose query is being canceled",
                AdminAction::Terminate => "must be a superuser or have privileges of the role whose process is being terminated",
            }
            .to_string());
        }
        match action {
            AdminAction::Cancel => {
                let key = target.worker.clone();
                tokio::spawn(async move {
                    if let Err(e) = backend::cancel(&key.addr, key.pid, key.secret).await {
                        tracing::warn!(worker = %key.addr, error = %e, "could not forward cancel request");
                    }
                });
            }
            AdminAction::Terminate => target.terminate.notify_one(),
        }
        tracing::info!(pid, by = caller.pid, ?action, "admin function");
        Ok(true)
    }

    async fn forward_cancel(&self, pid: i32, secret: i32) {
        match self.cancels.lookup(pid, secret) {
            Some(key) => {
                tracing::info!(pid, worker = %key.addr, "cancel request");
                if let Err(e) = backend::cancel(&key.addr, key.pid, key.secret).await {
                    tracing::warn!(worker = %key.addr, error = %e, "could not forward cancel request");
                }
            }
            None => tracing::debug!(pid, "cancel request for unknown session"),
        }
    }
}

/// What a connection carries from accept to its startup packet.
struct Handshake {
    tls: bool,
    client_fd: Option<OwnedFd>,
    peer: String,
    deadline: tokio::time::Instant,
    slot: Option<ConnectionSlot>,
}

fn handshake(
    tls: bool,
    client_fd: Option<OwnedFd>,
    peer: String,
    deadline: tokio::time::Instant,
    slot: Option<ConnectionSlot>,
) -> Handshake {
    Handshake {
        tls,
        client_fd,
        peer,
        deadline,
        slot,
    }
}

/// Runs `f` until `deadline`; past it the connection is dropped (as Postgres does
/// when authentication_timeout passes).
async fn within<T, E>(
    deadline: tokio::time::Instant,
    f: impl std::future::Future<Output = Result<T, E>>,
) -> std::io::Result<T>
where
    E: Into<std::io::Error>,
{
    match tokio::time::timeout_at(deadline, f).await {
        Ok(r) => r.map_err(Into::into),
        Err(_) => Err(std::io::Error::new(
            std::io::ErrorKind::TimedOut,
            "authentication timeout",
        )),
    }
}

/// How a relayed session ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionEnd {
    /// The client terminated or disconnected.
    ClientGone,
    /// The worker connection closed or failed.
    WorkerGone,
    Shutdown,
}

async fn fatal<S: AsyncWrite + Unpin>(client: &mut S, e: &PgError) -> std::io::Result<()> {
    client.write_all(&startup::error_message(e)).await?;
    client.shutdown().await
}

/// Relays frames both ways until one side ends.
async fn relay<S: AsyncRead + AsyncWrite + Unpin>(
    client: S,
    client_fd: Option<OwnedFd>,
    backend: &mut Stream,
    mut shutdown: watch::Receiver<bool>,
    router: &Router,
    info: &Arc<SessionInfo>,
) -> std::io::Result<(SessionEnd, bool)> {
    let _relayed = router.spin.session();
    let backend_fd = own_fd(&*backend);
    let observer = Observer {
        metrics: &router.metrics,
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
                &router.activity,
                (info.pid, &info.user, info.superuser),
                |action, pid| router.admin(info, action, pid),
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
            Direction::ToWorker,
            &observer,
            Some((&mut gate, &mut rewrite)),
            backend_fd.as_ref().map(|fd| (&router.spin, fd.as_fd())),
            router.config.limits.max_message_bytes,
        );
        let downstream = pump(
            &mut backend_rd,
            &mut client_wr,
            Direction::ToClient,
            &observer,
            None,
            client_fd.as_ref().map(|fd| (&router.spin, fd.as_fd())),
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

/// Watches frames go by for metrics: queries, errors by SQLSTATE, and the time
/// from a request to the ReadyForQuery that ends it.
struct Observer<'a> {
    metrics: &'a Metrics,
    info: &'a SessionInfo,
    pending: parking_lot::Mutex<Option<Instant>>,
    /// SQL of the last Parse, shown as the query when it is executed.
    parsed: parking_lot::Mutex<String>,
}

impl Observer<'_> {
    fn see(&self, dir: Direction, buf: &[u8], frames: &[frame::FrameInfo]) {
        for f in frames {
            match (dir, f.tag) {
                (Direction::ToWorker, b'Q' | b'E') => {
                    let (counter, query) = if f.tag == b'Q' {
                        let body = frame::body(buf, f);
                        let end = body.iter().position(|b| *b == 0).unwrap_or(body.len());
                        (
                            &self.metrics.queries_simple,
                            String::from_utf8_lossy(&body[..end]).into_owned(),
                        )
                    } else {
                        (&self.metrics.queries_extended, self.parsed.lock().clone())
                    };
                    counter.fetch_add(1, Ordering::Relaxed);
                    let mut live = self.info.live();
                    live.state = "active";
                    live.query = query;
                    live.query_start = Some(SystemTime::now());
                    drop(live);
                    self.start();
                }
                (Direction::ToWorker, b'P') => {
                    let body = frame::body(buf, f);
                    let name_end = body.iter().position(|b| *b == 0).unwrap_or(body.len());
                    let rest = body.get(name_end + 1..).unwrap_or(&[]);
                    let end = rest.iter().position(|b| *b == 0).unwrap_or(rest.len());
                    *self.parsed.lock() = String::from_utf8_lossy(&rest[..end]).into_owned();
                    self.start();
                }
                (Direction::ToWorker, b'B' | b'S') => self.start(),
                (Direction::ToClient, b'S') => {
                    // ParameterStatus: keep application_name current.
                    let body = frame::body(buf, f);
                    if let Some(value) = body.strip_prefix(b"application_name\0") {
                        let end = value.iter().position(|b| *b == 0).unwrap_or(value.len());
                        self.info.live().application_name =
                            String::from_utf8_lossy(&value[..end]).into_owned();
                    }
                }
                (Direction::ToClient, b'E') => {
                    if let Some(code) = sqlstate_of(frame::body(buf, f)) {
                        self.metrics.error(code);
                    }
                }
                (Direction::ToClient, b'Z') => {
                    self.info.live().state = match frame::body(buf, f).first() {
                        Some(b'T') => "idle in transaction",
                        Some(b'E') => "idle in transaction (aborted)",
                        _ => "idle",
                    };
                    let started = self.pending.lock().take();
                    if let Some(t) = started {
                        self.metrics.latency(t.elapsed());
                    }
                }
                _ => {}
            }
        }
    }

    fn start(&self) {
        let mut g = self.pending.lock();
        g.get_or_insert_with(Instant::now);
    }
}

/// A second descriptor of a plain socket, to wait on while the stream itself
/// is split between the two directions of a relay.
fn own_fd(socket: &impl AsFd) -> Option<OwnedFd> {
    socket.as_fd().try_clone_to_owned().ok()
}

/// The SQLSTATE ('C' field) of an ErrorResponse body.
fn sqlstate_of(body: &[u8]) -> Option<&str> {
    body.split(|b| *b == 0)
        .find(|f| f.first() == Some(&b'C'))
        .and_then(|f| std::str::from_utf8(&f[1..]).ok())
}

/// Rewrites the text of an allowed statement (or returns `None` to keep it).
type Rewrite<'a> = dyn FnMut(&str) -> Rewritten + Send + 'a;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Direction {
    ToWorker,
    ToClient,
}

/// Copies whole frames from `rd` to `wr`. Returns when the reading side ends:
/// `Ok(true)` if the last frame was an ErrorResponse (e.g. a FATAL the worker
/// sent before closing), an error when writing fails. `answer` is the socket
/// the answer to what was written comes from (the worker's after a request, the
/// client's after ReadyForQuery), to spin on while the session is alone.
async fn pump<R, W>(
    rd: &mut R,
    wr: &mut W,
    dir: Direction,
    observer: &Observer<'_>,
    mut gate: Option<(&mut SqlGate, &mut Rewrite<'_>)>,
    answer: Option<(&SpinWait, BorrowedFd<'_>)>,
    max_message: usize,
) -> std::io::Result<bool>
where
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin,
{
    let mut buf = BytesMut::with_capacity(RELAY_BUFFER);
    let mut frames = Vec::with_capacity(64);
    let mut last_tag = 0u8;
    loop {
        if buf.capacity() - buf.len() < 1024 {
            buf.reserve(RELAY_BUFFER);
        }
        let n = rd.read_buf(&mut buf).await?;
        if n == 0 {
            return Ok(last_tag == b'E');
        }
        frames.clear();
        let complete = match frame::scan_limited(&buf, &mut frames, max_message) {
            Ok(n) => n,
            Err(e) => {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::InvalidData,
                    e.to_string(),
                ))
            }
        };
        if dir == Direction::ToWorker {
            policy::check_frames(&buf, &frames)
                .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e.to_string()))?;
        }
        if let Some(f) = frames.last() {
            last_tag = f.tag;
        }
        observer.see(dir, &buf, &frames);
        if complete > 0 {
            let mut chunk = frame::take(&mut buf, complete);
            // Terminate ends the client session, not the (pooled) worker session:
            // it is not forwarded, and nothing after it is read.
            let terminate = match dir {
                Direction::ToWorker => frames.iter().position(|f| f.tag == b'X'),
                Direction::ToClient => None,
            };
            if let Some(x) = terminate {
                chunk.truncate(frames[x].start);
                frames.truncate(x);
            }
            let filtered = match (dir, gate.as_mut()) {
                (Direction::ToWorker, Some((g, rewrite))) => {
                    g.filter(&chunk, &frames, *rewrite, &mut |c| {
                        observer.metrics.statement(c)
                    })
                }
                _ => None,
            };
            match filtered {
                Some(rewritten) => wr.write_all(&rewritten[..]).await?,
                None if !chunk.is_empty() => wr.write_all(&chunk[..]).await?,
                None => {}
            }
            if terminate.is_some() {
                return Ok(false);
            }
            if let Some((spin, socket)) = answer {
                let awaits_answer = frames.iter().any(|f| match dir {
                    Direction::ToWorker => matches!(f.tag, b'S' | b'Q'),
                    Direction::ToClient => f.tag == b'Z',
                });
                if awaits_answer {
                    spin.until_readable(socket);
                }
            }
        }
    }
}
