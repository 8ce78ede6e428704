//! Watching frames go by, never changing them: statements counted by protocol,
//! errors by SQLSTATE, latency from a request to the ReadyForQuery that ends it,
//! and the session's `pg_stat_activity` row (state, query, application_name)
//! kept current; and whether the session is at an idle boundary, where it
//! may move to another worker ([`Boundary`]).

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Instant, SystemTime};

use floe_protocol::frame;

use crate::admin::metrics::Metrics;
use crate::compat::activity::SessionInfo;

/// Watches frames go by for metrics: queries, errors by SQLSTATE, and the time
/// from a request to the ReadyForQuery that ends it.
pub struct Observer<'a> {
    pub metrics: &'a Metrics,
    pub info: &'a SessionInfo,
    pub pending: parking_lot::Mutex<Option<Instant>>,
    /// SQL of the last Parse, shown as the query when it is executed.
    pub parsed: parking_lot::Mutex<String>,
    pub boundary: Boundary,
}

/// Where a session is between its client's requests and the worker's
/// answers: at an idle boundary every request sent has had its
/// ReadyForQuery, no extended-protocol message waits for a Sync, the last
/// ReadyForQuery said idle (no transaction), and neither direction is in the
/// middle of copying a chunk. There the worker session holds nothing a
/// client is waiting for, and the next request may go to another worker.
#[derive(Default)]
pub struct Boundary {
    /// Requests that end in ReadyForQuery (Query, Sync, FunctionCall) sent
    /// and not yet answered.
    outstanding: AtomicU64,
    /// Extended-protocol messages sent since the last Sync.
    unsynced: AtomicBool,
    /// A direction is between reading a chunk and having written it.
    pub(super) to_worker_busy: AtomicBool,
    pub(super) to_client_busy: AtomicBool,
}

impl Observer<'_> {
    pub fn new<'a>(metrics: &'a Metrics, info: &'a SessionInfo) -> Observer<'a> {
        Observer {
            metrics,
            info,
            pending: parking_lot::Mutex::new(None),
            parsed: parking_lot::Mutex::new(String::new()),
            boundary: Boundary::default(),
        }
    }

    /// Whether the session is at an idle boundary (see [`Boundary`]).
    pub fn at_boundary(&self) -> bool {
        let b = &self.boundary;
        b.outstanding.load(Ordering::SeqCst) == 0
            && !b.unsynced.load(Ordering::SeqCst)
            && !b.to_worker_busy.load(Ordering::SeqCst)
            && !b.to_client_busy.load(Ordering::SeqCst)
            && self.info.live().state == "idle"
    }

    pub fn see(&self, dir: Direction, buf: &[u8], frames: &[frame::FrameInfo]) {
        for f in frames {
            let b = &self.boundary;
            match (dir, f.tag) {
                (Direction::ToWorker, b'Q' | b'S' | b'F') => {
                    b.outstanding.fetch_add(1, Ordering::SeqCst);
                    if f.tag == b'S' {
                        b.unsynced.store(false, Ordering::SeqCst);
                    }
                }
                (Direction::ToWorker, b'P' | b'B' | b'E' | b'D' | b'C' | b'H') => {
                    b.unsynced.store(true, Ordering::SeqCst);
                }
                (Direction::ToClient, b'Z') => {
                    let _ = b
                        .outstanding
                        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| {
                            Some(n.saturating_sub(1))
                        });
                }
                _ => {}
            }
            match (dir, f.tag) {
                (Direction::ToWorker, b'Q' | b'E') => {
                    let (counter, query) = if f.tag == b'Q' {
                        let body = frame::body(buf, f);
                        let end = body.iter().position(|b| *b == 0).unwrap_or(body.len());
                        (
                            &self.metrics.queries_simple,
                            String::from_utf8_lossy(&body[..end]).into_owned(),
                        )
                    } else {
                        (&self.metrics.queries_extended, self.parsed.lock().clone())
                    };
                    counter.fetch_add(1, Ordering::Relaxed);
                    let mut live = self.info.live();
                    live.state = "active";
                    live.query = query;
                    live.query_start = Some(SystemTime::now());
                    drop(live);
                    self.start();
                }
                (Direction::ToWorker, b'P') => {
                    let body = frame::body(buf, f);
                    let name_end = body.iter().position(|b| *b == 0).unwrap_or(body.len());
                    let rest = body.get(name_end + 1..).unwrap_or(&[]);
                    let end = rest.iter().position(|b| *b == 0).unwrap_or(rest.len());
                    *self.parsed.lock() = String::from_utf8_lossy(&rest[..end]).into_owned();
                    self.start();
                }
                (Direction::ToWorker, b'B' | b'S') => self.start(),
                (Direction::ToClient, b'S') => {
                    // ParameterStatus: keep application_name current.
                    let body = frame::body(buf, f);
                    if let Some(value) = body.strip_prefix(b"application_name\0") {
                        let end = value.iter().position(|b| *b == 0).unwrap_or(value.len());
                        self.info.live().application_name =
                            String::from_utf8_lossy(&value[..end]).into_owned();
                    }
                }
                (Direction::ToClient, b'E') => {
                    if let Some(code) = sqlstate_of(frame::body(buf, f)) {
                        self.metrics.error(code);
                    }
                }
                (Direction::ToClient, b'Z') => {
                    self.info.live().state = match frame::body(buf, f).first() {
                        Some(b'T') => "idle in transaction",
                        Some(b'E') => "idle in transaction (aborted)",
                        _ => "idle",
                    };
                    let started = self.pending.lock().take();
                    if let Some(t) = started {
                        self.metrics.latency(t.elapsed());
                    }
                }
                _ => {}
            }
        }
    }

    fn start(&self) {
        let mut g = self.pending.lock();
        g.get_or_insert_with(Instant::now);
    }
}

/// The SQLSTATE ('C' field) of an ErrorResponse body.
fn sqlstate_of(body: &[u8]) -> Option<&str> {
    body.split(|b| *b == 0)
        .find(|f| f.first() == Some(&b'C'))
        .and_then(|f| std::str::from_utf8(&f[1..]).ok())
}

/// Which way frames are going.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    ToWorker,
    ToClient,
}
