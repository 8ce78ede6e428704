//! PostgreSQL compatibility the engine is given at start and per session: SQL
//! macros standing in for PostgreSQL's functions and operators (`macros`), catalog
//! information functions (`catalog_functions`), OID-alias names (`reg_names`) and
//! the run-time settings a session can SET and SHOW (`settings`).

pub mod catalog_functions;
pub mod macros;
pub mod reg_names;
pub mod settings;
