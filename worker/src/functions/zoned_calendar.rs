//! Calendar functions of `timestamptz` the engine (built without time zone
//! support) lacks or answers in UTC: `age` (the symbolic difference of wall
//! clock times, in the session's zone for `timestamptz`, from today's
//! midnight for one argument), `make_timestamptz` (a wall-clock time in the
//! session's or a named zone) and `date_trunc(unit, timestamptz, zone)`
//! (truncated on that zone's wall clock), and `generate_series` of
//! `timestamptz` (or `date`) bounds by an interval, stepping on the session's
//! wall clock (a day across a DST change is 23 or 25 hours) and giving
//! `timestamptz` values, as PostgreSQL does.

use std::time::{SystemTime, UNIX_EPOCH};

use chrono::{Datelike, NaiveDate, NaiveDateTime, Timelike};
use duckdb::ffi;

use crate::codec::text::SessionTz;
use crate::functions::interval::Parts;
use crate::functions::types::{DATE, DOUBLE, INTEGER, INTERVAL, TIMESTAMP, TIMESTAMPTZ, VARCHAR};
use crate::functions::zone::{
    bind_session_zone, bound_zone, instant_of, is_infinite, local_time, truncate_in_zone,
    zone_named,
};
use crate::functions::Call;
use crate::functions::{
    self, fail, row_count, set_null, write_or_fail, Argument, Callback, Native,
};

/// Registers `age`, `make_timestamptz`, the three-argument `date_trunc` and
/// the `timestamptz` series.
///
/// # Safety
/// `conn` must be an open connection.
pub unsafe fn register(conn: ffi::duckdb_connection) -> Result<(), String> {
    let zoned = |name, params, result, function: Callback| {
        Native::scalar(name, params, result, function).with_bind(bind_session_zone)
    };
    functions::register_set(
        conn,
        "age",
        &[
            zoned("age", &[TIMESTAMP, TIMESTAMP], INTERVAL, age_of_timestamps),
            zoned(
                "age",
                &[TIMESTAMPTZ, TIMESTAMPTZ],
                INTERVAL,
                age_of_instants,
            ),
            zoned("age", &[TIMESTAMP], INTERVAL, age_of_timestamp),
            zoned("age", &[TIMESTAMPTZ], INTERVAL, age_of_instant),
        ],
    )?;
    functions::register_set(
        conn,
        "make_timestamptz",
        &[
            zoned(
                "make_timestamptz",
                &[INTEGER, INTEGER, INTEGER, INTEGER, INTEGER, DOUBLE],
                TIMESTAMPTZ,
                make_timestamptz,
            ),
            zoned(
                "make_timestamptz",
                &[INTEGER, INTEGER, INTEGER, INTEGER, INTEGER, DOUBLE, VARCHAR],
                TIMESTAMPTZ,
                make_timestamptz,
            ),
        ],
    )?;
    functions::register(
        conn,
        &zoned(
            "date_trunc",
            &[VARCHAR, TIMESTAMPTZ, VARCHAR],
            TIMESTAMPTZ,
            date_trunc_in_zone,
        ),
    )?;
    register_series(conn, &[TIMESTAMPTZ, TIMESTAMPTZ, INTERVAL], instant_series)?;
    register_series(conn, &[DATE, DATE, INTERVAL], date_series)
}

/// The most values one series may have (the engine holds a series as one
/// list per row).
pub const MAX_SERIES_VALUES: usize = 10_000_000;

/// Adds a `generate_series` overload taking `params` and giving a list of
/// `timestamptz` values (the router unnests it) to the engine's own.
///
/// # Safety
/// `conn` must be an open connection.
unsafe fn register_series(
    conn: ffi::duckdb_connection,
    params: &[ffi::DUCKDB_TYPE],
    function: unsafe extern "C" fn(
        ffi::duckdb_function_info,
        ffi::duckdb_data_chunk,
        ffi::duckdb_vector,
    ),
) -> Result<(), String> {
    let name = std::ffi::CString::new("generate_series").map_err(|e| e.to_string())?;
    let mut f = ffi::duckdb_create_scalar_function();
    ffi::duckdb_scalar_function_set_name(f, name.as_ptr());
    for t in params {
        let mut lt = ffi::duckdb_create_logical_type(*t);
        ffi::duckdb_scalar_function_add_parameter(f, lt);
        ffi::duckdb_destroy_logical_type(&mut lt);
    }
    let mut element = ffi::duckdb_create_logical_type(TIMESTAMPTZ);
    let mut list = ffi::duckdb_create_list_type(element);
    ffi::duckdb_scalar_function_set_return_type(f, list);
    ffi::duckdb_destroy_logical_type(&mut list);
    ffi::duckdb_destroy_logical_type(&mut element);
    ffi::duckdb_scalar_function_set_bind(f, Some(bind_session_zone));
    ffi::duckdb_scalar_function_set_function(f, Some(function));
    let ok = ffi::duckdb_register_scalar_function(conn, f) == ffi::duckdb_state_DuckDBSuccess;
    ffi::duckdb_destroy_scalar_function(&mut f);
    ok.then_some(())
        .ok_or_else(|| "registering generate_series() failed".to_string())
}

/// The values from `start` to `stop` by `step` (each the previous plus the
/// step on the wall clock of `zone`), at most [`MAX_SERIES_VALUES`].
pub fn instants_between(
    start: i64,
    stop: i64,
    step: Parts,
    zone: &SessionTz,
) -> Result<Vec<i64>, String> {
    let forward = match (step.months, step.days, step.micros) {
        (0, 0, 0) => return Err("step size cannot equal zero".to_string()),
        (m, d, u) if m >= 0 && d >= 0 && u >= 0 => true,
        (m, d, u) if m <= 0 && d <= 0 && u <= 0 => false,
        // A mixed step moves as its months and days say first.
        (m, d, _) => m > 0 || (m == 0 && d > 0),
    };
    let mut values = Vec::new();
    let mut current = start;
    while (forward && current <= stop) || (!forward && current >= stop) {
        if values.len() == MAX_SERIES_VALUES {
            return Err(format!(
                "generate_series would return more than {MAX_SERIES_VALUES} values"
            ));
        }
        values.push(current);
        let next = crate::functions::zoned_arithmetic::add_interval(current, step, zone)?;
        if next == current {
            break;
        }
        current = next;
    }
    Ok(values)
}

/// Writes one series per row into the list vector `output`; `bounds` reads
/// a row's start and stop as instants.
unsafe fn series_rows(
    info: ffi::duckdb_function_info,
    input: ffi::duckdb_data_chunk,
    output: ffi::duckdb_vector,
    bounds: impl Fn(usize, &SessionTz) -> Option<(i64, i64)>,
) {
    let zone = bound_zone(info);
    let steps = Argument::<ffi::duckdb_interval>::of(input, 2);
    let entries = ffi::duckdb_vector_get_data(output).cast::<ffi::duckdb_list_entry>();
    let mut size: u64 = 0;
    for row in 0..row_count(input) {
        let (Some((start, stop)), Some(step)) = (bounds(row, &zone), steps.get(row)) else {
            set_null(output, row as u64);
            continue;
        };
        let step = Parts {
            months: i64::from(step.months),
            days: i64::from(step.days),
            micros: step.micros,
        };
        let values = match instants_between(start, stop, step, &zone) {
            Ok(v) => v,
            Err(message) => {
                fail(info, &message);
                return;
            }
        };
        let count = values.len() as u64;
        if ffi::duckdb_list_vector_reserve(output, size + count) != ffi::duckdb_state_DuckDBSuccess
        {
            fail(info, "out of memory for generate_series");
            return;
        }
        let child = ffi::duckdb_list_vector_get_child(output);
        let data = ffi::duckdb_vector_get_data(child).cast::<i64>();
        for (i, v) in values.iter().enumerate() {
            data.add(size as usize + i).write(*v);
        }
        entries.add(row).write(ffi::duckdb_list_entry {
            offset: size,
            length: count,
        });
        size += count;
        ffi::duckdb_list_vector_set_size(output, size);
    }
}

native_scalar! {
    fn instant_series(info, input, output) {
        let starts = Argument::<i64>::of(input, 0);
        let stops = Argument::<i64>::of(input, 1);
        series_rows(info, input, output, |row, _| {
            starts.get(row).zip(stops.get(row))
        });
    }
}

native_scalar! {
    /// A date bound is its midnight in the session's zone, as PostgreSQL casts
    /// a date to `timestamptz`.
    fn date_series(info, input, output) {
        let starts = Argument::<i32>::of(input, 0);
        let stops = Argument::<i32>::of(input, 1);
        let midnight = |day: i32, zone: &SessionTz| {
            let local = NaiveDate::from_epoch_days(day)?.and_hms_opt(0, 0, 0)?;
            Some(instant_of(local, zone))
        };
        series_rows(info, input, output, |row, zone| {
            let (a, b) = starts.get(row).zip(stops.get(row))?;
            midnight(a, zone).zip(midnight(b, zone))
        });
    }
}

/// PostgreSQL's `age(later, earlier)` of two wall-clock times: the field
/// differences, negative fields borrowed from the next larger one (a day
/// borrows the length of the earlier argument's month when `later` is the
/// later one, else of `later`'s month), as months, days and microseconds.
pub fn symbolic_age(t1: NaiveDateTime, t2: NaiveDateTime) -> ffi::duckdb_interval {
    let negative = t1 < t2;
    let flip = |v: i64| if negative { -v } else { v };
    let micros = |t: &NaiveDateTime| i64::from(t.nanosecond() / 1_000);
    let mut fsec = flip(micros(&t1) - micros(&t2));
    let mut sec = flip(i64::from(t1.second()) - i64::from(t2.second()));
    let mut min = flip(i64::from(t1.minute()) - i64::from(t2.minute()));
    let mut hour = flip(i64::from(t1.hour()) - i64::from(t2.hour()));
    let mut mday = flip(i64::from(t1.day()) - i64::from(t2.day()));
    let mut mon = flip(i64::from(t1.month()) - i64::from(t2.month()));
    let mut year = flip(i64::from(t1.year()) - i64::from(t2.year()));
    borrow(&mut fsec, &mut sec, 1_000_000);
    borrow(&mut sec, &mut min, 60);
    borrow(&mut min, &mut hour, 60);
    borrow(&mut hour, &mut mday, 24);
    // The month whose length a negative day count borrows.
    let borrowed = if negative { t1 } else { t2 };
    borrow(
        &mut mday,
        &mut mon,
        days_in_month(borrowed.year(), borrowed.month()),
    );
    borrow(&mut mon, &mut year, 12);
    let time = ((hour * 60 + min) * 60 + sec) * 1_000_000 + fsec;
    ffi::duckdb_interval {
        months: flip(year * 12 + mon) as i32,
        days: flip(mday) as i32,
        micros: flip(time),
    }
}

/// PostgreSQL's borrowing between fields: while `field` is negative, one unit
/// of the next larger field becomes `base` of it (`base` is positive).
fn borrow(field: &mut i64, next: &mut i64, base: i64) {
    while *field < 0 {
        *field += base;
        *next -= 1;
    }
}

fn days_in_month(year: i32, month: u32) -> i64 {
    let first = NaiveDate::from_ymd_opt(year, month, 1);
    let next = if month == 12 {
        NaiveDate::from_ymd_opt(year + 1, 1, 1)
    } else {
        NaiveDate::from_ymd_opt(year, month + 1, 1)
    };
    match (first, next) {
        (Some(a), Some(b)) => (b - a).num_days(),
        _ => 30,
    }
}

fn wall_clock(micros: i64) -> Option<NaiveDateTime> {
    chrono::DateTime::from_timestamp_micros(micros).map(|d| d.naive_utc())
}

/// Today's midnight on the session's wall clock (`current_date`).
fn todays_midnight(zone: &SessionTz) -> Option<NaiveDateTime> {
    let now = SystemTime::now().duration_since(UNIX_EPOCH).ok()?;
    let now = i64::try_from(now.as_micros()).ok()?;
    local_time(now, zone)?.date().and_hms_opt(0, 0, 0)
}

/// Writes `age` of each row's pair of wall-clock times.
unsafe fn ages(
    Call(info, input, output): Call,
    wall: impl Fn(i64, &SessionTz) -> Option<NaiveDateTime>,
    one_argument: bool,
) {
    let zone = bound_zone(info);
    let firsts = Argument::<i64>::of(input, 0);
    let seconds = (!one_argument).then(|| Argument::<i64>::of(input, 1));
    let out = ffi::duckdb_vector_get_data(output).cast::<ffi::duckdb_interval>();
    for row in 0..row_count(input) {
        let pair = match &seconds {
            Some(s) => firsts.get(row).zip(s.get(row)),
            None => firsts.get(row).map(|earlier| (i64::MIN, earlier)),
        };
        let Some((later, earlier)) = pair else {
            set_null(output, row as u64);
            continue;
        };
        if is_infinite(earlier) || (later != i64::MIN && is_infinite(later)) {
            fail(info, "interval out of range");
            return;
        }
        let later = if one_argument {
            todays_midnight(&zone)
        } else {
            wall(later, &zone)
        };
        let (Some(t1), Some(t2)) = (later, wall(earlier, &zone)) else {
            fail(info, "timestamp out of range");
            return;
        };
        out.add(row).write_unaligned(symbolic_age(t1, t2));
    }
}

native_scalar! {
    fn age_of_timestamps => ages(|t, _| wall_clock(t), false);
    fn age_of_instants => ages(local_time, false);
    fn age_of_timestamp => ages(|t, _| wall_clock(t), true);
    fn age_of_instant => ages(local_time, true);
}

/// The wall-clock time of `make_timestamp`'s fields; `Err` as PostgreSQL
/// words a field out of range.
pub fn wall_time_of(
    year: i32,
    month: i32,
    day: i32,
    hour: i32,
    min: i32,
    sec: f64,
) -> Result<NaiveDateTime, String> {
    let out_of_range = || format!("date field value out of range: {year}-{month:02}-{day:02}");
    // PostgreSQL counts years BC as negative (there is no year 0).
    let year = if year < 0 {
        year + 1
    } else if year == 0 {
        return Err(out_of_range());
    } else {
        year
    };
    let date = NaiveDate::from_ymd_opt(
        year,
        u32::try_from(month).map_err(|_| out_of_range())?,
        u32::try_from(day).map_err(|_| out_of_range())?,
    )
    .ok_or_else(out_of_range)?;
    let time_error = || format!("time field value out of range: {hour}:{min:02}:{sec:02}");
    // 24:00:00 is the next midnight, as in PostgreSQL.
    let next_midnight = hour == 24 && min == 0 && sec == 0.0;
    if !next_midnight
        && (!(0.0..60.0).contains(&sec) || !(0..24).contains(&hour) || !(0..60).contains(&min))
    {
        return Err(time_error());
    }
    let micros = (sec * 1_000_000.0).round() as i64;
    let base = date.and_hms_opt(0, 0, 0).ok_or_else(time_error)?;
    Ok(base
        + chrono::Duration::hours(i64::from(hour))
        + chrono::Duration::minutes(i64::from(min))
        + chrono::Duration::microseconds(micros))
}

native_scalar! {
    fn make_timestamptz(info, input, output) {
        let session = bound_zone(info);
        let ints: Vec<Argument<i32>> = (0..5).map(|i| Argument::<i32>::of(input, i)).collect();
        let seconds = Argument::<f64>::of(input, 5);
        let named = (ffi::duckdb_data_chunk_get_column_count(input) > 6)
            .then(|| Argument::<ffi::duckdb_string_t>::of(input, 6));
        let out = ffi::duckdb_vector_get_data(output).cast::<i64>();
        for row in 0..row_count(input) {
            let fields: Option<Vec<i32>> = ints.iter().map(|a| a.get(row)).collect();
            let (Some(f), Some(sec)) = (fields, seconds.get(row)) else {
                set_null(output, row as u64);
                continue;
            };
            let zone = match &named {
                None => session.clone(),
                Some(names) => {
                    let Some(name) = names.text(row) else {
                        set_null(output, row as u64);
                        continue;
                    };
                    match SessionTz::parse(name.trim()) {
                        Some(z) => z,
                        None => {
                            fail(info, &format!("time zone \"{name}\" not recognized"));
                            return;
                        }
                    }
                }
            };
            match wall_time_of(f[0], f[1], f[2], f[3], f[4], sec) {
                Ok(local) => out.add(row).write(instant_of(local, &zone)),
                Err(message) => {
                    fail(info, &message);
                    return;
                }
            }
        }
    }
}

native_scalar! {
    fn date_trunc_in_zone(info, input, output) {
        let units = Argument::<ffi::duckdb_string_t>::of(input, 0);
        let values = Argument::<i64>::of(input, 1);
        let zones = Argument::<ffi::duckdb_string_t>::of(input, 2);
        let out = ffi::duckdb_vector_get_data(output).cast::<i64>();
        for row in 0..row_count(input) {
            let (Some(unit), Some(value), Some(name)) =
                (units.text(row), values.get(row), zones.text(row))
            else {
                set_null(output, row as u64);
                continue;
            };
            let Some(zone) = zone_named(&name) else {
                fail(info, &format!("time zone \"{name}\" not recognized"));
                return;
            };
            if !write_or_fail(info, out, row, truncate_in_zone(&unit, value, &zone)) {
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S%.f").expect("time")
    }

    fn parts(i: ffi::duckdb_interval) -> (i32, i32, i64) {
        (i.months, i.days, i.micros)
    }

    #[test]
    fn ages_are_postgres_symbolic_differences() {
        let hour = 3_600_000_000;
        // PostgreSQL 15: age('2024-03-31 12:00', '2023-01-15 08:00') =
        // '1 year 2 mons 16 days 04:00:00'.
        assert_eq!(
            parts(symbolic_age(
                at("2024-03-31 12:00:00"),
                at("2023-01-15 08:00:00")
            )),
            (14, 16, 4 * hour)
        );
        // age('2026-12-06 00:00', '2024-03-31 12:00') = '2 years 8 mons 5 days 12:00:00'.
        assert_eq!(
            parts(symbolic_age(
                at("2026-12-06 00:00:00"),
                at("2024-03-31 12:00:00")
            )),
            (32, 5, 12 * hour)
        );
        // age('2023-01-15', '2024-03-31') = '-1 years -2 mons -16 days'.
        assert_eq!(
            parts(symbolic_age(
                at("2023-01-15 00:00:00"),
                at("2024-03-31 00:00:00")
            )),
            (-14, -16, 0)
        );
        // age('2024-03-01', '2024-01-31') = '1 mon 1 day'.
        assert_eq!(
            parts(symbolic_age(
                at("2024-03-01 00:00:00"),
                at("2024-01-31 00:00:00")
            )),
            (1, 1, 0)
        );
    }

    #[test]
    fn made_times_check_their_fields() {
        assert_eq!(
            wall_time_of(2024, 3, 31, 12, 30, 1.5).expect("time"),
            at("2024-03-31 12:30:01.5")
        );
        assert!(wall_time_of(2024, 2, 30, 0, 0, 0.0).is_err());
        assert!(wall_time_of(2024, 1, 1, 24, 0, 1.0).is_err());
        assert_eq!(
            wall_time_of(2024, 1, 1, 24, 0, 0.0).expect("time"),
            at("2024-01-02 00:00:00")
        );
    }
}
