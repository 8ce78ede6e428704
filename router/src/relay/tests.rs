//! The relay in process, between a client on one end of an in-memory pipe and a
//! fake worker on a Unix socket pair: what crosses each way, byte for byte, and
//! how each side's end is told to the other.

use std::sync::atomic::Ordering;
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
        worker: WorkerKey {
            addr: "unix:/nowhere".parse::<ListenAddr>().expect("addr"),
            pid: 1,
            secret: 2,
        },
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

fn start() -> Harness {
    let (client, relay_side) = tokio::io::duplex(1 << 16);
    let (worker, router_side) = UnixStream::pair().expect("socket pair");
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
            let mut backend = Stream::Unix(router_side);
            relay(relay_side, None, &mut backend, &mut 0, rx, &ctx, &info).await
        })
    };
    Harness {
        client,
        worker,
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
