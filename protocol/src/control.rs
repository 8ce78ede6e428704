//! Typed router-to-worker control messages. They travel only on the router's
//! token-authenticated connection to a worker, framed like Postgres messages but
//! under a type byte no Postgres frontend message uses, and the router never
//! forwards a client frame of a type outside the frontend protocol, so nothing a
//! client sends, in SQL or in a message, can be mistaken for one.

use bytes::{BufMut, BytesMut};

/// The type byte of a control message (`~`: no Postgres frontend message has it).
pub const CONTROL_TAG: u8 = b'~';

/// Largest control message a worker accepts.
pub const MAX_CONTROL: usize = 1 << 20;

/// Frontend message types the router relays from a client.
pub const FRONTEND_TAGS: &[u8] = b"QPBEDCHSFXdcf";

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Control {
    /// Hands a pooled worker session to a newly authenticated client: who it is
    /// (identity comes only from here) and its startup parameters.
    BeginSession {
        user: String,
        database: String,
        superuser: bool,
        params: Vec<(String, String)>,
    },
    /// Discards everything the last client left in the session.
    Reset,
    /// Asks for the worker's counters (answered as ParameterStatus messages).
    Stats,
    /// Stands in for a client's Query (`Q`) or Parse (`P`) message the router
    /// refused: the worker answers it as that message failing.
    Refuse {
        replaces: u8,
        sqlstate: String,
        message: String,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("malformed control message: {0}")]
pub struct ControlError(pub &'static str);

fn put_str(m: &mut BytesMut, s: &str) {
    // NUL ends a field: a value holding one is cut there (it cannot come from a
    // startup packet, whose fields are NUL-terminated too).
    let s = s.split('\0').next().unwrap_or("");
    m.put_slice(s.as_bytes());
    m.put_u8(0);
}

impl Control {
    /// The whole framed message.
    pub fn encode(&self) -> BytesMut {
        let mut body = BytesMut::new();
        match self {
            Control::BeginSession {
                user,
                database,
                superuser,
                params,
            } => {
                body.put_u8(b'B');
                put_str(&mut body, user);
                put_str(&mut body, database);
                body.put_u8(u8::from(*superuser));
                body.put_u32(params.len() as u32);
                for (k, v) in params {
                    put_str(&mut body, k);
                    put_str(&mut body, v);
                }
            }
            Control::Reset => body.put_u8(b'R'),
            Control::Stats => body.put_u8(b'S'),
            Control::Refuse {
                replaces,
                sqlstate,
                message,
            } => {
                body.put_u8(b'X');
                body.put_u8(*replaces);
                put_str(&mut body, sqlstate);
                put_str(&mut body, message);
            }
        }
        let mut m = BytesMut::with_capacity(body.len() + 5);
        m.put_u8(CONTROL_TAG);
        m.put_i32(body.len() as i32 + 4);
        m.extend_from_slice(&body);
        m
    }

    /// Decodes a control message's body (after type and length).
    pub fn decode(body: &[u8]) -> Result<Control, ControlError> {
        let mut r = Reader { b: body };
        let c = match r.u8()? {
            b'B' => {
                let user = r.string()?;
                let database = r.string()?;
                let superuser = match r.u8()? {
                    0 => false,
                    1 => true,
                    _ => return Err(ControlError("superuser flag")),
                };
                let n = r.u32()? as usize;
                if n > 1024 {
                    return Err(ControlError("too many parameters"));
                }
                let mut params = Vec::with_capacity(n);
                for _ in 0..n {
                    params.push((r.string()?, r.string()?));
                }
                Control::BeginSession {
                    user,
                    database,
                    superuser,
                    params,
                }
            }
            b'R' => Control::Reset,
            b'S' => Control::Stats,
            b'X' => {
                let replaces = r.u8()?;
                if replaces != b'Q' && replaces != b'P' {
                    return Err(ControlError("refused message type"));
                }
                Control::Refuse {
                    replaces,
                    sqlstate: r.string()?,
                    message: r.string()?,
                }
            }
            _ => return Err(ControlError("kind")),
        };
        if !r.b.is_empty() {
            return Err(ControlError("trailing bytes"));
        }
        Ok(c)
    }
}

struct Reader<'a> {
    b: &'a [u8],
}

impl Reader<'_> {
    fn u8(&mut self) -> Result<u8, ControlError> {
        let (first, rest) = self.b.split_first().ok_or(ControlError("truncated"))?;
        self.b = rest;
        Ok(*first)
    }
    fn u32(&mut self) -> Result<u32, ControlError> {
        if self.b.len() < 4 {
            return Err(ControlError("truncated"));
        }
        let v = u32::from_be_bytes([self.b[0], self.b[1], self.b[2], self.b[3]]);
        self.b = &self.b[4..];
        Ok(v)
    }
    fn string(&mut self) -> Result<String, ControlError> {
        let end = self
            .b
            .iter()
            .position(|c| *c == 0)
            .ok_or(ControlError("unterminated string"))?;
        let s = std::str::from_utf8(&self.b[..end]).map_err(|_| ControlError("not UTF-8"))?;
        self.b = &self.b[end + 1..];
        Ok(s.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip(c: Control) {
        let m = c.encode();
        assert_eq!(m[0], CONTROL_TAG);
        let len = i32::from_be_bytes([m[1], m[2], m[3], m[4]]) as usize;
        assert_eq!(len + 1, m.len());
        assert_eq!(Control::decode(&m[5..]), Ok(c));
    }

    #[test]
    fn messages_round_trip() {
        round_trip(Control::BeginSession {
            user: "alice".into(),
            database: "floe".into(),
            superuser: false,
            params: vec![("application_name".into(), "psql".into())],
        });
        round_trip(Control::Reset);
        round_trip(Control::Stats);
        round_trip(Control::Refuse {
            replaces: b'P',
            sqlstate: "42501".into(),
            message: "no".into(),
        });
    }

    #[test]
    fn malformed_bodies_are_errors() {
        for body in [
            &b""[..],
            b"Z",
            b"B",
            b"Balice\0floe\0\x02\0\0\0\0",
            b"Balice\0floe\0\x01\xff\xff\xff\xff",
            b"XQ42501",
            b"XZ42501\0m\0",
            b"R extra",
        ] {
            assert!(Control::decode(body).is_err(), "{body:?}");
        }
    }

    #[test]
    fn the_control_type_is_no_frontend_type() {
        assert!(!FRONTEND_TAGS.contains(&CONTROL_TAG));
    }
}
