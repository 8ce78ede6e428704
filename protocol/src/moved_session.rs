//! A client session's state as it moves from one worker to another between
//! statements: what the session set (parameters and where each value came
//! from), the statements it prepared (by name, with the text and parameter
//! types they were prepared with) and its sequences' `currval`/`lastval`.
//! A worker exports it only when nothing else of the session lives in the
//! worker (no transaction, TEMP relation, cursor or engine-prepared
//! statement); the router imports it into a session on another worker (see
//! [`crate::control::Control::Export`]).

use bytes::{BufMut, BytesMut};

use crate::control::{put_str, ControlError, Reader};

/// Most parameters, statements and sequences a moved session carries (a
/// session with more stays where it is).
pub const MAX_MOVED_ITEMS: usize = 4096;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MovedSession {
    pub params: Vec<MovedParam>,
    pub statements: Vec<MovedStatement>,
    /// `currval` of each sequence the session drew from, by qualified name.
    pub sequences: Vec<(String, i64)>,
    /// `lastval`.
    pub last_value: Option<i64>,
}

/// A parameter the session holds at a value of its own.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MovedParam {
    pub name: String,
    pub value: String,
    /// Where the value came from, as `pg_settings.source` says it.
    pub source: String,
}

/// A prepared statement: the protocol's (Parse) name, `""` for the unnamed one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MovedStatement {
    pub name: String,
    pub sql: String,
    /// The parameter types the client declared.
    pub param_types: Vec<u32>,
    /// A digest of the statement's parameter and result types as the client
    /// was told them: prepared again elsewhere, it must come out the same.
    pub shape: u64,
}

impl MovedSession {
    pub(crate) fn encode_into(&self, body: &mut BytesMut) {
        body.put_u32(self.params.len() as u32);
        for p in &self.params {
            put_str(body, &p.name);
            put_str(body, &p.value);
            put_str(body, &p.source);
        }
        body.put_u32(self.statements.len() as u32);
        for s in &self.statements {
            put_str(body, &s.name);
            put_str(body, &s.sql);
            body.put_u32(s.param_types.len() as u32);
            for t in &s.param_types {
                body.put_u32(*t);
            }
            body.put_u64(s.shape);
        }
        body.put_u32(self.sequences.len() as u32);
        for (name, value) in &self.sequences {
            put_str(body, name);
            body.put_i64(*value);
        }
        match self.last_value {
            Some(v) => {
                body.put_u8(1);
                body.put_i64(v);
            }
            None => body.put_u8(0),
        }
    }

    pub(crate) fn decode(r: &mut Reader<'_>) -> Result<MovedSession, ControlError> {
        let mut s = MovedSession::default();
        for _ in 0..r.count(MAX_MOVED_ITEMS)? {
            s.params.push(MovedParam {
                name: r.string()?,
                value: r.string()?,
                source: r.string()?,
            });
        }
        for _ in 0..r.count(MAX_MOVED_ITEMS)? {
            let name = r.string()?;
            let sql = r.string()?;
            let n = r.count(u16::MAX as usize)?;
            let param_types = (0..n).map(|_| r.u32()).collect::<Result<_, _>>()?;
            s.statements.push(MovedStatement {
                name,
                sql,
                param_types,
                shape: r.u64()?,
            });
        }
        for _ in 0..r.count(MAX_MOVED_ITEMS)? {
            s.sequences.push((r.string()?, r.u64()? as i64));
        }
        s.last_value = match r.u8()? {
            0 => None,
            1 => Some(r.u64()? as i64),
            _ => return Err(ControlError("lastval flag")),
        };
        Ok(s)
    }
}
