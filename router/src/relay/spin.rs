//! Busy-waiting across a round trip while one session has the router to itself.
//!
//! On a quiet machine the extra hop through the router costs mostly wake-ups: the
//! event loop goes to sleep after forwarding a request, and waking a sleeping
//! thread (an idle vCPU, on a VM) takes about as long as a worker takes to answer
//! `SELECT 1`. So while a single session is relayed, the relay polls the socket
//! the next bytes will come from — the worker's after a request, the client's
//! after a reply — for a short while instead of sleeping, without reading from it;
//! the event loop then finds the bytes already there. With more sessions the
//! event loop has other work, and a spinning loop would delay it: it never spins.

use std::mem::MaybeUninit;
use std::os::fd::BorrowedFd;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// How long a relay spins for the next bytes before it lets the event loop sleep.
#[derive(Debug)]
pub struct SpinWait {
    budget: Duration,
    sessions: AtomicUsize,
}

/// Counts a relayed session for as long as it lives.
pub struct SessionGuard<'a>(&'a SpinWait);

impl Drop for SessionGuard<'_> {
    fn drop(&mut self) {
        self.0.sessions.fetch_sub(1, Ordering::Relaxed);
    }
}

impl SpinWait {
    /// `budget` zero turns spinning off.
    pub fn new(budget: Duration) -> SpinWait {
        SpinWait {
            budget,
            sessions: AtomicUsize::new(0),
        }
    }

    /// A session starts relaying.
    pub fn session(&self) -> SessionGuard<'_> {
        self.sessions.fetch_add(1, Ordering::Relaxed);
        SessionGuard(self)
    }

    /// Waits (spinning, up to the budget) until `socket` has bytes to read or
    /// is closed, if this is the only session being relayed.
    pub fn until_readable(&self, socket: BorrowedFd<'_>) {
        if self.budget.is_zero() || self.sessions.load(Ordering::Relaxed) > 1 {
            return;
        }
        let socket = socket2::SockRef::from(&socket);
        let deadline = Instant::now() + self.budget;
        let mut byte = [MaybeUninit::<u8>::uninit()];
        loop {
            // The socket is non-blocking: a peek answers at once, and leaves
            // the bytes for the event loop's read.
            match socket.peek(&mut byte) {
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
                _ => return,
            }
            if Instant::now() >= deadline {
                return;
            }
            std::hint::spin_loop();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;
    use std::os::fd::AsFd;

    #[test]
    fn returns_once_bytes_arrive_and_leaves_them_unread() {
        let spin = SpinWait::new(Duration::from_secs(5));
        let _only = spin.session();
        let (mut a, b) = std::os::unix::net::UnixStream::pair().unwrap();
        b.set_nonblocking(true).unwrap();
        let writer = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(20));
            a.write_all(b"x").unwrap();
            a
        });
        let started = Instant::now();
        spin.until_readable(b.as_fd());
        assert!(started.elapsed() < Duration::from_secs(5));
        let _a = writer.join().unwrap();
        let mut buf = [0u8; 1];
        assert_eq!(std::io::Read::read(&mut &b, &mut buf).unwrap(), 1);
    }

    #[test]
    fn does_not_spin_with_two_sessions_or_no_budget() {
        let (_a, b) = std::os::unix::net::UnixStream::pair().unwrap();
        b.set_nonblocking(true).unwrap();
        let spin = SpinWait::new(Duration::from_secs(5));
        let _one = spin.session();
        let _two = spin.session();
        let started = Instant::now();
        spin.until_readable(b.as_fd());
        assert!(started.elapsed() < Duration::from_secs(1));
        let off = SpinWait::new(Duration::ZERO);
        let _only = off.session();
        off.until_readable(b.as_fd());
        assert!(started.elapsed() < Duration::from_secs(1));
    }
}
