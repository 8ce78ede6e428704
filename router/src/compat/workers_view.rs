//! `pg_stat_floe_workers`: the router's fleet as a view, one row per worker
//! (id, address, state, client sessions, running statements, when it started,
//! how often it was restarted). Like `pg_stat_activity` it is answered from the
//! router's own state: a reference is replaced with a VALUES list (see
//! `super::activity::rewrite`). Worker addresses are shown to superusers only.

use floe_protocol::ListenAddr;
use floe_sql::quote::literal as lit;

use super::timestamp_sql;
use crate::route::workers::WorkerSet;

/// The fleet as a SQL subquery with the view's columns; `running` counts the
/// statements running on a worker.
pub fn subquery(
    workers: &WorkerSet,
    running: impl Fn(&ListenAddr) -> usize,
    superuser: bool,
) -> String {
    let rows: Vec<String> = workers
        .slots()
        .iter()
        .map(|w| {
            let address = if superuser {
                lit(&w.addr.to_string())
            } else {
                "NULL".to_string()
            };
            format!(
                "({id}, {address}, {state}, {sessions}, {running}, {started}, {restarts})",
                id = w.id,
                state = lit(w.state().name()),
                sessions = w.sessions(),
                running = running(&w.addr),
                started = timestamp_sql(Some(w.started_at)),
                restarts = w.restarts(),
            )
        })
        .collect();
    // A typed empty row keeps the columns' types when there are no workers.
    let values = if rows.is_empty() {
        "SELECT * FROM (VALUES (0, NULL, NULL, 0, 0, NULL::TIMESTAMPTZ, 0)) AS e(id, address, state, sessions, running, started_at, restarts) WHERE false".to_string()
    } else {
        format!(
            "SELECT * FROM (VALUES {}) AS w(id, address, state, sessions, running, started_at, restarts)",
            rows.join(", ")
        )
    };
    format!(
        "(SELECT id::INTEGER AS id, address::VARCHAR AS address, state::VARCHAR AS state, \
         sessions::INTEGER AS sessions, running::INTEGER AS running_statements, \
         started_at::TIMESTAMPTZ AS started_at, restarts::BIGINT AS restarts FROM ({values}))"
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::route::workers::{PoolSettings, WorkerState};

    #[tokio::test]
    async fn one_row_per_worker_addresses_for_superusers_only() {
        let set = WorkerSet::new(
            vec!["unix:/w0".parse().expect("a")],
            PoolSettings::default(),
        );
        set.add(1, "unix:/w1".parse().expect("b"), WorkerState::Starting);
        let su = subquery(&set, |_| 2, true);
        assert!(
            su.contains("(0, 'unix:/w0', 'ready', 0, 2, to_timestamp("),
            "{su}"
        );
        assert!(su.contains("(1, 'unix:/w1', 'starting', 0, 2, "), "{su}");
        let other = subquery(&set, |_| 0, false);
        assert!(
            !other.contains("unix:/w0") && other.contains("(0, NULL, 'ready'"),
            "{other}"
        );
        let none = subquery(
            &WorkerSet::new(vec![], PoolSettings::default()),
            |_| 0,
            true,
        );
        assert!(none.contains("WHERE false"), "{none}");
    }
}
