//! Snapshot commits built from Iceberg's public spec types. iceberg 0.10's
//! `Transaction` only fast-appends data files and keeps custom actions and
//! `TableCommit` private, so Floe writes the manifests and the manifest list with
//! iceberg's writers, derives the new table metadata by applying `TableUpdate`s,
//! and swaps the catalog's metadata pointer only if the table has not moved since
//! it was read (a conflict otherwise, for the caller to retry).

use std::collections::HashMap;
use std::str::FromStr;

use iceberg::spec::{
    DataContentType, DataFile, ManifestFile, ManifestListWriter, ManifestWriterBuilder, Operation,
    Snapshot, SnapshotReference, SnapshotRetention, Summary, MAIN_BRANCH,
};
use iceberg::table::Table;
use iceberg::{MetadataLocation, TableIdent, TableUpdate};

use crate::error::{display, CatalogError, Result};
use crate::lakehouse::{CatalogKind, Lakehouse};
use crate::txn::rest_commit::TableChange;

/// Summary counters kept per snapshot (`added-*` for this one, `total-*` carried
/// from the parent), as other engines write them.
const TOTALS: &[(&str, &str)] = &[
    ("added-data-files", "total-data-files"),
    ("added-delete-files", "total-delete-files"),
    ("added-records", "total-records"),
    ("added-files-size", "total-files-size"),
    ("added-position-deletes", "total-position-deletes"),
    ("added-equality-deletes", "total-equality-deletes"),
];

impl Lakehouse {
    /// Commits a snapshot of `table` that adds `files` (data files, position
    /// delete files and equality delete files alike) to its current state on
    /// the main branch.
    pub async fn append_files(
        &self,
        table: &Table,
        files: Vec<DataFile>,
        operation: Operation,
    ) -> Result<Table> {
        let updates = self.append_updates(table, files, operation).await?;
        self.commit(table, updates).await
    }

    /// Writes the manifests and manifest list of a snapshot of `table` that
    /// adds `files`; returns the updates that make it the table's head.
    pub async fn append_updates(
        &self,
        table: &Table,
        files: Vec<DataFile>,
        operation: Operation,
    ) -> Result<Vec<TableUpdate>> {
        let metadata = table.metadata();
        let file_io = table.file_io();
        let parent = metadata.current_snapshot().cloned();
        let snapshot_id = new_snapshot_id(table);
        let sequence_number = metadata.next_sequence_number();
        let schema = metadata.current_schema().clone();
        let spec = metadata.default_partition_spec().as_ref().clone();
        let metadata_dir = format!("{}/metadata", metadata.location().trim_end_matches('/'));
        let commit_uuid = uuid::Uuid::new_v4();

        let mut added = HashMap::<&str, u64>::new();
        let (data, deletes): (Vec<DataFile>, Vec<DataFile>) = files
            .into_iter()
            .partition(|f| f.content_type() == DataContentType::Data);
        for f in data.iter().chain(&deletes) {
            match f.content_type() {
                DataContentType::Data => {
                    *added.entry("added-data-files").or_default() += 1;
                    *added.entry("added-records").or_default() += f.record_count();
                }
                DataContentType::PositionDeletes => {
                    *added.entry("added-delete-files").or_default() += 1;
                    *added.entry("added-position-deletes").or_default() += f.record_count();
                }
                DataContentType::EqualityDeletes => {
                    *added.entry("added-delete-files").or_default() += 1;
                    *added.entry("added-equality-deletes").or_default() += f.record_count();
                }
            }
            *added.entry("added-files-size").or_default() += f.file_size_in_bytes();
        }

        let mut manifests: Vec<ManifestFile> = Vec::new();
        for (i, (group, is_delete)) in [(data, false), (deletes, true)].into_iter().enumerate() {
            if group.is_empty() {
                continue;
            }
            let path = format!("{metadata_dir}/{commit_uuid}-m{i}.avro");
            let builder = ManifestWriterBuilder::new(
                file_io.new_output(&path)?,
                Some(snapshot_id),
                schema.clone(),
                spec.clone(),
            );
            let mut writer = if is_delete {
                builder.build_v2_deletes()
            } else {
                builder.build_v2_data()
            };
            for f in group {
                writer.add_file(f, sequence_number)?;
            }
            manifests.push(writer.write_manifest_file().await?);
        }
        if let Some(parent) = &parent {
            let list = table.manifest_list_reader(parent).load().await?;
            manifests.extend(list.consume_entries());
        }

        let list_path = format!("{metadata_dir}/snap-{snapshot_id}-1-{commit_uuid}.avro");
        let mut list = ManifestListWriter::v2(
            file_io.new_output(&list_path)?.writer().await?,
            snapshot_id,
            parent.as_ref().map(|p| p.snapshot_id()),
            sequence_number,
        );
        list.add_manifests(manifests.into_iter())?;
        list.close().await?;

        let parent_summary = parent.as_ref().map(|p| &p.summary().additional_properties);
        let mut properties = HashMap::new();
        for (add, total) in TOTALS {
            let n = added.get(add).copied().unwrap_or(0);
            let before = parent_summary
                .and_then(|s| s.get(*total))
                .and_then(|v| v.parse::<u64>().ok())
                .unwrap_or(0);
            if n > 0 {
                properties.insert(add.to_string(), n.to_string());
            }
            properties.insert(total.to_string(), (before + n).to_string());
        }
        let snapshot = NewSnapshot {
            snapshot_id,
            parent_id: parent.as_ref().map(|p| p.snapshot_id()),
            sequence_number,
            manifest_list: list_path,
        };
        Ok(snapshot_updates(table, snapshot, operation, properties))
    }

    /// Commits a snapshot of `table` without any file (`TRUNCATE`): every row is
    /// gone from the current state, older snapshots keep theirs. A table without
    /// a snapshot is left as it is.
    pub async fn truncate(&self, table: &Table) -> Result<Table> {
        match self.truncate_updates(table).await? {
            Some(updates) => self.commit(table, updates).await,
            None => Ok(table.clone()),
        }
    }

    /// The updates of a TRUNCATE snapshot (its empty manifest list written);
    /// `None` for a table without a snapshot.
    pub async fn truncate_updates(&self, table: &Table) -> Result<Option<Vec<TableUpdate>>> {
        let metadata = table.metadata();
        let Some(parent) = metadata.current_snapshot().cloned() else {
            return Ok(None);
        };
        let snapshot_id = new_snapshot_id(table);
        let sequence_number = metadata.next_sequence_number();
        let metadata_dir = format!("{}/metadata", metadata.location().trim_end_matches('/'));
        let list_path = format!(
            "{metadata_dir}/snap-{snapshot_id}-1-{}.avro",
            uuid::Uuid::new_v4()
        );
        let list = ManifestListWriter::v2(
            table.file_io().new_output(&list_path)?.writer().await?,
            snapshot_id,
            Some(parent.snapshot_id()),
            sequence_number,
        );
        list.close().await?;
        let parent_summary = &parent.summary().additional_properties;
        let mut properties = HashMap::new();
        for (deleted, total) in [
            ("deleted-data-files", "total-data-files"),
            ("deleted-records", "total-records"),
            ("removed-files-size", "total-files-size"),
        ] {
            if let Some(n) = parent_summary.get(total) {
                properties.insert(deleted.to_string(), n.clone());
            }
        }
        for (_, total) in TOTALS {
            properties.insert(total.to_string(), "0".to_string());
        }
        let snapshot = NewSnapshot {
            snapshot_id,
            parent_id: Some(parent.snapshot_id()),
            sequence_number,
            manifest_list: list_path,
        };
        Ok(Some(snapshot_updates(
            table,
            snapshot,
            Operation::Delete,
            properties,
        )))
    }

    /// Applies `updates` to `base` and writes the new metadata file, without
    /// telling the catalog: the returned table is visible only to whoever holds
    /// it (a transaction), until `swap_metadata` or `commit` publishes it.
    pub async fn stage_updates(&self, base: &Table, updates: Vec<TableUpdate>) -> Result<Table> {
        let base_location = base.metadata_location_result()?.to_string();
        let mut builder = base
            .metadata()
            .clone()
            .into_builder(Some(base_location.clone()));
        for update in updates {
            builder = update.apply(builder)?;
        }
        let metadata = builder.build()?.metadata;
        let location = MetadataLocation::from_str(&base_location)?
            .with_next_version()
            .with_new_metadata(&metadata);
        metadata.write_to(base.file_io(), &location).await?;
        Ok(Table::builder()
            .file_io(base.file_io().clone())
            .metadata_location(location.to_string())
            .identifier(base.identifier().clone())
            .metadata(metadata)
            .runtime(iceberg::Runtime::current())
            .build()?)
    }

    /// Applies `updates` to `base` (the table as the caller read it), writes the
    /// new metadata file and points the catalog at it, unless another commit
    /// got there first (then `CommitConflict`; nothing the catalog shows changed).
    /// Returns the table as committed.
    pub async fn commit(&self, base: &Table, updates: Vec<TableUpdate>) -> Result<Table> {
        let ident = base.identifier();
        match &self.config().kind {
            CatalogKind::Sql { uri } => {
                let base_location = base.metadata_location_result()?.to_string();
                let staged = self.stage_updates(base, updates).await?;
                let new_location = staged.metadata_location_result()?.to_string();
                let pool = self.sql_pool(uri).await?;
                let mut conn = pool
                    .acquire()
                    .await
                    .map_err(|e| CatalogError::Commit(e.to_string()))?;
                if !swap_metadata(
                    &mut conn,
                    &self.config().name,
                    ident,
                    &base_location,
                    &new_location,
                )
                .await?
                {
                    let _ = base.file_io().delete(&new_location).await;
                    return Err(CatalogError::CommitConflict(display(ident)));
                }
            }
            CatalogKind::Rest { .. } => {
                // The server writes the new metadata file itself.
                // Whatever the answer, the cached metadata may be stale now.
                let committed = self
                    .rest_committer()?
                    .commit_table(&TableChange::new(base, updates))
                    .await;
                self.changed_table(ident);
                committed?;
            }
        }
        self.changed_table(ident);
        self.table(ident).await
    }
}

/// Points the SQL catalog's row of `ident` at `new_location` if it still points
/// at `base_location`; whether it did.
pub(crate) async fn swap_metadata(
    conn: &mut sqlx::SqliteConnection,
    catalog: &str,
    ident: &TableIdent,
    base_location: &str,
    new_location: &str,
) -> Result<bool> {
    let swapped = sqlx::query(
        "UPDATE iceberg_tables
         SET metadata_location = ?, previous_metadata_location = ?
         WHERE catalog_name = ? AND table_namespace = ? AND table_name = ?
           AND (iceberg_type = 'TABLE' OR iceberg_type IS NULL)
           AND metadata_location = ?",
    )
    .bind(new_location)
    .bind(base_location)
    .bind(catalog)
    .bind(ident.namespace().join("."))
    .bind(ident.name())
    .bind(base_location)
    .execute(&mut *conn)
    .await
    .map_err(|e| CatalogError::Commit(e.to_string()))?;
    Ok(swapped.rows_affected() == 1)
}

/// The updates that add `new` (stamped now, with the current schema) to `table`
/// and make it the head of the main branch.
fn snapshot_updates(
    table: &Table,
    new: NewSnapshot,
    operation: Operation,
    summary: HashMap<String, String>,
) -> Vec<TableUpdate> {
    let snapshot_id = new.snapshot_id;
    let snapshot = Snapshot::builder()
        .with_snapshot_id(snapshot_id)
        .with_parent_snapshot_id(new.parent_id)
        .with_sequence_number(new.sequence_number)
        .with_timestamp_ms(chrono::Utc::now().timestamp_millis())
        .with_manifest_list(new.manifest_list)
        .with_schema_id(table.metadata().current_schema_id())
        .with_summary(Summary {
            operation,
            additional_properties: summary,
        })
        .build();
    vec![
        TableUpdate::AddSnapshot { snapshot },
        TableUpdate::SetSnapshotRef {
            ref_name: MAIN_BRANCH.to_string(),
            reference: SnapshotReference::new(
                snapshot_id,
                SnapshotRetention::branch(None, None, None),
            ),
        },
    ]
}

/// A snapshot whose manifest list is written, before it is published.
struct NewSnapshot {
    snapshot_id: i64,
    parent_id: Option<i64>,
    sequence_number: i64,
    manifest_list: String,
}

/// A positive snapshot id no snapshot of the table has.
fn new_snapshot_id(table: &Table) -> i64 {
    loop {
        let id = (uuid::Uuid::new_v4().as_u64_pair().0 >> 1) as i64;
        if id != 0 && table.metadata().snapshot_by_id(id).is_none() {
            return id;
        }
    }
}

#[cfg(test)]
mod tests {
    use iceberg::spec::Operation;

    use crate::error::CatalogError;
    use crate::objects::tables::schema_updates;
    use crate::test_lake::{add_column, columns, lake_with_table, open_lake};

    #[tokio::test]
    async fn a_commit_from_a_stale_base_conflicts_and_changes_nothing() {
        let dir = tempfile::tempdir().expect("dir");
        let (lake, items) = lake_with_table(dir.path()).await;
        let base = lake.table(&items).await.expect("table");
        let won = lake
            .commit(
                &base,
                schema_updates(&base, &[add_column("qty")]).expect("updates"),
            )
            .await
            .expect("first commit");
        assert_ne!(won.metadata_location(), base.metadata_location());
        let location = won.metadata_location().expect("location");
        let metadata_dir =
            std::path::Path::new(location.strip_prefix("file://").unwrap_or(location))
                .parent()
                .expect("metadata directory")
                .to_path_buf();
        let metadata_files = || {
            std::fs::read_dir(&metadata_dir)
                .map(|d| {
                    d.filter_map(|e| e.ok())
                        .filter(|e| e.file_name().to_string_lossy().ends_with(".metadata.json"))
                        .count()
                })
                .unwrap_or(0)
        };
        let before = metadata_files();
        // A second writer (another worker) still holding the old table.
        let other = open_lake(dir.path()).await;
        let err = other
            .commit(
                &base,
                schema_updates(&base, &[add_column("price")]).expect("updates"),
            )
            .await
            .expect_err("stale base");
        assert!(matches!(err, CatalogError::CommitConflict(_)), "{err:?}");
        assert_eq!(err.sqlstate(), "40001");
        assert_eq!(columns(&lake, &items).await, ["id", "name", "qty"]);
        // The loser's metadata file is removed again.
        assert_eq!(metadata_files(), before, "{}", metadata_dir.display());
    }

    #[tokio::test]
    async fn truncate_commits_an_empty_snapshot_after_the_last() {
        let dir = tempfile::tempdir().expect("dir");
        let (lake, items) = lake_with_table(dir.path()).await;
        let created = lake.table(&items).await.expect("table");
        // Nothing to truncate: no snapshot yet, nothing committed.
        let same = lake.truncate(&created).await.expect("truncate");
        assert_eq!(same.metadata_location(), created.metadata_location());
        let appended = lake
            .append_files(&created, Vec::new(), Operation::Append)
            .await
            .expect("append");
        let parent = appended
            .metadata()
            .current_snapshot()
            .expect("a snapshot")
            .snapshot_id();
        let after = lake.truncate(&appended).await.expect("truncate");
        let snapshot = after.metadata().current_snapshot().expect("a snapshot");
        assert_eq!(snapshot.parent_snapshot_id(), Some(parent));
        let summary = &snapshot.summary().additional_properties;
        assert_eq!(summary.get("total-records").map(String::as_str), Some("0"));
        assert_eq!(
            summary.get("total-data-files").map(String::as_str),
            Some("0")
        );
        let current = lake.table(&items).await.expect("table");
        assert_eq!(current.metadata_location(), after.metadata_location());
    }
}
