//! The result cache: the wire bytes of a statement's answer (RowDescription and
//! DataRows), kept in memory and shared by every session of the worker, keyed by
//! everything that decides those bytes — the engine statement after name
//! resolution and lake planning (so the Iceberg snapshot of every table read is
//! in it), the bound parameters, the result formats, every session setting, the
//! role and the database. A newer snapshot is a different key: an entry can
//! only be served while the tables it read are still where it read them.
//!
//! Entries are weighed in bytes and evicted by `quick_cache` (which keeps
//! entries used more than once over ones used once); the first session to miss
//! a key runs the statement while others asking for the same key wait for its
//! answer (single flight). Behind the memory sits the shared tier
//! (`shared_results`): files the workers of one machine share, so what one
//! worker computed answers sessions on the others, and identical misses on
//! different workers run once.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use quick_cache::sync::{Cache, GuardResult, PlaceholderGuard};
use quick_cache::{DefaultHashBuilder, Lifecycle, OptionsBuilder, Weighter};

use super::shared_results::{Claim, KeyLock, SharedResults, Stored};

/// The memory budget when the configuration names none: a sixteenth of the
/// machine's memory, at most 4 GiB.
pub fn default_max_bytes() -> u64 {
    // SAFETY: sysconf has no preconditions.
    let pages = unsafe { libc::sysconf(libc::_SC_PHYS_PAGES) };
    // SAFETY: as above.
    let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    let total = (pages.max(0) as u64).saturating_mul(page.max(0) as u64);
    match total {
        0 => 256 << 20,
        t => (t / 16).min(4 << 30),
    }
}

/// How long one wait for another session's answer lasts before the waiter
/// checks whether it was cancelled and waits again.
const WAIT_SLICE: Duration = Duration::from_millis(20);

/// A cache key: length-prefixed parts, compared whole (no hash stands for it).
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct ResultKey(Arc<[u8]>);

impl ResultKey {
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// Builds a [`ResultKey`] part by part; each part is length-prefixed so no two
/// different lists of parts make the same key.
#[derive(Default)]
pub struct KeyBuilder(Vec<u8>);

impl KeyBuilder {
    pub fn part(&mut self, bytes: &[u8]) -> &mut Self {
        self.0
            .extend_from_slice(&(bytes.len() as u64).to_le_bytes());
        self.0.extend_from_slice(bytes);
        self
    }

    /// The parts written so far, to become part of another key.
    pub fn into_bytes(self) -> Vec<u8> {
        self.0
    }

    pub fn finish(self) -> ResultKey {
        ResultKey(self.0.into())
    }
}

/// A cached answer.
#[derive(Debug)]
pub enum CachedResult {
    Rows(CachedRows),
    /// The statement's answer is over the per-entry bound: sessions run it
    /// themselves (at once, without waiting for one another).
    TooLarge,
}

/// The bytes a statement sent: its RowDescription (when it sent one) and its
/// DataRows, with where each row starts.
#[derive(Debug)]
pub struct CachedRows {
    pub description: Bytes,
    pub rows: Bytes,
    /// Start of each row in `rows`, and `rows.len()` last.
    pub offsets: Vec<u32>,
}

impl CachedRows {
    /// Splits `rows` (whole DataRow messages) at message boundaries; `None`
    /// when they are not whole messages.
    pub fn new(description: Bytes, rows: Bytes) -> Option<CachedRows> {
        let mut offsets = Vec::new();
        let mut at = 0usize;
        while at < rows.len() {
            offsets.push(u32::try_from(at).ok()?);
            let len = rows.get(at + 1..at + 5)?;
            let len = u32::from_be_bytes([len[0], len[1], len[2], len[3]]) as usize;
            at = at.checked_add(1 + len)?;
        }
        if at != rows.len() {
            return None;
        }
        offsets.push(u32::try_from(at).ok()?);
        Some(CachedRows {
            description,
            rows,
            offsets,
        })
    }

    pub fn row_count(&self) -> usize {
        self.offsets.len().saturating_sub(1)
    }

    /// The bytes of rows `from..to`.
    pub fn slice(&self, from: usize, to: usize) -> &[u8] {
        &self.rows[self.offsets[from] as usize..self.offsets[to] as usize]
    }
}

#[derive(Clone)]
struct ByBytes;

/// What an entry costs besides its bytes (the map's node, the Arc, the key's
/// allocation header).
const ENTRY_OVERHEAD: u64 = 160;

impl Weighter<ResultKey, Arc<CachedResult>> for ByBytes {
    fn weight(&self, key: &ResultKey, value: &Arc<CachedResult>) -> u64 {
        let value = match &**value {
            CachedResult::Rows(r) => {
                r.description.len() + r.rows.len() + r.offsets.len() * std::mem::size_of::<u32>()
            }
            CachedResult::TooLarge => 0,
        };
        key.len() as u64 + value as u64 + ENTRY_OVERHEAD
    }
}

/// Counts evictions (quick_cache tells its lifecycle of each one).
#[derive(Clone, Default)]
struct Evictions(Arc<AtomicU64>);

impl Lifecycle<ResultKey, Arc<CachedResult>> for Evictions {
    type RequestState = ();

    fn on_evict(&self, _state: &mut (), _key: ResultKey, _val: Arc<CachedResult>) {
        self.0.fetch_add(1, Ordering::Relaxed);
    }
}

type Entries = Cache<ResultKey, Arc<CachedResult>, ByBytes, DefaultHashBuilder, Evictions>;

/// The session that missed first: it runs the statement and stores (or
/// abandons, by dropping) the answer others wait for — sessions of this
/// worker through the memory tier's placeholder, other workers through the
/// shared tier's lock on the key.
pub struct Leader<'a> {
    guard:
        PlaceholderGuard<'a, ResultKey, Arc<CachedResult>, ByBytes, DefaultHashBuilder, Evictions>,
    _lock: Option<KeyLock>,
}

/// What a lookup found.
pub enum Lookup<'a> {
    Hit(CachedHit),
    /// Run the statement and give the answer to [`ResultCache::store`].
    Lead(Leader<'a>),
    /// Run the statement without storing it (over the bound, or the wait
    /// was given up).
    Run,
}

/// Counters for `pg_stat_floe_cache` and `/metrics`.
#[derive(Default)]
struct Counters {
    hits: AtomicU64,
    misses: AtomicU64,
    stores: AtomicU64,
    too_large: AtomicU64,
    waits: AtomicU64,
    clears: AtomicU64,
    shared_hits: AtomicU64,
    shared_stores: AtomicU64,
}

/// The worker's result cache.
pub struct ResultCache {
    entries: Entries,
    max_bytes: u64,
    entry_max_bytes: u64,
    evictions: Evictions,
    counters: Counters,
    /// Bytes held by answers being recorded, and their bound: many sessions
    /// recording large answers at once cannot hold more than this.
    recording: AtomicU64,
    recording_max: u64,
    /// The tier the machine's workers share, when there is a directory for it.
    shared: Option<SharedResults>,
    /// When the cache was made (ms since the epoch): older clears leave it be.
    created_ms: u64,
    /// The clears applied lately, newest last.
    clears_applied: parking_lot::Mutex<std::collections::VecDeque<u64>>,
}

/// Clears a worker remembers having applied (far more than can be in flight).
const CLEARS_REMEMBERED: usize = 64;

/// quick_cache splits its budget among shards; an entry must fit in one.
const SHARDS: usize = 8;

impl ResultCache {
    /// A cache of at most `max_bytes`, no entry over `entry_max_bytes` (and
    /// none over a quarter of a shard's share of the budget); with a shared
    /// tier in `shared_dir` of at most `shared_max_bytes`.
    pub fn new(
        max_bytes: u64,
        entry_max_bytes: u64,
        shared_dir: Option<(std::path::PathBuf, u64)>,
    ) -> Arc<ResultCache> {
        let evictions = Evictions::default();
        let options = OptionsBuilder::new()
            .estimated_items_capacity(((max_bytes / 16384) as usize).clamp(64, 1 << 20))
            .weight_capacity(max_bytes.max(1))
            .shards(SHARDS)
            .build()
            .unwrap_or_else(|_| {
                // Only a zero item estimate is refused, which the clamp rules out.
                unreachable!("result cache options are valid")
            });
        let entries = Cache::with_options(
            options,
            ByBytes,
            DefaultHashBuilder::default(),
            evictions.clone(),
        );
        let entry_max_bytes = entry_max_bytes.min(max_bytes / SHARDS as u64 / 4);
        let shared = shared_dir.and_then(|(dir, bound)| {
            SharedResults::new(dir, bound, entry_max_bytes)
                .map_err(|e| tracing::warn!(error = %e, "no shared result tier"))
                .ok()
        });
        Arc::new(ResultCache {
            entries,
            max_bytes,
            shared,
            recording: AtomicU64::new(0),
            recording_max: max_bytes / 2,
            entry_max_bytes,
            evictions,
            counters: Counters::default(),
            clears_applied: Default::default(),
            created_ms: std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_millis() as u64),
        })
    }

    /// Counts `n` more bytes of answers being recorded; `false` (counting
    /// nothing) when that would exceed their bound.
    pub fn reserve(&self, n: u64) -> bool {
        self.recording
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |held| {
                held.checked_add(n).filter(|t| *t <= self.recording_max)
            })
            .is_ok()
    }

    /// Gives back `n` bytes counted by [`ResultCache::reserve`].
    pub fn release(&self, n: u64) {
        let _ = self
            .recording
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |held| {
                Some(held.saturating_sub(n))
            });
    }

    /// The largest answer (wire bytes) one entry may hold.
    pub fn entry_max_bytes(&self) -> u64 {
        self.entry_max_bytes
    }

    /// Looks `key` up; when another session is computing it, waits for that
    /// answer while `keep_waiting` says so (it is asked between slices of the
    /// wait, so a cancelled or timed-out statement stops waiting).
    pub fn lookup(&self, key: &ResultKey, mut keep_waiting: impl FnMut() -> bool) -> Lookup<'_> {
        let mut waited = false;
        loop {
            match self.entries.get_value_or_guard(key, Some(WAIT_SLICE)) {
                GuardResult::Value(v) => {
                    return match &*v {
                        CachedResult::Rows(_) => {
                            self.counters.hits.fetch_add(1, Ordering::Relaxed);
                            Lookup::Hit(rows_of(v))
                        }
                        CachedResult::TooLarge => Lookup::Run,
                    };
                }
                GuardResult::Guard(guard) => {
                    let Some(shared) = &self.shared else {
                        self.counters.misses.fetch_add(1, Ordering::Relaxed);
                        return Lookup::Lead(Leader { guard, _lock: None });
                    };
                    // Another worker may have the answer, or be computing it.
                    return match shared.claim(key, &mut keep_waiting) {
                        Claim::Found(stored) => {
                            self.counters.shared_hits.fetch_add(1, Ordering::Relaxed);
                            let value = Arc::new(match stored {
                                Stored::Rows(rows) => CachedResult::Rows(rows),
                                Stored::TooLarge => CachedResult::TooLarge,
                            });
                            let _ = guard.insert(value.clone());
                            match &*value {
                                CachedResult::Rows(_) => {
                                    self.counters.hits.fetch_add(1, Ordering::Relaxed);
                                    Lookup::Hit(rows_of(value))
                                }
                                CachedResult::TooLarge => Lookup::Run,
                            }
                        }
                        Claim::Lead(lock) => {
                            self.counters.misses.fetch_add(1, Ordering::Relaxed);
                            Lookup::Lead(Leader {
                                guard,
                                _lock: Some(lock),
                            })
                        }
                        Claim::Alone => {
                            self.counters.misses.fetch_add(1, Ordering::Relaxed);
                            Lookup::Lead(Leader { guard, _lock: None })
                        }
                    };
                }
                GuardResult::Timeout => {
                    if !waited {
                        waited = true;
                        self.counters.waits.fetch_add(1, Ordering::Relaxed);
                    }
                    if !keep_waiting() {
                        self.counters.misses.fetch_add(1, Ordering::Relaxed);
                        return Lookup::Run;
                    }
                }
            }
        }
    }

    /// Looks `key` up without waiting or leading (a portal read in batches).
    pub fn peek(&self, key: &ResultKey) -> Option<CachedHit> {
        let found = match self.entries.get(key) {
            Some(v) => Some(v),
            None => match self.shared.as_ref().and_then(|s| s.load(key)) {
                Some(Stored::Rows(rows)) => {
                    self.counters.shared_hits.fetch_add(1, Ordering::Relaxed);
                    let value = Arc::new(CachedResult::Rows(rows));
                    self.entries.insert(key.clone(), value.clone());
                    Some(value)
                }
                _ => None,
            },
        };
        match found {
            Some(v) if matches!(*v, CachedResult::Rows(_)) => {
                self.counters.hits.fetch_add(1, Ordering::Relaxed);
                Some(rows_of(v))
            }
            _ => {
                self.counters.misses.fetch_add(1, Ordering::Relaxed);
                None
            }
        }
    }

    /// Stores an answer: through the leader's guard (waking the sessions
    /// waiting for it) or directly.
    pub fn store(&self, leader: Option<Leader<'_>>, key: ResultKey, rows: CachedRows) {
        self.counters.stores.fetch_add(1, Ordering::Relaxed);
        let stored = Stored::Rows(rows);
        self.share(&key, &stored);
        let Stored::Rows(rows) = stored else {
            return;
        };
        self.insert(leader, key, CachedResult::Rows(rows));
    }

    /// Writes an answer to the shared tier (before the leader's lock on the
    /// key is released, so waiting workers find it).
    fn share(&self, key: &ResultKey, stored: &Stored) {
        if let Some(shared) = &self.shared {
            self.counters.shared_stores.fetch_add(1, Ordering::Relaxed);
            shared.save(key, stored);
        }
    }

    fn insert(&self, leader: Option<Leader<'_>>, key: ResultKey, value: CachedResult) {
        let value = Arc::new(value);
        match leader {
            Some(Leader { guard, _lock }) => {
                let _ = guard.insert(value);
            }
            None => self.entries.insert(key, value),
        }
    }

    /// Remembers that `key`'s answer is over the per-entry bound, so sessions
    /// waiting for it and later ones run it at once.
    pub fn too_large(&self, leader: Option<Leader<'_>>, key: ResultKey) {
        self.counters.too_large.fetch_add(1, Ordering::Relaxed);
        self.share(&key, &Stored::TooLarge);
        self.insert(leader, key, CachedResult::TooLarge);
    }

    /// Applies the clear made at `at_ms` (`CALL floe_result_cache_clear()`
    /// on any worker) once, however many of the worker's sessions hear of
    /// it: the entries in memory, unless the cache is younger than the
    /// clear, and the shared answers written before it.
    pub fn clear_once(&self, at_ms: u64) {
        {
            let mut applied = self.clears_applied.lock();
            if applied.contains(&at_ms) {
                return;
            }
            if applied.len() == CLEARS_REMEMBERED {
                applied.pop_front();
            }
            applied.push_back(at_ms);
        }
        self.counters.clears.fetch_add(1, Ordering::Relaxed);
        if at_ms >= self.created_ms {
            self.entries.clear();
        }
        if let Some(shared) = &self.shared {
            shared.clear_before(std::time::UNIX_EPOCH + std::time::Duration::from_millis(at_ms));
        }
    }

    /// Counters and sizes, as `FLOE STATS` names them.
    pub fn report(&self) -> Vec<(&'static str, u64)> {
        let c = &self.counters;
        let load = |a: &AtomicU64| a.load(Ordering::Relaxed);
        vec![
            ("result_cache_hits", load(&c.hits)),
            ("result_cache_misses", load(&c.misses)),
            ("result_cache_stores", load(&c.stores)),
            ("result_cache_too_large", load(&c.too_large)),
            ("result_cache_waits", load(&c.waits)),
            ("result_cache_evictions", load(&self.evictions.0)),
            ("result_cache_entries", self.entries.len() as u64),
            ("result_cache_used_bytes", self.entries.weight()),
            ("result_cache_max_bytes", self.max_bytes),
        ]
    }

    /// The shared tier's counters and usage, as `FLOE STATS` names them
    /// (empty without a shared tier).
    pub fn shared_report(&self) -> Vec<(&'static str, u64)> {
        let Some(shared) = &self.shared else {
            return Vec::new();
        };
        let (bytes, files) = shared.usage();
        let load = |a: &AtomicU64| a.load(Ordering::Relaxed);
        vec![
            ("shared_results_hits", load(&self.counters.shared_hits)),
            ("shared_results_stores", load(&self.counters.shared_stores)),
            ("shared_results_files", files),
            ("shared_results_bytes", bytes),
            ("shared_results_max_bytes", shared.max_bytes()),
        ]
    }
}

/// A hit: the rows of an entry, shared with the cache (nothing is copied).
#[derive(Clone)]
pub struct CachedHit(Arc<CachedResult>);

/// What a `TooLarge` entry reads as (never handed out as a hit).
static NO_ROWS: CachedRows = CachedRows {
    description: Bytes::new(),
    rows: Bytes::new(),
    offsets: Vec::new(),
};

impl std::ops::Deref for CachedHit {
    type Target = CachedRows;

    fn deref(&self) -> &CachedRows {
        match &*self.0 {
            CachedResult::Rows(r) => r,
            CachedResult::TooLarge => &NO_ROWS,
        }
    }
}

fn rows_of(v: Arc<CachedResult>) -> CachedHit {
    CachedHit(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data_row(payload: &[u8]) -> Vec<u8> {
        let mut m = vec![b'D'];
        m.extend_from_slice(&((4 + payload.len()) as u32).to_be_bytes());
        m.extend_from_slice(payload);
        m
    }

    fn key(s: &str) -> ResultKey {
        let mut k = KeyBuilder::default();
        k.part(s.as_bytes());
        k.finish()
    }

    #[test]
    fn keys_of_different_parts_differ() {
        let mut a = KeyBuilder::default();
        a.part(b"ab").part(b"c");
        let mut b = KeyBuilder::default();
        b.part(b"a").part(b"bc");
        assert!(a.finish() != b.finish());
    }

    #[test]
    fn rows_split_at_message_boundaries_and_refuse_partial_ones() {
        let mut rows = data_row(b"\x00\x01");
        rows.extend(data_row(b""));
        let r = CachedRows::new(Bytes::new(), Bytes::from(rows.clone())).expect("whole");
        assert_eq!(r.row_count(), 2);
        assert_eq!(r.slice(1, 2), &data_row(b"")[..]);
        assert!(
            CachedRows::new(Bytes::new(), Bytes::from(rows[..rows.len() - 1].to_vec())).is_none()
        );
    }

    #[test]
    fn the_cache_stays_inside_its_bound() {
        let cache = ResultCache::new(1 << 20, 1 << 20, None);
        for i in 0..10_000 {
            let k = key(&format!("SELECT {i}"));
            let Lookup::Lead(leader) = cache.lookup(&k, || false) else {
                panic!("a new key leads");
            };
            let rows =
                CachedRows::new(Bytes::new(), Bytes::from(data_row(&[7u8; 300]))).expect("rows");
            cache.store(Some(leader), k, rows);
        }
        assert!(
            cache.entries.weight() <= 1 << 20,
            "{}",
            cache.entries.weight()
        );
        let report = cache.report();
        let evictions = report.iter().find(|(n, _)| *n == "result_cache_evictions");
        assert!(evictions.is_some_and(|(_, v)| *v > 0));
    }

    #[test]
    fn answers_being_recorded_share_a_bound() {
        let cache = ResultCache::new(1 << 20, 1 << 20, None);
        assert!(cache.reserve(300 << 10));
        assert!(cache.reserve(200 << 10));
        assert!(!cache.reserve(100 << 10), "over half the budget");
        cache.release(300 << 10);
        assert!(cache.reserve(100 << 10));
        cache.release(u64::MAX);
        assert!(cache.reserve(512 << 10));
    }

    #[test]
    fn concurrent_misses_run_once() {
        let cache = ResultCache::new(1 << 20, 1 << 20, None);
        let runs = AtomicU64::new(0);
        std::thread::scope(|s| {
            for _ in 0..16 {
                s.spawn(|| match cache.lookup(&key("q"), || true) {
                    Lookup::Hit(r) => assert_eq!(r.row_count(), 1),
                    Lookup::Lead(leader) => {
                        runs.fetch_add(1, Ordering::SeqCst);
                        std::thread::sleep(Duration::from_millis(100));
                        let rows = CachedRows::new(Bytes::new(), Bytes::from(data_row(b"x")))
                            .expect("rows");
                        cache.store(Some(leader), key("q"), rows);
                    }
                    Lookup::Run => panic!("nobody gives up waiting"),
                });
            }
        });
        assert_eq!(runs.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn an_abandoned_lead_passes_to_a_waiter_and_too_large_lets_all_run() {
        let cache = ResultCache::new(1 << 20, 1 << 20, None);
        let k = key("big");
        let Lookup::Lead(first) = cache.lookup(&k, || true) else {
            panic!("leads");
        };
        drop(first);
        let Lookup::Lead(second) = cache.lookup(&k, || true) else {
            panic!("the lead passes on");
        };
        cache.too_large(Some(second), k.clone());
        assert!(matches!(cache.lookup(&k, || true), Lookup::Run));
    }
}
