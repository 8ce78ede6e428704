//! Every native function registered on a new engine connection, in one list.

use crate::engine::duck::{Connection, DuckError};

/// Registers Floe's native functions (`timezone` and the zoned date
/// functions, see `zone_functions`; `to_date`, `to_timestamp` and
/// `to_char` of numbers, `template_functions`; the `justify_*`
/// functions, `interval_functions`; timestamptz ± interval,
/// `zoned_arithmetic`; `initcap`, `string_functions`; numeric division,
/// `numeric_division`; `age`, `make_timestamptz` and `date_trunc` in a
/// named zone, `zoned_calendar`; PostgreSQL's JSON layouts, `json_text`;
/// `date_bin`; `sum(interval)`, `interval_sum`)
/// on the engine `conn` belongs to.
pub fn register_all(conn: &Connection) -> Result<(), DuckError> {
    let raw = conn.raw();
    // SAFETY: `raw` is this open connection.
    unsafe {
        crate::functions::zone::register(raw)
            .and_then(|()| crate::functions::template::register(raw))
            .and_then(|()| crate::functions::interval::register(raw))
            .and_then(|()| crate::functions::zoned_arithmetic::register(raw))
            .and_then(|()| crate::functions::date_part::register(raw))
            .and_then(|()| crate::functions::text_casts::register(raw))
            .and_then(|()| crate::functions::clock::register(raw))
            .and_then(|()| crate::functions::interval_to_char::register(raw))
            .and_then(|()| crate::functions::string::register(raw))
            .and_then(|()| crate::functions::numeric_division::register(raw))
            .and_then(|()| crate::functions::zoned_calendar::register(raw))
            .and_then(|()| crate::functions::json_text::register(raw))
            .and_then(|()| crate::functions::date_bin::register(raw))
            .and_then(|()| crate::functions::interval_sum::register(raw))
    }
    .map_err(DuckError::new)
}
