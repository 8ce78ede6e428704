//! `floe-catalog` owns the lakehouse catalog: Iceberg catalogs (the embedded SQL
//! catalog on SQLite, REST for production) over `object_store` storage and a
//! bounded cache of table metadata (`lakehouse`, `object_storage`); the objects
//! SQL sees (`objects`); transactions and snapshot commits (`txn`); scan planning
//! with partition and statistics pruning from SQL predicates (`scan`); and
//! PostgreSQL 15's catalog as the lake appears in it (`pg_schema`).

pub mod data_files;
pub mod error;
pub mod lakehouse;
pub mod object_storage;
pub mod objects;
pub mod pg_schema;
pub mod scan;
#[cfg(test)]
mod test_lake;
pub mod txn;

pub use data_files::WrittenFile;
pub use error::CatalogError;
pub use lakehouse::{CatalogKind, LakeConfig, Lakehouse, Listing, SchemaEntry};
pub use objects::lake_view::LakeView;
pub use objects::parquet_source::{ParquetObject, ParquetSource};
pub use scan::{
    plan_scan, scan_columns, PlannedDelete, PlannedFile, ScanColumn, ScanPlan, SnapshotSelector,
};
pub use txn::LakeTxn;
