//! PostgreSQL behaviour the router supplies on the way to a worker: statements
//! rewritten where the engine's dialect differs (`rewrite`), and the statements
//! about sessions (`pg_stat_activity`, `pg_cancel_backend`,
//! `pg_terminate_backend`) answered from the router's view of every session
//! (`activity`).

pub mod activity;
pub mod rewrite;
