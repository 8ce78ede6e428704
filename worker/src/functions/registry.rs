//! Every native function registered on a new engine connection, in one list.

use crate::engine::duck::{Connection, DuckError};

/// Registers Floe's native functions (`timezone` and the zoned date
/// functions, see `zone_functions`; `to_date`, `to_timestamp` and
/// `to_char` of numbers, `template_functions`; the `justify_*`
/// functions, `interval_functions`; timestamptz ± interval,
/// `zoned_arithmetic`; `initcap`, `string_functions`; numeric division,
/// `numeric_division`; `age`, `make_timestamptz` and `date_trunc` in a
/// named zone, `zoned_calendar`; PostgreSQL's JSON layouts, `json_text`;
/// `date_bin`; `sum(interval)`, `interval_sum`; lake sequences, `sequences`)
/// on the engine `conn` belongs to.
pub fn register_all(conn: &Connection) -> Result<(), DuckError> {
    use crate::functions::{
        clock, date_bin, date_part, interval, interval_sum, interval_to_char, json_text,
        numeric_division, sequences, string, template, text_casts, zone, zoned_arithmetic,
        zoned_calendar,
    };
    type Register = unsafe fn(duckdb::ffi::duckdb_connection) -> Result<(), String>;
    const ALL: [Register; 15] = [
        zone::register,
        template::register,
        interval::register,
        zoned_arithmetic::register,
        date_part::register,
        text_casts::register,
        clock::register,
        interval_to_char::register,
        string::register,
        numeric_division::register,
        zoned_calendar::register,
        json_text::register,
        date_bin::register,
        interval_sum::register,
        sequences::register,
    ];
    let raw = conn.raw();
    for register in ALL {
        // SAFETY: `raw` is this open connection.
        unsafe { register(raw) }.map_err(DuckError::new)?;
    }
    Ok(())
}
