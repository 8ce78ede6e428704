//! The client side of a connection up to an authenticated session: the startup
//! exchange (SSL and GSS requests, protocol-version negotiation, cancel
//! requests), the checks PostgreSQL makes before authenticating (connection
//! limit, user and database named and known, TLS required, login throttling) and
//! authentication itself (`auth`), all under `authentication_timeout`. One
//! function, [`handshake`], takes a connection from its first packet to an
//! [`Admitted`] identity; TLS set-up (`tls`), cancel keys (`cancel`) and limits
//! (`limits`) are its parts.

pub mod auth;
pub mod cancel;
pub mod limits;
pub mod tls;

use std::os::fd::{AsFd, OwnedFd};
use std::sync::atomic::Ordering;

use floe_protocol::startup::{self, Opening, StartupPacket};
use floe_protocol::{sqlstate, PgError};
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};

use crate::admin::metrics::Metrics;
use auth::{AuthConfig, AuthMethod};
use limits::{ConnectionSlot, Limits, LoginThrottle};

/// What a connection carries from accept to its startup packet.
pub struct Handshake {
    pub tls: bool,
    /// A second descriptor of a plain client socket (for the relay to wait on).
    pub client_fd: Option<OwnedFd>,
    pub peer: String,
    /// When `authentication_timeout` ends.
    pub deadline: tokio::time::Instant,
    /// The connection's place under `max_connections` (`None`: over the limit).
    pub slot: Option<ConnectionSlot>,
}

impl Handshake {
    pub fn new(
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
}

/// What the router's configuration says about who may connect.
pub struct Door<'a> {
    pub auth: &'a AuthConfig,
    /// Database names clients may connect to; others get 3D000.
    pub databases: &'a [String],
    pub require_tls: bool,
    pub limits: &'a Limits,
    pub logins: &'a LoginThrottle,
    pub metrics: &'a Metrics,
}

/// A client that authenticated: who it is and what it asked for.
pub struct Admitted {
    pub user: String,
    pub database: String,
    pub superuser: bool,
    /// The startup parameters, as the client sent them.
    pub params: Vec<(String, String)>,
    pub tls: bool,
    pub client_fd: Option<OwnedFd>,
    pub peer: String,
    pub slot: ConnectionSlot,
}

/// How a handshake ended.
pub enum Handshaken {
    Admitted(Admitted),
    /// A CancelRequest: the connection carries nothing else.
    Cancel {
        pid: i32,
        secret: i32,
    },
    /// Refused (the client was told why) or timed out; the connection is closed.
    Closed,
}

/// Takes a connection from its first startup packet (`first`, when already
/// read) to an authenticated client.
pub async fn handshake<S>(
    client: &mut S,
    hs: Handshake,
    first: Option<StartupPacket>,
    door: &Door<'_>,
) -> std::io::Result<Handshaken>
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
    let params = match startup::opening(client, first, Some(deadline)).await? {
        Opening::Startup(params) => params,
        Opening::Cancel { pid, secret } => return Ok(Handshaken::Cancel { pid, secret }),
        Opening::Invalid(e) => return refuse(client, &e).await,
    };
    // As Postgres: a connection over the limit learns so after its startup packet.
    let Some(slot) = slot else {
        let e = PgError::new(
            sqlstate::TOO_MANY_CONNECTIONS,
            "sorry, too many clients already",
        );
        return refuse(client, &e.fatal()).await;
    };
    let user = match StartupPacket::user(&params) {
        Ok(user) => user,
        Err(e) => return refuse(client, &e.fatal()).await,
    };
    let database = StartupPacket::param(&params, "database")
        .unwrap_or(&user)
        .to_string();
    let auth = door.auth;
    // On the trust-on-loopback default any database name connects (psql's
    // default is the OS user's name); with users configured, only known ones.
    let open_door = auth.method == AuthMethod::Trust && auth.users.is_empty();
    if !open_door && !door.databases.contains(&database) {
        let e = PgError::new(
            sqlstate::INVALID_CATALOG_NAME,
            format!("database \"{database}\" does not exist"),
        );
        return refuse(client, &e.fatal()).await;
    }
    if auth.method == AuthMethod::Trust && !auth.users.is_empty() && !auth.users.contains_key(&user)
    {
        let e = PgError::new(
            sqlstate::INVALID_AUTHORIZATION,
            format!("role \"{user}\" does not exist"),
        );
        return refuse(client, &e.fatal()).await;
    }
    if door.require_tls && !tls {
        let e = PgError::new(
            sqlstate::INVALID_AUTHORIZATION,
            format!("no pg_hba.conf entry for host \"{peer}\", user \"{user}\", database \"{database}\", SSL off"),
        );
        return refuse(client, &e.fatal()).await;
    }
    let address = limits::peer_ip(&peer);
    if !door.logins.allowed(address, door.limits) {
        tracing::warn!(%user, client = %peer, "login refused: too many failed attempts");
        let e = PgError::new(
            sqlstate::INVALID_AUTHORIZATION,
            "too many failed authentication attempts from this address; try again later",
        );
        return refuse(client, &e.fatal()).await;
    }
    let authenticated =
        match tokio::time::timeout_at(deadline, auth::authenticate(client, auth, &user, tls)).await
        {
            Ok(r) => r,
            // Postgres closes the connection when authentication_timeout passes.
            Err(_) => {
                tracing::info!(%user, client = %peer, "authentication timed out");
                client.shutdown().await?;
                return Ok(Handshaken::Closed);
            }
        };
    if let Err(e) = authenticated {
        door.logins.failed(address, door.limits);
        tracing::info!(%user, client = %peer, error = %e.message, "authentication failed");
        door.metrics
            .auth_failures_total
            .fetch_add(1, Ordering::Relaxed);
        return refuse(client, &e).await;
    }
    let known = auth.users.get(&user);
    let superuser = match auth.method {
        AuthMethod::Trust => known.is_none_or(|u| u.superuser),
        _ => known.is_some_and(|u| u.superuser),
    };
    Ok(Handshaken::Admitted(Admitted {
        user,
        database,
        superuser,
        params,
        tls,
        client_fd,
        peer,
        slot,
    }))
}

/// Sends `e` (FATAL) and closes the connection.
async fn refuse<S: AsyncWrite + Unpin>(client: &mut S, e: &PgError) -> std::io::Result<Handshaken> {
    fatal(client, e).await?;
    Ok(Handshaken::Closed)
}

/// Writes `e` as an ErrorResponse and closes the connection.
pub async fn fatal<S: AsyncWrite + Unpin>(client: &mut S, e: &PgError) -> std::io::Result<()> {
    client.write_all(&startup::error_message(e)).await?;
    client.shutdown().await
}

/// Runs `f` until `deadline`; past it the connection is dropped (as Postgres does
/// when authentication_timeout passes).
pub async fn within<T, E>(
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

/// A second descriptor of a plain socket, to wait on while the stream itself
/// is split between the two directions of a relay.
pub fn own_fd(socket: &impl AsFd) -> Option<OwnedFd> {
    socket.as_fd().try_clone_to_owned().ok()
}
