//! Committing planned writes: staged Parquet uploaded and added (or deleted)
//! as a new Iceberg snapshot, retried with backoff on a concurrent commit (40001).

use super::*;

/// Removes what a statement staged when the commit is over, however it ended.
struct DiscardOnDrop<'a>(&'a LakeCommit);

impl Drop for DiscardOnDrop<'_> {
    fn drop(&mut self) {
        self.0.discard();
    }
}

impl LakeReader {
    /// Commits what a statement's COPY staged as one snapshot (an `INSERT`'s
    /// data files, a `DELETE`'s position delete files, an `UPDATE`'s both);
    /// returns the number of rows inserted, deleted or updated. The staged
    /// files are removed either way.
    pub fn commit_write(
        &self,
        commit: &LakeCommit,
        conn: &Connection,
        runtime: &tokio::runtime::Handle,
        txn: Option<&mut LakeTxn>,
    ) -> Result<u64, PgError> {
        let _discard = DiscardOnDrop(commit);
        let ident = match commit {
            LakeCommit::Insert(insert) => &insert.table,
            LakeCommit::Delete(delete) => &delete.table,
            LakeCommit::Update(update) => &update.delete.table,
        };
        let table = self.table(txn.as_deref(), ident, runtime)?;
        let mut uploads = Uploads::new(self.lakehouse(), runtime);
        let (files, rows, operation, schema_id, referenced) = match commit {
            LakeCommit::Insert(insert) => {
                let (files, rows) = self.insert_files(insert, &table, &mut uploads)?;
                (files, rows, Operation::Append, insert.schema_id, Vec::new())
            }
            LakeCommit::Delete(delete) => {
                if let Some(sql) = &delete.deletes_sql {
                    conn.execute_batch(sql)
                        .map_err(|e| PgError::from_duckdb(&e.message, None))?;
                }
                let (files, rows, referenced) = self.delete_files(delete, &table, &mut uploads)?;
                let schema_id = table.metadata().current_schema_id();
                (files, rows, Operation::Delete, schema_id, referenced)
            }
            LakeCommit::Update(update) => {
                // The engine staged the old rows' positions with their new
                // values: delete files and data files of one snapshot.
                for sql in [&update.deletes_sql, &update.rows_sql] {
                    conn.execute_batch(sql)
                        .map_err(|e| PgError::from_duckdb(&e.message, None))?;
                }
                let (mut files, rows, referenced) =
                    self.delete_files(&update.delete, &table, &mut uploads)?;
                if rows > 0 {
                    let (data, _) = self.insert_files(&update.insert, &table, &mut uploads)?;
                    files.extend(data);
                }
                let schema_id = update.insert.schema_id;
                (files, rows, Operation::Overwrite, schema_id, referenced)
            }
        };
        if rows == 0 {
            return Ok(0);
        }
        self.commit_files(
            ident,
            table,
            files,
            operation,
            schema_id,
            &referenced,
            uploads,
            txn,
        )?;
        Ok(rows)
    }

    /// Uploads the data files an insert staged (NOT NULL columns checked);
    /// returns their entries and the number of rows.
    pub(super) fn insert_files(
        &self,
        insert: &LakeInsert,
        table: &Table,
        uploads: &mut Uploads<'_>,
    ) -> Result<(Vec<DataFile>, u64), PgError> {
        let schema = table
            .metadata()
            .schema_by_id(insert.schema_id)
            .cloned()
            .ok_or_else(|| changed_under(&insert.table))?;
        let spec_id = table.metadata().default_partition_spec_id();
        let mut written = Vec::new();
        for (path, partition) in staged_files(&insert.staged, table, &schema)? {
            let file = WrittenFile::read(&path).map_err(catalog_error)?;
            for field in schema.as_struct().fields() {
                if field.required && file.null_counts.get(&field.id).copied().unwrap_or(0) > 0 {
                    return Err(not_null(&field.name, insert.table.name()));
                }
            }
            if file.record_count > 0 {
                written.push((path, partition, file));
            }
        }
        let rows = written.iter().map(|(_, _, f)| f.record_count).sum();
        let mut files = Vec::with_capacity(written.len());
        for (path, partition, file) in written {
            let location = uploads.upload(table, &path, "")?;
            files.push(
                file.entry(
                    DataContentType::Data,
                    &location,
                    &schema,
                    spec_id,
                    partition,
                )
                .map_err(catalog_error)?,
            );
        }
        Ok((files, rows))
    }

    /// Uploads the position delete files a statement staged (one directory per
    /// data file); returns their entries, the number of rows deleted and the
    /// data files they name.
    pub(super) fn delete_files(
        &self,
        delete: &LakeDelete,
        table: &Table,
        uploads: &mut Uploads<'_>,
    ) -> Result<(Vec<DataFile>, u64, Vec<String>), PgError> {
        let spec_id = table.metadata().default_partition_spec_id();
        let schema = table.metadata().current_schema().clone();
        let staged = parquet_files(&delete.staged)?;
        // Staged directories are named by the SHA-256 of the data file's
        // location (a location itself can be longer than a file name may be).
        let by_digest: HashMap<String, &String> = delete
            .data_files
            .keys()
            .map(|l| (location_digest(l), l))
            .collect();
        let mut files = Vec::new();
        let mut referenced = Vec::new();
        let mut rows = 0;
        for path in staged {
            let location = path
                .parent()
                .and_then(|d| d.file_name())
                .and_then(|n| n.to_str())
                .and_then(|n| n.strip_prefix("__floe_f="))
                .and_then(|digest| by_digest.get(&digest.to_ascii_lowercase()))
                .map(|l| l.to_string())
                .ok_or_else(|| {
                    PgError::new(
                        "XX000",
                        format!("unexpected staged delete file {}", path.display()),
                    )
                })?;
            let (partition, file_spec) =
                delete.data_files.get(&location).cloned().ok_or_else(|| {
                    PgError::new(
                        "XX000",
                        format!("deleted rows of an unplanned file {location}"),
                    )
                })?;
            if file_spec != spec_id {
                return Err(unsupported(
                    "changing rows of files written under an older partition spec",
                ));
            }
            let written = WrittenFile::read(&path).map_err(catalog_error)?;
            if written.record_count == 0 {
                continue;
            }
            rows += written.record_count;
            let uploaded = uploads.upload(table, &path, "-deletes")?;
            files.push(
                written
                    .entry(
                        DataContentType::PositionDeletes,
                        &uploaded,
                        &schema,
                        spec_id,
                        partition,
                    )
                    .map_err(catalog_error)?,
            );
            referenced.push(location);
        }
        Ok((files, rows, referenced))
    }

    /// Commits `files` as one snapshot, retried after concurrent commits while
    /// the table keeps its schema and spec and every data file in `referenced`
    /// (rows the statement deletes) is still live.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn commit_files(
        &self,
        ident: &TableIdent,
        mut table: Table,
        files: Vec<DataFile>,
        operation: Operation,
        schema_id: i32,
        referenced: &[String],
        mut uploads: Uploads<'_>,
        txn: Option<&mut LakeTxn>,
    ) -> Result<(), PgError> {
        let lake = self.lakehouse();
        let runtime = uploads.runtime;
        if let Some(txn) = txn {
            // Inside a transaction the snapshot is staged; COMMIT publishes it
            // (or reports a conflict), ROLLBACK removes the files.
            runtime
                .block_on(txn.append_files(lake, ident, files, operation))
                .map_err(catalog_error)?;
            txn.track_files(uploads.keep());
            return Ok(());
        }
        let spec_id = table.metadata().default_partition_spec_id();
        let mut attempt = 0;
        loop {
            attempt += 1;
            match runtime.block_on(lake.append_files(&table, files.clone(), operation.clone())) {
                Ok(_) => {
                    uploads.keep();
                    return Ok(());
                }
                Err(CatalogError::CommitConflict(_)) if attempt < COMMIT_ATTEMPTS => {
                    lake.forget_table(ident);
                    backoff(attempt);
                    let fresh = runtime.block_on(async {
                        let t = lake.table(ident).await?;
                        let live = if referenced.is_empty() {
                            true
                        } else {
                            let plan = plan_scan(&t, SnapshotSelector::Current, None).await?;
                            referenced
                                .iter()
                                .all(|r| plan.files.iter().any(|f| &f.path == r))
                        };
                        Ok::<_, CatalogError>((t, live))
                    });
                    let (t, live) = fresh.map_err(catalog_error)?;
                    let metadata = t.metadata();
                    if metadata.current_schema_id() != schema_id
                        || metadata.default_partition_spec_id() != spec_id
                    {
                        return Err(changed_under(ident));
                    }
                    if !live {
                        return Err(PgError::new(
                            sqlstate::SERIALIZATION_FAILURE,
                            format!(
                                "could not change \"{}\": a concurrent commit rewrote the rows",
                                ident.name()
                            ),
                        ));
                    }
                    table = t;
                }
                Err(e @ CatalogError::CommitUnknown(_)) => {
                    // The catalog may reference the files now.
                    uploads.keep();
                    return Err(catalog_error(e));
                }
                Err(e) => return Err(catalog_error(e)),
            }
        }
    }
}

/// Waits before commit attempt `attempt` + 1 (the catalog's pause after a
/// lost commit race), on the session's own thread.
pub(super) fn backoff(attempt: usize) {
    std::thread::sleep(floe_catalog::txn::conflict_pause(attempt));
}
