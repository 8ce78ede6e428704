//! The lakehouse as one worker reads it: the catalog, the SSD cache, the
//! staging directory for files the engine writes, and the last virtual
//! PostgreSQL schema built. Reading statements (`super`), views (`views`),
//! writes (`write`) and history (`history`) add their methods to
//! [`LakeReader`] in their own files.

use std::sync::Arc;

use floe_catalog::pg_schema::virtual_schema::VirtualSchema;
use floe_catalog::{CatalogError, LakeTxn, Lakehouse, Listing};
use iceberg::table::Table;
use iceberg::TableIdent;
use parking_lot::Mutex;

use crate::cache::files::FileCache;
use crate::pg_error::PgError;

/// The lakehouse as one worker reads it.
pub struct LakeReader {
    pub(super) lake: Lakehouse,
    pub(super) cache: FileCache,
    /// Where the engine writes files before they are uploaded.
    pub(super) staging: std::path::PathBuf,
    /// The last virtual schema built, keyed by listing and database name.
    pub(super) virtual_schema: Mutex<Option<CachedVirtualSchema>>,
}

/// A built virtual schema and what it was built from (the listing is held, so
/// a pointer comparison cannot mistake a new listing for a freed one).
pub(super) struct CachedVirtualSchema {
    pub(super) listing: Arc<Listing>,
    pub(super) database: String,
    pub(super) schema: Arc<VirtualSchema>,
}

impl LakeReader {
    pub fn new(lake: Lakehouse, cache: FileCache, staging: std::path::PathBuf) -> Arc<LakeReader> {
        Arc::new(LakeReader {
            lake,
            cache,
            staging,
            virtual_schema: Mutex::new(None),
        })
    }

    /// Schemas and tables as a statement sees them (inside a transaction, with
    /// its changes).
    pub fn listing(
        &self,
        txn: Option<&LakeTxn>,
        runtime: &tokio::runtime::Handle,
    ) -> Result<Arc<Listing>, PgError> {
        runtime
            .block_on(self.lake.listing_in(txn))
            .map_err(catalog_error)
    }

    /// A table as a statement sees it (inside a transaction, with its changes).
    pub fn table(
        &self,
        txn: Option<&LakeTxn>,
        ident: &TableIdent,
        runtime: &tokio::runtime::Handle,
    ) -> Result<Table, PgError> {
        runtime
            .block_on(self.lake.table_in(txn, ident))
            .map_err(catalog_error)
    }

    /// Drops the cached virtual schema after a catalog change made here.
    pub fn forget_virtual_schema(&self) {
        *self.virtual_schema.lock() = None;
    }

    /// The lakehouse, for the statements that change it (`CALL floe_register_…`).
    /// The staging directory for files the engine writes.
    pub fn staging_dir(&self) -> &std::path::Path {
        &self.staging
    }

    pub fn lakehouse(&self) -> &Lakehouse {
        &self.lake
    }

    /// The SSD cache's counters for the router's `/metrics`.
    pub fn cache_report(&self) -> Vec<(&'static str, u64)> {
        self.cache.report()
    }

    /// Bytes this worker has downloaded into the SSD cache so far.
    pub fn cache_downloaded_bytes(&self) -> u64 {
        self.cache
            .report()
            .iter()
            .find(|(name, _)| *name == "cache_downloaded_bytes")
            .map_or(0, |(_, v)| *v)
    }
}

pub(super) fn catalog_error(e: CatalogError) -> PgError {
    PgError::new(e.sqlstate(), e.to_string())
}
