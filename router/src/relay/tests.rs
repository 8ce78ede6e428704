//! The relay in process, between a client on one end of an in-memory pipe and a
//! fake worker on a Unix socket pair (and a second one the session may move
//! to): what crosses each way, byte for byte, how each side's end is told to
//! the other, and where between requests a session moves.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use bytes::{BufMut, BytesMut};
use floe_protocol::control::{Control, CONTROL_TAG};
use floe_protocol::frame::{self, query_message};
use floe_protocol::lake_changes::LakeChange;
use floe_protocol::{ListenAddr, Stream};
use tokio::io::{AsyncReadExt, AsyncWriteExt, DuplexStream};
use tokio::net::UnixStream;
use tokio::sync::{watch, Notify};

use super::*;
use crate::compat::activity::LiveState;
use crate::frontend::cancel::WorkerKey;

/// One relayed session: the client's end, the fake worker's end, and the
/// relay running between them.
struct Harness {
    client: DuplexStream,
    worker: UnixStream,
    /// The worker the session moves to (and from, the next time).
    other: UnixStream,
    /// Set to have the session move at its next idle boundary.
    want_move: Arc<AtomicBool>,
    moves: Arc<AtomicUsize>,
    relay: tokio::task::JoinHandle<std::io::Result<(SessionEnd, bool)>>,
    info: Arc<SessionInfo>,
    metrics: Arc<Metrics>,
    lake_changes: Arc<ChangeLog>,
    _shutdown: watch::Sender<bool>,
}

fn session_info() -> Arc<SessionInfo> {
    Arc::new(SessionInfo {
        pid: 7,
        user: "alice".into(),
        database: "floe".into(),
        client_addr: "127.0.0.1:5000".into(),
        backend_start: SystemTime::now(),
        superuser: false,
        worker: parking_lot::Mutex::new(WorkerKey {
            addr: "unix:/nowhere".parse::<ListenAddr>().expect("addr"),
            pid: 1,
            secret: 2,
        }),
        terminate: Notify::new(),
        live: parking_lot::Mutex::new(LiveState {
            application_name: String::new(),
            state: "idle",
            query: String::new(),
            query_start: None,
        }),
    })
}

/// The bytes up to the next ErrorResponse the client gets, as text.
async fn error_text(client: &mut DuplexStream) -> String {
    let got = read_until(client, b'E').await;
    String::from_utf8_lossy(&got).into_owned()
}

/// Two fake worker sessions; a move goes to the one not in use.
struct Flip {
    sessions: [Stream; 2],
    /// The workers never drain here.
    draining: watch::Sender<bool>,
    seen: [u64; 2],
    current: usize,
    want_move: Arc<AtomicBool>,
    moves: Arc<AtomicUsize>,
}

impl Placement for Flip {
    fn backend(&mut self) -> (&mut Stream, &mut u64) {
        (
            &mut self.sessions[self.current],
            &mut self.seen[self.current],
        )
    }
    fn move_test(&self) -> MoveTest {
        let want = self.want_move.clone();
        Box::new(move || want.load(Ordering::SeqCst).then_some(MoveWhy::Balance))
    }
    fn worker_draining(&self) -> watch::Receiver<bool> {
        self.draining.subscribe()
    }
    async fn try_move(&mut self, _: MoveWhy) -> bool {
        self.want_move.store(false, Ordering::SeqCst);
        self.moves.fetch_add(1, Ordering::SeqCst);
        self.current = 1 - self.current;
        true
    }
}

fn start() -> Harness {
    let (client, relay_side) = tokio::io::duplex(1 << 16);
    let (worker, router_side) = UnixStream::pair().expect("socket pair");
    let (other, other_router_side) = UnixStream::pair().expect("socket pair");
    let want_move = Arc::new(AtomicBool::new(false));
    let moves = Arc::new(AtomicUsize::new(0));
    let mut place = Flip {
        sessions: [Stream::Unix(router_side), Stream::Unix(other_router_side)],
        draining: watch::Sender::new(false),
        seen: [0, 0],
        current: 0,
        want_move: want_move.clone(),
        moves: moves.clone(),
    };
    let info = session_info();
    let metrics = Metrics::new();
    let lake_changes = Arc::new(ChangeLog::new());
    let (tx, rx) = watch::channel(false);
    let relay = {
        let info = info.clone();
        let metrics = metrics.clone();
        let lake_changes = lake_changes.clone();
        tokio::spawn(async move {
            let spin = SpinWait::new(Duration::ZERO);
            let activity = Activity::default();
            activity.register(info.clone());
            let admin = |_: AdminAction, _: i32| Ok(false);
            let ctx = RelayContext {
                spin: &spin,
                metrics: &metrics,
                activity: &activity,
                admin: &admin,
                max_message_bytes: 1 << 20,
                lake_changes: &lake_changes,
            };
            relay(relay_side, None, &mut place, rx, &ctx, &info).await
        })
    };
    Harness {
        client,
        worker,
        other,
        want_move,
        moves,
        relay,
        info,
        metrics,
        lake_changes,
        _shutdown: tx,
    }
}

/// Reads whole frames until one with `tag` arrives; returns every byte read.
async fn read_until(r: &mut (impl AsyncReadExt + Unpin), tag: u8) -> BytesMut {
    let mut buf = BytesMut::new();
    loop {
        let mut frames = Vec::new();
        let complete = frame::scan(&buf, &mut frames).expect("frames");
        if frames.iter().any(|f| f.tag == tag) && complete == buf.len() {
            return buf;
        }
        let n = tokio::time::timeout(Duration::from_secs(5), r.read_buf(&mut buf))
            .await
            .expect("no answer within 5 s")
            .expect("read");
        assert!(n > 0, "closed before a {:?} frame", tag as char);
    }
}

fn tags(buf: &[u8]) -> Vec<u8> {
    let mut frames = Vec::new();
    frame::scan(buf, &mut frames).expect("frames");
    frames.iter().map(|f| f.tag).collect()
}

/// A worker's answer to a query: one row of one column, then idle.
fn worker_answer() -> BytesMut {
    let mut m = BytesMut::new();
    m.put_u8(b'D');
    m.put_i32(4 + 2 + 4 + 1);
    m.put_i16(1);
    m.put_i32(1);
    m.put_u8(b'1');
    m.put_u8(b'C');
    m.put_i32(4 + 9);
    m.put_slice(b"SELECT 1\0");
    floe_protocol::backend::ready_for_query(&mut m, b'I');
    m
}

#[tokio::test]
async fn frames_cross_unchanged_both_ways_and_terminate_keeps_the_worker_session() {
    let mut h = start();
    let query = query_message("SELECT 1");
    h.client.write_all(&query).await.expect("write");
    let seen = read_until(&mut h.worker, b'Q').await;
    // The router's analysis of the text, then the client's bytes unchanged.
    assert_eq!(tags(&seen), vec![CONTROL_TAG, b'Q']);
    let analysis = floe_protocol::control::Control::decode(&seen[5..seen.len() - query.len()])
        .expect("analysis");
    assert!(analysis.describes_text("SELECT 1"), "{analysis:?}");
    assert_eq!(
        &seen[seen.len() - query.len()..],
        &query[..],
        "the worker gets the client's bytes"
    );
    assert_eq!(h.info.live().state, "active");

    let answer = worker_answer();
    h.worker.write_all(&answer).await.expect("answer");
    let got = read_until(&mut h.client, b'Z').await;
    assert_eq!(&got[..], &answer[..], "the client gets the worker's bytes");
    assert_eq!(h.info.live().state, "idle");
    assert_eq!(h.metrics.queries_simple.load(Ordering::Relaxed), 1);

    // Terminate ends the client's session, not the pooled worker session.
    h.client.write_all(b"X\0\0\0\x04").await.expect("terminate");
    let (end, reusable) = h.relay.await.expect("join").expect("relay");
    assert_eq!(end, SessionEnd::ClientGone);
    assert!(reusable, "an idle worker session left cleanly is reusable");
    let mut rest = [0u8; 16];
    let n = tokio::time::timeout(Duration::from_millis(200), h.worker.read(&mut rest)).await;
    assert!(
        !matches!(n, Ok(Ok(k)) if k > 0),
        "nothing (no Terminate) reaches the worker"
    );
}

#[tokio::test]
async fn lake_changes_go_to_the_log_not_the_client_and_come_back_as_news() {
    let mut h = start();
    h.client
        .write_all(&query_message("INSERT INTO t VALUES (1)"))
        .await
        .expect("write");
    read_until(&mut h.worker, b'Q').await;
    let change = LakeChange::Table {
        namespace: vec!["public".into()],
        name: "t".into(),
    };
    let mut answer = Control::LakeChanged(vec![change.clone()]).encode();
    answer.extend_from_slice(b"C\0\0\0\x0fINSERT 0 1\0Z\0\0\0\x05I");
    h.worker.write_all(&answer).await.expect("answer");
    let got = read_until(&mut h.client, b'Z').await;
    assert_eq!(
        tags(&got),
        vec![b'C', b'Z'],
        "the report stays in the router"
    );
    assert_eq!(h.lake_changes.since(0).0, vec![change.clone()]);

    // Whatever the session was told of before, the change reaches the worker
    // ahead of the client's next message.
    h.client
        .write_all(&query_message("SELECT 1"))
        .await
        .expect("write");
    let seen = read_until(&mut h.worker, b'Q').await;
    let mut frames = Vec::new();
    frame::scan(&seen, &mut frames).expect("frames");
    assert_eq!(frames[0].tag, CONTROL_TAG);
    assert_eq!(
        Control::decode(frame::body(&seen, &frames[0])),
        Ok(Control::LakeChanged(vec![change]))
    );
    drop(h.client);
    h.relay.await.expect("join").expect("relay");
}

#[tokio::test]
async fn a_refused_statement_reaches_the_worker_as_a_control_message() {
    let mut h = start();
    h.client
        .write_all(&query_message("SELECT * FROM read_csv('/etc/passwd')"))
        .await
        .expect("write");
    let seen = read_until(&mut h.worker, CONTROL_TAG).await;
    assert_eq!(tags(&seen), vec![CONTROL_TAG]);
    let body = String::from_utf8_lossy(&seen[5..]).into_owned();
    assert!(body.contains("42501"), "{body}");
    assert!(
        !body.contains("/etc/passwd\0"),
        "the statement itself does not travel: {body}"
    );
    drop(h.client);
    let (end, _) = h.relay.await.expect("join").expect("relay");
    assert_eq!(end, SessionEnd::ClientGone);
}

#[tokio::test]
async fn a_worker_that_goes_away_ends_the_session_with_57p01() {
    let mut h = start();
    h.client
        .write_all(&query_message("SELECT pg_sleep(10)"))
        .await
        .expect("write");
    read_until(&mut h.worker, b'Q').await;
    drop(h.worker);
    let text = error_text(&mut h.client).await;
    assert!(text.contains("C57P01\0"), "{text}");
    assert!(text.contains("SFATAL\0"), "{text}");
    let ended = h.relay.await.expect("join").expect("relay");
    assert_eq!(ended, (SessionEnd::WorkerGone, false), "not reusable");
}

#[tokio::test]
async fn a_malformed_client_frame_ends_the_session_with_08p01() {
    let mut h = start();
    // A Query whose length is shorter than its own length field.
    h.client.write_all(b"Q\0\0\0\x02").await.expect("write");
    let text = error_text(&mut h.client).await;
    assert!(text.contains("C08P01\0"), "{text}");
    let ended = h.relay.await.expect("join").expect("relay");
    assert_eq!(ended, (SessionEnd::ClientGone, false), "not reusable");
}

#[tokio::test]
async fn a_frontend_tag_outside_the_protocol_is_not_relayed() {
    let mut h = start();
    // A client may not send the control tag itself.
    let mut forged = BytesMut::new();
    forged.put_u8(CONTROL_TAG);
    forged.put_i32(5);
    forged.put_u8(b'R');
    h.client.write_all(&forged).await.expect("write");
    let text = error_text(&mut h.client).await;
    assert!(text.contains("C08P01\0"), "{text}");
    h.relay.await.expect("join").expect("relay");
    let mut rest = [0u8; 16];
    let n = tokio::time::timeout(Duration::from_millis(200), h.worker.read(&mut rest)).await;
    assert!(
        !matches!(n, Ok(Ok(k)) if k > 0),
        "the forged control message never reaches the worker"
    );
}

/// A worker's answer to an extended-protocol batch: ParseComplete,
/// BindComplete, a row, CommandComplete, ReadyForQuery.
fn extended_answer() -> BytesMut {
    let mut m = BytesMut::new();
    m.put_slice(b"1\0\0\0\x04");
    m.put_slice(b"2\0\0\0\x04");
    m.extend_from_slice(&worker_answer());
    m
}

fn extended_batch(sql: &str) -> BytesMut {
    let mut m = BytesMut::new();
    m.put_u8(b'P');
    m.put_i32(4 + 1 + sql.len() as i32 + 1 + 2);
    m.put_u8(0);
    m.put_slice(sql.as_bytes());
    m.put_u8(0);
    m.put_i16(0);
    m.put_slice(b"B\0\0\0\x0c\0\0\0\0\0\0\0\0");
    m.put_slice(b"E\0\0\0\x09\0\0\0\0\0");
    m
}

#[tokio::test]
async fn a_session_moves_only_between_requests() {
    let mut h = start();
    h.client
        .write_all(&query_message("SELECT 1"))
        .await
        .expect("write");
    read_until(&mut h.worker, b'Q').await;
    // A move wanted while a request is in flight waits: the client's next
    // request (pipelined) goes where the first one went.
    h.want_move.store(true, Ordering::SeqCst);
    h.client
        .write_all(&query_message("SELECT 2"))
        .await
        .expect("write");
    let seen = read_until(&mut h.worker, b'Q').await;
    assert!(String::from_utf8_lossy(&seen).contains("SELECT 2"));
    h.worker.write_all(&worker_answer()).await.expect("answer");
    read_until(&mut h.client, b'Z').await;
    h.worker.write_all(&worker_answer()).await.expect("answer");
    read_until(&mut h.client, b'Z').await;
    assert_eq!(h.moves.load(Ordering::SeqCst), 0);

    // At the boundary the next request goes to the other worker, whole.
    h.client
        .write_all(&query_message("SELECT 3"))
        .await
        .expect("write");
    let seen = read_until(&mut h.other, b'Q').await;
    assert!(String::from_utf8_lossy(&seen).contains("SELECT 3"));
    assert_eq!(h.moves.load(Ordering::SeqCst), 1);
    h.other.write_all(&worker_answer()).await.expect("answer");
    let got = read_until(&mut h.client, b'Z').await;
    assert_eq!(&got[..], &worker_answer()[..]);

    // An extended batch is not split at a Flush: Parse, Bind and Execute
    // went to one worker, so its Sync follows them there.
    h.client
        .write_all(&extended_batch("SELECT 4"))
        .await
        .expect("write");
    h.client.write_all(b"H\0\0\0\x04").await.expect("flush");
    read_until(&mut h.other, b'H').await;
    h.want_move.store(true, Ordering::SeqCst);
    h.client.write_all(b"S\0\0\0\x04").await.expect("sync");
    read_until(&mut h.other, b'S').await;
    h.other.write_all(&extended_answer()).await.expect("answer");
    read_until(&mut h.client, b'Z').await;
    assert_eq!(h.moves.load(Ordering::SeqCst), 1);
    h.want_move.store(false, Ordering::SeqCst);

    // Inside a transaction (ReadyForQuery 'T') the session stays too.
    h.client
        .write_all(&query_message("BEGIN"))
        .await
        .expect("write");
    read_until(&mut h.other, b'Q').await;
    h.other
        .write_all(b"C\0\0\0\x0aBEGIN\0Z\0\0\0\x05T")
        .await
        .expect("answer");
    read_until(&mut h.client, b'Z').await;
    h.want_move.store(true, Ordering::SeqCst);
    h.client
        .write_all(&query_message("SELECT 5"))
        .await
        .expect("write");
    read_until(&mut h.other, b'Q').await;
    assert_eq!(h.moves.load(Ordering::SeqCst), 1);
    drop(h.client);
    h.relay.await.expect("join").expect("relay");
}
