//! Lake changes and the bounded log that orders them. A worker records each
//! change it makes to the lake (a commit, DDL) in its log and reports the ones
//! a statement made to the router before the client hears that the statement
//! finished; the router keeps its own log of every reported change and hands
//! each worker session the changes it has not been told of before forwarding
//! the session's next message. So a commit through any worker is seen by the
//! next statement of every session: PostgreSQL's read-after-commit promise.

use std::collections::{HashSet, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};

use parking_lot::Mutex;

/// One change to the lake: what a cache of the catalog must stop trusting.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum LakeChange {
    /// A table's metadata moved (a commit, a schema change): its namespace's
    /// parts and its name.
    Table {
        namespace: Vec<String>,
        name: String,
    },
    /// Schemas, tables, views or registrations were created, dropped or renamed.
    Listing,
    /// Anything may have changed (a reader fell behind the log's window).
    Everything,
    /// A superuser emptied the result caches (`CALL
    /// floe_result_cache_clear()`) at `at_ms` (milliseconds since the
    /// epoch, which also names the clear): every worker drops the answers it
    /// stored before then, once, however many of its sessions hear of it —
    /// and a worker started since, which hears of it too, none.
    ResultCacheCleared { at_ms: u64 },
}

/// Changes one report or one log answer may hold; past this, [`LakeChange::Everything`].
pub const MAX_CHANGES: usize = 1024;

/// Entries a log keeps; a reader further behind is told [`LakeChange::Everything`].
const LOG_ENTRIES: usize = 4096;

/// A bounded, ordered log of lake changes. Positions start at 0 and grow by one
/// per change recorded.
#[derive(Debug, Default)]
pub struct ChangeLog {
    inner: Mutex<Entries>,
    /// `inner.end`, readable without the lock: the per-message check of
    /// whether there is news at all.
    end: AtomicU64,
}

#[derive(Debug, Default)]
struct Entries {
    /// The position after the newest entry.
    end: u64,
    entries: VecDeque<LakeChange>,
}

impl ChangeLog {
    pub fn new() -> ChangeLog {
        ChangeLog::default()
    }

    /// Appends `changes`; returns the new end position.
    pub fn record(&self, changes: impl IntoIterator<Item = LakeChange>) -> u64 {
        let mut log = self.inner.lock();
        for c in changes {
            if log.entries.len() == LOG_ENTRIES {
                log.entries.pop_front();
            }
            log.entries.push_back(c);
            log.end += 1;
        }
        self.end.store(log.end, Ordering::SeqCst);
        log.end
    }

    /// The position after the newest entry.
    pub fn end(&self) -> u64 {
        self.end.load(Ordering::SeqCst)
    }

    /// The distinct changes recorded at or after position `from`, and the end
    /// position they bring a reader to. A reader behind the kept window, or one
    /// owed more than [`MAX_CHANGES`], gets [`LakeChange::Everything`].
    pub fn since(&self, from: u64) -> (Vec<LakeChange>, u64) {
        // Most calls find nothing new: answered without the lock.
        let end = self.end();
        if from >= end {
            return (Vec::new(), end);
        }
        let log = self.inner.lock();
        if from >= log.end {
            return (Vec::new(), log.end);
        }
        let first = log.end - log.entries.len() as u64;
        if from < first || (log.end - from) as usize > MAX_CHANGES {
            return (vec![LakeChange::Everything], log.end);
        }
        let mut seen = HashSet::new();
        let changes = log
            .entries
            .iter()
            .skip((from - first) as usize)
            .filter(|c| seen.insert(*c))
            .cloned()
            .collect();
        (changes, log.end)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(name: &str) -> LakeChange {
        LakeChange::Table {
            namespace: vec!["s".into()],
            name: name.into(),
        }
    }

    #[test]
    fn a_reader_gets_each_change_after_its_position_once() {
        let log = ChangeLog::new();
        assert_eq!(log.since(0), (vec![], 0));
        let mid = log.record([table("a"), LakeChange::Listing]);
        let end = log.record([table("b"), table("a")]);
        assert_eq!((mid, end), (2, 4));
        assert_eq!(
            log.since(0),
            (vec![table("a"), LakeChange::Listing, table("b")], 4)
        );
        assert_eq!(log.since(mid), (vec![table("b"), table("a")], 4));
        assert_eq!(log.since(end), (vec![], 4));
        assert_eq!(log.since(99), (vec![], 4));
    }

    #[test]
    fn a_reader_behind_the_window_is_told_everything() {
        let log = ChangeLog::new();
        for i in 0..LOG_ENTRIES + 10 {
            log.record([table(&i.to_string())]);
        }
        assert_eq!(log.since(0).0, vec![LakeChange::Everything]);
        let end = log.end();
        assert_eq!(
            log.since(end - MAX_CHANGES as u64 - 1).0,
            vec![LakeChange::Everything]
        );
        assert_eq!(log.since(end - 1).0.len(), 1);
    }
}
