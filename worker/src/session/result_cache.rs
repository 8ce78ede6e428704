//! A session's use of the worker's result cache (`crate::cache::results`):
//! whether a statement may be answered from it (decided once, when it is
//! prepared, from the statement the engine will run), the key of one run
//! (the engine statement with its planned snapshots, parameters, formats,
//! settings, role), a hit sent as the bytes a miss sent, and a miss's bytes
//! recorded as they stream. `floe.last_cache` tells what happened last.

use crate::cache::results::{CachedHit, KeyBuilder, Leader, Lookup, ResultCache, ResultKey};
use crate::cache::stable_calls::StableCalls;

use super::*;

/// The functions the engine declares stable, read once per worker process
/// (every session's engine has the same built-in and native functions).
static STABLE_CALLS: std::sync::LazyLock<StableCalls> = std::sync::LazyLock::new(StableCalls::new);

/// Whether a prepared statement may be answered from the cache; the reason
/// when it may not.
pub(super) type Cacheable = Result<(), String>;

/// A miss's answer, recorded while it streams.
pub(super) struct Recording {
    key: ResultKey,
    description: Bytes,
    rows: BytesMut,
    limit: usize,
    over: bool,
    /// The cache whose budget for answers being recorded `rows` counts in.
    cache: Arc<ResultCache>,
}

impl Recording {
    /// Keeps a copy of rows just sent, unless the answer went over its bound
    /// or the worker's recordings together would go over theirs.
    pub(super) fn take(&mut self, bytes: &[u8]) {
        if self.over {
            return;
        }
        if self.rows.len() + bytes.len() > self.limit || !self.cache.reserve(bytes.len() as u64) {
            self.over = true;
            self.cache.release(self.rows.len() as u64);
            self.rows = BytesMut::new();
            return;
        }
        self.rows.extend_from_slice(bytes);
    }
}

impl Drop for Recording {
    fn drop(&mut self) {
        self.cache.release(self.rows.len() as u64);
    }
}

/// What `start` decided for a portal about to run.
pub(super) enum CacheStart<'a> {
    /// Not cached: run as always.
    Bypass,
    /// Answered: the portal reads the cached rows.
    Hit,
    /// Run and record the answer; a leader wakes the sessions waiting for it.
    Record(Option<Leader<'a>>),
    /// Cancelled, or out of time, while waiting for another session's answer.
    Stopped(CancelReason),
}

/// How long a session waits for another's identical statement before it runs
/// the statement itself (the other's client may be reading slowly, or not
/// at all).
const MAX_WAIT: std::time::Duration = std::time::Duration::from_secs(60);

impl Session {
    /// Decides, when a statement is prepared, whether its answers may come
    /// from the cache: a SELECT that writes nothing, reads relations only as
    /// lake tables at planned snapshots (`sealed`) and calls only functions the
    /// engine declares stable.
    pub(super) fn cacheability(
        &self,
        statement_type: duckdb::ffi::duckdb_statement_type,
        returns_rows: bool,
        writes: bool,
        sealed: bool,
        engine_sql: &str,
    ) -> Cacheable {
        if self.result_cache.is_none() {
            return Err("the worker has no result cache".into());
        }
        if statement_type != st::SELECT || !returns_rows || writes {
            return Err("only a SELECT is cached".into());
        }
        if !sealed {
            return Err(
                "it reads a relation that is not a lake table at a snapshot (a system view, a TEMP relation, registered Parquet)"
                    .into(),
            );
        }
        let tokens = floe_sql::tokens::tokenize(engine_sql);
        match STABLE_CALLS.first_unstable(&self.conn, &tokens) {
            Some(name) => Err(format!(
                "it calls {name}, which may answer differently each time"
            )),
            None => Ok(()),
        }
    }

    /// Looks a portal's answer up before it runs. On a hit the portal's
    /// RowDescription is written and the portal reads the cached rows; on a
    /// miss the portal records its answer.
    pub(super) fn start_cached<'a>(
        &mut self,
        cache: &'a ResultCache,
        portal: &mut Portal,
        d: &DuckStatement,
        max_rows: u64,
    ) -> CacheStart<'a> {
        if let Err(why) = &d.cacheable {
            self.tell_last_cache(format!("not cached: {why}"));
            return CacheStart::Bypass;
        }
        if !self.params.result_cache_on() {
            self.tell_last_cache("not cached: floe.result_cache is off".into());
            return CacheStart::Bypass;
        }
        let staged = self.local_writes > 0 || self.lake_txn.as_ref().is_some_and(|t| !t.is_empty());
        if self.in_transaction() && staged {
            self.tell_last_cache("not cached: the transaction has staged writes".into());
            return CacheStart::Bypass;
        }
        let key = self.result_key(portal, d);
        // A portal read in batches neither waits nor leads: it may stop
        // between batches for as long as its client likes.
        let found = if max_rows == 0 {
            let seq = self.control.begin();
            self.arm_timeout(seq);
            let control = self.control.clone();
            let waiting_since = std::time::Instant::now();
            let found = cache.lookup(&key, || {
                !control.interrupted() && waiting_since.elapsed() < MAX_WAIT
            });
            // A cancel or the statement's timeout while it waited ends it,
            // as they would have ended the run it waited for.
            if let Some(reason) = self.control.end() {
                return CacheStart::Stopped(reason);
            }
            found
        } else {
            match cache.peek(&key) {
                Some(hit) => Lookup::Hit(hit),
                None => Lookup::Run,
            }
        };
        let leader = match found {
            Lookup::Hit(hit) => {
                self.serve_hit(portal, hit);
                return CacheStart::Hit;
            }
            Lookup::Lead(leader) => Some(leader),
            Lookup::Run => None,
        };
        let Some(shared) = self.result_cache.clone() else {
            return CacheStart::Bypass;
        };
        portal.recording = Some(Box::new(Recording {
            key,
            description: Bytes::new(),
            rows: BytesMut::new(),
            limit: cache.entry_max_bytes() as usize,
            over: false,
            cache: shared,
        }));
        CacheStart::Record(leader)
    }

    fn serve_hit(&mut self, portal: &mut Portal, hit: CachedHit) {
        if portal.describe {
            self.out.extend_from_slice(&hit.description);
        }
        portal.state = PortalState::Cached { hit, next: 0 };
        self.tell_last_cache("hit".into());
    }

    /// Stores a finished portal's recorded answer (or remembers it was too
    /// large); an answer that did not finish is dropped, and a leader's
    /// waiters then run the statement themselves.
    pub(super) fn finish_recording(
        &mut self,
        cache: &ResultCache,
        portal: &mut Portal,
        leader: Option<Leader<'_>>,
        finished: bool,
    ) {
        if !finished || !matches!(portal.state, PortalState::Done) {
            if !matches!(portal.state, PortalState::Streaming(_)) {
                portal.recording = None;
            }
            return;
        }
        let Some(mut rec) = portal.recording.take() else {
            return;
        };
        if rec.over {
            self.tell_last_cache(format!(
                "not stored: the answer is over the entry bound of {} bytes",
                cache.entry_max_bytes()
            ));
            cache.too_large(leader, rec.key.clone());
            return;
        }
        let rows = std::mem::take(&mut rec.rows);
        cache.release(rows.len() as u64);
        let (key, description) = (rec.key.clone(), std::mem::take(&mut rec.description));
        match CachedRows::new(description, rows.freeze()) {
            Some(rows) => {
                cache.store(leader, key, rows);
                self.tell_last_cache("miss: stored".into());
            }
            None => self.tell_last_cache("not stored: the answer was not whole rows".into()),
        }
    }

    /// Keeps the RowDescription a recording portal just wrote (from `from` in
    /// the output).
    pub(super) fn record_description(&self, portal: &mut Portal, from: usize) {
        if let Some(rec) = portal.recording.as_mut() {
            rec.description = Bytes::copy_from_slice(&self.out[from..]);
        }
    }

    /// The key of one run of a portal: everything that decides its bytes.
    fn result_key(&self, portal: &Portal, d: &DuckStatement) -> ResultKey {
        let mut key = KeyBuilder::default();
        key.part(b"floe-result-1")
            .part(self.user.as_bytes())
            .part(self.database.as_bytes())
            .part(&[u8::from(self.superuser), u8::from(portal.describe)])
            .part(d.engine_sql.as_bytes());
        for s in &portal.stmt.lake_snapshots {
            key.part(s.table.to_string().as_bytes())
                .part(&s.snapshot_id.unwrap_or(-1).to_le_bytes());
        }
        key.part(&portal.param_key);
        let formats: Vec<u8> = portal.binary.iter().map(|b| u8::from(*b)).collect();
        key.part(&formats);
        self.params.key_into(&mut key);
        key.finish()
    }

    pub(super) fn tell_last_cache(&mut self, what: String) {
        self.params.set_internal("floe.last_cache", what);
    }

    /// `CALL floe_result_cache_clear()`: empties this worker's result cache.
    pub(super) fn clear_result_cache(&mut self) -> SResult<()> {
        if !self.superuser {
            return Err(PgError::new(
                sqlstate::INSUFFICIENT_PRIVILEGE,
                "must be superuser to call floe_result_cache_clear",
            )
            .into());
        }
        // Every worker's cache: the clear travels as a lake change, which the
        // router hands to every session before its next message.
        let at_ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as u64);
        if let Some(cache) = &self.result_cache {
            cache.clear_once(at_ms);
        }
        if let Some(lake) = &self.lake {
            lake.lakehouse()
                .changes()
                .record([floe_protocol::lake_changes::LakeChange::ResultCacheCleared { at_ms }]);
        }
        Ok(())
    }
}

use crate::cache::results::CachedRows;

/// The bytes of a Bind's parameters for the key: each one's format, declared
/// type and value (or that it is NULL).
pub(super) fn parameter_key(params: &[Option<Bytes>], formats: &[i16], types: &[u32]) -> Vec<u8> {
    let mut key = KeyBuilder::default();
    for (i, raw) in params.iter().enumerate() {
        let format = match formats.len() {
            0 => 0,
            1 => formats[0],
            _ => formats.get(i).copied().unwrap_or(0),
        };
        key.part(&format.to_le_bytes())
            .part(&types.get(i).copied().unwrap_or(0).to_le_bytes());
        match raw {
            None => key.part(b"\xffNULL"),
            Some(b) => key.part(&[0]).part(b),
        };
    }
    key.into_bytes()
}

/// The relation `pg_stat_floe_cache` names: this worker's caches, one row per
/// layer (`result`: answers in memory; `shared`: answer files the machine's
/// workers share; `ssd`: lake data files on local disk).
const CACHE_VIEW: &str = "pg_stat_floe_cache";

impl Session {
    /// `sql` with its references to `pg_stat_floe_cache` replaced by this
    /// worker's counters as a VALUES list; `None` when it names none.
    pub(super) fn inline_cache_view(&self, sql: &str, tokens: &[Token]) -> Option<String> {
        if !tokens.iter().any(|t| t.is_word(CACHE_VIEW)) {
            return None;
        }
        let refs = crate::lake::refs::find(sql)?;
        let view = |parts: &[String]| match parts {
            [name] => name == CACHE_VIEW,
            [schema, name] => schema == "pg_catalog" && name == CACHE_VIEW,
            _ => false,
        };
        let edits: Vec<(usize, usize, String)> = refs
            .iter()
            .filter(|r| view(&r.parts))
            .map(|r| {
                let alias = if r.has_alias {
                    ""
                } else {
                    " AS pg_stat_floe_cache"
                };
                (
                    r.start,
                    r.end,
                    format!("({}){alias}", self.cache_view_rows()),
                )
            })
            .collect();
        (!edits.is_empty()).then(|| floe_sql::apply(sql, edits))
    }

    fn cache_view_rows(&self) -> String {
        let find = |report: &[(&'static str, u64)], name: &str| -> String {
            report
                .iter()
                .find(|(n, _)| *n == name)
                .map_or("NULL".to_string(), |(_, v)| v.to_string())
        };
        let worker = self
            .params
            .get("floe.worker")
            .and_then(|w| w.parse::<i64>().ok())
            .map_or("NULL".to_string(), |w| w.to_string());
        let mut rows = Vec::new();
        if let Some(cache) = &self.result_cache {
            let r = cache.report();
            rows.push(format!(
                "({worker}, 'result', {}, {}, {}, {}, {}, {}, {})",
                find(&r, "result_cache_hits"),
                find(&r, "result_cache_misses"),
                find(&r, "result_cache_stores"),
                find(&r, "result_cache_evictions"),
                find(&r, "result_cache_entries"),
                find(&r, "result_cache_used_bytes"),
                find(&r, "result_cache_max_bytes"),
            ));
        }
        if let Some(r) = self
            .result_cache
            .as_ref()
            .map(|c| c.shared_report())
            .filter(|r| !r.is_empty())
        {
            rows.push(format!(
                "({worker}, 'shared', {}, NULL, {}, NULL, {}, {}, {})",
                find(&r, "shared_results_hits"),
                find(&r, "shared_results_stores"),
                find(&r, "shared_results_files"),
                find(&r, "shared_results_bytes"),
                find(&r, "shared_results_max_bytes"),
            ));
        }
        if let Some(lake) = &self.lake {
            let r = lake.cache_report();
            rows.push(format!(
                "({worker}, 'ssd', {}, {}, {}, {}, NULL, {}, {})",
                find(&r, "cache_hits"),
                find(&r, "cache_misses"),
                find(&r, "cache_misses"),
                find(&r, "cache_evictions"),
                find(&r, "cache_used_bytes"),
                find(&r, "cache_max_bytes"),
            ));
        }
        rows.push("(NULL, NULL, 0, 0, 0, 0, 0, 0, 0)".into());
        format!(
            "SELECT worker::INTEGER AS worker, layer::VARCHAR AS layer, hits::BIGINT AS hits, \
             misses::BIGINT AS misses, stores::BIGINT AS stores, evictions::BIGINT AS evictions, \
             entries::BIGINT AS entries, bytes::BIGINT AS bytes, max_bytes::BIGINT AS max_bytes \
             FROM (VALUES {}) AS c(worker, layer, hits, misses, stores, evictions, entries, bytes, max_bytes) \
             WHERE layer IS NOT NULL",
            rows.join(", ")
        )
    }
}
