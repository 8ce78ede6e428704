//! The result cache's shared tier: answers written as files under the SSD
//! cache directory, which the workers of one machine share (and, once worker
//! pools exist, only the pool's workers), so a session on any of them is
//! answered from what one of them computed, and an answer outlives the worker
//! process that computed it. While a worker computes an answer it holds an
//! exclusive `flock` on the key's lock file: the same miss on another worker
//! waits for the file instead of running the statement again.
//!
//! A file holds the whole key, compared byte for byte on every read (the file
//! name is only its SHA-256). Files are written under a temporary name and
//! renamed, so a reader sees a whole answer or none; the directory is kept
//! under its bound by removing the least recently read files.

use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::os::unix::io::AsRawFd;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use sha2::{Digest, Sha256};

use super::results::{CachedRows, ResultKey};

/// The first bytes of an answer file (and its format's version).
const MAGIC: &[u8; 8] = b"FLOERC1\0";

/// How often a worker waiting for another's answer looks again.
const POLL: Duration = Duration::from_millis(5);

/// What the shared tier holds for a key.
pub enum Stored {
    Rows(CachedRows),
    /// The answer is over the per-entry bound: run it without waiting.
    TooLarge,
}

/// What a worker that missed in memory should do.
pub enum Claim {
    Found(Stored),
    /// Compute the answer; other workers wait while this lock is held.
    Lead(KeyLock),
    /// Compute it without the lock (the wait was given up, or the
    /// directory cannot be used).
    Alone,
}

/// An exclusive lock on one key's lock file, released when dropped.
pub struct KeyLock(#[allow(dead_code)] File);

/// The shared tier in one directory.
pub struct SharedResults {
    dir: PathBuf,
    max_bytes: u64,
    max_file_bytes: u64,
    /// Bytes written since the directory was last swept.
    written: AtomicU64,
}

impl SharedResults {
    /// The tier in `dir` (created when missing), at most `max_bytes`, no file
    /// over `max_entry_bytes` of answer.
    pub fn new(
        dir: PathBuf,
        max_bytes: u64,
        max_entry_bytes: u64,
    ) -> std::io::Result<SharedResults> {
        std::fs::create_dir_all(&dir)?;
        Ok(SharedResults {
            dir,
            max_bytes,
            max_file_bytes: max_entry_bytes.saturating_add(1 << 20),
            written: AtomicU64::new(0),
        })
    }

    fn paths(&self, key: &ResultKey) -> (PathBuf, PathBuf) {
        let hex: String = Sha256::digest(key.as_bytes())
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        let shard = self.dir.join(&hex[..2]);
        (shard.join(&hex), shard.join(format!("{hex}.lock")))
    }

    /// The stored answer for `key`, if any (and marks it recently read).
    pub fn load(&self, key: &ResultKey) -> Option<Stored> {
        let (path, _) = self.paths(key);
        let mut file = File::open(&path).ok()?;
        let len = file.metadata().ok()?.len();
        if len > self.max_file_bytes.saturating_add(key.len() as u64) {
            return None;
        }
        let mut data = Vec::with_capacity(len as usize);
        file.read_to_end(&mut data).ok()?;
        let stored = decode(key, Bytes::from(data))?;
        let _ = file.set_modified(SystemTime::now());
        Some(stored)
    }

    /// Finds `key`'s answer, or the right to compute it: waits while another
    /// worker computes it, as long as `keep_waiting` says so.
    pub fn claim(&self, key: &ResultKey, keep_waiting: &mut dyn FnMut() -> bool) -> Claim {
        if let Some(found) = self.load(key) {
            return Claim::Found(found);
        }
        let (_, lock_path) = self.paths(key);
        if let Some(parent) = lock_path.parent() {
            if std::fs::create_dir_all(parent).is_err() {
                return Claim::Alone;
            }
        }
        let Ok(lock) = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .mode(0o600)
            .open(&lock_path)
        else {
            return Claim::Alone;
        };
        loop {
            match try_lock(&lock) {
                Ok(true) => {
                    // The worker that held it may have just stored the answer.
                    return match self.load(key) {
                        Some(found) => Claim::Found(found),
                        None => Claim::Lead(KeyLock(lock)),
                    };
                }
                Ok(false) => {}
                Err(_) => return Claim::Alone,
            }
            if let Some(found) = self.load(key) {
                return Claim::Found(found);
            }
            if !keep_waiting() {
                return Claim::Alone;
            }
            std::thread::sleep(POLL);
        }
    }

    /// Stores an answer (or that it is too large) for the other workers.
    pub fn save(&self, key: &ResultKey, stored: &Stored) {
        let (path, _) = self.paths(key);
        let mut body = Vec::new();
        body.extend_from_slice(MAGIC);
        put(&mut body, key.as_bytes());
        match stored {
            Stored::Rows(rows) => {
                body.push(1);
                put(&mut body, &rows.description);
                put(&mut body, &rows.rows);
            }
            Stored::TooLarge => body.push(0),
        }
        let Some(parent) = path.parent() else {
            return;
        };
        let tmp = parent.join(format!(
            ".{}.{}.{:x}",
            path.file_name()
                .and_then(|n| n.to_str())
                .unwrap_or("answer"),
            std::process::id(),
            rand::random::<u64>()
        ));
        let written = std::fs::create_dir_all(parent)
            .and_then(|_| {
                let mut f = OpenOptions::new()
                    .create_new(true)
                    .write(true)
                    .mode(0o600)
                    .open(&tmp)?;
                f.write_all(&body)
            })
            .and_then(|_| std::fs::rename(&tmp, &path));
        if let Err(e) = written {
            let _ = std::fs::remove_file(&tmp);
            tracing::debug!(error = %e, "could not share a cached answer");
            return;
        }
        let since =
            self.written.fetch_add(body.len() as u64, Ordering::Relaxed) + body.len() as u64;
        if since > self.max_bytes / 8 {
            self.written.store(0, Ordering::Relaxed);
            self.sweep();
        }
    }

    /// Removes the least recently read answers until the directory holds at
    /// most three quarters of its bound (and lock files nobody holds).
    pub fn sweep(&self) {
        let mut files = Vec::new();
        let mut total = 0u64;
        for shard in read_dir(&self.dir) {
            for path in read_dir(&shard) {
                let Ok(meta) = std::fs::symlink_metadata(&path) else {
                    continue;
                };
                let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
                if name.ends_with(".lock") {
                    continue;
                }
                let modified = meta.modified().unwrap_or(SystemTime::UNIX_EPOCH);
                total += meta.len();
                files.push((modified, meta.len(), path));
            }
        }
        if total <= self.max_bytes {
            return;
        }
        files.sort_by_key(|(modified, _, _)| *modified);
        let target = self.max_bytes / 4 * 3;
        for (_, len, path) in files {
            if total <= target {
                break;
            }
            if std::fs::remove_file(&path).is_ok() {
                total = total.saturating_sub(len);
            }
        }
    }

    /// Removes the answers last written or read before `before` (`CALL
    /// floe_result_cache_clear()`).
    pub fn clear_before(&self, before: SystemTime) {
        for shard in read_dir(&self.dir) {
            for path in read_dir(&shard) {
                let is_lock = path.extension().is_some_and(|e| e == "lock");
                let older = std::fs::symlink_metadata(&path)
                    .and_then(|m| m.modified())
                    .is_ok_and(|m| m < before);
                if !is_lock && older {
                    let _ = std::fs::remove_file(&path);
                }
            }
        }
    }

    pub fn max_bytes(&self) -> u64 {
        self.max_bytes
    }

    /// Bytes and files the directory holds.
    pub fn usage(&self) -> (u64, u64) {
        let mut bytes = 0;
        let mut files = 0;
        for shard in read_dir(&self.dir) {
            for path in read_dir(&shard) {
                if path.extension().is_some_and(|e| e == "lock") {
                    continue;
                }
                if let Ok(meta) = std::fs::symlink_metadata(&path) {
                    bytes += meta.len();
                    files += 1;
                }
            }
        }
        (bytes, files)
    }
}

fn read_dir(dir: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(dir)
        .map(|entries| entries.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default()
}

/// Takes the exclusive lock without waiting: `Ok(false)` when another holds it.
fn try_lock(file: &File) -> std::io::Result<bool> {
    // SAFETY: flock on a descriptor this process owns; no memory is shared.
    let r = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
    if r == 0 {
        return Ok(true);
    }
    let e = std::io::Error::last_os_error();
    match e.raw_os_error() {
        Some(libc::EWOULDBLOCK) => Ok(false),
        _ => Err(e),
    }
}

fn put(out: &mut Vec<u8>, part: &[u8]) {
    out.extend_from_slice(&(part.len() as u64).to_le_bytes());
    out.extend_from_slice(part);
}

/// Reads an answer file; `None` when it is not one or holds another key.
fn decode(key: &ResultKey, data: Bytes) -> Option<Stored> {
    let mut at = 0usize;
    let mut take = |n: usize| -> Option<std::ops::Range<usize>> {
        let end = at.checked_add(n)?;
        (end <= data.len()).then(|| {
            let r = at..end;
            at = end;
            r
        })
    };
    let part = |take: &mut dyn FnMut(usize) -> Option<std::ops::Range<usize>>| {
        let len = take(8)?;
        let len = u64::from_le_bytes(data[len].try_into().ok()?);
        take(usize::try_from(len).ok()?)
    };
    if data.get(take(8)?)? != MAGIC {
        return None;
    }
    let stored_key = part(&mut take)?;
    if &data[stored_key] != key.as_bytes() {
        return None;
    }
    let kind = data[take(1)?][0];
    match kind {
        0 => Some(Stored::TooLarge),
        1 => {
            let description = part(&mut take)?;
            let rows = part(&mut take)?;
            CachedRows::new(data.slice(description), data.slice(rows)).map(Stored::Rows)
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::super::results::KeyBuilder;
    use super::*;

    fn key(s: &str) -> ResultKey {
        let mut k = KeyBuilder::default();
        k.part(s.as_bytes());
        k.finish()
    }

    fn rows() -> CachedRows {
        let mut row = vec![b'D'];
        row.extend_from_slice(&6u32.to_be_bytes());
        row.extend_from_slice(&[0, 0]);
        CachedRows::new(Bytes::from_static(b"T..."), Bytes::from(row)).expect("rows")
    }

    #[test]
    fn an_answer_round_trips_and_another_key_never_reads_it() {
        let dir = tempfile::tempdir().expect("dir");
        let shared = SharedResults::new(dir.path().join("results"), 1 << 20, 1 << 16).expect("new");
        assert!(shared.load(&key("a")).is_none());
        shared.save(&key("a"), &Stored::Rows(rows()));
        let Some(Stored::Rows(r)) = shared.load(&key("a")) else {
            panic!("stored");
        };
        assert_eq!(r.row_count(), 1);
        assert_eq!(&r.description[..], b"T...");
        assert!(shared.load(&key("b")).is_none());
        // A file under a's name holding another key is not a's answer.
        let (path_a, _) = shared.paths(&key("a"));
        let (path_b, _) = shared.paths(&key("b"));
        shared.save(&key("b"), &Stored::TooLarge);
        std::fs::rename(&path_b, &path_a).expect("swap");
        assert!(shared.load(&key("a")).is_none());
        shared.clear_before(SystemTime::now() + Duration::from_secs(1));
        assert_eq!(shared.usage(), (0, 0));
    }

    #[test]
    fn one_claim_leads_and_the_others_wait_for_its_answer() {
        let dir = tempfile::tempdir().expect("dir");
        let shared = SharedResults::new(dir.path().join("results"), 1 << 20, 1 << 16).expect("new");
        let Claim::Lead(lock) = shared.claim(&key("q"), &mut || true) else {
            panic!("the first claim leads");
        };
        std::thread::scope(|s| {
            let waiter =
                s.spawn(|| matches!(shared.claim(&key("q"), &mut || true), Claim::Found(_)));
            std::thread::sleep(Duration::from_millis(50));
            shared.save(&key("q"), &Stored::Rows(rows()));
            drop(lock);
            assert!(waiter.join().expect("joined"));
        });
        // A waiter that gives up computes alone.
        let Claim::Lead(_held) = shared.claim(&key("r"), &mut || true) else {
            panic!("leads");
        };
        let other = SharedResults::new(dir.path().join("results"), 1 << 20, 1 << 16).expect("new");
        let r = std::thread::scope(|s| s.spawn(|| other.claim(&key("r"), &mut || false)).join());
        assert!(matches!(r, Ok(Claim::Alone)));
    }

    #[test]
    fn the_directory_is_swept_to_its_bound_oldest_first() {
        let dir = tempfile::tempdir().expect("dir");
        let shared = SharedResults::new(dir.path().join("results"), 4096, 1 << 16).expect("new");
        for i in 0..200 {
            shared.save(&key(&format!("k{i}")), &Stored::Rows(rows()));
        }
        shared.sweep();
        let (bytes, files) = shared.usage();
        assert!(bytes <= 4096, "{bytes}");
        assert!(files > 0 && files < 200);
    }
}
