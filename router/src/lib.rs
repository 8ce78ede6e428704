//! `floe-router` will own the client-facing front-end: TLS and authentication,
//! SQL analysis with sqlparser (classification, policy, Postgres-dialect
//! rewrites), session balancing over workers, cancel mapping and the result cache.
//! Until it lands, `floe serve` exposes the worker's Postgres listener directly
//! (on loopback only).
