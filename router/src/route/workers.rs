//! The set of workers a router balances over: their addresses, health, load,
//! life-cycle state and session pools. The set changes while the router runs:
//! a supervisor adds workers as load grows and drains and removes them as it
//! falls (`floe serve`), so every reader takes a snapshot of it.

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicU8, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use floe_protocol::ListenAddr;
use parking_lot::RwLock;

use super::pool::{new_pool, BackendPool, IDLE_TIMEOUT};

/// Where a worker is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WorkerState {
    /// Started, not yet accepting sessions.
    Starting,
    /// Takes new sessions.
    Ready,
    /// Takes no new sessions; removed once its last one ends.
    Draining,
}

impl WorkerState {
    pub fn name(self) -> &'static str {
        match self {
            WorkerState::Starting => "starting",
            WorkerState::Ready => "ready",
            WorkerState::Draining => "draining",
        }
    }

    fn from_u8(v: u8) -> WorkerState {
        match v {
            0 => WorkerState::Starting,
            1 => WorkerState::Ready,
            _ => WorkerState::Draining,
        }
    }
}

/// One worker as the router sees it.
pub struct WorkerSlot {
    /// The supervisor's number for the worker (its position for fixed sets).
    pub id: usize,
    pub addr: ListenAddr,
    /// Started worker sessions, ready to hand to clients.
    pub pool: BackendPool,
    pub started_at: SystemTime,
    healthy: AtomicBool,
    sessions: AtomicUsize,
    state: AtomicU8,
    /// Turns true when the worker begins draining: its idle sessions wait
    /// on it to move (no session polls for the event).
    draining: tokio::sync::watch::Sender<bool>,
    restarts: AtomicU64,
}

impl WorkerSlot {
    pub fn is_healthy(&self) -> bool {
        self.healthy.load(Ordering::Relaxed)
    }

    pub fn sessions(&self) -> usize {
        self.sessions.load(Ordering::Relaxed)
    }

    pub fn state(&self) -> WorkerState {
        WorkerState::from_u8(self.state.load(Ordering::SeqCst))
    }

    pub fn set_state(&self, state: WorkerState) {
        self.state.store(state as u8, Ordering::SeqCst);
        self.draining.send_replace(state == WorkerState::Draining);
    }

    /// Tells when the worker begins draining.
    pub fn draining(&self) -> tokio::sync::watch::Receiver<bool> {
        self.draining.subscribe()
    }

    /// How often the worker's process was restarted after exiting.
    pub fn restarts(&self) -> u64 {
        self.restarts.load(Ordering::Relaxed)
    }

    pub fn restarted(&self) {
        self.restarts.fetch_add(1, Ordering::Relaxed);
    }

    /// Opens `n` worker sessions into the pool ahead of need (at once, each
    /// on its own worker thread), so the first sessions here, and sessions
    /// moving here, skip a worker session's start.
    pub async fn warm(&self, n: usize) {
        let mut opening = tokio::task::JoinSet::new();
        for _ in 0..n {
            let pool = self.pool.clone();
            opening.spawn(async move { pool.get().await.ok() });
        }
        let mut opened = Vec::with_capacity(n);
        while let Some(done) = opening.join_next().await {
            if let Ok(Some(session)) = done {
                opened.push(session);
            }
        }
        // Held together until all were open, so each is a session of its
        // own; back to the pool, idle, from here.
        drop(opened);
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

/// How the router's pool of sessions on each worker is made.
#[derive(Debug, Clone, Default)]
pub struct PoolSettings {
    /// The internal token workers require (none for workers that require none).
    pub token: Option<String>,
    /// Sessions the router holds on one worker (busy plus idle).
    pub max_sessions: usize,
}

/// Scale events, for `/metrics`.
#[derive(Debug, Default)]
pub struct FleetEvents {
    pub added: AtomicU64,
    pub removed: AtomicU64,
}

#[derive(Clone)]
pub struct WorkerSet {
    slots: Arc<RwLock<Vec<Arc<WorkerSlot>>>>,
    pools: Arc<PoolSettings>,
    pub events: Arc<FleetEvents>,
}

impl WorkerSet {
    /// A fixed set of workers at `addrs`, all ready.
    pub fn new(addrs: Vec<ListenAddr>, pools: PoolSettings) -> WorkerSet {
        let set = WorkerSet {
            slots: Arc::default(),
            pools: Arc::new(pools),
            events: Arc::default(),
        };
        for (id, addr) in addrs.into_iter().enumerate() {
            set.add(id, addr, WorkerState::Ready);
        }
        set
    }

    /// Adds worker `id` at `addr` in `state`.
    pub fn add(&self, id: usize, addr: ListenAddr, state: WorkerState) -> Arc<WorkerSlot> {
        let slot = Arc::new(WorkerSlot {
            id,
            pool: new_pool(
                addr.clone(),
                self.pools.token.clone(),
                self.pools.max_sessions.max(1),
            ),
            addr,
            started_at: SystemTime::now(),
            healthy: AtomicBool::new(true),
            sessions: AtomicUsize::new(0),
            state: AtomicU8::new(state as u8),
            draining: tokio::sync::watch::Sender::new(state == WorkerState::Draining),
            restarts: AtomicU64::new(0),
        });
        self.slots.write().push(slot.clone());
        slot
    }

    /// Takes `slot` out of the set (its pooled sessions close when the last
    /// reference to it goes).
    pub fn remove(&self, slot: &Arc<WorkerSlot>) {
        self.slots.write().retain(|s| !Arc::ptr_eq(s, slot));
    }

    /// The workers now, in the order they were added.
    pub fn slots(&self) -> Vec<Arc<WorkerSlot>> {
        self.slots.read().clone()
    }

    /// Healthy ready workers, least loaded first (ties keep the order added).
    pub fn candidates(&self) -> Vec<Arc<WorkerSlot>> {
        let mut ready: Vec<Arc<WorkerSlot>> = self
            .slots()
            .into_iter()
            .filter(|s| s.is_healthy() && s.state() == WorkerState::Ready)
            .collect();
        ready.sort_by_key(|s| s.sessions());
        ready
    }

    /// The fewest sessions a healthy ready worker other than `slot` holds.
    pub fn least_sessions_besides(&self, slot: &Arc<WorkerSlot>) -> Option<usize> {
        self.slots
            .read()
            .iter()
            .filter(|s| !Arc::ptr_eq(s, slot))
            .filter(|s| s.is_healthy() && s.state() == WorkerState::Ready)
            .map(|s| s.sessions())
            .min()
    }

    /// Counts a new session on `slot`.
    pub fn lease(&self, slot: &Arc<WorkerSlot>) -> SessionLease {
        slot.sessions.fetch_add(1, Ordering::Relaxed);
        SessionLease { slot: slot.clone() }
    }

    /// Closes idle pooled sessions (each holds a worker thread and a DuckDB
    /// connection) once they have not been used for `IDLE_TIMEOUT`; runs forever.
    pub async fn trim_idle_loop(self) {
        loop {
            tokio::time::sleep(Duration::from_secs(30)).await;
            for slot in self.slots() {
                let removed = slot
                    .pool
                    .retain(|_, metrics| metrics.last_used() < IDLE_TIMEOUT);
                if !removed.removed.is_empty() {
                    tracing::debug!(
                        closed = removed.removed.len(),
                        "closed idle worker sessions"
                    );
                }
            }
        }
    }

    /// Probes every worker periodically (a connection attempt) and updates health,
    /// so a dead worker leaves the rotation and a restarted one rejoins.
    pub async fn health_check_loop(self, interval: Duration) {
        loop {
            // A starting worker is its supervisor's to watch.
            for slot in self
                .slots()
                .into_iter()
                .filter(|s| s.state() != WorkerState::Starting)
            {
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

    fn set_of(addrs: &[&str]) -> WorkerSet {
        let addrs = addrs.iter().map(|a| a.parse().expect("addr")).collect();
        WorkerSet::new(addrs, PoolSettings::default())
    }

    fn order(set: &WorkerSet) -> Vec<String> {
        set.candidates()
            .iter()
            .map(|w| w.addr.to_string())
            .collect()
    }

    #[tokio::test]
    async fn least_loaded_healthy_first() {
        let set = set_of(&["unix:/a", "unix:/b", "unix:/c"]);
        let s = set.slots();
        let _l1 = set.lease(&s[0]);
        let _l2 = set.lease(&s[0]);
        let l3 = set.lease(&s[1]);
        s[2].mark(false);
        assert_eq!(order(&set), vec!["unix:/b", "unix:/a"]);
        drop(l3);
        assert_eq!(s[1].sessions(), 0);
    }

    #[tokio::test]
    async fn only_ready_workers_take_sessions() {
        let set = set_of(&["unix:/a"]);
        let b = set.add(1, "unix:/b".parse().expect("b"), WorkerState::Starting);
        assert_eq!(order(&set), vec!["unix:/a"]);
        b.set_state(WorkerState::Ready);
        assert_eq!(order(&set), vec!["unix:/a", "unix:/b"]);
        set.slots()[0].set_state(WorkerState::Draining);
        assert_eq!(order(&set), vec!["unix:/b"]);
        set.remove(&b);
        assert!(order(&set).is_empty());
        assert_eq!(set.slots().len(), 1);
    }
}
