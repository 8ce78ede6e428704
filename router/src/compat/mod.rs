//! PostgreSQL behaviour the router supplies on the way to a worker: statements
//! rewritten where the engine's dialect differs (`rewrite`), and the statements
//! about sessions (`pg_stat_activity`, `pg_cancel_backend`,
//! `pg_terminate_backend`) answered from the router's view of every session
//! (`activity`), and the fleet of workers as `pg_stat_floe_workers`
//! (`workers_view`).

pub mod activity;
pub mod rewrite;
pub mod workers_view;

/// A point in time as the engine's SQL for it (`NULL` for none).
fn timestamp_sql(t: Option<std::time::SystemTime>) -> String {
    match t.and_then(|t| t.duration_since(std::time::SystemTime::UNIX_EPOCH).ok()) {
        Some(d) => format!("to_timestamp({}.{:06})", d.as_secs(), d.subsec_micros()),
        None => "NULL::TIMESTAMPTZ".into(),
    }
}
