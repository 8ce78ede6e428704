//! Read-after-commit across workers. A worker reports each lake change its
//! session makes in a control frame ahead of the answer that tells the client
//! the statement finished; the relay takes those frames out of the worker's
//! stream and records them in the router's change log before it forwards
//! anything after them. Before forwarding a client's next message to a worker
//! session, the relay sends that session the changes it has not been told of,
//! and the worker drops what it cached of them before it reads the message. So
//! once a client has heard that a commit finished, the next statement of any
//! session, on any worker, reads the lake as that commit left it.

use bytes::{Bytes, BytesMut};
use floe_protocol::control::{Control, CONTROL_TAG};
use floe_protocol::frame::{self, FrameInfo};
use floe_protocol::lake_changes::ChangeLog;

/// Records the change reports among `frames` of `chunk` in `log` and returns
/// the chunk without them (`None` when it holds none). Any other control frame
/// from a worker is dropped: nothing the router does not know reaches a client.
pub fn take_reports(chunk: &Bytes, frames: &[FrameInfo], log: &ChangeLog) -> Option<BytesMut> {
    if !frames.iter().any(|f| f.tag == CONTROL_TAG) {
        return None;
    }
    let mut rest = BytesMut::with_capacity(chunk.len());
    for f in frames {
        let whole = &chunk[f.start..f.start + f.len];
        if f.tag != CONTROL_TAG {
            rest.extend_from_slice(whole);
            continue;
        }
        match Control::decode(frame::body(chunk, f)) {
            Ok(Control::LakeChanged(changes)) => {
                log.record(changes);
            }
            other => tracing::warn!(message = ?other, "unexpected control message from a worker"),
        }
    }
    Some(rest)
}

/// The changes a worker session told of everything before `seen` has not
/// heard of yet, as a control message to send ahead of the client's next
/// message; moves `seen` past them.
pub fn news_for(log: &ChangeLog, seen: &mut u64) -> Option<BytesMut> {
    if log.end() <= *seen {
        return None;
    }
    let (changes, end) = log.since(*seen);
    *seen = end;
    (!changes.is_empty()).then(|| Control::LakeChanged(changes).encode())
}

#[cfg(test)]
mod tests {
    use super::*;
    use floe_protocol::lake_changes::LakeChange;

    fn table(name: &str) -> LakeChange {
        LakeChange::Table {
            namespace: vec!["public".into()],
            name: name.into(),
        }
    }

    #[test]
    fn reports_are_recorded_and_taken_out_of_the_stream() {
        let log = ChangeLog::new();
        let mut stream = BytesMut::new();
        stream.extend_from_slice(&Control::LakeChanged(vec![table("t")]).encode());
        stream.extend_from_slice(b"C\0\0\0\x0bINSERT\0");
        stream.extend_from_slice(&Control::Reset.encode());
        stream.extend_from_slice(b"Z\0\0\0\x05I");
        let chunk = stream.freeze();
        let mut frames = Vec::new();
        frame::scan(&chunk, &mut frames).expect("frames");
        let rest = take_reports(&chunk, &frames, &log).expect("reports taken");
        assert_eq!(&rest[..], b"C\0\0\0\x0bINSERT\0Z\0\0\0\x05I");
        assert_eq!(log.end(), 1);

        let plain = Bytes::from_static(b"Z\0\0\0\x05I");
        frames.clear();
        frame::scan(&plain, &mut frames).expect("frames");
        assert!(take_reports(&plain, &frames, &log).is_none());
    }

    #[test]
    fn each_session_hears_each_change_once() {
        let log = ChangeLog::new();
        let (mut a, mut b) = (0, 0);
        assert!(news_for(&log, &mut a).is_none());
        log.record([table("t")]);
        let expected = Control::LakeChanged(vec![table("t")]).encode();
        assert_eq!(news_for(&log, &mut a), Some(expected.clone()));
        assert!(news_for(&log, &mut a).is_none());
        assert_eq!(news_for(&log, &mut b), Some(expected));
        assert_eq!((a, b), (1, 1));
    }
}
