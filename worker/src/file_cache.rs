//! The SSD cache of data files: objects are fetched through `object_store` into a
//! local directory once and then served from disk. Local warehouse files are
//! read in place. A download goes to a temporary name and is renamed only once
//! its size matches the catalog's, so a partial file is never served; concurrent
//! requests for the same object share one download; the cache survives restarts.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use floe_catalog::object_storage::{location_url, ObjectStorage};
use floe_catalog::CatalogError;
use futures::StreamExt;
use object_store::ObjectStoreExt;
use sha2::{Digest, Sha256};
use tokio::io::AsyncWriteExt;

/// How long one object may take to download before the query fails.
const DOWNLOAD_TIMEOUT: Duration = Duration::from_secs(300);

/// Counters for `/metrics`-style reporting and tests.
#[derive(Debug, Default)]
pub struct CacheStats {
    pub hits: AtomicU64,
    pub misses: AtomicU64,
    pub bytes_downloaded: AtomicU64,
}

pub struct FileCache {
    dir: PathBuf,
    storage: ObjectStorage,
    inflight: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
    pub stats: CacheStats,
}

impl FileCache {
    pub fn new(dir: PathBuf, storage: ObjectStorage) -> FileCache {
        FileCache {
            dir,
            storage,
            inflight: Mutex::new(HashMap::new()),
            stats: CacheStats::default(),
        }
    }

    /// A local path holding the object at `location` (`size` bytes).
    pub async fn local_path(&self, location: &str, size: u64) -> Result<String, CatalogError> {
        let url = location_url(location)?;
        if url.scheme() == "file" {
            let path = url.to_file_path().map_err(|()| CatalogError::Storage {
                path: location.to_string(),
                message: "not a local path".into(),
            })?;
            return Ok(path.to_string_lossy().into_owned());
        }
        let target = self.cached_name(location);
        if file_size(&target) == Some(size) {
            self.stats.hits.fetch_add(1, Ordering::Relaxed);
            return Ok(target.to_string_lossy().into_owned());
        }
        let gate = {
            let mut inflight = self
                .inflight
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            inflight.entry(location.to_string()).or_default().clone()
        };
        let _downloading = gate.lock().await;
        if file_size(&target) == Some(size) {
            self.stats.hits.fetch_add(1, Ordering::Relaxed);
            return Ok(target.to_string_lossy().into_owned());
        }
        self.stats.misses.fetch_add(1, Ordering::Relaxed);
        let result = tokio::time::timeout(DOWNLOAD_TIMEOUT, self.download(location, &target, size))
            .await
            .unwrap_or_else(|_| {
                Err(CatalogError::Storage {
                    path: location.to_string(),
                    message: format!("download timed out after {DOWNLOAD_TIMEOUT:?}"),
                })
            });
        self.inflight
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .remove(location);
        result.map(|()| target.to_string_lossy().into_owned())
    }

    fn cached_name(&self, location: &str) -> PathBuf {
        let digest = Sha256::digest(location.as_bytes());
        let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
        let ext = Path::new(location)
            .extension()
            .and_then(|e| e.to_str())
            .unwrap_or("bin");
        self.dir
            .join("objects")
            .join(&hex[..2])
            .join(format!("{hex}.{ext}"))
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

fn file_size(path: &Path) -> Option<u64> {
    std::fs::metadata(path).ok().map(|m| m.len())
}
