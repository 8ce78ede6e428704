//! A router-to-worker connection: the startup handshake with the internal token,
//! and what the worker reports (parameters, cancel key) before the session starts.

use std::io;

use bytes::{Bytes, BytesMut};
use floe_protocol::control::{Control, CONTROL_TAG};
use floe_protocol::moved_session::MovedSession;
use floe_protocol::startup;
use floe_protocol::{ListenAddr, Stream};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// A started worker session, ready for relaying.
pub struct Backend {
    pub stream: Stream,
    pub pid: i32,
    pub secret: i32,
    /// Set when the session must not be reused.
    pub broken: bool,
    /// Where in the router's lake change log this session's news ends (a new
    /// session starts at 0: its worker may hold anything in its caches).
    pub lake_seen: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum BackendError {
    #[error("cannot reach worker: {0}")]
    Io(#[from] io::Error),
    /// The worker refused the session; its ErrorResponse, to pass on as is.
    #[error("worker refused the session")]
    Refused(Bytes),
    #[error("unexpected message from worker: {0}")]
    Protocol(String),
}

/// Reads one message: (type, whole message bytes).
async fn read_message(stream: &mut Stream) -> Result<(u8, Bytes), BackendError> {
    let tag = stream.read_u8().await?;
    let len = stream.read_i32().await?;
    if !(4..=1 << 20).contains(&len) {
        return Err(BackendError::Protocol(format!("message length {len}")));
    }
    let mut m = BytesMut::with_capacity(len as usize + 1);
    m.extend_from_slice(&[tag]);
    m.extend_from_slice(&len.to_be_bytes());
    m.resize(len as usize + 1, 0);
    stream.read_exact(&mut m[5..]).await?;
    Ok((tag, m.freeze()))
}

/// Connects to `addr` and starts a session with the client's startup parameters,
/// answering the worker's password request with `token`.
pub async fn connect(
    addr: &ListenAddr,
    params: &[(String, String)],
    token: Option<&str>,
) -> Result<Backend, BackendError> {
    let mut stream = addr.connect().await?;
    let pairs: Vec<(&str, &str)> = params
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    stream.write_all(&startup::startup_packet(&pairs)).await?;
    let mut pid = 0;
    let mut secret = 0;
    loop {
        let (tag, msg) = read_message(&mut stream).await?;
        match tag {
            b'R' => {
                let code = i32::from_be_bytes([msg[5], msg[6], msg[7], msg[8]]);
                match (code, token) {
                    (0, _) => {}
                    (3, Some(t)) => stream.write_all(&startup::password_message(t)).await?,
                    _ => {
                        return Err(BackendError::Protocol(format!(
                            "authentication request {code}"
                        )))
                    }
                }
            }
            // The client gets the parameters of its own session (begin_session).
            b'S' => {}
            b'K' if msg.len() >= 13 => {
                pid = i32::from_be_bytes([msg[5], msg[6], msg[7], msg[8]]);
                secret = i32::from_be_bytes([msg[9], msg[10], msg[11], msg[12]]);
            }
            // A lake change report made while the session started holds other
            // sessions' changes (each reports its own): nothing to pass on.
            b'N' | b'v' | CONTROL_TAG => {}
            b'E' => return Err(BackendError::Refused(msg)),
            b'Z' => {
                return Ok(Backend {
                    stream,
                    pid,
                    secret,
                    broken: false,
                    lake_seen: 0,
                })
            }
            other => {
                return Err(BackendError::Protocol(format!(
                    "message type {}",
                    other as char
                )))
            }
        }
    }
}

/// Sends a cancel request for the worker session (pid, secret) at `addr`.
pub async fn cancel(addr: &ListenAddr, pid: i32, secret: i32) -> io::Result<()> {
    let mut stream = addr.connect().await?;
    stream
        .write_all(&startup::cancel_packet(pid, secret))
        .await?;
    stream.shutdown().await
}

/// What a worker answered a control message with.
struct Reply {
    /// Its ParameterStatus messages.
    status: Vec<Bytes>,
    /// The control message it answered with, if any (lake change reports
    /// left out: commands change nothing in the lake, so one here holds
    /// nothing this session made).
    answer: Option<Control>,
}

/// Sends one control message and reads the worker's answer up to
/// ReadyForQuery, which must say the session is idle.
async fn command(backend: &mut Backend, control: Control) -> Result<Reply, BackendError> {
    backend.stream.write_all(&control.encode()).await?;
    let mut reply = Reply {
        status: Vec::new(),
        answer: None,
    };
    let mut refused = None;
    loop {
        let (tag, msg) = read_message(&mut backend.stream).await?;
        match tag {
            b'S' => reply.status.push(msg),
            b'E' => refused = Some(msg),
            b'Z' => {
                if msg.get(5) != Some(&b'I') {
                    return Err(BackendError::Protocol("pooled session not idle".into()));
                }
                return match refused {
                    Some(m) => Err(BackendError::Refused(m)),
                    None => Ok(reply),
                };
            }
            CONTROL_TAG => match Control::decode(&msg[5..]) {
                Ok(Control::LakeChanged(_)) => {}
                Ok(answer) => reply.answer = Some(answer),
                Err(e) => return Err(BackendError::Protocol(e.to_string())),
            },
            b'C' | b'N' => {}
            other => {
                return Err(BackendError::Protocol(format!(
                    "message type {}",
                    other as char
                )))
            }
        }
    }
}

/// Who a client session is, as authentication established it.
pub struct Identity {
    pub user: String,
    pub database: String,
    pub superuser: bool,
}

/// Hands a pooled worker session to a new client: its identity and startup
/// parameters; returns the ParameterStatus messages the client should see.
pub async fn begin_session(
    backend: &mut Backend,
    identity: &Identity,
    params: &[(String, String)],
) -> Result<Vec<Bytes>, BackendError> {
    let control = Control::BeginSession {
        user: identity.user.clone(),
        database: identity.database.clone(),
        superuser: identity.superuser,
        params: params.to_vec(),
    };
    command(backend, control).await.map(|r| r.status)
}

/// The worker's counters (`FLOE STATS`), as (name, value) pairs.
pub async fn stats(backend: &mut Backend) -> Result<Vec<(String, String)>, BackendError> {
    let messages = command(backend, Control::Stats).await?.status;
    Ok(messages
        .iter()
        .filter_map(|m| parameter_status(m.get(5..)?))
        .collect())
}

/// The name and value of a ParameterStatus body (two NUL-terminated strings).
fn parameter_status(body: &[u8]) -> Option<(String, String)> {
    let mut parts = body.split(|b| *b == 0);
    let name = std::str::from_utf8(parts.next()?).ok()?;
    let value = std::str::from_utf8(parts.next()?).ok()?;
    Some((name.to_string(), value.to_string()))
}

/// Discards everything a client left in a worker session so it can be reused.
pub async fn reset_session(backend: &mut Backend) -> Result<(), BackendError> {
    command(backend, Control::Reset).await.map(|_| ())
}

/// Asks an idle worker session for its state, to move it to another worker:
/// `Ok(Err(reason))` when the session holds something only its worker has.
pub async fn export(backend: &mut Backend) -> Result<Result<MovedSession, String>, BackendError> {
    match command(backend, Control::Export).await?.answer {
        Some(Control::SessionState(state)) => Ok(Ok(*state)),
        Some(Control::Stays(reason)) => Ok(Err(reason)),
        _ => Err(BackendError::Protocol("no session state".into())),
    }
}

/// Gives a session just begun the state another worker's session exported.
pub async fn import(backend: &mut Backend, state: MovedSession) -> Result<(), BackendError> {
    command(backend, Control::Import(Box::new(state)))
        .await
        .map(|_| ())
}
