//! The catalog's objects as SQL sees them: namespaces (schemas), Iceberg tables
//! (create, alter, drop, rename, comments), views (Iceberg views read into
//! `LakeView`s), registered Parquet tables, sequences, the defaults and
//! constraints a table keeps in its properties, and the orphan files a failed
//! write leaves behind.

pub mod lake_view;
pub mod namespaces;
pub mod orphans;
pub mod parquet_source;
pub mod parquet_tables;
pub mod sequences;
pub mod table_rules;
pub mod tables;
pub mod views;
