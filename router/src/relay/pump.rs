//! Copying whole frames from one side of a session to the other: frames scanned
//! (bounded by the message size limit), a client's frames checked as frontend
//! messages, Terminate kept from the pooled worker session, the client's Query
//! and Parse messages filtered through the gate, lake changes passed on both
//! ways (`super::freshness`), and a lone session spinning for the answer to
//! what it just wrote.

use std::os::fd::BorrowedFd;

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

/// Copies whole frames from `rd` to `wr`. Returns when the reading side ends:
/// `Ok(true)` if the last frame was an ErrorResponse (e.g. a FATAL the worker
/// sent before closing), an error when writing fails. `answer` is the socket
/// the answer to what was written comes from (the worker's after a request, the
/// client's after ReadyForQuery), to spin on while the session is alone.
pub async fn pump<R, W>(
    rd: &mut R,
    wr: &mut W,
    mut side: Side<'_>,
    observer: &Observer<'_>,
    answer: Option<(&SpinWait, BorrowedFd<'_>)>,
    max_message: usize,
) -> std::io::Result<bool>
where
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin,
{
    let dir = match side {
        Side::ToWorker { .. } => Direction::ToWorker,
        Side::ToClient { .. } => Direction::ToClient,
    };
    let mut buf = BytesMut::with_capacity(RELAY_BUFFER);
    let mut frames = Vec::with_capacity(64);
    let mut last_tag = 0u8;
    loop {
        if buf.capacity() - buf.len() < 1024 {
            buf.reserve(RELAY_BUFFER);
        }
        let n = rd.read_buf(&mut buf).await?;
        if n == 0 {
            return Ok(last_tag == b'E');
        }
        frames.clear();
        let complete = match frame::scan_limited(&buf, &mut frames, max_message) {
            Ok(n) => n,
            Err(e) => {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::InvalidData,
                    e.to_string(),
                ))
            }
        };
        if dir == Direction::ToWorker {
            gate::check_frames(&buf, &frames)
                .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e.to_string()))?;
        }
        if let Some(f) = frames.last() {
            last_tag = f.tag;
        }
        observer.see(dir, &buf, &frames);
        if complete > 0 {
            let mut chunk = frame::take(&mut buf, complete);
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
                return Ok(false);
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
