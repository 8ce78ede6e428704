//! The lakehouse a worker queries: one Iceberg catalog (embedded SQL catalog on
//! SQLite, or REST), its namespaces as Postgres schemas, and a bounded cache of
//! table metadata refreshed on a short interval.

use parking_lot::Mutex;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use iceberg::io::{FileIO, FileIOBuilder};
use iceberg::table::Table;
use iceberg::{Catalog, CatalogBuilder, NamespaceIdent, TableIdent};
use iceberg_catalog_rest::RestCatalogBuilder;
use iceberg_catalog_sql::SqlCatalogBuilder;

use floe_protocol::lake_changes::{ChangeLog, LakeChange};

use crate::error::{display, CatalogError, Result};
use crate::object_storage::{ObjectStorage, ObjectStorageFactory};
use crate::objects::parquet_source::{registrations, ParquetCache, ParquetSource};
use crate::txn::rest_commit::RestCommitter;

/// Which catalog holds the tables.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CatalogKind {
    /// iceberg-catalog-sql; `uri` is a SQLx URL such as `sqlite:/path/catalog.db`.
    Sql { uri: String },
    /// An Iceberg REST catalog at `uri`.
    Rest { uri: String },
}

/// Everything needed to open the lakehouse.
#[derive(Debug, Clone)]
pub struct LakeConfig {
    /// The catalog's name (rows in the SQL catalog are scoped by it).
    pub name: String,
    pub kind: CatalogKind,
    /// Where new tables go: `file:///…`, `s3://bucket/prefix`, …
    pub warehouse: String,
    /// Extra catalog properties (REST: `token`, `credential`, `scope`,
    /// `oauth2-server-uri`, `prefix`).
    pub properties: BTreeMap<String, String>,
    /// object_store options (`region`, `endpoint`, `access_key_id`, …).
    pub storage: BTreeMap<String, String>,
    /// How long a table's metadata is trusted before the catalog is asked again.
    pub refresh: Duration,
}

impl CatalogKind {
    /// The embedded catalog under `data_dir`: SQLite in `catalog.db`, created
    /// when it does not exist yet.
    pub fn embedded(data_dir: &std::path::Path) -> CatalogKind {
        CatalogKind::Sql {
            uri: format!("sqlite:{}?mode=rwc", data_dir.join("catalog.db").display()),
        }
    }
}

impl LakeConfig {
    /// The embedded lakehouse under `data_dir`: the embedded catalog and a
    /// local warehouse in `warehouse/`, with no extra properties.
    pub fn embedded(data_dir: &std::path::Path, refresh: Duration) -> LakeConfig {
        LakeConfig {
            name: "floe".into(),
            kind: CatalogKind::embedded(data_dir),
            warehouse: format!("file://{}", data_dir.join("warehouse").display()),
            properties: BTreeMap::new(),
            storage: BTreeMap::new(),
            refresh,
        }
    }
}

/// A lake namespace as a Postgres schema. Nested Iceberg namespaces are joined
/// with dots: `["a", "b"]` is schema `"a.b"`.
#[derive(Debug, Clone)]
pub struct SchemaEntry {
    pub name: String,
    pub ident: NamespaceIdent,
    pub tables: Vec<String>,
    /// Views in this namespace.
    pub views: Vec<String>,
    /// Plain Parquet registered as read-only tables in this namespace.
    pub parquet: Vec<(String, ParquetSource)>,
    /// Sequences in this namespace.
    pub sequences: Vec<String>,
}

impl SchemaEntry {
    /// `name` in this namespace when `names` (its tables or its views) lists it.
    fn ident_if_listed(&self, names: &[String], name: &str) -> Option<TableIdent> {
        names
            .iter()
            .any(|n| n == name)
            .then(|| TableIdent::new(self.ident.clone(), name.to_string()))
    }
}

/// Every schema and table name, as of one listing.
#[derive(Debug, Default)]
pub struct Listing {
    pub schemas: Vec<SchemaEntry>,
    by_name: HashMap<String, usize>,
    /// Every schema and table name, for the per-statement pre-check.
    names: HashSet<String>,
}

impl Listing {
    pub fn new(schemas: Vec<SchemaEntry>) -> Listing {
        let by_name = schemas
            .iter()
            .enumerate()
            .map(|(i, s)| (s.name.clone(), i))
            .collect();
        let names = schemas
            .iter()
            .flat_map(|s| {
                std::iter::once(&s.name)
                    .chain(&s.tables)
                    .chain(&s.views)
                    .chain(&s.sequences)
                    .chain(s.parquet.iter().map(|(n, _)| n))
            })
            .cloned()
            .collect();
        Listing {
            schemas,
            by_name,
            names,
        }
    }

    pub fn schema(&self, name: &str) -> Option<&SchemaEntry> {
        self.by_name.get(name).map(|&i| &self.schemas[i])
    }

    /// The table `schema.table`, if the lake has it.
    pub fn table(&self, schema: &str, table: &str) -> Option<TableIdent> {
        let s = self.schema(schema)?;
        s.ident_if_listed(&s.tables, table)
    }

    /// The view `schema.view`, if the lake has it.
    pub fn view(&self, schema: &str, view: &str) -> Option<TableIdent> {
        let s = self.schema(schema)?;
        s.ident_if_listed(&s.views, view)
    }

    /// The registered Parquet table `schema.table`, if there is one.
    pub fn parquet(&self, schema: &str, table: &str) -> Option<&ParquetSource> {
        let s = self.schema(schema)?;
        s.parquet.iter().find(|(n, _)| n == table).map(|(_, p)| p)
    }

    /// Whether `namespace` has a table of either kind named `table`.
    pub fn has_relation(&self, namespace: &NamespaceIdent, table: &str) -> bool {
        let schema = namespace.join(".");
        self.table(&schema, table).is_some()
            || self.parquet(&schema, table).is_some()
            || self.view(&schema, table).is_some()
            || self.sequence(&schema, table)
    }

    /// Whether `schema` has a sequence named `name`.
    pub fn sequence(&self, schema: &str, name: &str) -> bool {
        self.schema(schema)
            .is_some_and(|s| s.sequences.iter().any(|n| n == name))
    }

    /// Whether any schema or table has this name (a cheap first test before a
    /// statement is parsed).
    pub fn mentions(&self, word: &str) -> bool {
        self.names.contains(word)
    }
}

struct Cached<T> {
    value: T,
    loaded: Instant,
    /// The lakehouse's cache epoch when loaded; an entry of an older epoch (or
    /// [`EXPIRED`]) is checked with the catalog before it is used again.
    epoch: u64,
}

/// The epoch of a cache entry a reported change expired.
const EXPIRED: u64 = u64::MAX;

/// An open lakehouse: the catalog plus metadata caches.
pub struct Lakehouse {
    catalog: Arc<dyn Catalog>,
    storage: ObjectStorage,
    config: LakeConfig,
    tables: quick_cache::sync::Cache<TableIdent, Arc<Cached<Table>>>,
    listing: Mutex<Option<Arc<Cached<Arc<Listing>>>>>,
    /// The SQL catalog's database, for commits (opened on the first one).
    sql_pool: tokio::sync::OnceCell<sqlx::SqlitePool>,
    /// Registered Parquet tables' file listings and schemas.
    parquet: ParquetCache,
    /// Whether the sequences' table exists in the SQL catalog's database.
    pub(crate) sequence_table: tokio::sync::OnceCell<()>,
    /// Sequence values taken from the catalog and not handed out yet.
    pub(crate) sequence_blocks: crate::objects::sequences::SequenceBlocks,
    /// Storage access for metadata Floe writes before the catalog knows the
    /// table (a transaction's new tables, views).
    file_io: FileIO,
    /// Views by metadata location (a location is written once).
    views: quick_cache::sync::Cache<String, crate::objects::lake_view::LakeView>,
    /// Commit requests to a REST catalog.
    rest: Option<RestCommitter>,
    /// The changes this process made to the lake, for its sessions to report.
    changes: ChangeLog,
    /// Moves on when everything cached must be checked with the catalog again.
    epoch: std::sync::atomic::AtomicU64,
    /// How many reports of changes made elsewhere were applied. Held while one
    /// is applied and while a loaded entry is stored, so an entry loaded
    /// before a change was applied is stored expired, never as fresh.
    applied: Mutex<u64>,
}

impl std::fmt::Debug for Lakehouse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Lakehouse")
            .field("name", &self.config.name)
            .field("kind", &self.config.kind)
            .finish()
    }
}

/// A catalog of the kind `B` builds, its files read and written through `factory`.
async fn open_catalog<B: CatalogBuilder>(
    factory: Arc<ObjectStorageFactory>,
    name: String,
    props: HashMap<String, String>,
) -> Result<Arc<dyn Catalog>>
where
    B::C: 'static,
{
    let catalog = B::default()
        .with_storage_factory(factory)
        .load(name, props)
        .await?;
    Ok(Arc::new(catalog))
}

/// Tables whose metadata stays cached (each holds its manifests' cache too).
const TABLE_CACHE_ENTRIES: usize = 1024;

impl Lakehouse {
    /// Opens (and for SQLite, creates) the catalog.
    pub async fn open(config: LakeConfig) -> Result<Lakehouse> {
        let factory = Arc::new(ObjectStorageFactory::new(config.storage.clone()));
        let mut props: HashMap<String, String> = config
            .properties
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        props.insert("warehouse".into(), config.warehouse.clone());
        let file_io = FileIOBuilder::new(factory.clone())
            .with_props(props.clone())
            .build();
        let (uri, rest) = match &config.kind {
            CatalogKind::Sql { uri } => (uri, None),
            CatalogKind::Rest { uri } => {
                let committer = RestCommitter::new(uri, &config.warehouse, &config.properties)?;
                (uri, Some(committer))
            }
        };
        props.insert("uri".into(), uri.clone());
        let name = config.name.clone();
        let catalog: Arc<dyn Catalog> = match &config.kind {
            CatalogKind::Sql { .. } => {
                open_catalog::<SqlCatalogBuilder>(factory, name, props).await?
            }
            CatalogKind::Rest { .. } => {
                open_catalog::<RestCatalogBuilder>(factory, name, props).await?
            }
        };
        Ok(Lakehouse {
            catalog,
            storage: ObjectStorage::new(config.storage.clone()),
            config,
            tables: quick_cache::sync::Cache::new(TABLE_CACHE_ENTRIES),
            listing: Mutex::new(None),
            sql_pool: tokio::sync::OnceCell::new(),
            parquet: ParquetCache::default(),
            sequence_table: tokio::sync::OnceCell::new(),
            sequence_blocks: Default::default(),
            file_io,
            views: quick_cache::sync::Cache::new(TABLE_CACHE_ENTRIES),
            rest,
            changes: ChangeLog::new(),
            epoch: std::sync::atomic::AtomicU64::new(0),
            applied: Mutex::new(0),
        })
    }

    pub fn file_io(&self) -> &FileIO {
        &self.file_io
    }

    /// The REST catalog's commit client (made with the lakehouse for every
    /// REST catalog).
    pub(crate) fn rest_committer(&self) -> Result<&RestCommitter> {
        self.rest
            .as_ref()
            .ok_or_else(|| CatalogError::Commit("not a REST catalog".into()))
    }

    /// Whether tables can be created inside a transaction (published with the
    /// rest of it in one catalog commit): on SQL catalogs, not on REST ones.
    pub fn creates_in_transactions(&self) -> bool {
        self.rest.is_none()
    }

    /// Fails with 0A000 on a REST catalog, where `what` cannot be staged in a
    /// transaction: its multi-table commit changes existing tables only.
    pub(crate) fn require_sql_catalog(&self, what: &str) -> Result<()> {
        match self.rest {
            Some(_) => Err(CatalogError::Unsupported(format!(
                "{what} inside a transaction block on a REST catalog (run it outside BEGIN … COMMIT)"
            ))),
            None => Ok(()),
        }
    }

    pub(crate) fn view_cache(
        &self,
    ) -> &quick_cache::sync::Cache<String, crate::objects::lake_view::LakeView> {
        &self.views
    }

    pub fn storage(&self) -> &ObjectStorage {
        &self.storage
    }

    /// The Iceberg catalog itself (namespaces, table creation).
    pub fn catalog(&self) -> &Arc<dyn Catalog> {
        &self.catalog
    }

    pub fn config(&self) -> &LakeConfig {
        &self.config
    }

    /// A connection pool on the SQL catalog's database.
    pub(crate) async fn sql_pool(&self, uri: &str) -> Result<sqlx::SqlitePool> {
        self.sql_pool
            .get_or_try_init(|| async {
                sqlx::sqlite::SqlitePoolOptions::new()
                    .max_connections(2)
                    .connect(uri)
                    .await
                    .map_err(|e| CatalogError::Commit(format!("cannot open {uri}: {e}")))
            })
            .await
            .cloned()
    }

    /// Drops a table's cached metadata: the next statement that names it asks
    /// the catalog again.
    pub fn forget_table(&self, ident: &TableIdent) {
        self.tables.remove(ident);
    }

    /// Records that this process changed `ident`'s metadata (a commit) and
    /// drops what it cached of it.
    pub(crate) fn changed_table(&self, ident: &TableIdent) {
        self.forget_table(ident);
        self.changes.record([LakeChange::Table {
            namespace: ident.namespace().as_ref().clone(),
            name: ident.name().to_string(),
        }]);
    }

    /// Records that this process created, dropped or renamed something the
    /// listing shows, and drops the cached listing.
    pub(crate) fn changed_listing(&self) {
        self.forget_listing();
        self.changes.record([LakeChange::Listing]);
    }

    /// The changes this process made, in order.
    pub fn changes(&self) -> &ChangeLog {
        &self.changes
    }

    /// Expires what the caches hold about changes made elsewhere (reported
    /// by the router), so the next statement asks the catalog. An expired
    /// table keeps its manifests cached if its metadata has not moved after all.
    pub fn apply_changes(&self, changes: &[LakeChange]) {
        let mut applied = self.applied.lock();
        *applied += 1;
        for change in changes {
            match change {
                LakeChange::Table { namespace, name } => {
                    let Ok(ns) = NamespaceIdent::from_vec(namespace.clone()) else {
                        continue;
                    };
                    let ident = TableIdent::new(ns, name.clone());
                    if let Some(c) = self.tables.get(&ident) {
                        self.tables.insert(
                            ident,
                            Arc::new(Cached {
                                value: c.value.clone(),
                                loaded: c.loaded,
                                epoch: EXPIRED,
                            }),
                        );
                    }
                }
                LakeChange::Listing => self.forget_listing(),
                LakeChange::Everything => {
                    self.epoch.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    self.forget_listing();
                }
                // The worker's, not the catalog's (see the worker's reader).
                LakeChange::ResultCacheCleared { .. } => {}
            }
        }
    }

    fn current_epoch(&self) -> u64 {
        self.epoch.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// Where the cache stands before a load: its epoch and the reports applied.
    fn load_mark(&self) -> (u64, u64) {
        (self.current_epoch(), *self.applied.lock())
    }

    /// Stores an entry loaded since `mark` with `store`, expired if a report
    /// was applied meanwhile (the load may have read the catalog before the
    /// change the report names).
    fn store_loaded(&self, mark: (u64, u64), store: impl FnOnce(u64)) {
        let applied = self.applied.lock();
        store(if *applied == mark.1 { mark.0 } else { EXPIRED });
    }

    /// Whether a cache entry may be used without asking the catalog.
    fn is_fresh<T>(&self, c: &Cached<T>) -> bool {
        c.epoch == self.current_epoch() && c.loaded.elapsed() < self.config.refresh
    }

    pub(crate) fn parquet_cache(&self) -> &ParquetCache {
        &self.parquet
    }

    /// Schemas and tables as the catalog has them now (no cache).
    pub async fn listing_fresh(&self) -> Result<Arc<Listing>> {
        self.forget_listing();
        self.listing().await
    }

    /// Drops the cached listing: the next statement lists the catalog again.
    pub fn forget_listing(&self) {
        *self.lock_listing() = None;
    }

    /// Schemas and tables, listed again once the refresh interval has passed.
    pub async fn listing(&self) -> Result<Arc<Listing>> {
        if let Some(c) = self.lock_listing().as_ref() {
            if self.is_fresh(c) {
                return Ok(c.value.clone());
            }
        }
        let mark = self.load_mark();
        let listing = Arc::new(self.list_all().await?);
        self.store_loaded(mark, |epoch| {
            *self.lock_listing() = Some(Arc::new(Cached {
                value: listing.clone(),
                loaded: Instant::now(),
                epoch,
            }))
        });
        Ok(listing)
    }

    fn lock_listing(&self) -> parking_lot::MutexGuard<'_, Option<Arc<Cached<Arc<Listing>>>>> {
        self.listing.lock()
    }

    async fn list_all(&self) -> Result<Listing> {
        let views = self.list_views().await?;
        let sequences = self.list_sequences().await?;
        let mut schemas = Vec::new();
        let mut pending: Vec<Option<NamespaceIdent>> = vec![None];
        while let Some(parent) = pending.pop() {
            for ns in self.catalog.list_namespaces(parent.as_ref()).await? {
                let tables = self
                    .catalog
                    .list_tables(&ns)
                    .await?
                    .into_iter()
                    .map(|t| t.name().to_string())
                    .collect();
                let properties = self.catalog.get_namespace(&ns).await?.properties().clone();
                let name = ns.as_ref().join(".");
                schemas.push(SchemaEntry {
                    views: views
                        .iter()
                        .filter(|(n, _)| n == &name)
                        .map(|(_, v)| v.clone())
                        .collect(),
                    sequences: sequences
                        .iter()
                        .filter(|(n, _)| n == &name)
                        .map(|(_, v)| v.clone())
                        .collect(),
                    name,
                    ident: ns.clone(),
                    tables,
                    parquet: registrations(&properties),
                });
                pending.push(Some(ns));
            }
        }
        schemas.sort_by(|a, b| a.name.cmp(&b.name));
        for s in &mut schemas {
            s.tables.sort();
            s.views.sort();
            s.sequences.sort();
        }
        Ok(Listing::new(schemas))
    }

    /// A table's metadata, loaded again once the refresh interval has passed.
    pub async fn table(&self, ident: &TableIdent) -> Result<Table> {
        if let Some(c) = self.tables.get(ident) {
            if self.is_fresh(&c) {
                return Ok(c.value.clone());
            }
        }
        let mark = self.load_mark();
        let table = self.catalog.load_table(ident).await.map_err(|e| {
            if e.kind() == iceberg::ErrorKind::TableNotFound {
                CatalogError::NoSuchTable(display(ident))
            } else {
                CatalogError::Iceberg(e)
            }
        })?;
        // An unchanged table keeps its Table value, whose object cache holds the
        // manifest lists and manifests already read: only a new metadata file
        // (a commit) costs a fresh read of them.
        let table = match self.tables.get(ident) {
            Some(old) if old.value.metadata_location() == table.metadata_location() => {
                old.value.clone()
            }
            _ => table,
        };
        self.store_loaded(mark, |epoch| {
            self.tables.insert(
                ident.clone(),
                Arc::new(Cached {
                    value: table.clone(),
                    loaded: Instant::now(),
                    epoch,
                }),
            )
        });
        Ok(table)
    }
}
