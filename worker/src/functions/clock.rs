//! PostgreSQL's clock functions that the engine (built without time zone
//! support) lacks: `current_time` (a `time with time zone` on the session's
//! wall clock), `clock_timestamp()` (the instant of the call, unlike `now()`,
//! the transaction's start) and the precision forms `current_timestamp(p)`,
//! `current_time(p)`, `localtimestamp(p)`, `localtime(p)`, which round the
//! fraction of a second to `p` digits. The native functions are here; the
//! SQL names are session macros in `pg_compat` built on them.

use std::time::{SystemTime, UNIX_EPOCH};

use duckdb::ffi;

use crate::codec::text::SessionTz;
use crate::functions::types::{TIMESTAMPTZ, TIME_TZ};
use crate::functions::zone::{bind_session_zone, bound_zone};
use crate::functions::{self, row_count, set_null, Argument, Native};

/// Microseconds in a day.
const DAY_MICROS: i64 = 86_400_000_000;

/// Registers `floe_time_tz` and `clock_timestamp`.
///
/// # Safety
/// `conn` must be an open connection.
pub unsafe fn register(conn: ffi::duckdb_connection) -> Result<(), String> {
    functions::register(
        conn,
        &Native::scalar("floe_time_tz", &[TIMESTAMPTZ], TIME_TZ, time_tz)
            .with_bind(bind_session_zone),
    )?;
    functions::register_volatile(
        conn,
        &Native::scalar("clock_timestamp", &[], TIMESTAMPTZ, clock_timestamp),
    )
}

/// The time of day and offset an instant has on the wall clock of `zone`:
/// (microseconds since midnight, seconds east of UTC).
pub fn time_of_day_in(utc_micros: i64, zone: &SessionTz) -> (i64, i32) {
    let offset = zone.offset_at(utc_micros);
    let local = utc_micros.saturating_add(i64::from(offset) * 1_000_000);
    (local.rem_euclid(DAY_MICROS), offset)
}

native_scalar! {
    fn time_tz(info, input, output) {
        let zone = bound_zone(info);
        let instants = Argument::<i64>::of(input, 0);
        let out = ffi::duckdb_vector_get_data(output).cast::<ffi::duckdb_time_tz>();
        for row in 0..row_count(input) {
            match instants.get(row) {
                Some(v) => {
                    let (micros, offset) = time_of_day_in(v, &zone);
                    out.add(row)
                        .write(ffi::duckdb_create_time_tz(micros, offset));
                }
                None => set_null(output, row as u64),
            }
        }
    }
}

native_scalar! {
    fn clock_timestamp(info, input, output) {
        let out = ffi::duckdb_vector_get_data(output).cast::<i64>();
        for row in 0..row_count(input) {
            let now = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| i64::try_from(d.as_micros()).unwrap_or(i64::MAX));
            out.add(row).write(now);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_time_of_day_is_read_on_the_zones_wall_clock() {
        // 2024-01-01 00:30 UTC is 01:30 in Paris (+01) and 19:30 the day
        // before in New York (-05).
        let t = 1_704_069_000_000_000;
        let paris = SessionTz::parse("Europe/Paris").expect("zone");
        let new_york = SessionTz::parse("America/New_York").expect("zone");
        assert_eq!(time_of_day_in(t, &paris), (5_400_000_000, 3_600));
        assert_eq!(time_of_day_in(t, &new_york), (70_200_000_000, -18_000));
        assert_eq!(time_of_day_in(t, &SessionTz::Fixed(0)), (1_800_000_000, 0));
    }
}
