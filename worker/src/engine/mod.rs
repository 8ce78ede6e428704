//! The embedded engine: one DuckDB database per worker, opened locked down
//! (`sandbox`: no file access outside Floe's directories, no extensions, settings
//! frozen), and the connection each session runs its statements on (`duck`).

pub mod duck;
pub mod sandbox;
