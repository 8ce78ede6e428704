//! `floe-worker` owns query execution: a DuckDB database behind a Postgres wire
//! protocol back-end. It accepts Postgres connections, runs each session's SQL on
//! its own DuckDB connection, and streams results by encoding DuckDB's column
//! vectors straight into `DataRow` messages. It also owns the DuckDB sandbox (no
//! file access outside Floe's directories, no extensions, locked configuration) and
//! the mapping of DuckDB types and errors to Postgres ones, and the read path into
//! the lakehouse: lake-table references become `read_parquet` scans over files
//! made local by the SSD cache.

pub mod cache;
pub mod codec;
pub mod compat;
pub mod copy;
pub mod engine;
pub mod functions;
pub mod lake;
pub mod pg_error;
pub mod server;
pub mod session;
pub mod wire;

pub use cache::files::FileCache;
pub use engine::sandbox::{open_sandboxed, SandboxConfig};
pub use lake::LakeReader;
pub use server::Worker;
