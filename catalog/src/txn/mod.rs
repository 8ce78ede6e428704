//! Transactions over the lakehouse. Inside `BEGIN … COMMIT` every change to lake
//! tables and schemas is staged: new metadata files are written, the catalog is
//! not touched, and only the transaction sees the result (its listing and tables
//! are the catalog's with its own changes laid over). COMMIT publishes all of
//! them in one SQL catalog transaction — atomic across tables, and refused with
//! a serialization failure when another commit moved a table it changed;
//! ROLLBACK forgets them, leaving only unreferenced files.

pub mod commit;
pub(crate) mod rest_commit;

use std::sync::Arc;

use iceberg::spec::{DataFile, Operation, Schema, UnboundPartitionSpec};
use iceberg::table::Table;
use iceberg::{NamespaceIdent, TableIdent, TableUpdate};

use crate::error::{display, CatalogError, Result};
use crate::lakehouse::{CatalogKind, Lakehouse, Listing, SchemaEntry};
use crate::objects::lake_view::LakeView;
use crate::objects::tables::{schema_updates, SchemaChange};
use crate::txn::rest_commit::{MultiCommit, TableChange};

/// How many times a commit is tried again after losing a race to another
/// writer before it fails with 40001: an autocommit write's, and a
/// transaction of appends alone replayed on the newer tables. With
/// [`conflict_pause`] that is about half a minute of contention.
pub const COMMIT_ATTEMPTS: usize = 200;

/// The pause before trying a commit again after losing race `attempt`:
/// random, growing to 200 ms, so writers that collided do not collide again
/// in step.
pub fn conflict_pause(attempt: usize) -> std::time::Duration {
    let ceiling = (5u64 << attempt.min(6)).min(200);
    std::time::Duration::from_millis(rand::random_range(1..=ceiling))
}

/// A table the transaction changed.
#[derive(Debug, Clone)]
struct TxnTable {
    /// The table as the catalog had it when the transaction first changed it
    /// (COMMIT checks the catalog still has that name at that metadata
    /// location); `None` for a table the transaction created.
    origin: Option<Table>,
    /// The table's name now (after renames).
    name: TableIdent,
    /// The staged table: its metadata file is written, the catalog does not
    /// point at it.
    table: Table,
    dropped: bool,
    /// Every update staged on `origin` since (a REST catalog's commit sends
    /// them, checked against `origin`).
    updates: Vec<TableUpdate>,
    /// The data files of the appends staged, and how many of `updates` they
    /// made: while those are all the updates, the changes are appends alone,
    /// which a commit that lost a race replays on the newer table (inserts
    /// never conflict with each other, as in PostgreSQL).
    appended: Vec<DataFile>,
    append_updates: usize,
}

impl TxnTable {
    /// Whether everything staged on this existing table is appends.
    fn only_appends(&self) -> bool {
        self.origin
            .as_ref()
            .is_some_and(|o| o.identifier() == &self.name)
            && !self.dropped
            && self.updates.len() == self.append_updates
    }

    /// Stages `updates` on the table.
    async fn stage(&mut self, lake: &Lakehouse, updates: Vec<TableUpdate>) -> Result<()> {
        self.updates.extend(updates.iter().cloned());
        self.table = lake.stage_updates(&self.table, updates).await?;
        Ok(())
    }
}

/// A view the transaction created, replaced, renamed or dropped.
#[derive(Debug, Clone)]
struct TxnView {
    /// The catalog's name and metadata location for the view when the
    /// transaction first changed it; `None` for a view it created.
    origin: Option<(TableIdent, String)>,
    /// The view now (its `ident` is its name after renames).
    view: LakeView,
    dropped: bool,
}

/// A catalog row a commit changes: the row as it was (name, metadata
/// location), the row it ends as (none: removed), and its type.
struct RowChange<'a> {
    origin: Option<(&'a TableIdent, &'a str)>,
    target: Option<(&'a TableIdent, String)>,
    kind: &'static str,
}

/// The lake changes of one open transaction (a copy is a savepoint).
#[derive(Debug, Default, Clone)]
pub struct LakeTxn {
    tables: Vec<TxnTable>,
    views: Vec<TxnView>,
    created_schemas: Vec<NamespaceIdent>,
    dropped_schemas: Vec<NamespaceIdent>,
    /// Data and delete files uploaded for the staged snapshots (removed again
    /// on ROLLBACK).
    files: Vec<String>,
}

fn namespace(name: &str) -> Result<NamespaceIdent> {
    NamespaceIdent::from_strs(name.split('.'))
        .map_err(|_| CatalogError::ReservedSchema(name.to_string()))
}

impl LakeTxn {
    pub fn new() -> LakeTxn {
        LakeTxn::default()
    }

    /// The files this transaction uploaded that `earlier` (a savepoint's copy
    /// of it) had not, as a transaction holding only those: rolling it back
    /// removes them.
    pub fn staged_since(&self, earlier: Option<&LakeTxn>) -> LakeTxn {
        let known: std::collections::HashSet<&String> = earlier
            .map(|e| e.files.iter().collect())
            .unwrap_or_default();
        LakeTxn {
            files: self
                .files
                .iter()
                .filter(|f| !known.contains(f))
                .cloned()
                .collect(),
            ..LakeTxn::default()
        }
    }

    /// Whether the transaction changed nothing in the lake.
    pub fn is_empty(&self) -> bool {
        self.tables.is_empty()
            && self.views.is_empty()
            && self.created_schemas.is_empty()
            && self.dropped_schemas.is_empty()
    }

    fn live(&self, ident: &TableIdent) -> Option<usize> {
        self.tables
            .iter()
            .position(|t| !t.dropped && &t.name == ident)
    }

    /// Whether the transaction dropped or renamed away the catalog's `ident`.
    fn hides(&self, ident: &TableIdent) -> bool {
        self.tables
            .iter()
            .any(|t| t.origin.as_ref().is_some_and(|o| o.identifier() == ident))
            || self.dropped_schemas.iter().any(|s| s == ident.namespace())
    }

    /// The table as the transaction sees it.
    pub async fn table(&self, lake: &Lakehouse, ident: &TableIdent) -> Result<Table> {
        if let Some(i) = self.live(ident) {
            return Ok(self.tables[i].table.clone());
        }
        if self.hides(ident) {
            return Err(CatalogError::NoSuchTable(display(ident)));
        }
        lake.table(ident).await
    }

    /// Schemas and tables as the transaction sees them.
    pub async fn listing(&self, lake: &Lakehouse) -> Result<Arc<Listing>> {
        let base = lake.listing().await?;
        if self.is_empty() {
            return Ok(base);
        }
        let mut schemas: Vec<SchemaEntry> = base
            .schemas
            .iter()
            .filter(|s| !self.dropped_schemas.contains(&s.ident))
            .cloned()
            .collect();
        for ns in &self.created_schemas {
            if !schemas.iter().any(|s| &s.ident == ns) {
                schemas.push(SchemaEntry {
                    name: ns.join("."),
                    ident: ns.clone(),
                    tables: Vec::new(),
                    views: Vec::new(),
                    parquet: Vec::new(),
                    sequences: Vec::new(),
                });
            }
        }
        for t in &self.tables {
            if let Some(origin) = &t.origin {
                let origin = origin.identifier();
                if let Some(s) = schemas.iter_mut().find(|s| &s.ident == origin.namespace()) {
                    s.tables.retain(|n| n != origin.name());
                }
            }
        }
        for t in self.tables.iter().filter(|t| !t.dropped) {
            if let Some(s) = schemas.iter_mut().find(|s| &s.ident == t.name.namespace()) {
                if !s.tables.iter().any(|n| n == t.name.name()) {
                    s.tables.push(t.name.name().to_string());
                }
            }
        }
        for v in &self.views {
            if let Some((origin, _)) = &v.origin {
                if let Some(s) = schemas.iter_mut().find(|s| &s.ident == origin.namespace()) {
                    s.views.retain(|n| n != origin.name());
                }
            }
        }
        for v in self.views.iter().filter(|v| !v.dropped) {
            let name = &v.view.ident;
            if let Some(s) = schemas.iter_mut().find(|s| &s.ident == name.namespace()) {
                if !s.views.iter().any(|n| n == name.name()) {
                    s.views.push(name.name().to_string());
                }
            }
        }
        schemas.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(Arc::new(Listing::new(schemas)))
    }

    /// The transaction's entry for `ident`, taken from the catalog on first use.
    async fn entry(&mut self, lake: &Lakehouse, ident: &TableIdent) -> Result<&mut TxnTable> {
        if let Some(i) = self.live(ident) {
            return Ok(&mut self.tables[i]);
        }
        if self.hides(ident) {
            return Err(CatalogError::NoSuchTable(display(ident)));
        }
        // The freshest metadata: a commit compares against it.
        lake.forget_table(ident);
        let table = lake.table(ident).await?;
        self.tables.push(TxnTable {
            origin: Some(table.clone()),
            name: ident.clone(),
            table,
            dropped: false,
            updates: Vec::new(),
            appended: Vec::new(),
            append_updates: 0,
        });
        let last = self.tables.len() - 1;
        Ok(&mut self.tables[last])
    }

    /// Stages a snapshot of `ident` that adds `files`.
    pub async fn append_files(
        &mut self,
        lake: &Lakehouse,
        ident: &TableIdent,
        files: Vec<DataFile>,
        operation: Operation,
    ) -> Result<()> {
        let entry = self.entry(lake, ident).await?;
        let appends_only = entry.only_appends() && operation == Operation::Append;
        let updates = lake
            .append_updates(&entry.table, files.clone(), operation)
            .await?;
        let made = updates.len();
        entry.stage(lake, updates).await?;
        if appends_only {
            entry.appended.extend(files);
            entry.append_updates += made;
        }
        Ok(())
    }

    /// After a commit lost a race: when the transaction holds nothing but
    /// appends to existing tables, stages them again on the tables as the
    /// catalog has them now and answers true (the commit is then tried
    /// again); false when anything else was changed.
    async fn rebase_appends(&mut self, lake: &Lakehouse) -> Result<bool> {
        let rebasable = self.views.is_empty()
            && self.created_schemas.is_empty()
            && self.dropped_schemas.is_empty()
            && self.tables.iter().all(TxnTable::only_appends);
        if !rebasable {
            return Ok(false);
        }
        for t in &mut self.tables {
            lake.forget_table(&t.name);
            let fresh = lake.table(&t.name).await?;
            let updates = lake
                .append_updates(&fresh, t.appended.clone(), Operation::Append)
                .await?;
            t.origin = Some(fresh.clone());
            t.table = fresh;
            t.updates = Vec::new();
            t.append_updates = updates.len();
            t.stage(lake, updates).await?;
        }
        Ok(true)
    }

    /// Stages an empty snapshot of `ident` (TRUNCATE).
    pub async fn truncate(&mut self, lake: &Lakehouse, ident: &TableIdent) -> Result<()> {
        let entry = self.entry(lake, ident).await?;
        if let Some(updates) = lake.truncate_updates(&entry.table).await? {
            entry.stage(lake, updates).await?;
        }
        Ok(())
    }

    /// Stages a schema change of `ident` (ALTER TABLE … ADD/DROP/RENAME COLUMN).
    pub async fn evolve_schema(
        &mut self,
        lake: &Lakehouse,
        ident: &TableIdent,
        changes: &[SchemaChange],
    ) -> Result<()> {
        let entry = self.entry(lake, ident).await?;
        let updates = schema_updates(&entry.table, changes)?;
        entry.stage(lake, updates).await
    }

    /// Stages a new table; `None` when it exists and `if_not_exists` is set.
    pub async fn create_table(
        &mut self,
        lake: &Lakehouse,
        ident: &TableIdent,
        schema: Schema,
        partition: Option<UnboundPartitionSpec>,
        properties: std::collections::HashMap<String, String>,
        if_not_exists: bool,
    ) -> Result<Option<Table>> {
        lake.require_sql_catalog("CREATE TABLE")?;
        let listing = self.listing(lake).await?;
        if listing.schema(&ident.namespace().join(".")).is_none() {
            return Err(CatalogError::NoSuchSchema(ident.namespace().join(".")));
        }
        if listing.has_relation(ident.namespace(), ident.name()) {
            return if if_not_exists {
                Ok(None)
            } else {
                Err(CatalogError::Exists(ident.name().to_string()))
            };
        }
        let table = lake
            .stage_new_table(ident, schema, partition, properties)
            .await?;
        self.tables.push(TxnTable {
            origin: None,
            name: ident.clone(),
            table: table.clone(),
            dropped: false,
            updates: Vec::new(),
            appended: Vec::new(),
            append_updates: 0,
        });
        Ok(Some(table))
    }

    pub async fn drop_table(&mut self, lake: &Lakehouse, ident: &TableIdent) -> Result<()> {
        lake.require_sql_catalog("DROP TABLE")?;
        let entry = self.entry(lake, ident).await?;
        entry.dropped = true;
        // A table created and dropped in the transaction leaves nothing to publish.
        self.tables.retain(|t| !(t.dropped && t.origin.is_none()));
        Ok(())
    }

    /// Fails unless `to` is a free name in an existing schema.
    async fn check_rename_target(&self, lake: &Lakehouse, to: &TableIdent) -> Result<()> {
        let listing = self.listing(lake).await?;
        if listing.has_relation(to.namespace(), to.name()) {
            return Err(CatalogError::Exists(to.name().to_string()));
        }
        if listing.schema(&to.namespace().join(".")).is_none() {
            return Err(CatalogError::NoSuchSchema(to.namespace().join(".")));
        }
        Ok(())
    }

    pub async fn rename_table(
        &mut self,
        lake: &Lakehouse,
        from: &TableIdent,
        to: &TableIdent,
    ) -> Result<()> {
        lake.require_sql_catalog("ALTER TABLE … RENAME")?;
        self.check_rename_target(lake, to).await?;
        let entry = self.entry(lake, from).await?;
        entry.name = to.clone();
        Ok(())
    }

    pub async fn create_schema(
        &mut self,
        lake: &Lakehouse,
        name: &str,
        if_not_exists: bool,
    ) -> Result<()> {
        lake.require_sql_catalog("CREATE SCHEMA")?;
        let ns = namespace(name)?;
        if self.listing(lake).await?.schema(name).is_some() {
            return if if_not_exists {
                Ok(())
            } else {
                Err(CatalogError::SchemaExists(name.to_string()))
            };
        }
        self.dropped_schemas.retain(|s| s != &ns);
        self.created_schemas.push(ns);
        Ok(())
    }

    pub async fn drop_schema(
        &mut self,
        lake: &Lakehouse,
        name: &str,
        if_exists: bool,
        cascade: bool,
    ) -> Result<()> {
        lake.require_sql_catalog("DROP SCHEMA")?;
        let listing = self.listing(lake).await?;
        let Some(entry) = listing.schema(name) else {
            return if if_exists {
                Ok(())
            } else {
                Err(CatalogError::NoSuchSchema(name.to_string()))
            };
        };
        if !entry.parquet.is_empty() {
            return Err(CatalogError::Unsupported(
                "dropping a schema with registered Parquet tables inside a transaction".into(),
            ));
        }
        if (!entry.tables.is_empty() || !entry.views.is_empty()) && !cascade {
            return Err(CatalogError::SchemaNotEmpty(name.to_string()));
        }
        let ns = entry.ident.clone();
        for view in entry.views.clone() {
            self.drop_view(lake, &TableIdent::new(ns.clone(), view))
                .await?;
        }
        for table in entry.tables.clone() {
            self.drop_table(lake, &TableIdent::new(ns.clone(), table))
                .await?;
        }
        if let Some(i) = self.created_schemas.iter().position(|s| s == &ns) {
            self.created_schemas.remove(i);
        } else {
            self.dropped_schemas.push(ns);
        }
        Ok(())
    }

    fn live_view(&self, ident: &TableIdent) -> Option<usize> {
        self.views
            .iter()
            .position(|v| !v.dropped && &v.view.ident == ident)
    }

    /// The view as the transaction sees it.
    pub async fn view(&self, lake: &Lakehouse, ident: &TableIdent) -> Result<LakeView> {
        if let Some(i) = self.live_view(ident) {
            return Ok(self.views[i].view.clone());
        }
        let hidden = self
            .views
            .iter()
            .any(|v| v.origin.as_ref().is_some_and(|(o, _)| o == ident))
            || self.dropped_schemas.iter().any(|s| s == ident.namespace());
        if hidden {
            return Err(CatalogError::NoSuchTable(display(ident)));
        }
        lake.view(ident).await
    }

    /// The transaction's entry for view `ident`, taken from the catalog on first use.
    async fn view_entry(&mut self, lake: &Lakehouse, ident: &TableIdent) -> Result<&mut TxnView> {
        lake.require_sql_catalog("changing a view")?;
        if let Some(i) = self.live_view(ident) {
            return Ok(&mut self.views[i]);
        }
        let view = self.view(lake, ident).await?;
        self.views.push(TxnView {
            origin: Some((ident.clone(), view.metadata_location.clone())),
            view,
            dropped: false,
        });
        let last = self.views.len() - 1;
        Ok(&mut self.views[last])
    }

    /// Stages CREATE [OR REPLACE] VIEW.
    pub async fn create_view(
        &mut self,
        lake: &Lakehouse,
        ident: &TableIdent,
        sql: &str,
        schema: Schema,
        default_namespace: &NamespaceIdent,
        or_replace: bool,
    ) -> Result<()> {
        lake.require_sql_catalog("CREATE VIEW")?;
        let listing = self.listing(lake).await?;
        let schema_name = ident.namespace().join(".");
        if listing.schema(&schema_name).is_none() {
            return Err(CatalogError::NoSuchSchema(schema_name));
        }
        let is_view = listing.view(&schema_name, ident.name()).is_some();
        if is_view && or_replace {
            let entry = self.view_entry(lake, ident).await?;
            let replaced = lake
                .stage_view(ident, sql, schema, default_namespace, Some(&entry.view))
                .await?;
            entry.view = replaced;
            return Ok(());
        }
        if listing.has_relation(ident.namespace(), ident.name()) {
            return Err(CatalogError::Exists(ident.name().to_string()));
        }
        let view = lake
            .stage_view(ident, sql, schema, default_namespace, None)
            .await?;
        self.views.push(TxnView {
            origin: None,
            view,
            dropped: false,
        });
        Ok(())
    }

    pub async fn drop_view(&mut self, lake: &Lakehouse, ident: &TableIdent) -> Result<()> {
        let entry = self.view_entry(lake, ident).await?;
        entry.dropped = true;
        self.views.retain(|v| !(v.dropped && v.origin.is_none()));
        Ok(())
    }

    pub async fn rename_view(
        &mut self,
        lake: &Lakehouse,
        from: &TableIdent,
        to: &TableIdent,
    ) -> Result<()> {
        self.check_rename_target(lake, to).await?;
        let entry = self.view_entry(lake, from).await?;
        entry.view.ident = to.clone();
        Ok(())
    }

    /// Stages COMMENT ON VIEW.
    pub async fn comment_view(
        &mut self,
        lake: &Lakehouse,
        ident: &TableIdent,
        comment: Option<&str>,
    ) -> Result<()> {
        let entry = self.view_entry(lake, ident).await?;
        let name = entry.view.ident.clone();
        let mut commented = lake.stage_view_comment(&entry.view, comment).await?;
        commented.ident = name;
        entry.view = commented;
        Ok(())
    }

    /// Stages COMMENT ON COLUMN of a view (the view schema field's doc).
    pub async fn comment_view_column(
        &mut self,
        lake: &Lakehouse,
        ident: &TableIdent,
        column: &str,
        comment: Option<&str>,
    ) -> Result<()> {
        let entry = self.view_entry(lake, ident).await?;
        let name = entry.view.ident.clone();
        let mut commented = lake
            .stage_view_column_comment(&entry.view, column, comment)
            .await?;
        commented.ident = name;
        entry.view = commented;
        Ok(())
    }

    /// Stages COMMENT ON TABLE (the Iceberg table property `comment`).
    pub async fn comment_table(
        &mut self,
        lake: &Lakehouse,
        ident: &TableIdent,
        comment: Option<&str>,
    ) -> Result<()> {
        let entry = self.entry(lake, ident).await?;
        let update = match comment {
            Some(c) => iceberg::TableUpdate::SetProperties {
                updates: std::collections::HashMap::from([("comment".to_string(), c.to_string())]),
            },
            None => iceberg::TableUpdate::RemoveProperties {
                removals: vec!["comment".to_string()],
            },
        };
        entry.stage(lake, vec![update]).await
    }

    /// Stages a change of a table's properties (`set`, then `remove`): how
    /// CREATE INDEX and DROP INDEX record a lake table's indexes.
    pub async fn change_table_properties(
        &mut self,
        lake: &Lakehouse,
        ident: &TableIdent,
        set: std::collections::HashMap<String, String>,
        remove: Vec<String>,
    ) -> Result<()> {
        let entry = self.entry(lake, ident).await?;
        let mut updates = Vec::new();
        if !set.is_empty() {
            updates.push(iceberg::TableUpdate::SetProperties { updates: set });
        }
        if !remove.is_empty() {
            updates.push(iceberg::TableUpdate::RemoveProperties { removals: remove });
        }
        entry.stage(lake, updates).await
    }

    /// Stages COMMENT ON COLUMN (the Iceberg field's doc).
    pub async fn comment_column(
        &mut self,
        lake: &Lakehouse,
        ident: &TableIdent,
        column: &str,
        comment: Option<&str>,
    ) -> Result<()> {
        let entry = self.entry(lake, ident).await?;
        let updates = crate::objects::tables::doc_updates(&entry.table, column, comment)?;
        entry.stage(lake, updates).await
    }

    /// Remembers files uploaded for a staged snapshot.
    pub fn track_files(&mut self, locations: Vec<String>) {
        self.files.extend(locations);
    }

    /// Forgets every change and removes the files uploaded for them (metadata
    /// files written for staged tables stay as unreferenced files).
    pub async fn rollback(self, lake: &Lakehouse) {
        for location in &self.files {
            if let Err(e) = lake.storage().remove_object(location).await {
                tracing::warn!(%location, error = %e, "cannot remove a rolled-back file");
            }
        }
    }

    /// Publishes every change in one catalog transaction; on a conflict nothing
    /// is published and the error is a serialization failure. When nothing was
    /// published the uploaded files are removed; when the outcome is unknown
    /// they stay (the catalog may reference them).
    pub async fn commit(mut self, lake: &Lakehouse) -> Result<()> {
        if self.is_empty() {
            return Ok(());
        }
        let mut attempt = 0usize;
        let published = loop {
            let published = match &lake.config().kind {
                CatalogKind::Sql { uri } => self.publish_sql(lake, uri).await,
                CatalogKind::Rest { .. } => self.publish_rest(lake).await,
            };
            // Appends alone are replayed on the newer tables, a bounded
            // number of times, with a growing pause.
            if matches!(published, Err(CatalogError::CommitConflict(_)))
                && attempt < COMMIT_ATTEMPTS
            {
                attempt += 1;
                match self.rebase_appends(lake).await {
                    Ok(true) => {
                        tokio::time::sleep(conflict_pause(attempt)).await;
                        continue;
                    }
                    Ok(false) => {}
                    Err(e) => break Err(e),
                }
            }
            break published;
        };
        match &published {
            Ok(()) | Err(CatalogError::CommitUnknown(_)) => self.forget_cached(lake),
            Err(_) => self.rollback(lake).await,
        }
        published
    }

    /// Whether the transaction made, dropped or renamed a schema, table or
    /// view, or changed a table's columns: what the listing and the catalog
    /// tables built from it show. Rows alone leave them as they were.
    fn changes_listing(&self) -> bool {
        !self.views.is_empty()
            || !self.created_schemas.is_empty()
            || !self.dropped_schemas.is_empty()
            || self.tables.iter().any(|t| match &t.origin {
                None => true,
                Some(origin) => {
                    t.dropped
                        || origin.identifier() != &t.name
                        || origin.metadata().current_schema_id()
                            != t.table.metadata().current_schema_id()
                }
            })
    }

    /// Drops what the lakehouse caches about everything the transaction
    /// changed, so the next statement reads the catalog.
    fn forget_cached(&self, lake: &Lakehouse) {
        for v in &self.views {
            lake.view_cache().remove(&v.view.metadata_location);
        }
        for t in &self.tables {
            lake.changed_table(&t.name);
            if let Some(origin) = &t.origin {
                lake.changed_table(origin.identifier());
            }
        }
        if self.changes_listing() {
            lake.changed_listing();
        }
    }

    /// Publishes the changes to existing tables (the only changes a REST
    /// catalog's transaction can hold) in one multi-table commit; a single
    /// table's through the table's own commit endpoint.
    async fn publish_rest(&self, lake: &Lakehouse) -> Result<()> {
        let rest = lake.rest_committer()?;
        let changes: Vec<TableChange> = self
            .tables
            .iter()
            .filter(|t| !t.updates.is_empty())
            .filter_map(|t| Some(TableChange::new(t.origin.as_ref()?, t.updates.clone())))
            .collect();
        match changes.as_slice() {
            [] => {}
            [one] => rest.commit_table(one).await?,
            many => match rest.commit_transaction(many).await? {
                MultiCommit::Done => {}
                MultiCommit::NotOffered => {
                    return Err(CatalogError::Unsupported(
                        "a transaction that changes several tables on a REST catalog \
                         without multi-table commits"
                            .into(),
                    ))
                }
            },
        }
        Ok(())
    }

    /// Publishes every change in one transaction of the SQL catalog's database.
    async fn publish_sql(&self, lake: &Lakehouse, uri: &str) -> Result<()> {
        let catalog = lake.config().name.clone();
        let pool = lake.sql_pool(uri).await?;
        let sql_err = |e: sqlx::Error| CatalogError::Commit(e.to_string());
        let mut tx = pool.begin().await.map_err(sql_err)?;
        for ns in &self.created_schemas {
            sqlx::query(
                "INSERT INTO iceberg_namespace_properties
                 (catalog_name, namespace, property_key, property_value) VALUES (?, ?, 'exists', 'true')",
            )
            .bind(&catalog)
            .bind(ns.join("."))
            .execute(&mut *tx)
            .await
            .map_err(sql_err)?;
        }
        // Every changed table and view, as the catalog row it was (name and
        // metadata location) and the row it ends as.
        let mut changes: Vec<RowChange<'_>> = Vec::new();
        for t in &self.tables {
            changes.push(RowChange {
                origin: match &t.origin {
                    Some(o) => Some((o.identifier(), o.metadata_location_result()?)),
                    None => None,
                },
                target: match t.dropped {
                    true => None,
                    false => Some((&t.name, t.table.metadata_location_result()?.to_string())),
                },
                kind: "TABLE",
            });
        }
        for v in &self.views {
            changes.push(RowChange {
                origin: v.origin.as_ref().map(|(o, l)| (o, l.as_str())),
                target: (!v.dropped).then(|| (&v.view.ident, v.view.metadata_location.clone())),
                kind: "VIEW",
            });
        }
        // Existing rows first move to names no other row has (or go), so
        // renames that swap names cannot collide half-way; new rows come last.
        let mut parked = Vec::new();
        for c in &changes {
            let Some((origin, base)) = c.origin else {
                continue;
            };
            let conflict = || CatalogError::CommitConflict(display(origin));
            let Some((name, location)) = &c.target else {
                if !delete_row(&mut tx, &catalog, origin, base).await? {
                    return Err(conflict());
                }
                continue;
            };
            let park = format!("__floe_txn_{}", uuid::Uuid::new_v4());
            let moved = sqlx::query(
                "UPDATE iceberg_tables
                 SET table_name = ?, metadata_location = ?, previous_metadata_location = ?
                 WHERE catalog_name = ? AND table_namespace = ? AND table_name = ?
                   AND metadata_location = ?",
            )
            .bind(&park)
            .bind(location)
            .bind(base)
            .bind(&catalog)
            .bind(origin.namespace().join("."))
            .bind(origin.name())
            .bind(base)
            .execute(&mut *tx)
            .await
            .map_err(sql_err)?;
            if moved.rows_affected() != 1 {
                return Err(conflict());
            }
            parked.push((park, origin.namespace().join("."), *name));
        }
        for (park, ns, name) in parked {
            sqlx::query(
                "UPDATE iceberg_tables SET table_namespace = ?, table_name = ?
                 WHERE catalog_name = ? AND table_namespace = ? AND table_name = ?",
            )
            .bind(name.namespace().join("."))
            .bind(name.name())
            .bind(&catalog)
            .bind(&ns)
            .bind(&park)
            .execute(&mut *tx)
            .await
            .map_err(|_| CatalogError::Exists(name.name().to_string()))?;
        }
        for c in changes.iter().filter(|c| c.origin.is_none()) {
            let Some((name, location)) = &c.target else {
                continue;
            };
            sqlx::query(
                "INSERT INTO iceberg_tables
                 (catalog_name, table_namespace, table_name, metadata_location, iceberg_type)
                 VALUES (?, ?, ?, ?, ?)",
            )
            .bind(&catalog)
            .bind(name.namespace().join("."))
            .bind(name.name())
            .bind(location)
            .bind(c.kind)
            .execute(&mut *tx)
            .await
            .map_err(|_| CatalogError::CommitConflict(display(name)))?;
        }
        for ns in &self.dropped_schemas {
            let left: (i64,) = sqlx::query_as(
                "SELECT count(*) FROM iceberg_tables WHERE catalog_name = ? AND table_namespace = ?",
            )
            .bind(&catalog)
            .bind(ns.join("."))
            .fetch_one(&mut *tx)
            .await
            .map_err(sql_err)?;
            if left.0 > 0 {
                return Err(CatalogError::CommitConflict(ns.join(".")));
            }
            sqlx::query(
                "DELETE FROM iceberg_namespace_properties WHERE catalog_name = ? AND namespace = ?",
            )
            .bind(&catalog)
            .bind(ns.join("."))
            .execute(&mut *tx)
            .await
            .map_err(sql_err)?;
        }
        tx.commit().await.map_err(sql_err)?;
        Ok(())
    }
}

/// Removes the catalog row of `ident` if it still points at `location`; whether
/// it did.
pub(crate) async fn delete_row(
    conn: &mut sqlx::SqliteConnection,
    catalog: &str,
    ident: &TableIdent,
    location: &str,
) -> Result<bool> {
    let gone = sqlx::query(
        "DELETE FROM iceberg_tables
         WHERE catalog_name = ? AND table_namespace = ? AND table_name = ?
           AND metadata_location = ?",
    )
    .bind(catalog)
    .bind(ident.namespace().join("."))
    .bind(ident.name())
    .bind(location)
    .execute(&mut *conn)
    .await
    .map_err(|e| CatalogError::Commit(e.to_string()))?;
    Ok(gone.rows_affected() == 1)
}

/// Reads through an optional transaction: the transaction's view of the lake
/// when a statement runs inside one, the catalog's otherwise.
impl Lakehouse {
    pub async fn listing_in(&self, txn: Option<&LakeTxn>) -> Result<Arc<Listing>> {
        match txn {
            Some(txn) => txn.listing(self).await,
            None => self.listing().await,
        }
    }

    pub async fn table_in(&self, txn: Option<&LakeTxn>, ident: &TableIdent) -> Result<Table> {
        match txn {
            Some(txn) => txn.table(self, ident).await,
            None => self.table(ident).await,
        }
    }

    pub async fn view_in(&self, txn: Option<&LakeTxn>, ident: &TableIdent) -> Result<LakeView> {
        match txn {
            Some(txn) => txn.view(self, ident).await,
            None => self.view(ident).await,
        }
    }
}

#[cfg(test)]
mod tests;
