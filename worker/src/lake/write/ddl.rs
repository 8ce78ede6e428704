//! Lake DDL: `CREATE`/`DROP`/`ALTER TABLE`, `TRUNCATE` and schema changes run
//! against the catalog, alone or staged in the session's lake transaction.

use super::*;

impl LakeReader {
    /// Runs a catalog-only statement; returns its command tag.
    pub fn run_ddl(
        &self,
        ddl: &LakeDdl,
        conn: &Connection,
        runtime: &tokio::runtime::Handle,
        txn: Option<&mut LakeTxn>,
    ) -> Result<String, PgError> {
        let lake = self.lakehouse();
        if let Some(txn) = txn {
            let done = self.stage_ddl(ddl, conn, runtime, txn);
            self.forget_virtual_schema();
            return done;
        }
        let outcome = match ddl {
            LakeDdl::CreateTable {
                ident,
                schema,
                partition,
                properties,
                sequences,
                if_not_exists,
            } => {
                if !self.create_sequences(ident, sequences, *if_not_exists, runtime)? {
                    return Ok("CREATE TABLE".to_string());
                }
                let created = runtime.block_on(lake.create_table(
                    ident,
                    schema.as_ref().clone(),
                    partition.clone(),
                    properties.clone(),
                    *if_not_exists,
                ));
                if !matches!(created, Ok(Some(_))) {
                    self.drop_sequences(sequences, runtime);
                }
                created.map(|_| "CREATE TABLE".to_string())
            }
            LakeDdl::DropTables { views, tables } if !views.is_empty() => {
                // Dropping dependent views too: all of it or nothing.
                let done = self.in_own_transaction(ddl, conn, runtime);
                if done.is_ok() {
                    self.drop_owned_sequences(tables, runtime);
                }
                return done;
            }
            LakeDdl::DropTables { tables, .. } => {
                let mut result = Ok(());
                for t in tables {
                    result = match t {
                        DropTarget::Iceberg(ident) => runtime.block_on(lake.drop_table(ident)),
                        DropTarget::Parquet(ns, name) => {
                            runtime.block_on(lake.unregister_parquet(ns, name))
                        }
                    };
                    if result.is_err() {
                        break;
                    }
                }
                if result.is_ok() {
                    self.drop_owned_sequences(tables, runtime);
                }
                result.map(|()| "DROP TABLE".to_string())
            }
            LakeDdl::Nothing(tag) => Ok(tag.to_string()),
            LakeDdl::CreateSequence {
                sequence,
                if_not_exists,
            } => return self.create_lake_sequence(sequence, *if_not_exists, runtime),
            LakeDdl::DropSequences(targets) => return self.drop_lake_sequences(targets, runtime),
            LakeDdl::Properties { .. } => return self.in_own_transaction(ddl, conn, runtime),
            LakeDdl::View(_) => {
                // Views and comments always go through a transaction: here one
                // of their own.
                return self.in_own_transaction(ddl, conn, runtime);
            }
            LakeDdl::AlterColumns { ident, changes } => runtime
                .block_on(lake.evolve_schema(ident, changes))
                .map(|()| "ALTER TABLE".to_string()),
            LakeDdl::Rename { from, to } => runtime
                .block_on(lake.rename_table(from, to))
                .map(|()| "ALTER TABLE".to_string()),
            LakeDdl::Truncate { tables } => {
                let truncated = tables.iter().try_for_each(|t| self.truncate(t, runtime));
                self.forget_virtual_schema();
                return truncated.map(|()| "TRUNCATE TABLE".to_string());
            }
            LakeDdl::CreateTableAs(_) if lake.creates_in_transactions() => {
                // The table and its rows are published in one catalog commit, so
                // a statement cut short (even by the worker dying) leaves nothing.
                return self.in_own_transaction(ddl, conn, runtime);
            }
            LakeDdl::CreateTableAs(table) => {
                // A REST catalog creates a table in a request of its own: the
                // table is dropped again if its rows cannot be written.
                let created = self.create_table_as(table, conn, runtime, None);
                self.forget_virtual_schema();
                return created;
            }
        };
        self.forget_virtual_schema();
        outcome.map_err(catalog_error)
    }

    /// Runs a catalog statement outside a transaction block as a transaction of
    /// its own: staged, then published in one catalog commit.
    pub(super) fn in_own_transaction(
        &self,
        ddl: &LakeDdl,
        conn: &Connection,
        runtime: &tokio::runtime::Handle,
    ) -> Result<String, PgError> {
        let mut own = LakeTxn::new();
        let done = self
            .stage_ddl(ddl, conn, runtime, &mut own)
            .and_then(|tag| {
                runtime
                    .block_on(own.commit(self.lakehouse()))
                    .map(|()| tag)
                    .map_err(catalog_error)
            });
        self.forget_virtual_schema();
        done
    }

    /// Runs a catalog statement inside a transaction: staged in `txn`, published
    /// at COMMIT.
    pub(super) fn stage_ddl(
        &self,
        ddl: &LakeDdl,
        conn: &Connection,
        runtime: &tokio::runtime::Handle,
        txn: &mut LakeTxn,
    ) -> Result<String, PgError> {
        let lake = self.lakehouse();
        let outcome = match ddl {
            LakeDdl::CreateTable {
                ident,
                schema,
                partition,
                properties,
                sequences,
                if_not_exists,
            } => {
                // Sequences are not transactional: made now, dropped again if
                // the table cannot be staged.
                let go = self.create_sequences(ident, sequences, *if_not_exists, runtime)?;
                match go {
                    false => Ok("CREATE TABLE".to_string()),
                    true => {
                        let staged = runtime.block_on(txn.create_table(
                            lake,
                            ident,
                            schema.as_ref().clone(),
                            partition.clone(),
                            properties.clone(),
                            *if_not_exists,
                        ));
                        if !matches!(staged, Ok(Some(_))) {
                            self.drop_sequences(sequences, runtime);
                        }
                        staged.map(|_| "CREATE TABLE".to_string())
                    }
                }
            }
            LakeDdl::DropTables { tables, views } => {
                let mut result = views
                    .iter()
                    .try_for_each(|v| runtime.block_on(txn.drop_view(lake, v)));
                for t in tables {
                    if result.is_err() {
                        break;
                    }
                    result = match t {
                        DropTarget::Iceberg(ident) => runtime.block_on(txn.drop_table(lake, ident)),
                        DropTarget::Parquet(..) => {
                            return Err(unsupported(
                                "dropping a registered Parquet table inside a transaction",
                            ))
                        }
                    };
                }
                result.map(|()| "DROP TABLE".to_string())
            }
            LakeDdl::Nothing(tag) => Ok(tag.to_string()),
            LakeDdl::CreateSequence {
                sequence,
                if_not_exists,
            } => return self.create_lake_sequence(sequence, *if_not_exists, runtime),
            LakeDdl::DropSequences(targets) => return self.drop_lake_sequences(targets, runtime),
            LakeDdl::AlterColumns { ident, changes } => runtime
                .block_on(txn.evolve_schema(lake, ident, changes))
                .map(|()| "ALTER TABLE".to_string()),
            LakeDdl::Rename { from, to } => runtime
                .block_on(txn.rename_table(lake, from, to))
                .map(|()| "ALTER TABLE".to_string()),
            LakeDdl::Truncate { tables } => tables
                .iter()
                .try_for_each(|t| runtime.block_on(txn.truncate(lake, t)))
                .map(|()| "TRUNCATE TABLE".to_string()),
            LakeDdl::View(view) => {
                let done = match view {
                    ViewDdl::Create {
                        ident,
                        sql,
                        schema,
                        default_namespace,
                        or_replace,
                    } => runtime.block_on(txn.create_view(
                        lake,
                        ident,
                        sql,
                        schema.as_ref().clone(),
                        default_namespace,
                        *or_replace,
                    )),
                    ViewDdl::Drop { views } => views
                        .iter()
                        .try_for_each(|v| runtime.block_on(txn.drop_view(lake, v))),
                    ViewDdl::Rename { from, to } => {
                        runtime.block_on(txn.rename_view(lake, from, to))
                    }
                    ViewDdl::Comment { target, comment } => {
                        let comment = comment.as_deref();
                        match target {
                            CommentTarget::Table(t) => {
                                runtime.block_on(txn.comment_table(lake, t, comment))
                            }
                            CommentTarget::View(v) => {
                                runtime.block_on(txn.comment_view(lake, v, comment))
                            }
                            CommentTarget::Column(t, c) => {
                                runtime.block_on(txn.comment_column(lake, t, c, comment))
                            }
                            CommentTarget::ViewColumn(v, c) => {
                                runtime.block_on(txn.comment_view_column(lake, v, c, comment))
                            }
                        }
                    }
                    ViewDdl::Nothing(_) => Ok(()),
                };
                done.map(|()| view.tag().to_string())
            }
            LakeDdl::CreateTableAs(table) => {
                return self.create_table_as(table, conn, runtime, Some(txn))
            }
            LakeDdl::Properties { changes, tag } => changes
                .iter()
                .try_for_each(|(ident, set, remove)| {
                    runtime.block_on(txn.change_table_properties(
                        lake,
                        ident,
                        set.clone(),
                        remove.clone(),
                    ))
                })
                .map(|()| tag.to_string()),
        };
        outcome.map_err(catalog_error)
    }

    /// Empties `ident` with a snapshot of its own, retried after concurrent
    /// commits (whatever they added is truncated too).
    pub(super) fn truncate(
        &self,
        ident: &TableIdent,
        runtime: &tokio::runtime::Handle,
    ) -> Result<(), PgError> {
        let lake = self.lakehouse();
        let mut attempt = 0;
        loop {
            attempt += 1;
            let table = runtime.block_on(lake.table(ident)).map_err(catalog_error)?;
            match runtime.block_on(lake.truncate(&table)) {
                Ok(_) => return Ok(()),
                Err(CatalogError::CommitConflict(_)) if attempt < COMMIT_ATTEMPTS => {
                    lake.forget_table(ident);
                    backoff(attempt);
                }
                Err(e) => return Err(catalog_error(e)),
            }
        }
    }
}

impl LakeReader {
    /// Makes the sequences of a new table's serial and identity columns;
    /// `false` when the table exists and `if_not_exists` says to do nothing.
    fn create_sequences(
        &self,
        ident: &TableIdent,
        sequences: &[OwnedSequence],
        if_not_exists: bool,
        runtime: &tokio::runtime::Handle,
    ) -> Result<bool, PgError> {
        if sequences.is_empty() {
            return Ok(true);
        }
        let lake = self.lakehouse();
        let listing = runtime
            .block_on(lake.listing_fresh())
            .map_err(catalog_error)?;
        if listing.has_relation(ident.namespace(), ident.name()) {
            return if if_not_exists {
                Ok(false)
            } else {
                Err(catalog_error(CatalogError::Exists(
                    ident.name().to_string(),
                )))
            };
        }
        for (i, s) in sequences.iter().enumerate() {
            let made = runtime.block_on(lake.create_sequence(&s.namespace, &s.name, &s.def, false));
            if let Err(e) = made {
                self.drop_sequences(&sequences[..i], runtime);
                return Err(catalog_error(e));
            }
        }
        Ok(true)
    }

    /// Drops sequences made for a table that was not created.
    fn drop_sequences(&self, sequences: &[OwnedSequence], runtime: &tokio::runtime::Handle) {
        for s in sequences {
            let _ = runtime.block_on(self.lakehouse().drop_sequence(&s.namespace, &s.name));
        }
    }

    /// Drops the sequences the columns of dropped tables owned.
    fn drop_owned_sequences(&self, tables: &[DropTarget], runtime: &tokio::runtime::Handle) {
        for t in tables {
            if let DropTarget::Iceberg(ident) = t {
                let _ = runtime.block_on(self.lakehouse().drop_owned_sequences(ident));
            }
        }
    }

    /// `CREATE SEQUENCE`, run at once inside a transaction block or not
    /// (sequences are not transactional).
    fn create_lake_sequence(
        &self,
        s: &OwnedSequence,
        if_not_exists: bool,
        runtime: &tokio::runtime::Handle,
    ) -> Result<String, PgError> {
        let lake = self.lakehouse();
        let made = runtime
            .block_on(lake.create_sequence(&s.namespace, &s.name, &s.def, if_not_exists))
            .map(|_| "CREATE SEQUENCE".to_string())
            .map_err(catalog_error);
        self.forget_virtual_schema();
        made
    }

    /// `DROP SEQUENCE`, run at once like `CREATE SEQUENCE`.
    fn drop_lake_sequences(
        &self,
        targets: &[(NamespaceIdent, String)],
        runtime: &tokio::runtime::Handle,
    ) -> Result<String, PgError> {
        let lake = self.lakehouse();
        for (ns, name) in targets {
            runtime
                .block_on(lake.drop_sequence(ns, name))
                .map_err(catalog_error)?;
        }
        self.forget_virtual_schema();
        Ok("DROP SEQUENCE".to_string())
    }
}
