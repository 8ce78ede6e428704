//! Cancelling a running query: a client's cancel request, a statement timeout or
//! the worker shutting down interrupts the engine, and the session learns why.

use parking_lot::Mutex;

use super::*;

/// Why a running query was interrupted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CancelReason {
    User,
    Timeout,
    ClientGone,
}

#[derive(Default)]
struct ControlState {
    running: Option<u64>,
    reason: Option<CancelReason>,
}

/// The part of a session other threads may touch: cancel requests, statement
/// timeouts and client disconnects interrupt the running query through it.
pub struct QueryControl {
    interrupt: InterruptHandle,
    state: Mutex<ControlState>,
    seq: AtomicU64,
}

impl QueryControl {
    pub fn new(interrupt: InterruptHandle) -> QueryControl {
        QueryControl {
            interrupt,
            state: Mutex::new(ControlState::default()),
            seq: AtomicU64::new(0),
        }
    }

    fn lock(&self) -> parking_lot::MutexGuard<'_, ControlState> {
        self.state.lock()
    }

    /// Interrupts the running query, if any (a cancel between queries is a no-op, as
    /// in Postgres).
    pub fn cancel(&self, reason: CancelReason) {
        let mut g = self.lock();
        if g.running.is_some() {
            g.reason = Some(reason);
            self.interrupt.interrupt();
        }
    }

    pub(super) fn cancel_if_running(&self, seq: u64, reason: CancelReason) {
        let mut g = self.lock();
        if g.running == Some(seq) {
            g.reason = Some(reason);
            self.interrupt.interrupt();
        }
    }

    pub(super) fn begin(&self) -> u64 {
        let seq = self.seq.fetch_add(1, Ordering::Relaxed) + 1;
        let mut g = self.lock();
        g.running = Some(seq);
        g.reason = None;
        seq
    }

    /// Whether the running query was asked to stop (a wait checks this).
    pub(super) fn interrupted(&self) -> bool {
        self.lock().reason.is_some()
    }

    pub(super) fn end(&self) -> Option<CancelReason> {
        let mut g = self.lock();
        g.running = None;
        g.reason.take()
    }
}
