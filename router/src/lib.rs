//! `floe-router` owns the client-facing front-end: it accepts Postgres clients,
//! authenticates them, pins each session to one worker (the least loaded healthy
//! one), relays messages both ways without re-encoding rows, maps cancel requests
//! to the worker running the query, and turns a worker's death into a clean
//! Postgres error for its sessions only.

pub mod admin;
pub mod compat;
pub mod frontend;
pub mod relay;
pub mod route;
pub mod service;

pub use route::workers::WorkerSet;
pub use service::{Router, RouterConfig};
