//! The SSD cache of data files: objects are fetched through `object_store` into a
//! local directory once and then served from disk. Local warehouse files are
//! read in place. A download goes to a temporary name and is renamed only once
//! its size matches the catalog's, so a partial file is never served; concurrent
//! requests for the same object share one download; the cache survives restarts.
//!
//! The directory is shared by every worker process on the machine, so its
//! bookkeeping lives in the file system: a file's modification time is its last
//! use (touched on every hit), and a statement pins the files it reads with a
//! shared `flock` for as long as the statement exists. Eviction removes the least
//! recently used files until the total is under the bound, skipping any file it
//! cannot lock exclusively — a file in use is never removed.

use parking_lot::Mutex;
use std::collections::HashMap;
use std::fs::{File, TryLockError};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use floe_catalog::object_storage::{location_url, ObjectStorage};
use floe_catalog::CatalogError;
use futures::StreamExt;
use object_store::ObjectStoreExt;
use sha2::{Digest, Sha256};
use tokio::io::AsyncWriteExt;

/// How long one object may take to download before the query fails.
const DOWNLOAD_TIMEOUT: Duration = Duration::from_secs(300);

/// The bound when none is configured.
pub const DEFAULT_MAX_BYTES: u64 = 16 << 30;

/// Eviction stops once the cache is at this fraction of its bound, so one pass
/// makes room for more than the download that triggered it.
const EVICT_TO: f64 = 0.9;

/// Counters reported to the router's `/metrics` and used by tests.
#[derive(Debug, Default)]
pub struct CacheStats {
    pub hits: AtomicU64,
    pub misses: AtomicU64,
    pub bytes_downloaded: AtomicU64,
    pub evictions: AtomicU64,
    pub bytes_evicted: AtomicU64,
}

/// A cached file held for a statement: while it lives the file stays on disk.
#[derive(Debug)]
pub struct FilePin {
    _lock: File,
}

/// A local path for an object, with the pin that keeps it there (none for
/// files read in place).
#[derive(Debug)]
pub struct CachedFile {
    pub path: String,
    pub pin: Option<FilePin>,
}

pub struct FileCache {
    dir: PathBuf,
    storage: ObjectStorage,
    max_bytes: u64,
    inflight: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
    /// Bytes in the cache as of the last scan plus this process's downloads since.
    used_bytes: AtomicU64,
    /// One eviction pass at a time per process.
    evicting: tokio::sync::Mutex<()>,
    pub stats: CacheStats,
}

impl FileCache {
    /// A cache in `dir` holding at most about `max_bytes` (files pinned by running
    /// statements can hold it above the bound until they finish).
    pub fn new(dir: PathBuf, storage: ObjectStorage, max_bytes: u64) -> FileCache {
        let used = scan(&dir.join("objects")).iter().map(|e| e.size).sum();
        FileCache {
            dir,
            storage,
            max_bytes,
            inflight: Mutex::new(HashMap::new()),
            used_bytes: AtomicU64::new(used),
            evicting: tokio::sync::Mutex::new(()),
            stats: CacheStats::default(),
        }
    }

    /// The counters as (name, value) pairs, cumulative for this process except
    /// `used_bytes`, the cache's size as this process last saw it.
    pub fn report(&self) -> Vec<(&'static str, u64)> {
        let s = &self.stats;
        vec![
            ("cache_hits", s.hits.load(Ordering::Relaxed)),
            ("cache_misses", s.misses.load(Ordering::Relaxed)),
            (
                "cache_downloaded_bytes",
                s.bytes_downloaded.load(Ordering::Relaxed),
            ),
            ("cache_evictions", s.evictions.load(Ordering::Relaxed)),
            (
                "cache_evicted_bytes",
                s.bytes_evicted.load(Ordering::Relaxed),
            ),
            ("cache_used_bytes", self.used_bytes.load(Ordering::Relaxed)),
            ("cache_max_bytes", self.max_bytes),
        ]
    }

    /// A local path holding the object at `location` (`size` bytes), pinned.
    pub async fn local_path(&self, location: &str, size: u64) -> Result<CachedFile, CatalogError> {
        self.local_path_keeping(location, size, &[]).await
    }

    /// As `local_path`, with `keep` (Hive `key=value` directories) as directories
    /// of the cached copy's path, where readers that derive columns from the
    /// path find them.
    pub async fn local_path_keeping(
        &self,
        location: &str,
        size: u64,
        keep: &[String],
    ) -> Result<CachedFile, CatalogError> {
        let url = location_url(location)?;
        if url.scheme() == "file" {
            let path = url.to_file_path().map_err(|()| CatalogError::Storage {
                path: location.to_string(),
                message: "not a local path".into(),
            })?;
            return Ok(CachedFile {
                path: path.to_string_lossy().into_owned(),
                pin: None,
            });
        }
        let target = self.cached_name(location, keep);
        let path = target.to_string_lossy().into_owned();
        // An eviction can remove the file between the check and the pin; the
        // second round then downloads it again.
        for _ in 0..3 {
            if let Some(pin) = pin(&target, size).await {
                self.stats.hits.fetch_add(1, Ordering::Relaxed);
                return Ok(CachedFile {
                    path,
                    pin: Some(pin),
                });
            }
            self.fetch_once(location, &target, size).await?;
            if let Some(pin) = pin(&target, size).await {
                // Room is made once the new file is pinned, so the pass cannot
                // take the file this statement is about to read.
                self.evict().await;
                return Ok(CachedFile {
                    path,
                    pin: Some(pin),
                });
            }
        }
        Err(CatalogError::Storage {
            path: location.to_string(),
            message: "the cached copy was evicted repeatedly while being opened".into(),
        })
    }

    /// Downloads `location` unless a concurrent request just did.
    async fn fetch_once(
        &self,
        location: &str,
        target: &Path,
        size: u64,
    ) -> Result<(), CatalogError> {
        let gate = {
            let mut inflight = self.inflight.lock();
            inflight.entry(location.to_string()).or_default().clone()
        };
        let _downloading = gate.lock().await;
        if file_size(target) == Some(size) {
            return Ok(());
        }
        self.stats.misses.fetch_add(1, Ordering::Relaxed);
        let result = tokio::time::timeout(DOWNLOAD_TIMEOUT, self.download(location, target, size))
            .await
            .unwrap_or_else(|_| {
                Err(CatalogError::Storage {
                    path: location.to_string(),
                    message: format!("download timed out after {DOWNLOAD_TIMEOUT:?}"),
                })
            });
        self.inflight.lock().remove(location);
        result?;
        self.used_bytes.fetch_add(size, Ordering::Relaxed);
        Ok(())
    }

    /// When the cache is over its bound, removes least recently used, unpinned
    /// files until it is under `EVICT_TO` of it. The directory is scanned each
    /// time, so the other workers' downloads count too.
    async fn evict(&self) {
        let _one_pass = self.evicting.lock().await;
        let objects = self.dir.join("objects");
        let max = self.max_bytes;
        let target = (max as f64 * EVICT_TO) as u64;
        let outcome = tokio::task::spawn_blocking(move || evict_lru(&objects, max, target)).await;
        let Ok(outcome) = outcome else {
            return;
        };
        self.used_bytes
            .store(outcome.remaining_bytes, Ordering::Relaxed);
        if outcome.evicted_files == 0 && outcome.remaining_bytes <= max {
            return;
        }
        self.stats
            .evictions
            .fetch_add(outcome.evicted_files, Ordering::Relaxed);
        self.stats
            .bytes_evicted
            .fetch_add(outcome.evicted_bytes, Ordering::Relaxed);
        tracing::info!(
            evicted_files = outcome.evicted_files,
            evicted_bytes = outcome.evicted_bytes,
            remaining_bytes = outcome.remaining_bytes,
            max_bytes = max,
            "SSD cache eviction"
        );
        if outcome.remaining_bytes > max {
            tracing::warn!(
                remaining_bytes = outcome.remaining_bytes,
                max_bytes = max,
                "SSD cache over its bound: the rest is pinned by running statements"
            );
        }
    }

    fn cached_name(&self, location: &str, keep: &[String]) -> PathBuf {
        let digest = Sha256::digest(location.as_bytes());
        let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
        let ext = Path::new(location)
            .extension()
            .and_then(|e| e.to_str())
            .unwrap_or("bin");
        let mut path = self.dir.join("objects").join(&hex[..2]);
        if !keep.is_empty() {
            path.push(&hex);
            for segment in keep {
                // Only plain names: never a way out of the cache directory.
                if segment != ".." && segment != "." && !segment.contains(['/', '\\']) {
                    path.push(segment);
                }
            }
        }
        path.join(format!("{hex}.{ext}"))
    }

    async fn download(&self, location: &str, target: &Path, size: u64) -> Result<(), CatalogError> {
        let io_error = |e: std::io::Error| CatalogError::Storage {
            path: location.to_string(),
            message: format!("cache write failed: {e}"),
        };
        let store_error = |e: object_store::Error| CatalogError::Storage {
            path: location.to_string(),
            message: e.to_string(),
        };
        if let Some(parent) = target.parent() {
            tokio::fs::create_dir_all(parent).await.map_err(io_error)?;
        }
        let partial = target.with_extension(format!("part-{}", std::process::id()));
        let (store, path) = self.storage.resolve(location)?;
        let got = store.get(&path).await.map_err(store_error)?;
        let mut body = got.into_stream();
        let mut file = tokio::fs::File::create(&partial).await.map_err(io_error)?;
        let mut written = 0u64;
        while let Some(chunk) = body.next().await {
            let chunk = chunk.map_err(store_error)?;
            written += chunk.len() as u64;
            file.write_all(&chunk).await.map_err(io_error)?;
        }
        file.sync_all().await.map_err(io_error)?;
        drop(file);
        if written != size {
            let _ = tokio::fs::remove_file(&partial).await;
            return Err(CatalogError::Storage {
                path: location.to_string(),
                message: format!("downloaded {written} bytes, the catalog says {size}"),
            });
        }
        tokio::fs::rename(&partial, target)
            .await
            .map_err(io_error)?;
        self.stats
            .bytes_downloaded
            .fetch_add(written, Ordering::Relaxed);
        Ok(())
    }
}

/// Opens `path` with a shared lock if it holds `size` bytes, and marks it used.
/// `None` when it is missing, incomplete, or was removed while being locked.
async fn pin(path: &Path, size: u64) -> Option<FilePin> {
    let file = File::open(path).ok()?;
    loop {
        match file.try_lock_shared() {
            Ok(()) => break,
            // An eviction holds it for the moment it takes to unlink.
            Err(TryLockError::WouldBlock) => tokio::time::sleep(Duration::from_millis(1)).await,
            Err(TryLockError::Error(_)) => return None,
        }
    }
    let held = file.metadata().ok()?;
    let now_at_path = std::fs::metadata(path).ok()?;
    if held.len() != size || !same_file(&held, &now_at_path) {
        return None;
    }
    // Last use, for LRU; a failure only makes the file look older.
    let _ = file.set_modified(SystemTime::now());
    Some(FilePin { _lock: file })
}

#[cfg(unix)]
fn same_file(a: &std::fs::Metadata, b: &std::fs::Metadata) -> bool {
    use std::os::unix::fs::MetadataExt;
    a.dev() == b.dev() && a.ino() == b.ino()
}

#[cfg(not(unix))]
fn same_file(a: &std::fs::Metadata, b: &std::fs::Metadata) -> bool {
    a.len() == b.len() && a.modified().ok() == b.modified().ok()
}

fn file_size(path: &Path) -> Option<u64> {
    std::fs::metadata(path).ok().map(|m| m.len())
}

struct Entry {
    path: PathBuf,
    size: u64,
    used: SystemTime,
}

/// Every cached object under `objects/` (at any depth: Hive-partitioned copies
/// keep their directories); downloads abandoned by a process that died (part
/// files older than the download timeout) are removed.
fn scan(objects: &Path) -> Vec<Entry> {
    let mut entries = Vec::new();
    let abandoned = SystemTime::now() - 2 * DOWNLOAD_TIMEOUT;
    let mut dirs = vec![objects.to_path_buf()];
    while let Some(dir) = dirs.pop() {
        let Ok(files) = std::fs::read_dir(&dir) else {
            continue;
        };
        for file in files.flatten() {
            let Ok(meta) = file.metadata() else { continue };
            if meta.is_dir() {
                dirs.push(file.path());
                continue;
            }
            let used = meta.modified().unwrap_or(SystemTime::UNIX_EPOCH);
            let path = file.path();
            let is_partial = path
                .extension()
                .and_then(|e| e.to_str())
                .is_some_and(|e| e.starts_with("part-"));
            if is_partial {
                if used < abandoned {
                    let _ = std::fs::remove_file(&path);
                }
                continue;
            }
            entries.push(Entry {
                path,
                size: meta.len(),
                used,
            });
        }
    }
    entries
}

struct Eviction {
    evicted_files: u64,
    evicted_bytes: u64,
    remaining_bytes: u64,
}

/// Evicts down to `target_bytes` if the cache holds more than `trigger_bytes`.
fn evict_lru(objects: &Path, trigger_bytes: u64, target_bytes: u64) -> Eviction {
    let mut entries = scan(objects);
    let mut remaining: u64 = entries.iter().map(|e| e.size).sum();
    let mut outcome = Eviction {
        evicted_files: 0,
        evicted_bytes: 0,
        remaining_bytes: remaining,
    };
    if remaining <= trigger_bytes {
        return outcome;
    }
    entries.sort_by_key(|e| e.used);
    for e in entries {
        if remaining <= target_bytes {
            break;
        }
        let Ok(file) = File::open(&e.path) else {
            // Another process evicted it already.
            remaining -= e.size;
            continue;
        };
        // A file that cannot be locked is pinned by a running statement, here
        // or in another worker.
        if file.try_lock().is_ok() && std::fs::remove_file(&e.path).is_ok() {
            remaining -= e.size;
            outcome.evicted_files += 1;
            outcome.evicted_bytes += e.size;
        }
    }
    outcome.remaining_bytes = remaining;
    outcome
}

#[cfg(test)]
mod tests {
    use super::*;

    fn put(dir: &Path, name: &str, bytes: usize, age_secs: u64) -> PathBuf {
        let shard = dir.join("objects").join(&name[..2]);
        std::fs::create_dir_all(&shard).expect("shard");
        let path = shard.join(name);
        std::fs::write(&path, vec![7u8; bytes]).expect("write");
        let f = File::options().write(true).open(&path).expect("open");
        f.set_modified(SystemTime::now() - Duration::from_secs(age_secs))
            .expect("mtime");
        path
    }

    #[tokio::test]
    async fn evicts_least_recently_used_first_and_never_a_pinned_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let oldest = put(dir.path(), "aa1.parquet", 100, 300);
        let pinned_old = put(dir.path(), "bb1.parquet", 100, 200);
        let newer = put(dir.path(), "cc1.parquet", 100, 100);
        let newest = put(dir.path(), "dd1.parquet", 100, 0);
        let _pin = pin(&pinned_old, 100).await.expect("pinned");
        // Pinning counts as a use: make it old again to test the lock alone.
        File::options()
            .write(true)
            .open(&pinned_old)
            .expect("open")
            .set_modified(SystemTime::now() - Duration::from_secs(200))
            .expect("mtime");
        let objects = dir.path().join("objects");
        let untouched = evict_lru(&objects, 400, 200);
        assert_eq!(
            untouched.evicted_files, 0,
            "at the bound nothing is evicted"
        );
        let outcome = evict_lru(&objects, 399, 200);
        assert_eq!(outcome.evicted_files, 2);
        assert_eq!(outcome.evicted_bytes, 200);
        assert_eq!(outcome.remaining_bytes, 200);
        assert!(!oldest.exists());
        assert!(pinned_old.exists(), "a pinned file is never evicted");
        assert!(!newer.exists());
        assert!(newest.exists());
    }

    #[tokio::test]
    async fn a_pin_refuses_incomplete_or_missing_files() {
        let dir = tempfile::tempdir().expect("tempdir");
        let f = put(dir.path(), "ee1.parquet", 10, 0);
        assert!(pin(&f, 11).await.is_none());
        assert!(pin(&dir.path().join("nope"), 1).await.is_none());
        assert!(pin(&f, 10).await.is_some());
    }

    #[test]
    fn abandoned_partial_downloads_are_cleared() {
        let dir = tempfile::tempdir().expect("tempdir");
        let stale = put(dir.path(), "ff1.part-1", 10, 3600);
        let live = put(dir.path(), "ff2.part-2", 10, 0);
        let entries = scan(&dir.path().join("objects"));
        assert!(entries.is_empty());
        assert!(!stale.exists());
        assert!(live.exists());
    }
}
