//! Watching frames go by, never changing them: statements counted by protocol,
//! errors by SQLSTATE, latency from a request to the ReadyForQuery that ends it,
//! and the session's `pg_stat_activity` row (state, query, application_name)
//! kept current.

use std::sync::atomic::Ordering;
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
}

impl Observer<'_> {
    pub fn see(&self, dir: Direction, buf: &[u8], frames: &[frame::FrameInfo]) {
        for f in frames {
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
