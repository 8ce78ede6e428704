//! The router's side of the SQL policy (`floe_sql::policy`, which every worker
//! applies again): each client Query and Parse message is analysed once before
//! it is relayed, and a refused one is replaced by a typed control message that
//! the worker answers as that message failing, so protocol state (failed
//! transaction, skip to Sync) stays exactly as for any other error. Frames of
//! types outside the frontend protocol, malformed and oversized ones, end the
//! session.

use bytes::{BufMut, BytesMut};
use floe_protocol::control::Control;
use floe_protocol::frame::{self, query_message};
use floe_protocol::frontend::{self, MalformedMessage};

pub use floe_sql::policy::{PolicyContext, Refusal, StatementClass};

/// The control message that stands in for a refused message of type `replaces`.
pub fn refusal(replaces: u8, r: &Refusal) -> BytesMut {
    Control::Refuse {
        replaces,
        sqlstate: r.sqlstate.to_string(),
        message: r.message.clone(),
    }
    .encode()
}

/// Checks that every frame is a frontend message a client may send, shaped as
/// that message must be.
pub fn check_frames(buf: &[u8], frames: &[frame::FrameInfo]) -> Result<(), MalformedMessage> {
    frames
        .iter()
        .try_for_each(|f| frontend::check_body(f.tag, frame::body(buf, f)))
}

/// What a rewrite made of an allowed statement.
pub enum Rewritten {
    Same,
    Text(String),
    Refused(Refusal),
}

/// Applies the policy to client messages on one connection, remembering SQL it
/// already allowed so repeated statements are not parsed again.
pub struct SqlGate {
    context: PolicyContext,
    allowed: std::collections::HashMap<String, StatementClass>,
}

/// Statements a connection remembers as allowed.
const ALLOWED_CACHE: usize = 256;

impl SqlGate {
    pub fn new(context: PolicyContext) -> SqlGate {
        SqlGate {
            context,
            allowed: std::collections::HashMap::new(),
        }
    }

    fn verdict(&mut self, sql: &str) -> Result<StatementClass, Refusal> {
        if let Some(class) = self.allowed.get(sql) {
            return Ok(*class);
        }
        let class = floe_sql::policy::analyze(sql, &self.context)?.class;
        if self.allowed.len() >= ALLOWED_CACHE {
            self.allowed.clear();
        }
        self.allowed.insert(sql.to_string(), class);
        Ok(class)
    }

    /// Returns the frames of `buf` with refused Query and Parse messages replaced
    /// by refusal statements, and allowed ones passed through `rewrite` (which may
    /// return new text), or `None` when nothing changed (the bytes are then
    /// forwarded as they are).
    pub fn filter(
        &mut self,
        buf: &[u8],
        frames: &[frame::FrameInfo],
        rewrite: &mut (dyn FnMut(&str) -> Rewritten + Send),
        classes: &mut dyn FnMut(StatementClass),
    ) -> Option<BytesMut> {
        let mut out: Option<BytesMut> = None;
        for (i, f) in frames.iter().enumerate() {
            let body = frame::body(buf, f);
            let replacement = match f.tag {
                b'Q' => {
                    let sql = cstr(body).0;
                    match self.verdict(&sql) {
                        Err(r) => Some(refusal(b'Q', &r)),
                        Ok(class) => {
                            classes(class);
                            match rewrite(&sql) {
                                Rewritten::Same => None,
                                Rewritten::Text(new) => Some(query_message(&new)),
                                Rewritten::Refused(r) => Some(refusal(b'Q', &r)),
                            }
                        }
                    }
                }
                b'P' => {
                    let (name, rest) = cstr(body);
                    let (sql, declared_types) = cstr(rest);
                    match self.verdict(&sql) {
                        Err(r) => Some(refusal(b'P', &r)),
                        Ok(class) => {
                            classes(class);
                            match rewrite(&sql) {
                                Rewritten::Same => None,
                                // The client's declared parameter types travel
                                // with the rewritten text unchanged.
                                Rewritten::Text(new) => {
                                    Some(parse_message(&name, &new, declared_types))
                                }
                                Rewritten::Refused(r) => Some(refusal(b'P', &r)),
                            }
                        }
                    }
                }
                _ => None,
            };
            match (replacement, &mut out) {
                (Some(m), Some(o)) => o.extend_from_slice(&m),
                (Some(m), None) => {
                    // First change: copy the frames before this one as they are.
                    let mut o = BytesMut::with_capacity(buf.len() + m.len());
                    for g in &frames[..i] {
                        o.extend_from_slice(&buf[g.start..g.start + g.len]);
                    }
                    o.extend_from_slice(&m);
                    out = Some(o);
                }
                (None, Some(o)) => o.extend_from_slice(&buf[f.start..f.start + f.len]),
                (None, None) => {}
            }
        }
        out
    }
}

/// A NUL-terminated string at the start of `b`, and what follows it.
fn cstr(b: &[u8]) -> (String, &[u8]) {
    let end = b.iter().position(|c| *c == 0).unwrap_or(b.len());
    let rest = if end < b.len() {
        &b[end + 1..]
    } else {
        &[][..]
    };
    (String::from_utf8_lossy(&b[..end]).into_owned(), rest)
}

/// A Parse message; `declared_types` is the count and OIDs as the client sent
/// them (already checked to fit the body), or empty for none.
fn parse_message(name: &str, sql: &str, declared_types: &[u8]) -> BytesMut {
    let types_len = declared_types.len().max(2);
    let mut m = BytesMut::with_capacity(sql.len() + name.len() + 7 + types_len);
    m.put_u8(b'P');
    m.put_i32((4 + name.len() + 1 + sql.len() + 1 + types_len) as i32);
    m.put_slice(name.as_bytes());
    m.put_u8(0);
    m.put_slice(sql.as_bytes());
    m.put_u8(0);
    if declared_types.is_empty() {
        m.put_i16(0);
    } else {
        m.put_slice(declared_types);
    }
    m
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gate() -> SqlGate {
        SqlGate::new(PolicyContext::for_database("floe"))
    }

    #[test]
    fn gate_replaces_only_refused_messages() {
        let mut buf = BytesMut::new();
        buf.extend_from_slice(&query_message("SELECT 1"));
        buf.extend_from_slice(&parse_message("s", "INSTALL httpfs", &[]));
        buf.extend_from_slice(&[b'S', 0, 0, 0, 4]);
        let mut frames = Vec::new();
        let n = frame::scan(&buf, &mut frames).expect("scan");
        assert_eq!(n, buf.len());
        let mut gate = gate();
        let out = gate
            .filter(&buf, &frames, &mut |_| Rewritten::Same, &mut |_| {})
            .expect("rewritten");
        let mut again = Vec::new();
        frame::scan(&out, &mut again).expect("scan");
        let tags: Vec<u8> = again.iter().map(|f| f.tag).collect();
        assert_eq!(tags, vec![b'Q', floe_protocol::control::CONTROL_TAG, b'S']);
        assert_eq!(frame::body(&out, &again[0]), b"SELECT 1\0");
        match Control::decode(frame::body(&out, &again[1])).expect("control") {
            Control::Refuse {
                replaces, sqlstate, ..
            } => {
                assert_eq!(replaces, b'P');
                assert_eq!(sqlstate, "42501");
            }
            other => panic!("{other:?}"),
        }
        // All-allowed batches are forwarded untouched.
        let mut ok = BytesMut::new();
        ok.extend_from_slice(&query_message("SELECT 2"));
        let mut f2 = Vec::new();
        frame::scan(&ok, &mut f2).expect("scan");
        assert!(gate
            .filter(&ok, &f2, &mut |_| Rewritten::Same, &mut |_| {})
            .is_none());
        let changed = gate
            .filter(
                &ok,
                &f2,
                &mut |sql| Rewritten::Text(format!("{sql} + 1")),
                &mut |_| {},
            )
            .expect("rewritten");
        let mut f3 = Vec::new();
        frame::scan(&changed, &mut f3).expect("scan");
        assert_eq!(frame::body(&changed, &f3[0]), b"SELECT 2 + 1\0");
    }

    #[test]
    fn a_rewritten_parse_keeps_its_declared_parameter_types() {
        let declared = [0u8, 2, 0, 0, 0, 21, 0, 0, 0, 0];
        let mut buf = BytesMut::new();
        buf.extend_from_slice(&parse_message("s1", "SELECT $1::int, $2", &declared));
        let mut frames = Vec::new();
        frame::scan(&buf, &mut frames).expect("scan");
        let out = gate()
            .filter(
                &buf,
                &frames,
                &mut |sql| Rewritten::Text(sql.replace("int", "integer")),
                &mut |_| {},
            )
            .expect("rewritten");
        let mut again = Vec::new();
        frame::scan(&out, &mut again).expect("scan");
        let mut expected = b"s1\0SELECT $1::integer, $2\0".to_vec();
        expected.extend_from_slice(&declared);
        assert_eq!(frame::body(&out, &again[0]), &expected[..]);
        assert!(check_frames(&out, &again).is_ok());
    }

    #[test]
    fn unparsable_text_is_refused_not_passed() {
        let mut buf = BytesMut::new();
        buf.extend_from_slice(&query_message(
            "SELECT content FROM read_text('/x.txt'); /*",
        ));
        let mut frames = Vec::new();
        frame::scan(&buf, &mut frames).expect("scan");
        let out = gate()
            .filter(&buf, &frames, &mut |_| Rewritten::Same, &mut |_| {})
            .expect("refused");
        assert_eq!(out[0], floe_protocol::control::CONTROL_TAG);
    }

    #[test]
    fn control_and_unknown_frames_from_clients_are_errors() {
        let control = Control::Reset.encode();
        let mut frames = Vec::new();
        frame::scan(&control, &mut frames).expect("scan");
        assert!(check_frames(&control, &frames).is_err());
        let ok = query_message("SELECT 1");
        let mut frames = Vec::new();
        frame::scan(&ok, &mut frames).expect("scan");
        assert!(check_frames(&ok, &frames).is_ok());
        let mut cut = query_message("SELECT 1");
        cut[4] -= 1;
        cut.truncate(cut.len() - 1);
        let mut frames = Vec::new();
        frame::scan(&cut, &mut frames).expect("scan");
        assert!(check_frames(&cut, &frames).is_err());
    }
}
