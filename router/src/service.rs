//! The router as a service: its configuration and shared state, the accept loop,
//! and one client connection's life from accept to close, as stages each with
//! its own home: the startup exchange and authentication (`crate::frontend`),
//! the choice of a worker session (`crate::route`), the relay
//! (`crate::relay`), and the session's return to the pool. A worker that goes
//! away ends only its own sessions, each with a Postgres error; new sessions go
//! to the healthy workers.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use bytes::BytesMut;
use floe_protocol::startup::{self, StartupPacket};
use floe_protocol::{sqlstate, Listener, PgError, Stream};
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};
use tokio::sync::{watch, Notify};

use floe_protocol::lake_changes::ChangeLog;

use crate::admin::metrics::Metrics;
use crate::compat::activity::{Activity, AdminAction, LiveState, SessionInfo};
use crate::frontend::auth::AuthConfig;
use crate::frontend::cancel::{CancelRegistry, WorkerKey};
use crate::frontend::limits::{ConnectionCount, Limits, LoginThrottle};
use crate::frontend::{self, fatal, own_fd, within, Admitted, Door, Handshake, Handshaken};
use crate::relay::spin::SpinWait;
use crate::relay::{self, RelayContext, SessionEnd};
use crate::route::backend::{self, Identity};
use crate::route::moving::{MoveContext, Placed};
use crate::route::pool::BackendManager;
use crate::route::workers::{WorkerSet, WorkerStats};
use crate::route::{self, Pinned, RouteError};

/// How the router is set up.
#[derive(Clone, Default)]
pub struct RouterConfig {
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

pub struct Router {
    workers: WorkerSet,
    cancels: CancelRegistry,
    config: RouterConfig,
    metrics: Arc<Metrics>,
    activity: Activity,
    spin: SpinWait,
    connections: ConnectionCount,
    logins: LoginThrottle,
    /// Every lake change a worker reported (see `relay::freshness`).
    lake_changes: ChangeLog,
}

impl Router {
    pub fn new(workers: WorkerSet, config: RouterConfig) -> Arc<Router> {
        tokio::spawn(workers.clone().trim_idle_loop());
        let activity = Activity::default();
        activity.show_workers(workers.clone());
        Arc::new(Router {
            workers,
            cancels: CancelRegistry::new(),
            spin: SpinWait::new(config.spin),
            config,
            metrics: Metrics::new(),
            activity,
            connections: ConnectionCount::default(),
            logins: LoginThrottle::default(),
            lake_changes: ChangeLog::new(),
        })
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
        for slot in self.workers.slots() {
            let pool = &slot.pool;
            if !slot.is_healthy() {
                continue;
            }
            let asked = tokio::time::timeout(Duration::from_secs(1), async {
                let mut backend = pool.get().await.ok()?;
                match crate::route::backend::stats(&mut backend).await {
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
        let handle = move |stream, peer, shutdown| self.clone().client(stream, peer, shutdown);
        let grace = Duration::from_secs(15);
        floe_protocol::serve::accept_until(listener, shutdown, grace, handle).await;
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
        // Without TLS configured, the handshake answers encryption requests 'N'.
        let first = within(deadline, startup::read_startup_packet(&mut client)).await?;
        match (&self.config.tls, first) {
            (Some(acceptor), StartupPacket::SslRequest) => {
                client.write_all(b"S").await?;
                let tls = within(deadline, acceptor.accept(client)).await?;
                let hs = Handshake::new(true, None, peer, deadline, slot);
                self.session_after(tls, hs, shutdown, None).await
            }
            (_, first) => {
                let hs = Handshake::new(false, own_fd(&client), peer, deadline, slot);
                self.session_after(client, hs, shutdown, Some(first)).await
            }
        }
    }

    async fn session_after<S>(
        self: Arc<Self>,
        mut client: S,
        hs: Handshake,
        shutdown: watch::Receiver<bool>,
        first: Option<StartupPacket>,
    ) -> std::io::Result<()>
    where
        S: AsyncRead + AsyncWrite + Unpin + Send,
    {
        let door = Door {
            auth: &self.config.auth,
            databases: &self.config.databases,
            require_tls: self.config.require_tls,
            limits: &self.config.limits,
            logins: &self.logins,
            metrics: &self.metrics,
        };
        let admitted = match frontend::handshake(&mut client, hs, first, &door).await? {
            Handshaken::Admitted(a) => a,
            Handshaken::Cancel { pid, secret } => {
                self.forward_cancel(pid, secret).await;
                return Ok(());
            }
            Handshaken::Closed => return Ok(()),
        };
        let Admitted {
            user,
            database,
            superuser,
            params,
            client_fd,
            peer,
            slot: _slot,
            ..
        } = admitted;
        // Identity comes only from authentication; the client's own startup
        // parameters never name it (user and database travel in the identity).
        let identity = Identity {
            user: user.clone(),
            database: database.clone(),
            superuser,
        };
        let session_params: Vec<(String, String)> = params
            .iter()
            .filter(|(k, _)| k != "user" && k != "database" && !k.starts_with("floe."))
            .cloned()
            .collect();
        let pinned = route::pin_session(&self.workers, &identity, &session_params).await;
        let Pinned {
            lease,
            backend,
            parameter_status,
            ..
        } = match pinned {
            Ok(p) => p,
            Err(e) => return refuse_route(&mut client, e).await,
        };
        let worker_key = WorkerKey {
            addr: lease.slot().addr.clone(),
            pid: backend.pid,
            secret: backend.secret,
        };
        let application_name = StartupPacket::param(&params, "application_name").unwrap_or("");
        let (info, secret) = self.register(
            &user,
            &database,
            superuser,
            &peer,
            application_name,
            worker_key,
        );
        let pid = info.pid;
        let started = Instant::now();

        let hello = greeting(&parameter_status, pid, secret);
        let admin = |action: AdminAction, target: i32| self.admin(&info, action, target);
        let ctx = RelayContext {
            spin: &self.spin,
            metrics: &self.metrics,
            activity: &self.activity,
            admin: &admin,
            max_message_bytes: self.config.limits.max_message_bytes,
            lake_changes: &self.lake_changes,
        };
        // A session that moves to another worker takes its cancel key and
        // its pg_stat_activity row along.
        let retarget = |key: WorkerKey| {
            self.cancels.retarget(pid, key.clone());
            *info.worker.lock() = key;
        };
        let moves = MoveContext {
            workers: &self.workers,
            identity: &identity,
            params: &session_params,
            lake: &self.lake_changes,
            metrics: &self.metrics,
            retarget: &retarget,
            pid,
        };
        let mut placed = Placed::new(lease, backend, moves);
        let result = match client.write_all(&hello).await {
            Ok(()) => relay::relay(client, client_fd, &mut placed, shutdown, &ctx, &info).await,
            Err(e) => Err(e),
        };
        let (lease, backend) = placed.into_parts();
        let slot = lease.slot().clone();
        let worker_pid = backend.pid;
        let result = release(backend, result).await;
        self.unregister(pid);
        tracing::info!(
            pid,
            %user,
            client = %peer,
            worker = %slot.addr,
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

    /// Registers an admitted client's session: the cancel key it is given
    /// (returned with the session's row), its `pg_stat_activity` row and the
    /// session counters.
    fn register(
        &self,
        user: &str,
        database: &str,
        superuser: bool,
        peer: &str,
        application_name: &str,
        worker: WorkerKey,
    ) -> (Arc<SessionInfo>, i32) {
        let (pid, secret) = self.cancels.register(worker.clone());
        let info = Arc::new(SessionInfo {
            pid,
            user: user.to_string(),
            database: database.to_string(),
            client_addr: peer.to_string(),
            backend_start: SystemTime::now(),
            superuser,
            worker: parking_lot::Mutex::new(worker),
            terminate: Notify::new(),
            live: parking_lot::Mutex::new(LiveState {
                application_name: application_name.to_string(),
                state: "idle",
                query: String::new(),
                query_start: None,
            }),
        });
        self.activity.register(info.clone());
        self.metrics.sessions_total.fetch_add(1, Ordering::Relaxed);
        self.metrics.sessions_active.fetch_add(1, Ordering::Relaxed);
        (info, secret)
    }

    /// Forgets a session that ended.
    fn unregister(&self, pid: i32) {
        self.cancels.unregister(pid);
        self.activity.unregister(pid);
        self.metrics.sessions_active.fetch_sub(1, Ordering::Relaxed);
    }

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
                let key = target.worker();
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

/// Gives a worker session back to the pool when the client left it cleanly
/// and idle (after a reset), and closes it otherwise; returns how the relay
/// ended.
async fn release(
    mut backend: deadpool::managed::Object<BackendManager>,
    relayed: std::io::Result<(SessionEnd, bool)>,
) -> std::io::Result<SessionEnd> {
    let reusable = matches!(relayed, Ok((SessionEnd::ClientGone, true)));
    if reusable && backend::reset_session(&mut backend).await.is_ok() {
        drop(backend);
    } else {
        let mut gone = deadpool::managed::Object::take(backend);
        gone.broken = true;
        let _ = gone.stream.shutdown().await;
    }
    relayed.map(|(end, _)| end)
}

/// Tells a client why it got no worker session, and closes the connection.
async fn refuse_route<S>(client: &mut S, e: RouteError) -> std::io::Result<()>
where
    S: AsyncWrite + Unpin,
{
    let e = match e {
        // The worker's own answer, passed on as it is.
        RouteError::Refused(msg) => {
            client.write_all(&msg).await?;
            return client.shutdown().await;
        }
        RouteError::Full => PgError::new(
            sqlstate::TOO_MANY_CONNECTIONS,
            "sorry, too many clients already",
        ),
        RouteError::NoWorker => PgError::new(
            sqlstate::CANNOT_CONNECT_NOW,
            "no Floe worker is available; try again shortly",
        ),
    };
    fatal(client, &e.fatal()).await
}

/// The client's greeting: AuthenticationOk, the worker's parameters, the
/// router's cancel key for the session, ReadyForQuery.
fn greeting(parameter_status: &[bytes::Bytes], pid: i32, secret: i32) -> BytesMut {
    let mut hello = BytesMut::new();
    floe_protocol::backend::authentication_ok(&mut hello);
    for s in parameter_status {
        hello.extend_from_slice(s);
    }
    floe_protocol::backend::backend_key_data(&mut hello, pid, secret);
    floe_protocol::backend::ready_for_query(&mut hello, b'I');
    hello
}
