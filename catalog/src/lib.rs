//! `floe-catalog` owns the lakehouse catalog: Iceberg catalogs (the embedded SQL
//! catalog on SQLite, REST for production) over `object_store` storage, a bounded
//! cache of table metadata, scan planning with partition and statistics pruning
//! from SQL predicates, and the type mapping the virtual Postgres schema shows.

pub mod commit;
pub mod data_files;
pub mod error;
pub mod lake_view;
pub mod lakehouse;
pub mod namespaces;
pub mod object_storage;
pub mod orphans;
pub mod parquet_source;
pub mod parquet_tables;
pub mod pg15_catalog;
pub mod pg15_rows;
pub mod pruning;
pub mod relations;
mod rest_commit;
pub mod scan;
pub mod tables;
pub mod transaction;
pub mod types;
pub mod view_definitions;
pub mod views;
pub mod virtual_schema;

pub use data_files::WrittenFile;
pub use error::CatalogError;
pub use lake_view::LakeView;
pub use lakehouse::{CatalogKind, LakeConfig, Lakehouse, Listing, SchemaEntry};
pub use parquet_source::{ParquetObject, ParquetSource};
pub use scan::{plan_scan, PlannedDelete, PlannedFile, ScanColumn, ScanPlan, SnapshotSelector};
pub use transaction::LakeTxn;
