//! Limits like PostgreSQL's on what one client may hold: connections
//! (`max_connections`, 53300 beyond it), time to authenticate
//! (`authentication_timeout`), message size, and failed logins per client
//! address (refused for a while after too many, so passwords cannot be guessed
//! at line rate).

use parking_lot::Mutex;
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The router's limits; every default holds a laptop and a busy server alike.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Client connections at once, authenticated or not.
    pub max_connections: usize,
    /// Time from accept until authentication is done.
    pub authentication_timeout: Duration,
    /// Largest message a client may send (COPY data streams in many messages).
    pub max_message_bytes: usize,
    /// Failed logins one address may have in `login_window` before it is refused
    /// until the window has passed.
    pub max_login_failures: u32,
    pub login_window: Duration,
}

pub const DEFAULT_MAX_CONNECTIONS: usize = 1000;
pub const DEFAULT_AUTHENTICATION_TIMEOUT: Duration = Duration::from_secs(60);
pub const DEFAULT_MAX_MESSAGE_BYTES: usize = 64 * 1024 * 1024;
pub const DEFAULT_MAX_LOGIN_FAILURES: u32 = 20;
pub const DEFAULT_SESSIONS_PER_WORKER: usize = 4096;

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_connections: DEFAULT_MAX_CONNECTIONS,
            authentication_timeout: DEFAULT_AUTHENTICATION_TIMEOUT,
            max_message_bytes: DEFAULT_MAX_MESSAGE_BYTES,
            max_login_failures: DEFAULT_MAX_LOGIN_FAILURES,
            login_window: Duration::from_secs(60),
        }
    }
}

/// Counts open client connections.
#[derive(Default)]
pub struct ConnectionCount {
    open: Arc<AtomicUsize>,
}

/// One open connection; dropping it frees its slot.
pub struct ConnectionSlot {
    open: Arc<AtomicUsize>,
}

impl Drop for ConnectionSlot {
    fn drop(&mut self) {
        self.open.fetch_sub(1, Ordering::Relaxed);
    }
}

impl ConnectionCount {
    /// Takes a slot; `None` when `max` are open.
    pub fn try_open(&self, max: usize) -> Option<ConnectionSlot> {
        let mut now = self.open.load(Ordering::Relaxed);
        loop {
            if now >= max {
                return None;
            }
            match self
                .open
                .compare_exchange(now, now + 1, Ordering::AcqRel, Ordering::Relaxed)
            {
                Ok(_) => {
                    return Some(ConnectionSlot {
                        open: self.open.clone(),
                    })
                }
                Err(actual) => now = actual,
            }
        }
    }

    pub fn open(&self) -> usize {
        self.open.load(Ordering::Relaxed)
    }
}

/// Failed logins per client address within a window.
#[derive(Default)]
pub struct LoginThrottle {
    failures: Mutex<HashMap<IpAddr, (Instant, u32)>>,
}

/// Addresses remembered at most (the oldest windows are dropped first).
const MAX_TRACKED: usize = 100_000;

impl LoginThrottle {
    fn lock(&self) -> parking_lot::MutexGuard<'_, HashMap<IpAddr, (Instant, u32)>> {
        self.failures.lock()
    }

    /// Whether `addr` may try to log in now.
    pub fn allowed(&self, addr: Option<IpAddr>, limits: &Limits) -> bool {
        let Some(addr) = addr else { return true };
        let mut g = self.lock();
        match g.get(&addr) {
            Some((since, _)) if since.elapsed() >= limits.login_window => {
                g.remove(&addr);
                true
            }
            Some((_, n)) => *n < limits.max_login_failures,
            None => true,
        }
    }

    /// Records a failed login from `addr`.
    pub fn failed(&self, addr: Option<IpAddr>, limits: &Limits) {
        let Some(addr) = addr else { return };
        let mut g = self.lock();
        if g.len() >= MAX_TRACKED {
            g.retain(|_, (since, _)| since.elapsed() < limits.login_window);
            if g.len() >= MAX_TRACKED {
                g.clear();
            }
        }
        let e = g.entry(addr).or_insert((Instant::now(), 0));
        if e.0.elapsed() >= limits.login_window {
            *e = (Instant::now(), 0);
        }
        e.1 = e.1.saturating_add(1);
    }
}

/// The IP address in a peer string (`1.2.3.4:5`, `[::1]:5`); `None` for unix
/// sockets.
pub fn peer_ip(peer: &str) -> Option<IpAddr> {
    peer.parse::<std::net::SocketAddr>().ok().map(|a| a.ip())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connections_are_counted_and_bounded() {
        let c = ConnectionCount::default();
        let a = c.try_open(2).expect("first");
        let _b = c.try_open(2).expect("second");
        assert!(c.try_open(2).is_none());
        drop(a);
        assert!(c.try_open(2).is_some());
    }

    #[test]
    fn failures_throttle_one_address() {
        let limits = Limits {
            max_login_failures: 3,
            login_window: Duration::from_millis(200),
            ..Limits::default()
        };
        let t = LoginThrottle::default();
        let ip = peer_ip("10.1.2.3:4444");
        let other = peer_ip("[::1]:5");
        assert!(ip.is_some() && other.is_some());
        for _ in 0..3 {
            assert!(t.allowed(ip, &limits));
            t.failed(ip, &limits);
        }
        assert!(!t.allowed(ip, &limits));
        assert!(t.allowed(other, &limits));
        std::thread::sleep(Duration::from_millis(250));
        assert!(t.allowed(ip, &limits));
        assert!(t.allowed(None, &limits));
    }
}
