//! PostgreSQL behaviour the router supplies on the way to a worker: statements
//! rewritten where the engine's dialect differs (`rewrite`), and the statements
//! about sessions (`pg_stat_activity`, `pg_cancel_backend`,
//! `pg_terminate_backend`) answered from the router's view of every session
//! (`activity`), and the fleet of workers as `pg_stat_floe_workers`
//! (`workers_view`).

pub mod activity;
pub mod rewrite;
pub mod workers_view;
