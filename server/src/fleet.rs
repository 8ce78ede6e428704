//! The workers `floe serve` runs, sized to the load: `min` started at once, one
//! more added (up to `max`) whenever client sessions per live worker pass the
//! target, and, once one worker fewer has had room for every session for the
//! cool-down, the newest worker drained (it takes no new sessions, its idle
//! pooled sessions close, its client sessions move to the other workers
//! between statements) and then stopped once no session is left on it. Each worker process is supervised
//! (`crate::supervisor`): restarted when it dies. Workers hold no durable state,
//! so adding or removing one loses nothing; every scale event is a log line and
//! a `/metrics` counter.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use floe_protocol::ListenAddr;
use floe_router::route::workers::{WorkerSlot, WorkerState};
use floe_router::WorkerSet;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::supervisor::{self, WorkerSpec};

/// How many workers, and when to add or remove one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FleetSize {
    pub min: usize,
    pub max: usize,
    /// Client sessions per live worker past which another worker is added.
    pub target_sessions: usize,
    /// How long one worker fewer must have had room for every session before
    /// the newest worker is removed.
    pub cooldown: Duration,
}

/// What every worker process is started with.
#[derive(Debug, Clone)]
pub struct WorkerTemplate {
    pub exe: PathBuf,
    pub run_dir: PathBuf,
    pub data_dir: PathBuf,
    pub config_file: Option<PathBuf>,
    pub token: String,
    /// The engine memory each worker gets when the configuration sets none.
    pub memory_limit: Option<String>,
}

impl WorkerTemplate {
    fn spec(&self, id: usize) -> WorkerSpec {
        let addr = ListenAddr::Unix(self.run_dir.join(format!("worker-{id}.sock")));
        let mut args = vec![
            "worker".to_string(),
            "--listen".to_string(),
            addr.to_string(),
            "--data-dir".to_string(),
            self.data_dir.to_string_lossy().into_owned(),
            "--id".to_string(),
            id.to_string(),
        ];
        if let Some(f) = &self.config_file {
            args.push("--config".into());
            args.push(f.to_string_lossy().into_owned());
        }
        let mut env = vec![("FLOE_WORKERS__TOKEN".into(), self.token.clone())];
        if let Some(limit) = &self.memory_limit {
            env.push(("FLOE_WORKERS__MEMORY_LIMIT".into(), limit.clone()));
        }
        WorkerSpec {
            id,
            addr,
            exe: self.exe.clone(),
            args,
            env,
            warm_sessions: 0,
        }
    }
}

struct Member {
    slot: Arc<WorkerSlot>,
    stop: watch::Sender<bool>,
    supervisor: JoinHandle<()>,
}

/// The supervised workers and the router's set they appear in.
pub struct Fleet {
    workers: WorkerSet,
    template: WorkerTemplate,
    size: FleetSize,
    members: BTreeMap<usize, Member>,
    next_id: usize,
    /// Since when one worker fewer would have had room for every session.
    roomy_since: Option<Instant>,
}

/// How often the fleet looks at the load.
const TICK: Duration = Duration::from_millis(250);

impl Fleet {
    pub fn new(workers: WorkerSet, template: WorkerTemplate, size: FleetSize) -> Fleet {
        Fleet {
            workers,
            template,
            size,
            members: BTreeMap::new(),
            next_id: 0,
            roomy_since: None,
        }
    }

    /// Starts `min` workers and waits until each accepts connections; `Err`
    /// with the id of one that did not within `limit`.
    pub async fn start(&mut self, limit: Duration) -> Result<(), usize> {
        let ids: Vec<usize> = (0..self.size.min.max(1)).map(|_| self.add()).collect();
        for id in ids {
            let Some(m) = self.members.get(&id) else {
                continue;
            };
            if !supervisor::wait_ready(&m.slot.addr, limit).await {
                return Err(id);
            }
            // The supervisor marks it ready too; the router may start now.
            m.slot.set_state(WorkerState::Ready);
        }
        Ok(())
    }

    fn add(&mut self) -> usize {
        let id = self.next_id;
        self.next_id += 1;
        let mut spec = self.template.spec(id);
        // About the sessions that will move here from the fuller workers.
        spec.warm_sessions = (self.size.target_sessions / 2 + 2).clamp(1, 16);
        let slot = self
            .workers
            .add(id, spec.addr.clone(), WorkerState::Starting);
        let (stop, stopped) = watch::channel(false);
        let supervisor = tokio::spawn(supervisor::supervise(spec, slot.clone(), stopped));
        self.members.insert(
            id,
            Member {
                slot,
                stop,
                supervisor,
            },
        );
        id
    }

    /// Adjusts the fleet to the load until `stop` turns true, then stops every
    /// worker.
    pub async fn run(mut self, mut stop: watch::Receiver<bool>) {
        loop {
            tokio::select! {
                _ = tokio::time::sleep(TICK) => self.step(),
                _ = stop.changed() => break,
            }
        }
        for (_, m) in std::mem::take(&mut self.members) {
            let _ = m.stop.send(true);
            let _ = m.supervisor.await;
        }
    }

    /// One look at the load: remove drained workers, add one if sessions per
    /// live worker pass the target, or drain the newest worker once the
    /// others have had room for every session for the cool-down.
    fn step(&mut self) {
        let now = Instant::now();
        self.remove_drained();
        // Sessions on a draining worker are moving to the live ones: they
        // count too.
        let sessions: usize = self.members.values().map(|m| m.slot.sessions()).sum();
        let live: Vec<&Member> = self
            .members
            .values()
            .filter(|m| m.slot.state() != WorkerState::Draining)
            .collect();
        let target = self.size.target_sessions.max(1);
        let count = live.len();
        if sessions > count * target && count < self.size.max {
            let id = self.add();
            tracing::info!(
                worker = id,
                sessions,
                workers = count + 1,
                "worker added: sessions per worker passed the target"
            );
            self.workers.events.added.fetch_add(1, Ordering::Relaxed);
            self.roomy_since = None;
            return;
        }
        // Removing one must leave room for the sessions there are, for the
        // whole cool-down (a dip in a burst removes nothing).
        if count <= self.size.min || sessions > (count - 1) * target {
            self.roomy_since = None;
            return;
        }
        let since = *self.roomy_since.get_or_insert(now);
        if now.duration_since(since) < self.size.cooldown {
            return;
        }
        // Workers go in the reverse order they came, so the first ones stay.
        let newest = live
            .last()
            .filter(|m| m.slot.state() == WorkerState::Ready)
            .map(|m| m.slot.clone());
        if let Some(slot) = newest {
            slot.set_state(WorkerState::Draining);
            // Idle pooled sessions close now; its client sessions move to
            // the other workers between statements.
            let _ = slot.pool.retain(|_, _| false);
            tracing::info!(
                worker = slot.id,
                sessions,
                "worker draining: the others had room for every session for the cool-down"
            );
            self.roomy_since = None;
        }
    }

    /// Stops and forgets draining workers nothing runs on any more.
    fn remove_drained(&mut self) {
        let done: Vec<usize> = self
            .members
            .iter()
            .filter(|(_, m)| m.slot.state() == WorkerState::Draining && m.slot.sessions() == 0)
            .map(|(id, _)| *id)
            .collect();
        for id in done {
            let Some(m) = self.members.remove(&id) else {
                continue;
            };
            self.workers.remove(&m.slot);
            let _ = m.stop.send(true);
            self.workers.events.removed.fetch_add(1, Ordering::Relaxed);
            tracing::info!(worker = id, "worker removed");
            // The process gets its shutdown grace without holding up the fleet.
            tokio::spawn(async move {
                let _ = m.supervisor.await;
            });
        }
    }
}
