//! Cancel keys: the router hands each client its own BackendKeyData and maps it to
//! the worker session's key, so a CancelRequest reaches the right worker.

use parking_lot::Mutex;
use std::collections::HashMap;
use std::sync::atomic::{AtomicI32, Ordering};

use floe_protocol::ListenAddr;

#[derive(Debug, Clone)]
pub struct WorkerKey {
    pub addr: ListenAddr,
    pub pid: i32,
    pub secret: i32,
}

#[derive(Default)]
pub struct CancelRegistry {
    next_pid: AtomicI32,
    map: Mutex<HashMap<i32, (i32, WorkerKey)>>,
}

impl CancelRegistry {
    pub fn new() -> CancelRegistry {
        CancelRegistry {
            next_pid: AtomicI32::new(std::process::id() as i32 % 10_000 * 10_000 + 1),
            map: Mutex::new(HashMap::new()),
        }
    }

    fn lock(&self) -> parking_lot::MutexGuard<'_, HashMap<i32, (i32, WorkerKey)>> {
        self.map.lock()
    }

    /// Registers a session; returns the (pid, secret) the client is given.
    pub fn register(&self, worker: WorkerKey) -> (i32, i32) {
        let pid = self.next_pid.fetch_add(1, Ordering::Relaxed);
        let secret: i32 = rand::random();
        self.lock().insert(pid, (secret, worker));
        (pid, secret)
    }

    /// Points a session's key at the worker session it moved to.
    pub fn retarget(&self, pid: i32, worker: WorkerKey) {
        if let Some(entry) = self.lock().get_mut(&pid) {
            entry.1 = worker;
        }
    }

    pub fn unregister(&self, pid: i32) {
        self.lock().remove(&pid);
    }

    /// The worker key for a client's cancel request, if the key matches.
    pub fn lookup(&self, pid: i32, secret: i32) -> Option<WorkerKey> {
        self.lock()
            .get(&pid)
            .filter(|(s, _)| *s == secret)
            .map(|(_, k)| k.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_map_only_with_the_right_secret() {
        let r = CancelRegistry::new();
        let key = WorkerKey {
            addr: "unix:/w".parse().expect("addr"),
            pid: 5,
            secret: 6,
        };
        let (pid, secret) = r.register(key);
        assert_eq!(r.lookup(pid, secret).map(|k| k.pid), Some(5));
        let moved = WorkerKey {
            addr: "unix:/v".parse().expect("addr"),
            pid: 7,
            secret: 8,
        };
        r.retarget(pid, moved);
        assert_eq!(r.lookup(pid, secret).map(|k| k.pid), Some(7));
        assert!(r.lookup(pid, secret.wrapping_add(1)).is_none());
        r.unregister(pid);
        assert!(r.lookup(pid, secret).is_none());
    }
}
