//! Commands beside `serve`, `router` and `worker`: `floe user` and `floe passwd`
//! (users and password verifiers in the configuration file, `users`) and
//! `floe load tpch` (TPC-H generated and loaded as Iceberg tables, `load_tpch`).

pub mod load_tpch;
pub mod users;
