//! Iceberg's `Storage` over `object_store`: one code path for a local warehouse
//! directory, S3 (and S3-compatible servers), GCS and Azure. Stores are built per
//! bucket on first use from Floe's `[storage]` options, the standard `AWS_*`,
//! `GOOGLE_*` and `AZURE_*` variables, and the properties a REST catalog hands out.

use parking_lot::Mutex;
use std::collections::{BTreeMap, HashMap};
use std::ops::Range;
use std::sync::Arc;

use async_trait::async_trait;
use bytes::Bytes;
use futures::stream::BoxStream;
use futures::StreamExt;
use iceberg::io::{
    FileMetadata, FileRead, FileWrite, InputFile, OutputFile, Storage, StorageConfig,
    StorageFactory,
};
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload};
use serde::{Deserialize, Serialize};
use url::Url;

use crate::error::CatalogError;

/// Object stores by bucket, shared by every table and by the SSD cache.
#[derive(Debug, Default, Clone, Serialize, Deserialize)]
pub struct ObjectStorage {
    options: BTreeMap<String, String>,
    #[serde(skip)]
    stores: Arc<Mutex<HashMap<String, Arc<dyn ObjectStore>>>>,
}

impl ObjectStorage {
    /// `options` are Floe's `[storage]` keys (`region`, `endpoint`,
    /// `access_key_id`, `secret_access_key`, `session_token`, `allow_http`, …).
    pub fn new(options: BTreeMap<String, String>) -> ObjectStorage {
        ObjectStorage {
            options,
            stores: Arc::default(),
        }
    }

    /// The object at `location`, for Iceberg's reads and writes.
    fn located(&self, location: &str) -> iceberg::Result<Located> {
        let (store, path) = self.resolve(location).map_err(to_iceberg)?;
        Ok(Located {
            store,
            path,
            location: location.to_string(),
        })
    }

    /// The store holding `location` and the object's path inside it.
    pub fn resolve(&self, location: &str) -> Result<(Arc<dyn ObjectStore>, Path), CatalogError> {
        let url = location_url(location)?;
        let bucket_key = format!("{}://{}", url.scheme(), url.authority());
        let store = {
            let mut stores = self.stores.lock();
            match stores.get(&bucket_key) {
                Some(s) => s.clone(),
                None => {
                    let (store, _) = object_store::parse_url_opts(&url, self.store_options())
                        .map_err(|e| storage_error(location, e))?;
                    let store: Arc<dyn ObjectStore> = Arc::from(store);
                    stores.insert(bucket_key, store.clone());
                    store
                }
            }
        };
        let path = if url.scheme() == "file" {
            let local = url
                .to_file_path()
                .map_err(|()| storage_error(location, "not an absolute file path"))?;
            Path::from_absolute_path(&local).map_err(|e| storage_error(location, e))?
        } else {
            Path::from_url_path(url.path()).map_err(|e| storage_error(location, e))?
        };
        Ok((store, path))
    }

    /// Options for object_store builders: the environment first, then Floe's
    /// own keys, so the configuration file wins.
    fn store_options(&self) -> Vec<(String, String)> {
        let mut out: Vec<(String, String)> = std::env::vars()
            .filter(|(k, _)| {
                k.starts_with("AWS_") || k.starts_with("GOOGLE_") || k.starts_with("AZURE_")
            })
            .map(|(k, v)| (k.to_ascii_lowercase(), v))
            .collect();
        for (k, v) in &self.options {
            if k == ALLOWED_LOCATIONS || k == INSTANCE_METADATA {
                continue;
            }
            out.push((object_store_key(k), v.clone()));
        }
        // Without credentials, S3 clients fall back to the instance metadata
        // service, whose role may reach far more than this warehouse: only when
        // the configuration says so (`[storage] instance_metadata = "true"`).
        let imds = self
            .options
            .get(INSTANCE_METADATA)
            .is_some_and(|v| v == "true");
        if !imds && !out.iter().any(|(k, _)| k == "aws_metadata_endpoint") {
            out.push((
                "aws_metadata_endpoint".to_string(),
                "http://127.0.0.1:9".to_string(),
            ));
        }
        out
    }

    /// Reads a whole object.
    pub async fn read_all(&self, location: &str) -> Result<Bytes, CatalogError> {
        let (store, path) = self.resolve(location)?;
        let got = store
            .get(&path)
            .await
            .map_err(|e| storage_error(location, e))?;
        got.bytes().await.map_err(|e| storage_error(location, e))
    }
}

/// `[storage]` key: comma-separated object-store prefixes, beyond the warehouse,
/// that registered tables may live under.
pub const ALLOWED_LOCATIONS: &str = "allowed_locations";
/// `[storage]` key: "true" lets S3 credentials come from the instance metadata
/// service.
pub const INSTANCE_METADATA: &str = "instance_metadata";

/// Maps the names Iceberg catalogs use for storage properties (`s3.endpoint`, …)
/// and Floe's short names to object_store's configuration keys.
fn object_store_key(key: &str) -> String {
    let k = key.to_ascii_lowercase();
    let mapped = match k.as_str() {
        "s3.endpoint" => "endpoint",
        "s3.access-key-id" => "access_key_id",
        "s3.secret-access-key" => "secret_access_key",
        "s3.session-token" | "session_token" => "token",
        "s3.region" | "client.region" => "region",
        other => other,
    };
    mapped.to_string()
}

/// A location as a URL; bare absolute paths are local files.
pub fn location_url(location: &str) -> Result<Url, CatalogError> {
    if location.starts_with('/') {
        return Url::from_file_path(location)
            .map_err(|()| storage_error(location, "not an absolute path"));
    }
    Url::parse(location).map_err(|e| storage_error(location, e))
}

fn storage_error(location: &str, e: impl std::fmt::Display) -> CatalogError {
    CatalogError::Storage {
        path: location.to_string(),
        message: e.to_string(),
    }
}

fn to_iceberg(e: CatalogError) -> iceberg::Error {
    iceberg::Error::new(iceberg::ErrorKind::Unexpected, e.to_string())
}

fn store_err(location: &str, e: object_store::Error) -> iceberg::Error {
    let kind = match e {
        object_store::Error::NotFound { .. } => iceberg::ErrorKind::DataInvalid,
        _ => iceberg::ErrorKind::Unexpected,
    };
    iceberg::Error::new(kind, format!("object storage error for {location}: {e}"))
}

#[async_trait]
#[typetag::serde]
impl Storage for ObjectStorage {
    async fn exists(&self, path: &str) -> iceberg::Result<bool> {
        let (store, p) = self.resolve(path).map_err(to_iceberg)?;
        match store.head(&p).await {
            Ok(_) => Ok(true),
            Err(object_store::Error::NotFound { .. }) => Ok(false),
            Err(e) => Err(store_err(path, e)),
        }
    }

    async fn metadata(&self, path: &str) -> iceberg::Result<FileMetadata> {
        let (store, p) = self.resolve(path).map_err(to_iceberg)?;
        let meta = store.head(&p).await.map_err(|e| store_err(path, e))?;
        Ok(FileMetadata { size: meta.size })
    }

    async fn read(&self, path: &str) -> iceberg::Result<Bytes> {
        self.read_all(path).await.map_err(to_iceberg)
    }

    async fn reader(&self, path: &str) -> iceberg::Result<Box<dyn FileRead>> {
        Ok(Box::new(ObjectRead(self.located(path)?)))
    }

    async fn write(&self, path: &str, bs: Bytes) -> iceberg::Result<()> {
        let (store, p) = self.resolve(path).map_err(to_iceberg)?;
        store
            .put(&p, PutPayload::from(bs))
            .await
            .map_err(|e| store_err(path, e))?;
        Ok(())
    }

    async fn writer(&self, path: &str) -> iceberg::Result<Box<dyn FileWrite>> {
        let at = self.located(path)?;
        Ok(Box::new(ObjectWrite {
            at,
            buffer: Vec::new(),
        }))
    }

    async fn delete(&self, path: &str) -> iceberg::Result<()> {
        let (store, p) = self.resolve(path).map_err(to_iceberg)?;
        match store.delete(&p).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(store_err(path, e)),
        }
    }

    async fn delete_prefix(&self, path: &str) -> iceberg::Result<()> {
        let (store, p) = self.resolve(path).map_err(to_iceberg)?;
        let mut listing = store.list(Some(&p));
        while let Some(meta) = listing.next().await {
            let meta = meta.map_err(|e| store_err(path, e))?;
            match store.delete(&meta.location).await {
                Ok(()) | Err(object_store::Error::NotFound { .. }) => {}
                Err(e) => return Err(store_err(path, e)),
            }
        }
        Ok(())
    }

    async fn delete_stream(&self, mut paths: BoxStream<'static, String>) -> iceberg::Result<()> {
        while let Some(path) = paths.next().await {
            self.delete(&path).await?;
        }
        Ok(())
    }

    fn new_input(&self, path: &str) -> iceberg::Result<InputFile> {
        Ok(InputFile::new(Arc::new(self.clone()), path.to_string()))
    }

    fn new_output(&self, path: &str) -> iceberg::Result<OutputFile> {
        Ok(OutputFile::new(Arc::new(self.clone()), path.to_string()))
    }
}

/// One object: its store, its path there and its location (for errors).
struct Located {
    store: Arc<dyn ObjectStore>,
    path: Path,
    location: String,
}

struct ObjectRead(Located);

#[async_trait]
impl FileRead for ObjectRead {
    async fn read(&self, range: Range<u64>) -> iceberg::Result<Bytes> {
        let at = &self.0;
        at.store
            .get_range(&at.path, range)
            .await
            .map_err(|e| store_err(&at.location, e))
    }
}

/// Buffers a file and uploads it whole on close (metadata and manifests are
/// small; data files are uploaded by the write path with multipart uploads).
struct ObjectWrite {
    at: Located,
    buffer: Vec<Bytes>,
}

#[async_trait]
impl FileWrite for ObjectWrite {
    async fn write(&mut self, bs: Bytes) -> iceberg::Result<()> {
        self.buffer.push(bs);
        Ok(())
    }

    async fn close(&mut self) -> iceberg::Result<()> {
        let payload = PutPayload::from_iter(std::mem::take(&mut self.buffer));
        let at = &self.at;
        at.store
            .put(&at.path, payload)
            .await
            .map_err(|e| store_err(&at.location, e))?;
        Ok(())
    }
}

/// Builds [`ObjectStorage`] for Iceberg's `FileIO`, adding the properties a
/// catalog supplies (a REST catalog may vend endpoints and credentials).
#[derive(Debug, Default, Clone, Serialize, Deserialize)]
pub struct ObjectStorageFactory {
    options: BTreeMap<String, String>,
}

impl ObjectStorageFactory {
    pub fn new(options: BTreeMap<String, String>) -> ObjectStorageFactory {
        ObjectStorageFactory { options }
    }
}

#[typetag::serde]
impl StorageFactory for ObjectStorageFactory {
    fn build(&self, config: &StorageConfig) -> iceberg::Result<Arc<dyn Storage>> {
        let mut options = BTreeMap::new();
        for (k, v) in config.props() {
            if k.starts_with("s3.") || k.starts_with("client.") {
                options.insert(k.clone(), v.clone());
            }
        }
        // Floe's configuration wins over what the catalog suggests.
        options.extend(self.options.clone());
        Ok(Arc::new(ObjectStorage::new(options)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn local_files_round_trip_through_object_store() {
        let dir = std::env::temp_dir().join(format!("floe-os-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let storage = ObjectStorage::new(BTreeMap::new());
        let loc = format!("file://{}/a/b.txt", dir.display());
        storage
            .write(&loc, Bytes::from_static(b"hello"))
            .await
            .expect("write");
        assert!(storage.exists(&loc).await.expect("exists"));
        assert_eq!(storage.metadata(&loc).await.expect("meta").size, 5);
        let r = storage.reader(&loc).await.expect("reader");
        assert_eq!(&r.read(1..4).await.expect("range")[..], b"ell");
        let bare = format!("{}/a/b.txt", dir.display());
        assert_eq!(&storage.read(&bare).await.expect("bare path")[..], b"hello");
        storage.delete(&loc).await.expect("delete");
        assert!(!storage.exists(&loc).await.expect("exists"));
        std::fs::remove_dir_all(&dir).ok();
    }

    #[test]
    fn catalog_property_names_map_to_object_store_keys() {
        assert_eq!(object_store_key("s3.endpoint"), "endpoint");
        assert_eq!(object_store_key("s3.access-key-id"), "access_key_id");
        assert_eq!(object_store_key("region"), "region");
    }
}
