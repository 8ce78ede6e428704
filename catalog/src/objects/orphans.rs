//! Orphan files: data files under a table's `data/` directory that no snapshot
//! references — what a writer leaves when it crashes between uploading a file and
//! committing it. Removing them is safe only for files older than any write
//! still in flight, so callers give a minimum age.

use std::collections::HashSet;
use std::time::Duration;

use futures::TryStreamExt;
use iceberg::TableIdent;
use object_store::ObjectStoreExt;

use crate::error::{CatalogError, Result};
use crate::lakehouse::Lakehouse;

/// What a clean-up found and removed.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct OrphanReport {
    pub removed_files: u64,
    pub removed_bytes: u64,
}

impl Lakehouse {
    /// Removes the files under `ident`'s data directory that no snapshot of it
    /// references and that were last modified more than `older_than` ago.
    pub async fn remove_orphan_files(
        &self,
        ident: &TableIdent,
        older_than: Duration,
    ) -> Result<OrphanReport> {
        self.forget_table(ident);
        let table = self.table(ident).await?;
        let metadata = table.metadata();
        let file_io = table.file_io();
        let storage = self.storage();
        let mut referenced: HashSet<String> = HashSet::new();
        for snapshot in metadata.snapshots() {
            let list = table.manifest_list_reader(snapshot).load().await?;
            for manifest_file in list.entries() {
                let manifest = manifest_file.load_manifest(file_io).await?;
                for entry in manifest.entries() {
                    let (_, path) = storage.resolve(entry.data_file().file_path())?;
                    referenced.insert(path.to_string());
                }
            }
        }
        let data_dir = format!("{}/data", metadata.location().trim_end_matches('/'));
        // Only ever delete inside the warehouse (or an allowed location), after
        // resolving symlinks, whatever a table's metadata says.
        self.check_location(&data_dir)?;
        let (store, prefix) = storage.resolve(&data_dir)?;
        let cutoff = chrono::Utc::now()
            - chrono::Duration::from_std(older_than).unwrap_or(chrono::Duration::zero());
        let objects: Vec<_> =
            store
                .list(Some(&prefix))
                .try_collect()
                .await
                .map_err(|e| CatalogError::Storage {
                    path: data_dir.clone(),
                    message: e.to_string(),
                })?;
        let mut report = OrphanReport::default();
        for object in objects {
            if referenced.contains(object.location.as_ref()) || object.last_modified > cutoff {
                continue;
            }
            store
                .delete(&object.location)
                .await
                .map_err(|e| CatalogError::Storage {
                    path: object.location.to_string(),
                    message: e.to_string(),
                })?;
            report.removed_files += 1;
            report.removed_bytes += object.size;
        }
        Ok(report)
    }
}
