//! `floe-router` owns the client-facing front-end: it accepts Postgres clients,
//! authenticates them, pins each session to one worker (the least loaded healthy
//! one), relays messages both ways without re-encoding rows, maps cancel requests
//! to the worker running the query, and turns a worker's death into a clean
//! Postgres error for its sessions only.

pub mod activity;
pub mod auth;
pub mod backend;
pub mod cancel;
pub mod limits;
pub mod metrics;
pub mod policy;
pub mod pool;
pub mod proxy;
pub mod rewrite;
pub mod spin;
pub mod tls;
pub mod workers;

pub use proxy::{Router, RouterConfig};
pub use workers::WorkerSet;
