//! Copying whole frames from one side of a session to the other: frames scanned
//! (bounded by the message size limit), a client's frames checked as frontend
//! messages, Terminate kept from the pooled worker session, the client's Query
//! and Parse messages filtered through the gate, lake changes passed on both
//! ways (`super::freshness`), a lone session spinning for the answer to
//! what it just wrote, and a client's next request held back at an idle
//! boundary when the session is to move to another worker first.

use std::os::fd::BorrowedFd;
use std::sync::atomic::Ordering;

use bytes::BytesMut;
use floe_protocol::frame;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use floe_protocol::lake_changes::ChangeLog;

use super::freshness;
use super::gate::{self, Rewritten, SqlGate};
use super::observe::{Direction, Observer};
use super::spin::SpinWait;
use super::RELAY_BUFFER;

/// Rewrites the text of an allowed statement (or returns `None` to keep it).
pub type Rewrite<'a> = dyn FnMut(&str) -> Rewritten + Send + 'a;

/// Which way a pump copies, with what that direction needs.
pub enum Side<'a> {
    /// Client to worker: the gate and rewrites for statements, and the lake
    /// changes the worker session has been told of up to `seen`.
    ToWorker {
        gate: &'a mut SqlGate,
        rewrite: &'a mut Rewrite<'a>,
        lake: &'a ChangeLog,
        seen: &'a mut u64,
    },
    /// Worker to client: the log the worker's change reports go to.
    ToClient { lake: &'a ChangeLog },
}

/// How a pump stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pumped {
    /// The reading side ended; `last_was_error` if its last frame was an
    /// ErrorResponse (e.g. a FATAL the worker sent before closing).
    Closed { last_was_error: bool },
    /// The client's next request arrived at an idle boundary and the session
    /// is to move first: the request is left unread in the buffer.
    Moving,
}

/// Whether a session at an idle boundary should move to another worker
/// before its next request.
pub type MoveNow<'a> = dyn Fn() -> bool + Send + Sync + 'a;

/// Copies whole frames from `rd` to `wr`, starting with what `buf` holds
/// already. Returns when the reading side ends or, client to worker, when
/// `move_now` says so as a request arrives at an idle boundary; an error when
/// writing fails. `answer` is the socket the answer to what was written comes
/// from (the worker's after a request, the client's after ReadyForQuery), to
/// spin on while the session is alone.
#[allow(clippy::too_many_arguments)]
pub async fn pump<R, W>(
    rd: &mut R,
    wr: &mut W,
    buf: &mut BytesMut,
    mut side: Side<'_>,
    observer: &Observer<'_>,
    answer: Option<(&SpinWait, BorrowedFd<'_>)>,
    max_message: usize,
    move_now: Option<&MoveNow<'_>>,
) -> std::io::Result<Pumped>
where
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin,
{
    let dir = match side {
        Side::ToWorker { .. } => Direction::ToWorker,
        Side::ToClient { .. } => Direction::ToClient,
    };
    let busy = match dir {
        Direction::ToWorker => &observer.boundary.to_worker_busy,
        Direction::ToClient => &observer.boundary.to_client_busy,
    };
    let mut frames = Vec::with_capacity(64);
    let mut last_tag = 0u8;
    // Bytes held from before a move are a request not yet looked at.
    let mut held = !buf.is_empty();
    loop {
        if !held {
            busy.store(!buf.is_empty(), Ordering::SeqCst);
            if buf.capacity() - buf.len() < 1024 {
                buf.reserve(RELAY_BUFFER);
            }
            let n = rd.read_buf(buf).await?;
            if n == 0 {
                return Ok(Pumped::Closed {
                    last_was_error: last_tag == b'E',
                });
            }
        }
        held = false;
        if let Some(move_now) = move_now {
            if observer.at_boundary() && move_now() {
                return Ok(Pumped::Moving);
            }
        }
        busy.store(true, Ordering::SeqCst);
        frames.clear();
        let complete = match frame::scan_limited(buf, &mut frames, max_message) {
            Ok(n) => n,
            Err(e) => {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::InvalidData,
                    e.to_string(),
                ))
            }
        };
        if dir == Direction::ToWorker {
            gate::check_frames(buf, &frames)
                .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e.to_string()))?;
        }
        if let Some(f) = frames.last() {
            last_tag = f.tag;
        }
        observer.see(dir, buf, &frames);
        if complete > 0 {
            let mut chunk = frame::take(buf, complete);
            // Terminate ends the client session, not the (pooled) worker session:
            // it is not forwarded, and nothing after it is read.
            let terminate = match dir {
                Direction::ToWorker => frames.iter().position(|f| f.tag == b'X'),
                Direction::ToClient => None,
            };
            if let Some(x) = terminate {
                chunk.truncate(frames[x].start);
                frames.truncate(x);
            }
            let filtered = match &mut side {
                Side::ToWorker {
                    gate,
                    rewrite,
                    lake,
                    seen,
                } => {
                    if let Some(news) = freshness::news_for(lake, seen) {
                        wr.write_all(&news[..]).await?;
                    }
                    gate.filter(&chunk, &frames, *rewrite, &mut |c| {
                        observer.metrics.statement(c)
                    })
                }
                Side::ToClient { lake } => freshness::take_reports(&chunk, &frames, lake),
            };
            match filtered {
                Some(rewritten) => wr.write_all(&rewritten[..]).await?,
                None if !chunk.is_empty() => wr.write_all(&chunk[..]).await?,
                None => {}
            }
            if terminate.is_some() {
                return Ok(Pumped::Closed {
                    last_was_error: false,
                });
            }
            if let Some((spin, socket)) = answer {
                let awaits_answer = frames.iter().any(|f| match dir {
                    Direction::ToWorker => matches!(f.tag, b'S' | b'Q'),
                    Direction::ToClient => f.tag == b'Z',
                });
                if awaits_answer {
                    spin.until_readable(socket);
                }
            }
        }
    }
}
