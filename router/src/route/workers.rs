//! The set of workers a router balances over: their addresses, health and load.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use floe_protocol::ListenAddr;

/// One worker as the router sees it.
#[derive(Debug)]
pub struct WorkerSlot {
    pub addr: ListenAddr,
    healthy: AtomicBool,
    sessions: AtomicUsize,
}

impl WorkerSlot {
    pub fn is_healthy(&self) -> bool {
        self.healthy.load(Ordering::Relaxed)
    }

    pub fn sessions(&self) -> usize {
        self.sessions.load(Ordering::Relaxed)
    }

    pub fn mark(&self, healthy: bool) {
        let was = self.healthy.swap(healthy, Ordering::Relaxed);
        if was != healthy {
            if healthy {
                tracing::info!(worker = %self.addr, "worker is healthy");
            } else {
                tracing::warn!(worker = %self.addr, "worker is unavailable");
            }
        }
    }
}

/// Counts a session against its worker while it lives.
pub struct SessionLease {
    slot: Arc<WorkerSlot>,
}

impl SessionLease {
    pub fn slot(&self) -> &Arc<WorkerSlot> {
        &self.slot
    }
}

impl Drop for SessionLease {
    fn drop(&mut self) {
        self.slot.sessions.fetch_sub(1, Ordering::Relaxed);
    }
}

#[derive(Debug, Clone)]
pub struct WorkerSet {
    slots: Arc<Vec<Arc<WorkerSlot>>>,
}

impl WorkerSet {
    pub fn new(addrs: Vec<ListenAddr>) -> WorkerSet {
        let slots = addrs
            .into_iter()
            .map(|addr| {
                Arc::new(WorkerSlot {
                    addr,
                    healthy: AtomicBool::new(true),
                    sessions: AtomicUsize::new(0),
                })
            })
            .collect();
        WorkerSet {
            slots: Arc::new(slots),
        }
    }

    pub fn slots(&self) -> &[Arc<WorkerSlot>] {
        &self.slots
    }

    /// Healthy workers, least loaded first (ties keep configuration order).
    pub fn candidates(&self) -> Vec<Arc<WorkerSlot>> {
        let mut healthy: Vec<Arc<WorkerSlot>> = self
            .slots
            .iter()
            .filter(|s| s.is_healthy())
            .cloned()
            .collect();
        healthy.sort_by_key(|s| s.sessions());
        healthy
    }

    /// Counts a new session on `slot`.
    pub fn lease(&self, slot: &Arc<WorkerSlot>) -> SessionLease {
        slot.sessions.fetch_add(1, Ordering::Relaxed);
        SessionLease { slot: slot.clone() }
    }

    /// Probes every worker periodically (a connection attempt) and updates health,
    /// so a dead worker leaves the rotation and a restarted one rejoins.
    pub async fn health_check_loop(self, interval: Duration) {
        loop {
            for slot in self.slots.iter() {
                let ok = matches!(
                    tokio::time::timeout(Duration::from_secs(2), slot.addr.connect()).await,
                    Ok(Ok(_))
                );
                slot.mark(ok);
            }
            tokio::time::sleep(interval).await;
        }
    }
}

/// One worker's counters, as it reported them to a `Stats` control message.
pub struct WorkerStats {
    pub worker: String,
    pub values: Vec<(String, u64)>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn least_loaded_healthy_first() {
        let set = WorkerSet::new(vec![
            "unix:/a".parse().expect("a"),
            "unix:/b".parse().expect("b"),
            "unix:/c".parse().expect("c"),
        ]);
        let s = set.slots().to_vec();
        let _l1 = set.lease(&s[0]);
        let _l2 = set.lease(&s[0]);
        let l3 = set.lease(&s[1]);
        s[2].mark(false);
        let order: Vec<String> = set
            .candidates()
            .iter()
            .map(|w| w.addr.to_string())
            .collect();
        assert_eq!(order, vec!["unix:/b", "unix:/a"]);
        drop(l3);
        assert_eq!(s[1].sessions(), 0);
    }
}
