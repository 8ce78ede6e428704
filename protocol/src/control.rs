//! Typed router-to-worker control messages. They travel only on the router's
//! token-authenticated connection to a worker, framed like Postgres messages but
//! under a type byte no Postgres frontend message uses, and the router never
//! forwards a client frame of a type outside the frontend protocol, so nothing a
//! client sends, in SQL or in a message, can be mistaken for one.

use bytes::{BufMut, BytesMut};

use crate::lake_changes::{LakeChange, MAX_CHANGES};
use crate::moved_session::MovedSession;

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
    /// The router's analysis of the Query (`Q`) or Parse (`P`) message that
    /// follows it: the policy allowed exactly this text (`text_len` bytes with
    /// [`text_digest`] `digest`), so the worker need not analyse it again. The
    /// worker answers nothing; a text that does not match is analysed as usual.
    Analysed {
        describes: u8,
        text_len: u32,
        digest: u64,
        /// The statement class of the first statement (`query`, `dml`, `ddl`,
        /// `session`, `catalog`, `other`).
        class: String,
        /// How many statements the text holds.
        statements: u32,
        /// Whether every statement is a query.
        only_queries: bool,
        /// Whether the router answered part of the text from its own state
        /// (`pg_stat_activity`, `pg_stat_floe_workers`), which changes from
        /// one statement to the next: its answers are never cached.
        live: bool,
    },
    /// Lake changes: from a worker, the ones its session just made, sent before
    /// the client can hear that the statement finished; from the router, the
    /// ones this worker session has not been told of, sent before the client's
    /// next message. Either side answers nothing.
    LakeChanged(Vec<LakeChange>),
    /// Asks an idle session for its state, to move it to another worker: the
    /// worker answers [`Control::SessionState`], or [`Control::Stays`] when the
    /// session holds something only this worker has, then ReadyForQuery.
    Export,
    /// The session's state (worker to router), answering `Export`.
    SessionState(Box<MovedSession>),
    /// Why the session cannot move (worker to router), answering `Export`.
    Stays(String),
    /// Gives a session just begun (`BeginSession`) the state another worker's
    /// session exported; answered with ReadyForQuery, or an ErrorResponse
    /// first when a statement cannot be prepared again here.
    Import(Box<MovedSession>),
}

/// The digest an [`Control::Analysed`] message names its text by (64-bit
/// FNV-1a: the same in every process, cheap on short texts).
pub fn text_digest(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

impl Control {
    /// The analysis message for `text`, about to be sent as message `describes`.
    pub fn analysed(
        describes: u8,
        text: &str,
        class: &str,
        statements: usize,
        only_queries: bool,
    ) -> Control {
        Control::Analysed {
            describes,
            text_len: text.len() as u32,
            digest: text_digest(text),
            class: class.to_string(),
            statements: statements as u32,
            only_queries,
            live: false,
        }
    }

    /// This analysis, marked as describing a text the router answered part
    /// of from its own state.
    pub fn live(mut self) -> Control {
        if let Control::Analysed { live, .. } = &mut self {
            *live = true;
        }
        self
    }

    /// Whether this is the analysis of exactly `text`.
    pub fn describes_text(&self, text: &str) -> bool {
        matches!(self, Control::Analysed { text_len, digest, .. }
            if *text_len as usize == text.len() && *digest == text_digest(text))
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("malformed control message: {0}")]
pub struct ControlError(pub &'static str);

pub(crate) fn put_str(m: &mut BytesMut, s: &str) {
    // NUL ends a field: a value holding one is cut there (it cannot come from a
    // startup packet, whose fields are NUL-terminated too).
    let s = s.split('\0').next().unwrap_or("");
    m.put_slice(s.as_bytes());
    m.put_u8(0);
}

impl Control {
    /// The whole framed message.
    pub fn encode(&self) -> BytesMut {
        let mut m = BytesMut::new();
        self.encode_into(&mut m);
        m
    }

    /// Appends the whole framed message to `out`.
    pub fn encode_into(&self, out: &mut BytesMut) {
        out.put_u8(CONTROL_TAG);
        let at = out.len();
        out.put_i32(0);
        let body = out;
        match self {
            Control::BeginSession {
                user,
                database,
                superuser,
                params,
            } => {
                body.put_u8(b'B');
                put_str(body, user);
                put_str(body, database);
                body.put_u8(u8::from(*superuser));
                body.put_u32(params.len() as u32);
                for (k, v) in params {
                    put_str(body, k);
                    put_str(body, v);
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
                put_str(body, sqlstate);
                put_str(body, message);
            }
            Control::Analysed {
                describes,
                text_len,
                digest,
                class,
                statements,
                only_queries,
                live,
            } => {
                body.put_u8(b'A');
                body.put_u8(*describes);
                body.put_u32(*text_len);
                body.put_u64(*digest);
                put_str(body, class);
                body.put_u32(*statements);
                body.put_u8(u8::from(*only_queries));
                body.put_u8(u8::from(*live));
            }
            Control::LakeChanged(changes) => {
                body.put_u8(b'L');
                body.put_u32(changes.len() as u32);
                for change in changes {
                    match change {
                        LakeChange::Table { namespace, name } => {
                            body.put_u8(b'T');
                            body.put_u32(namespace.len() as u32);
                            for part in namespace {
                                put_str(body, part);
                            }
                            put_str(body, name);
                        }
                        LakeChange::Listing => body.put_u8(b'L'),
                        LakeChange::Everything => body.put_u8(b'E'),
                        LakeChange::ResultCacheCleared { at_ms } => {
                            body.put_u8(b'R');
                            body.put_u64(*at_ms);
                        }
                    }
                }
            }
            Control::Export => body.put_u8(b'O'),
            Control::SessionState(state) => {
                body.put_u8(b'M');
                state.encode_into(body);
            }
            Control::Stays(reason) => {
                body.put_u8(b'N');
                put_str(body, reason);
            }
            Control::Import(state) => {
                body.put_u8(b'I');
                state.encode_into(body);
            }
        }
        let len = (body.len() - at) as i32;
        body[at..at + 4].copy_from_slice(&len.to_be_bytes());
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
            b'X' => Control::Refuse {
                replaces: r.statement_tag("refused message type")?,
                sqlstate: r.string()?,
                message: r.string()?,
            },
            b'A' => Control::Analysed {
                describes: r.statement_tag("analysed message type")?,
                text_len: r.u32()?,
                digest: r.u64()?,
                class: r.string()?,
                statements: r.u32()?,
                only_queries: match r.u8()? {
                    0 => false,
                    1 => true,
                    _ => return Err(ControlError("only-queries flag")),
                },
                live: match r.u8()? {
                    0 => false,
                    1 => true,
                    _ => return Err(ControlError("live flag")),
                },
            },
            b'L' => {
                let n = r.u32()? as usize;
                if n > MAX_CHANGES {
                    return Err(ControlError("too many lake changes"));
                }
                let mut changes = Vec::with_capacity(n);
                for _ in 0..n {
                    changes.push(r.lake_change()?);
                }
                Control::LakeChanged(changes)
            }
            b'O' => Control::Export,
            b'M' => Control::SessionState(Box::new(MovedSession::decode(&mut r)?)),
            b'N' => Control::Stays(r.string()?),
            b'I' => Control::Import(Box::new(MovedSession::decode(&mut r)?)),
            _ => return Err(ControlError("kind")),
        };
        if !r.b.is_empty() {
            return Err(ControlError("trailing bytes"));
        }
        Ok(c)
    }
}

/// Deepest namespace a lake change may name.
const MAX_NAMESPACE_DEPTH: usize = 64;

pub(crate) struct Reader<'a> {
    b: &'a [u8],
}

impl Reader<'_> {
    /// A count of items that follow, at most `max`.
    pub(crate) fn count(&mut self, max: usize) -> Result<usize, ControlError> {
        let n = self.u32()? as usize;
        if n > max {
            return Err(ControlError("too many items"));
        }
        Ok(n)
    }
    pub(crate) fn u8(&mut self) -> Result<u8, ControlError> {
        let (first, rest) = self.b.split_first().ok_or(ControlError("truncated"))?;
        self.b = rest;
        Ok(*first)
    }
    pub(crate) fn u32(&mut self) -> Result<u32, ControlError> {
        if self.b.len() < 4 {
            return Err(ControlError("truncated"));
        }
        let v = u32::from_be_bytes([self.b[0], self.b[1], self.b[2], self.b[3]]);
        self.b = &self.b[4..];
        Ok(v)
    }
    pub(crate) fn u64(&mut self) -> Result<u64, ControlError> {
        let hi = u64::from(self.u32()?);
        let lo = u64::from(self.u32()?);
        Ok(hi << 32 | lo)
    }
    /// The tag of a client message carrying a statement: Query or Parse.
    fn statement_tag(&mut self, what: &'static str) -> Result<u8, ControlError> {
        match self.u8()? {
            tag @ (b'Q' | b'P') => Ok(tag),
            _ => Err(ControlError(what)),
        }
    }

    fn lake_change(&mut self) -> Result<LakeChange, ControlError> {
        Ok(match self.u8()? {
            b'T' => {
                let parts = self.u32()? as usize;
                if parts > MAX_NAMESPACE_DEPTH {
                    return Err(ControlError("namespace too deep"));
                }
                let namespace = (0..parts)
                    .map(|_| self.string())
                    .collect::<Result<_, _>>()?;
                LakeChange::Table {
                    namespace,
                    name: self.string()?,
                }
            }
            b'L' => LakeChange::Listing,
            b'E' => LakeChange::Everything,
            b'R' => LakeChange::ResultCacheCleared { at_ms: self.u64()? },
            _ => return Err(ControlError("lake change kind")),
        })
    }

    pub(crate) fn string(&mut self) -> Result<String, ControlError> {
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
        round_trip(Control::analysed(b'Q', "SELECT 1", "query", 1, true));
        round_trip(Control::analysed(b'P', "SELECT 1", "query", 1, true).live());
        round_trip(Control::LakeChanged(vec![]));
        round_trip(Control::LakeChanged(vec![
            LakeChange::Table {
                namespace: vec!["a".into(), "b".into()],
                name: "t".into(),
            },
            LakeChange::Listing,
            LakeChange::Everything,
            LakeChange::ResultCacheCleared {
                at_ms: u64::MAX - 3,
            },
        ]));
        round_trip(Control::Export);
        round_trip(Control::Stays("a TEMP table".into()));
        let moved = MovedSession {
            params: vec![crate::moved_session::MovedParam {
                name: "TimeZone".into(),
                value: "Europe/Paris".into(),
                source: "session".into(),
            }],
            statements: vec![crate::moved_session::MovedStatement {
                name: "s1".into(),
                sql: "SELECT $1".into(),
                param_types: vec![23, 0],
                shape: 42,
            }],
            sequences: vec![("public.s".into(), -7)],
            last_value: Some(-7),
        };
        round_trip(Control::SessionState(Box::new(moved.clone())));
        round_trip(Control::Import(Box::new(moved)));
        round_trip(Control::Import(Box::default()));
    }

    #[test]
    fn an_analysis_names_exactly_its_text() {
        let a = Control::analysed(b'P', "SELECT $1", "query", 1, true);
        assert!(a.describes_text("SELECT $1"));
        assert!(!a.describes_text("SELECT $2"));
        assert!(!a.describes_text("SELECT $1 "));
        assert!(!Control::Reset.describes_text(""));
        assert_ne!(text_digest("a"), text_digest("b"));
        assert_eq!(text_digest(""), 0xcbf2_9ce4_8422_2325);
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
            b"AZ\0\0\0\x01\0\0\0\0\0\0\0\0q\0\0\0\0\x01\x01",
            b"AQ\0\0\0\x01\0\0\0\0\0\0\0\0q\0\0\0\0\x01\x02",
            b"AQ\0\0",
            b"L\0\0\0\x01",
            b"L\0\0\0\x01Z",
            b"L\0\0\0\x01T\0\0\0\x01s\0",
            b"L\0\0\0\x01T\xff\xff\xff\xffs\0t\0",
            b"L\xff\xff\xff\xff",
            b"L\0\0\0\x00E",
            b"O\0",
            b"M\0\0\0\0\0\0\0\0\0\0\0\0",
            b"M\0\0\0\0\0\0\0\0\0\0\0\0\x02",
            b"M\xff\xff\xff\xff",
            b"I\0\0\0\0\0\0\0\x01s\0q\0\xff\xff\xff\xff",
        ] {
            assert!(Control::decode(body).is_err(), "{body:?}");
        }
    }

    #[test]
    fn the_control_type_is_no_frontend_type() {
        assert!(!FRONTEND_TAGS.contains(&CONTROL_TAG));
    }
}
