//! The router's side of the SQL policy (`floe_sql::policy`): each client Query
//! and Parse message is analysed once before it is relayed. An allowed one goes
//! on preceded by its analysis (`Control::Analysed`, naming the exact text that
//! will run, after rewrites), so the worker does not analyse it again; a
//! refused one is replaced by a typed control message that the worker answers
//! as that message failing, so protocol state (failed transaction, skip to
//! Sync) stays exactly as for any other error. Frames of types outside the
//! frontend protocol, malformed and oversized ones, end the session.

use bytes::BytesMut;
use floe_protocol::control::Control;
use floe_protocol::frame::{self, parse_message, query_message};
use floe_protocol::frontend::{self, MalformedMessage};

pub use floe_sql::policy::{Analysis, PolicyContext, Refusal, StatementClass};

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
    /// New text that answers part of the statement from the router's own
    /// state (see `Control::Analysed::live`).
    Live(String),
    Refused(Refusal),
}

/// Applies the policy to client messages on one connection, remembering texts
/// it already allowed so repeated statements are not parsed again.
pub struct SqlGate {
    context: PolicyContext,
    allowed: std::collections::HashMap<String, Analysis>,
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

    fn verdict(&mut self, sql: &str) -> Result<Analysis, Refusal> {
        if let Some(a) = self.allowed.get(sql) {
            return Ok(*a);
        }
        let analysis = floe_sql::policy::analyze(sql, &self.context)?;
        if self.allowed.len() >= ALLOWED_CACHE {
            self.allowed.clear();
        }
        self.allowed.insert(sql.to_string(), analysis);
        Ok(analysis)
    }

    /// What becomes of one Query or Parse text: refused, or
    /// allowed as the text that will run (rewritten, then analysed again when
    /// the rewrite changed it) with its analysis.
    fn decide(
        &mut self,
        sql: &str,
        rewrite: &mut (dyn FnMut(&str) -> Rewritten + Send),
        classes: &mut dyn FnMut(StatementClass),
    ) -> Decision {
        let analysis = match self.verdict(sql) {
            Ok(a) => a,
            Err(r) => return Decision::Refused(r),
        };
        classes(analysis.class);
        match rewrite(sql) {
            Rewritten::Same => Decision::Allowed(None, analysis, false),
            Rewritten::Refused(r) => Decision::Refused(r),
            // The policy holds for the text that runs, not only the client's.
            Rewritten::Text(new) => match self.verdict(&new) {
                Ok(a) => Decision::Allowed(Some(new), a, false),
                Err(r) => Decision::Refused(r),
            },
            Rewritten::Live(new) => match self.verdict(&new) {
                Ok(a) => Decision::Allowed(Some(new), a, true),
                Err(r) => Decision::Refused(r),
            },
        }
    }

    /// Returns the frames of `buf` with refused Query and Parse messages replaced
    /// by refusal control messages, and allowed ones passed through `rewrite`
    /// (which may return new text) and preceded by their analysis, so the
    /// worker does not analyse them again; `None` when `buf` holds neither (the
    /// bytes are then forwarded as they are).
    pub fn filter(
        &mut self,
        buf: &[u8],
        frames: &[frame::FrameInfo],
        rewrite: &mut (dyn FnMut(&str) -> Rewritten + Send),
        classes: &mut dyn FnMut(StatementClass),
    ) -> Option<BytesMut> {
        let mut out: Option<BytesMut> = None;
        for (i, f) in frames.iter().enumerate() {
            let original = &buf[f.start..f.start + f.len];
            if f.tag != b'Q' && f.tag != b'P' {
                if let Some(o) = &mut out {
                    o.extend_from_slice(original);
                }
                continue;
            }
            let o = out.get_or_insert_with(|| {
                // The frames before the first Query or Parse pass as they are.
                let mut o = BytesMut::with_capacity(buf.len() + 64);
                for g in &frames[..i] {
                    o.extend_from_slice(&buf[g.start..g.start + g.len]);
                }
                o
            });
            let body = frame::body(buf, f);
            let (name, sql, declared_types) = if f.tag == b'Q' {
                (String::new(), cstr(body).0, &[][..])
            } else {
                let (name, rest) = cstr(body);
                let (sql, declared_types) = cstr(rest);
                (name, sql, declared_types)
            };
            match self.decide(&sql, rewrite, classes) {
                Decision::Refused(r) => o.extend_from_slice(&refusal(f.tag, &r)),
                Decision::Allowed(new, a, live) => {
                    let text = new.as_deref().unwrap_or(&sql);
                    let analysed = Control::analysed(
                        f.tag,
                        text,
                        a.class.as_str(),
                        a.statements,
                        a.only_queries,
                    );
                    match live {
                        true => analysed.live().encode_into(o),
                        false => analysed.encode_into(o),
                    }
                    match &new {
                        None => o.extend_from_slice(original),
                        Some(new) if f.tag == b'Q' => o.extend_from_slice(&query_message(new)),
                        // The client's declared parameter types travel with
                        // the rewritten text unchanged.
                        Some(new) => {
                            o.extend_from_slice(&parse_message(&name, new, declared_types))
                        }
                    }
                }
            }
        }
        out
    }
}

/// What the gate made of one Query or Parse text.
enum Decision {
    /// Refused, and why.
    Refused(Refusal),
    /// Allowed: the text to send instead (when rewritten), the analysis of
    /// the text that runs, and whether the router answered part of it.
    Allowed(Option<String>, Analysis, bool),
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

#[cfg(test)]
mod tests {
    use super::*;

    fn gate() -> SqlGate {
        SqlGate::new(PolicyContext::for_database("floe"))
    }

    fn frames_of(out: &[u8]) -> Vec<frame::FrameInfo> {
        let mut frames = Vec::new();
        assert_eq!(frame::scan(out, &mut frames).expect("scan"), out.len());
        frames
    }

    #[test]
    fn refused_messages_are_replaced_and_allowed_ones_carry_their_analysis() {
        let mut buf = BytesMut::new();
        buf.extend_from_slice(&query_message("SELECT 1"));
        buf.extend_from_slice(&parse_message("s", "INSTALL httpfs", &[]));
        buf.extend_from_slice(&[b'S', 0, 0, 0, 4]);
        let frames = frames_of(&buf);
        let mut gate = gate();
        let out = gate
            .filter(&buf, &frames, &mut |_| Rewritten::Same, &mut |_| {})
            .expect("changed");
        let again = frames_of(&out);
        let tags: Vec<u8> = again.iter().map(|f| f.tag).collect();
        let c = floe_protocol::control::CONTROL_TAG;
        assert_eq!(tags, vec![c, b'Q', c, b'S']);
        let analysis = Control::decode(frame::body(&out, &again[0])).expect("control");
        assert!(analysis.describes_text("SELECT 1"), "{analysis:?}");
        assert!(matches!(
            &analysis,
            Control::Analysed { describes: b'Q', class, statements: 1, only_queries: true, .. }
                if class == "query"
        ));
        // The allowed message itself is forwarded byte for byte.
        assert_eq!(
            &out[again[1].start..again[1].start + again[1].len],
            &query_message("SELECT 1")[..]
        );
        match Control::decode(frame::body(&out, &again[2])).expect("control") {
            Control::Refuse {
                replaces, sqlstate, ..
            } => {
                assert_eq!(replaces, b'P');
                assert_eq!(sqlstate, "42501");
            }
            other => panic!("{other:?}"),
        }
        // Frames other than Query and Parse pass untouched.
        let sync = BytesMut::from(&[b'S', 0, 0, 0, 4][..]);
        assert!(gate
            .filter(
                &sync,
                &frames_of(&sync),
                &mut |_| Rewritten::Same,
                &mut |_| {}
            )
            .is_none());
    }

    #[test]
    fn a_rewritten_text_is_analysed_as_it_will_run() {
        let ok = query_message("SELECT 2");
        let frames = frames_of(&ok);
        let mut gate = gate();
        let changed = gate
            .filter(
                &ok,
                &frames,
                &mut |sql| Rewritten::Text(format!("{sql} + 1")),
                &mut |_| {},
            )
            .expect("rewritten");
        let f = frames_of(&changed);
        let analysis = Control::decode(frame::body(&changed, &f[0])).expect("control");
        assert!(analysis.describes_text("SELECT 2 + 1"));
        assert_eq!(frame::body(&changed, &f[1]), b"SELECT 2 + 1\0");
        // A rewrite that would run something the policy refuses is refused.
        let refused = gate
            .filter(
                &ok,
                &frames,
                &mut |_| Rewritten::Text("SELECT * FROM read_csv('/etc/passwd')".into()),
                &mut |_| {},
            )
            .expect("refused");
        let f = frames_of(&refused);
        assert_eq!(f.len(), 1);
        assert!(matches!(
            Control::decode(frame::body(&refused, &f[0])),
            Ok(Control::Refuse { replaces: b'Q', .. })
        ));
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
        assert_eq!(frame::body(&out, &again[1]), &expected[..]);
        assert!(check_frames(&out, &again[1..]).is_ok());
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
