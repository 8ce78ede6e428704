//! `sum` and `avg` typed as PostgreSQL 15 types them: `sum` of a `smallint`
//! or `integer` is a `bigint` (the engine's is a 128-bit integer, which
//! clients would see as `numeric`), `avg` of an integer or a `numeric` is
//! the `numeric` quotient of the sum by the count, with PostgreSQL's scale
//! (`numeric_division`; the engine's is a `double precision`). The router
//! calls `floe_sum(` and `floe_avg(` (plain calls only: DISTINCT, FILTER and
//! ordered arguments keep the engine's aggregate); the session macros below
//! pick the PostgreSQL result by argument type. Floats average as floats
//! (`floe_div` keeps them so) and intervals with the engine's `avg`;
//! intervals sum part by part (`interval_sum`), which the engine cannot. A
//! window's average comes as `floe_avg(floe_window_sum(x) OVER w, count(x)
//! OVER w)`: the engine's sum (exact for integers), divided.

/// The session macros answering `floe_sum(x)` and `floe_avg(x)`. Their
/// parameters have names no client column has: the engine binds a macro
/// parameter named like a FROM item (`FROM generate_series(1, 4) x`) to
/// that item's row in a window.
pub const MACROS: &[&str] = &[
    "CREATE OR REPLACE TEMP MACRO floe_sum(floe_summed SMALLINT) AS CAST(sum(floe_summed) AS BIGINT), \
     (floe_summed INTEGER) AS CAST(sum(floe_summed) AS BIGINT), \
     (floe_summed INTERVAL) AS floe_interval_sum(floe_summed), (floe_summed) AS sum(floe_summed)",
    "CREATE OR REPLACE TEMP MACRO floe_avg(floe_averaged INTERVAL) AS avg(floe_averaged), \
     (floe_averaged) AS floe_div(sum(floe_averaged), count(floe_averaged)), \
     (floe_window_sum, floe_window_count) AS floe_div(floe_window_sum, floe_window_count)",
    "CREATE OR REPLACE TEMP MACRO floe_window_sum(floe_summed INTERVAL) AS floe_interval_sum(floe_summed), \
     (floe_summed) AS sum(floe_summed)",
];
