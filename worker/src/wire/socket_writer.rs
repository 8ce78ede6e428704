//! Blocking writes to a client socket from a session thread.
//!
//! The socket stays non-blocking (its reading half belongs to the async runtime),
//! so a write that would block waits for writability with `poll(2)`. Writing from
//! the session thread itself saves a thread hand-off per response, and a client
//! that reads slowly simply holds the session (and its DuckDB stream) back.

use std::io::{self, Write};
use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use floe_protocol::listen::StdStream;

pub struct SocketWriter {
    stream: StdStream,
    /// Set when the connection is being torn down; a blocked write gives up.
    closing: Arc<AtomicBool>,
}

impl SocketWriter {
    pub fn new(stream: StdStream, closing: Arc<AtomicBool>) -> SocketWriter {
        SocketWriter { stream, closing }
    }

    pub fn write_all(&mut self, mut buf: &[u8]) -> io::Result<()> {
        while !buf.is_empty() {
            match self.stream.write(buf) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(n) => buf = &buf[n..],
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => self.wait_writable()?,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    fn wait_writable(&self) -> io::Result<()> {
        loop {
            if self.closing.load(Ordering::Relaxed) {
                return Err(io::ErrorKind::ConnectionAborted.into());
            }
            let mut pfd = libc::pollfd {
                fd: self.stream.as_raw_fd(),
                events: libc::POLLOUT,
                revents: 0,
            };
            // SAFETY: one valid pollfd for a socket we own, with a timeout so the
            // closing flag is rechecked.
            let r = unsafe { libc::poll(&mut pfd, 1, 500) };
            if r < 0 {
                let e = io::Error::last_os_error();
                if e.kind() == io::ErrorKind::Interrupted {
                    continue;
                }
                return Err(e);
            }
            if r > 0 {
                if pfd.revents & (libc::POLLERR | libc::POLLHUP | libc::POLLNVAL) != 0 {
                    return Err(io::ErrorKind::BrokenPipe.into());
                }
                return Ok(());
            }
        }
    }
}
