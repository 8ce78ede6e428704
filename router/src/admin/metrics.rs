//! Router metrics: counters by error kind (SQLSTATE), statement class and
//! protocol, the latency histogram, sessions, and the workers' own counters,
//! rendered in Prometheus text format.

use parking_lot::Mutex;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use crate::route::workers::{WorkerSet, WorkerState, WorkerStats};

/// Upper bounds (seconds) of the query latency histogram buckets.
const BUCKETS: [f64; 12] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0, 5.0, 30.0,
];

/// A counter with one label (SQLSTATE, statement class, …).
#[derive(Default)]
struct LabeledCounter(Mutex<BTreeMap<String, u64>>);

impl LabeledCounter {
    fn map(&self) -> parking_lot::MutexGuard<'_, BTreeMap<String, u64>> {
        self.0.lock()
    }

    fn add(&self, key: &str) {
        let mut m = self.map();
        match m.get_mut(key) {
            Some(v) => *v += 1,
            None => {
                m.insert(key.to_string(), 1);
            }
        }
    }

    /// (`{label="key"}`, count) pairs for the exposition.
    fn lines(&self, label: &str) -> Vec<(String, u64)> {
        self.map()
            .iter()
            .map(|(k, v)| (format!("{{{label}=\"{k}\"}}"), *v))
            .collect()
    }
}

#[derive(Default)]
pub struct Metrics {
    pub sessions_total: AtomicU64,
    pub sessions_active: AtomicU64,
    pub auth_failures_total: AtomicU64,
    pub queries_simple: AtomicU64,
    pub queries_extended: AtomicU64,
    errors: LabeledCounter,
    classes: LabeledCounter,
    /// Sessions moved between workers, by why (`drain`, `balance`).
    moves: LabeledCounter,
    /// Moves given up, by why the session stayed.
    moves_refused: LabeledCounter,
    latency_buckets: [AtomicU64; BUCKETS.len()],
    latency_count: AtomicU64,
    latency_sum_micros: AtomicU64,
}

impl Metrics {
    pub fn new() -> Arc<Metrics> {
        Arc::new(Metrics::default())
    }

    pub fn error(&self, sqlstate: &str) {
        self.errors.add(sqlstate);
    }

    /// Counts a session moved to another worker.
    pub fn moved(&self, why: &str) {
        self.moves.add(why);
    }

    /// Counts a move given up (`held` — the session holds state only its
    /// worker has —, `no_worker`, `failed`).
    pub fn move_refused(&self, why: &str) {
        self.moves_refused.add(why);
    }

    /// Counts a statement by class (query, dml, ddl, session, catalog, other).
    pub fn statement(&self, class: crate::relay::gate::StatementClass) {
        self.classes.add(class.as_str());
    }

    /// Records one round trip (request to ReadyForQuery).
    pub fn latency(&self, d: Duration) {
        let secs = d.as_secs_f64();
        for (i, le) in BUCKETS.iter().enumerate() {
            if secs <= *le {
                self.latency_buckets[i].fetch_add(1, Ordering::Relaxed);
            }
        }
        self.latency_count.fetch_add(1, Ordering::Relaxed);
        self.latency_sum_micros
            .fetch_add(d.as_micros() as u64, Ordering::Relaxed);
    }

    /// The Prometheus exposition of all metrics.
    pub fn render(&self, workers: &WorkerSet, worker_stats: &[WorkerStats]) -> String {
        let mut out = String::new();
        let load = |a: &AtomicU64| a.load(Ordering::Relaxed);
        let mut counter = |name: &str, help: &str, kind: &str, lines: Vec<(String, u64)>| {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
            for (labels, v) in lines {
                let _ = writeln!(out, "{name}{labels} {v}");
            }
        };
        counter(
            "floe_sessions_total",
            "Client sessions started.",
            "counter",
            vec![(String::new(), load(&self.sessions_total))],
        );
        counter(
            "floe_sessions_active",
            "Client sessions open now.",
            "gauge",
            vec![(String::new(), load(&self.sessions_active))],
        );
        counter(
            "floe_auth_failures_total",
            "Failed client authentications.",
            "counter",
            vec![(String::new(), load(&self.auth_failures_total))],
        );
        counter(
            "floe_queries_total",
            "Queries by protocol (simple Query messages, extended Execute messages).",
            "counter",
            vec![
                ("{protocol=\"simple\"}".into(), load(&self.queries_simple)),
                (
                    "{protocol=\"extended\"}".into(),
                    load(&self.queries_extended),
                ),
            ],
        );
        counter(
            "floe_errors_total",
            "Errors sent to clients, by SQLSTATE.",
            "counter",
            self.errors.lines("sqlstate"),
        );
        counter(
            "floe_statements_total",
            "Statements by class, as the router classified them.",
            "counter",
            self.classes.lines("class"),
        );
        counter(
            "floe_session_moves_total",
            "Sessions moved to another worker between statements, by reason.",
            "counter",
            self.moves.lines("reason"),
        );
        counter(
            "floe_session_moves_refused_total",
            "Session moves given up, by why the session stayed.",
            "counter",
            self.moves_refused.lines("why"),
        );
        counter(
            "floe_worker_up",
            "Whether the worker is healthy (1) or not (0).",
            "gauge",
            workers
                .slots()
                .iter()
                .map(|s| {
                    (
                        format!("{{worker=\"{}\"}}", s.addr),
                        u64::from(s.is_healthy()),
                    )
                })
                .collect(),
        );
        counter(
            "floe_workers",
            "Workers by state (starting, ready, draining).",
            "gauge",
            [
                WorkerState::Starting,
                WorkerState::Ready,
                WorkerState::Draining,
            ]
            .iter()
            .map(|state| {
                let n = workers
                    .slots()
                    .iter()
                    .filter(|s| s.state() == *state)
                    .count();
                (format!("{{state=\"{}\"}}", state.name()), n as u64)
            })
            .collect(),
        );
        counter(
            "floe_workers_added_total",
            "Workers started because load grew.",
            "counter",
            vec![(String::new(), workers.events.added.load(Ordering::Relaxed))],
        );
        counter(
            "floe_workers_removed_total",
            "Idle workers drained and stopped because load fell.",
            "counter",
            vec![(
                String::new(),
                workers.events.removed.load(Ordering::Relaxed),
            )],
        );
        counter(
            "floe_worker_sessions",
            "Client sessions pinned to each worker.",
            "gauge",
            workers
                .slots()
                .iter()
                .map(|s| (format!("{{worker=\"{}\"}}", s.addr), s.sessions() as u64))
                .collect(),
        );
        for (stat, name, help, kind) in WORKER_STATS {
            counter(
                name,
                help,
                kind,
                worker_stats
                    .iter()
                    .filter_map(|w| {
                        let v = w.values.iter().find(|(k, _)| k == stat)?.1;
                        Some((format!("{{worker=\"{}\"}}", w.worker), v))
                    })
                    .collect(),
            );
        }
        let _ = writeln!(
            out,
            "# HELP floe_query_duration_seconds Time from a request to ReadyForQuery.\n# TYPE floe_query_duration_seconds histogram"
        );
        for (i, le) in BUCKETS.iter().enumerate() {
            let _ = writeln!(
                out,
                "floe_query_duration_seconds_bucket{{le=\"{le}\"}} {}",
                load(&self.latency_buckets[i])
            );
        }
        let count = load(&self.latency_count);
        let _ = writeln!(
            out,
            "floe_query_duration_seconds_bucket{{le=\"+Inf\"}} {count}"
        );
        let _ = writeln!(
            out,
            "floe_query_duration_seconds_sum {}\nfloe_query_duration_seconds_count {count}",
            load(&self.latency_sum_micros) as f64 / 1e6
        );
        out
    }
}

/// The counters workers report (`FLOE STATS` name), as exported: the metric
/// name, its help and type. Each worker process counts its own; the SSD cache
/// directory itself is shared by the workers of one machine.
const WORKER_STATS: &[(&str, &str, &str, &str)] = &[
    (
        "cache_hits",
        "floe_cache_hits_total",
        "Data files served from the SSD cache.",
        "counter",
    ),
    (
        "cache_misses",
        "floe_cache_misses_total",
        "Data files downloaded into the SSD cache.",
        "counter",
    ),
    (
        "cache_downloaded_bytes",
        "floe_cache_downloaded_bytes_total",
        "Bytes downloaded into the SSD cache.",
        "counter",
    ),
    (
        "cache_evictions",
        "floe_cache_evictions_total",
        "Files evicted from the SSD cache.",
        "counter",
    ),
    (
        "cache_evicted_bytes",
        "floe_cache_evicted_bytes_total",
        "Bytes evicted from the SSD cache.",
        "counter",
    ),
    (
        "cache_used_bytes",
        "floe_cache_used_bytes",
        "SSD cache size as the worker last saw it.",
        "gauge",
    ),
    (
        "cache_max_bytes",
        "floe_cache_max_bytes",
        "SSD cache bound.",
        "gauge",
    ),
    (
        "result_cache_hits",
        "floe_result_cache_hits_total",
        "Statements answered from the result cache.",
        "counter",
    ),
    (
        "result_cache_misses",
        "floe_result_cache_misses_total",
        "Cacheable statements the result cache could not answer.",
        "counter",
    ),
    (
        "result_cache_stores",
        "floe_result_cache_stores_total",
        "Answers stored in the result cache.",
        "counter",
    ),
    (
        "result_cache_too_large",
        "floe_result_cache_too_large_total",
        "Answers over the result cache's entry bound.",
        "counter",
    ),
    (
        "result_cache_waits",
        "floe_result_cache_waits_total",
        "Statements that waited for another session's identical statement.",
        "counter",
    ),
    (
        "result_cache_evictions",
        "floe_result_cache_evictions_total",
        "Entries evicted from the result cache.",
        "counter",
    ),
    (
        "result_cache_entries",
        "floe_result_cache_entries",
        "Entries in the result cache.",
        "gauge",
    ),
    (
        "result_cache_used_bytes",
        "floe_result_cache_used_bytes",
        "Memory the result cache holds.",
        "gauge",
    ),
    (
        "result_cache_max_bytes",
        "floe_result_cache_max_bytes",
        "The result cache's memory bound.",
        "gauge",
    ),
    (
        "shared_results_hits",
        "floe_shared_results_hits_total",
        "Answers read from the files the machine's workers share.",
        "counter",
    ),
    (
        "shared_results_stores",
        "floe_shared_results_stores_total",
        "Answers written to the files the machine's workers share.",
        "counter",
    ),
    (
        "shared_results_bytes",
        "floe_shared_results_bytes",
        "Bytes of shared answer files (the directory is shared by the machine's workers).",
        "gauge",
    ),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_prometheus_text() {
        let m = Metrics::new();
        m.sessions_total.fetch_add(3, Ordering::Relaxed);
        m.error("22012");
        m.error("22012");
        m.latency(Duration::from_millis(2));
        let workers = WorkerSet::new(vec!["unix:/w0".parse().expect("addr")], Default::default());
        let stats = [WorkerStats {
            worker: "unix:/w0".into(),
            values: vec![("cache_hits".into(), 7), ("cache_used_bytes".into(), 100)],
        }];
        let text = m.render(&workers, &stats);
        assert!(text.contains("floe_cache_hits_total{worker=\"unix:/w0\"} 7"));
        assert!(text.contains("floe_cache_used_bytes{worker=\"unix:/w0\"} 100"));
        assert!(text.contains("# TYPE floe_cache_used_bytes gauge"));
        assert!(text.contains("floe_sessions_total 3"));
        assert!(text.contains("floe_errors_total{sqlstate=\"22012\"} 2"));
        assert!(text.contains("floe_worker_up{worker=\"unix:/w0\"} 1"));
        assert!(text.contains("floe_workers{state=\"ready\"} 1"));
        assert!(text.contains("floe_workers_added_total 0"));
        assert!(text.contains("floe_query_duration_seconds_bucket{le=\"0.0025\"} 1"));
        assert!(text.contains("floe_query_duration_seconds_bucket{le=\"0.001\"} 0"));
        assert!(text.contains("floe_query_duration_seconds_count 1"));
    }
}
