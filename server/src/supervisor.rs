//! Supervision of local worker processes for `floe serve`: start each one, restart
//! it when it dies (logging how long it took to come back), and stop them all on
//! shutdown.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use floe_protocol::ListenAddr;
use floe_router::route::workers::{WorkerSlot, WorkerState};
use tokio::process::{Child, Command};
use tokio::sync::watch;

/// How to start one worker process.
#[derive(Debug, Clone)]
pub struct WorkerSpec {
    pub id: usize,
    pub addr: ListenAddr,
    pub exe: PathBuf,
    pub args: Vec<String>,
    pub env: Vec<(String, String)>,
    /// Worker sessions opened into the router's pool before the worker takes
    /// sessions (a worker added under load gets sessions at once).
    pub warm_sessions: usize,
}

impl WorkerSpec {
    fn spawn(&self) -> std::io::Result<Child> {
        let mut cmd = Command::new(&self.exe);
        // Workers log to the shared stderr; their stdout readiness line is for
        // standalone use, not for whoever reads the server's stdout.
        cmd.args(&self.args)
            .kill_on_drop(true)
            .stdout(std::process::Stdio::null());
        for (k, v) in &self.env {
            cmd.env(k, v);
        }
        // SAFETY: prctl is async-signal-safe; it only asks the kernel to signal
        // the child if this process dies, so workers never outlive their server.
        unsafe {
            cmd.pre_exec(|| {
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM);
                Ok(())
            });
        }
        cmd.spawn()
    }
}

/// Waits until the worker accepts connections (or `limit` passes).
pub async fn wait_ready(addr: &ListenAddr, limit: Duration) -> bool {
    let start = Instant::now();
    while start.elapsed() < limit {
        if addr.connect().await.is_ok() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    false
}

/// Runs one worker until `stop` turns true, restarting it whenever it exits;
/// `slot`, the router's view of it, turns ready once it first accepts
/// connections and counts its restarts.
pub async fn supervise(spec: WorkerSpec, slot: Arc<WorkerSlot>, mut stop: watch::Receiver<bool>) {
    let mut backoff = Duration::from_millis(50);
    let mut exited_at: Option<Instant> = None;
    loop {
        let mut child = match spec.spawn() {
            Ok(c) => c,
            Err(e) => {
                tracing::error!(worker = spec.id, error = %e, "cannot start worker");
                tokio::select! {
                    _ = tokio::time::sleep(Duration::from_secs(1)) => continue,
                    _ = stop.changed() => return,
                }
            }
        };
        let started = Instant::now();
        let pid = child.id().unwrap_or(0);
        if wait_ready(&spec.addr, Duration::from_secs(60)).await {
            if slot.state() == WorkerState::Starting {
                slot.warm(spec.warm_sessions).await;
                slot.set_state(WorkerState::Ready);
            }
            match exited_at.take() {
                Some(t) => tracing::info!(
                    worker = spec.id,
                    pid,
                    restart_ms = t.elapsed().as_millis() as u64,
                    "worker restarted"
                ),
                None => tracing::info!(
                    worker = spec.id,
                    pid,
                    start_ms = started.elapsed().as_millis() as u64,
                    "worker started"
                ),
            }
        }
        tokio::select! {
            status = child.wait() => {
                if *stop.borrow() {
                    return;
                }
                exited_at = Some(Instant::now());
                slot.restarted();
                // A worker that keeps dying right after start is retried more slowly.
                backoff = if started.elapsed() > Duration::from_secs(10) {
                    Duration::from_millis(50)
                } else {
                    (backoff * 2).min(Duration::from_secs(5))
                };
                tracing::warn!(worker = spec.id, pid, status = ?status.ok(), "worker exited; restarting");
                tokio::time::sleep(backoff).await;
            }
            _ = stop.changed() => {
                terminate(&mut child).await;
                return;
            }
        }
    }
}

/// SIGTERM, then SIGKILL if the worker has not exited within 15 s.
async fn terminate(child: &mut Child) {
    if let Some(pid) = child.id() {
        // SAFETY: kill(2) on our own child's pid.
        unsafe {
            libc::kill(pid as i32, libc::SIGTERM);
        }
    }
    if tokio::time::timeout(Duration::from_secs(15), child.wait())
        .await
        .is_err()
    {
        let _ = child.kill().await;
    }
}
