//! The exchange before a session starts: SSL/GSS requests, cancel requests and the
//! startup packet, read from the client side and written from the connecting side.

use std::io;

use bytes::{Buf, BufMut, BytesMut};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use crate::pg_error::PgError;

pub const SSL_REQUEST: i32 = 80_877_103;
pub const GSSENC_REQUEST: i32 = 80_877_104;
pub const CANCEL_REQUEST: i32 = 80_877_102;
pub const PROTOCOL_3_0: i32 = 196_608;
/// Largest startup packet accepted (as in Postgres).
pub const MAX_STARTUP_PACKET: usize = 10_000;

/// The first packet of a connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StartupPacket {
    SslRequest,
    GssEncRequest,
    Cancel {
        pid: i32,
        secret: i32,
    },
    Startup {
        /// Minor protocol version requested (3.x).
        minor: u16,
        params: Vec<(String, String)>,
        /// `_pq_.` protocol options we do not support.
        unsupported: Vec<String>,
    },
    /// A packet Floe does not accept; the error says why.
    Invalid(PgError),
}

impl StartupPacket {
    pub fn param<'a>(params: &'a [(String, String)], key: &str) -> Option<&'a str> {
        params
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// The user the startup parameters name; a packet without one (or with an
    /// empty one) is refused as PostgreSQL refuses it (28000).
    pub fn user(params: &[(String, String)]) -> Result<String, PgError> {
        match StartupPacket::param(params, "user") {
            Some(u) if !u.is_empty() => Ok(u.to_string()),
            _ => Err(PgError::new(
                crate::sqlstate::INVALID_AUTHORIZATION,
                "no PostgreSQL user name specified in startup packet",
            )),
        }
    }
}

/// Reads one startup-phase packet.
pub async fn read_startup_packet<R: AsyncRead + Unpin>(rd: &mut R) -> io::Result<StartupPacket> {
    let len = rd.read_i32().await?;
    if len < 8 || len as usize > MAX_STARTUP_PACKET {
        return Ok(StartupPacket::Invalid(
            PgError::new(
                crate::sqlstate::PROTOCOL_VIOLATION,
                "invalid length of startup packet",
            )
            .fatal(),
        ));
    }
    let mut body = vec![0u8; len as usize - 4];
    rd.read_exact(&mut body).await?;
    Ok(parse_startup_body(&body))
}

/// What a connection's startup exchange came to.
#[derive(Debug)]
pub enum Opening {
    /// A StartupMessage: its parameters (protocol 3.0 was agreed on).
    Startup(Vec<(String, String)>),
    /// A CancelRequest: the connection carries nothing else.
    Cancel { pid: i32, secret: i32 },
    /// A packet not accepted (FATAL, to be sent before closing).
    Invalid(PgError),
}

/// Runs the startup exchange from `first` (or from the next packet read):
/// encryption requests are answered 'N' (TLS, when offered, was set up before),
/// a client asking for a newer minor version or for protocol options is told
/// what the server speaks, until a StartupMessage, CancelRequest or invalid
/// packet. Reading a further packet past `deadline` fails with `TimedOut`.
pub async fn opening<S>(
    stream: &mut S,
    first: Option<StartupPacket>,
    deadline: Option<tokio::time::Instant>,
) -> io::Result<Opening>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let mut packet = first;
    loop {
        let next = match packet.take() {
            Some(p) => p,
            None => match deadline {
                None => read_startup_packet(stream).await?,
                Some(d) => tokio::time::timeout_at(d, read_startup_packet(stream))
                    .await
                    .map_err(|_| {
                        io::Error::new(io::ErrorKind::TimedOut, "authentication timeout")
                    })??,
            },
        };
        match next {
            StartupPacket::SslRequest | StartupPacket::GssEncRequest => {
                stream.write_all(b"N").await?;
            }
            StartupPacket::Cancel { pid, secret } => return Ok(Opening::Cancel { pid, secret }),
            StartupPacket::Startup {
                minor,
                params,
                unsupported,
            } => {
                if minor > 0 || !unsupported.is_empty() {
                    stream
                        .write_all(&negotiate_protocol_version(&unsupported))
                        .await?;
                }
                return Ok(Opening::Startup(params));
            }
            StartupPacket::Invalid(e) => return Ok(Opening::Invalid(e)),
        }
    }
}

fn parse_startup_body(body: &[u8]) -> StartupPacket {
    let mut b = body;
    let code = b.get_i32();
    match code {
        SSL_REQUEST => StartupPacket::SslRequest,
        GSSENC_REQUEST => StartupPacket::GssEncRequest,
        CANCEL_REQUEST if b.remaining() >= 8 => {
            let pid = b.get_i32();
            let secret = b.get_i32();
            StartupPacket::Cancel { pid, secret }
        }
        v if v >> 16 == 3 => {
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
            StartupPacket::Startup {
                minor: (v & 0xFFFF) as u16,
                params,
                unsupported,
            }
        }
        _ => StartupPacket::Invalid(
            PgError::new(
                crate::sqlstate::FEATURE_NOT_SUPPORTED,
                format!(
                    "unsupported frontend protocol {}.{}",
                    code >> 16,
                    code & 0xFFFF
                ),
            )
            .fatal(),
        ),
    }
}

/// NegotiateProtocolVersion: we speak 3.0 and none of the given options.
pub fn negotiate_protocol_version(unsupported: &[String]) -> BytesMut {
    let mut m = BytesMut::new();
    m.put_u8(b'v');
    let at = m.len();
    m.put_i32(0);
    m.put_i32(0);
    m.put_i32(unsupported.len() as i32);
    for o in unsupported {
        m.put_slice(o.as_bytes());
        m.put_u8(0);
    }
    let l = (m.len() - at) as i32;
    m[at..at + 4].copy_from_slice(&l.to_be_bytes());
    m
}

/// A protocol 3.0 startup packet with the given parameters.
pub fn startup_packet(params: &[(&str, &str)]) -> BytesMut {
    let mut body = BytesMut::new();
    body.put_i32(PROTOCOL_3_0);
    for (k, v) in params {
        body.put_slice(k.as_bytes());
        body.put_u8(0);
        body.put_slice(v.as_bytes());
        body.put_u8(0);
    }
    body.put_u8(0);
    let mut m = BytesMut::with_capacity(body.len() + 4);
    m.put_i32(body.len() as i32 + 4);
    m.put_slice(&body);
    m
}

/// A cancel request packet.
pub fn cancel_packet(pid: i32, secret: i32) -> BytesMut {
    let mut m = BytesMut::with_capacity(16);
    m.put_i32(16);
    m.put_i32(CANCEL_REQUEST);
    m.put_i32(pid);
    m.put_i32(secret);
    m
}

/// ErrorResponse (or NoticeResponse for warnings and notices) for `e`.
pub fn error_message(e: &PgError) -> BytesMut {
    let mut m = BytesMut::new();
    crate::backend::error_or_notice(&mut m, e);
    m
}

/// AuthenticationCleartextPassword.
pub fn request_cleartext_password() -> BytesMut {
    let mut m = BytesMut::with_capacity(9);
    crate::backend::authentication(&mut m, 3, &[]);
    m
}

/// A PasswordMessage carrying `password`.
pub fn password_message(password: &str) -> BytesMut {
    let mut m = BytesMut::new();
    m.put_u8(b'p');
    m.put_i32(password.len() as i32 + 5);
    m.put_slice(password.as_bytes());
    m.put_u8(0);
    m
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn startup_round_trips() {
        let packet = startup_packet(&[("user", "u"), ("database", "d")]);
        let mut r = &packet[..];
        let got = read_startup_packet(&mut r).await.expect("read");
        assert_eq!(
            got,
            StartupPacket::Startup {
                minor: 0,
                params: vec![("user".into(), "u".into()), ("database".into(), "d".into())],
                unsupported: vec![]
            }
        );
        let cancel = cancel_packet(7, -9);
        let mut r = &cancel[..];
        assert_eq!(
            read_startup_packet(&mut r).await.expect("read"),
            StartupPacket::Cancel { pid: 7, secret: -9 }
        );
    }

    #[tokio::test]
    async fn bad_lengths_and_versions_are_invalid() {
        let mut r: &[u8] = &[0, 0, 0, 4, 0, 0, 0, 0];
        assert!(matches!(
            read_startup_packet(&mut r).await.expect("read"),
            StartupPacket::Invalid(_)
        ));
        let mut b = BytesMut::new();
        b.put_i32(8);
        b.put_i32(2 << 16);
        let mut r = &b[..];
        assert!(matches!(
            read_startup_packet(&mut r).await.expect("read"),
            StartupPacket::Invalid(_)
        ));
    }
}
