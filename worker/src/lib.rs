//! `floe-worker` owns query execution: a DuckDB database behind a Postgres wire
//! protocol back-end. It accepts Postgres connections, runs each session's SQL on
//! its own DuckDB connection, and streams results by encoding DuckDB's column
//! vectors straight into `DataRow` messages. It also owns the DuckDB sandbox (no
//! file access outside Floe's directories, no extensions, locked configuration) and
//! the mapping of DuckDB types and errors to Postgres ones, and the read path into
//! the lakehouse: lake-table references become `read_parquet` scans over files
//! made local by the SSD cache.

pub mod catalog_functions;
pub mod clock_functions;
pub mod copy_command;
pub mod copy_in;
pub mod copy_out;
pub mod date_bin;
pub mod date_part_functions;
pub mod date_parts;
pub mod duck;
pub mod file_cache;
pub mod integer_aggregates;
pub mod interval_functions;
pub mod interval_sum;
pub mod json_text;
pub mod jsonb_text;
pub mod lake;
pub mod lake_history;
pub mod lake_partition;
pub mod lake_procedures;
pub mod lake_refs;
pub mod lake_scan_sql;
pub mod lake_schema;
pub mod lake_views;
pub mod lake_write;
pub mod native_functions;
pub mod numeric_division;
pub mod params;
pub mod pg_compat;
pub mod pg_error;
pub mod pg_interval_to_char;
pub mod pg_number_format;
pub mod pg_result_types;
pub mod pg_text;
pub mod pg_to_char;
pub mod pg_to_date;
pub mod reg_names;
pub mod row_encoder;
pub mod sandbox;
pub mod server;
pub mod session;
pub mod settings;
pub mod socket_writer;
pub mod sql_text;
pub mod string_functions;
pub mod template_functions;
pub mod text_casts;
pub mod types;
pub mod wire;
pub mod zone_functions;
pub mod zoned_arithmetic;
pub mod zoned_calendar;

pub use file_cache::FileCache;
pub use lake::LakeReader;
pub use sandbox::{open_sandboxed, SandboxConfig};
pub use server::Worker;
