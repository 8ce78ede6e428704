//! `timestamptz ± interval` and `timestamptz - timestamptz`, which the engine
//! (built without time zones) does not have — `now() - interval '7 days'`, the
//! filter every dashboard's relative date range writes. As in PostgreSQL, an
//! interval's months and days move the wall-clock time in the session's zone
//! (a day across a DST change is 23 or 25 hours; a month keeps the day of the
//! month, clamped to the month's end) and its time moves the instant; the
//! difference of two instants is its time with whole days split out.

use chrono::{Datelike, Months, NaiveDate};
use duckdb::ffi;

use crate::codec::text::SessionTz;
use crate::functions::interval::{justify_hours, Parts};
use crate::functions::types::{INTERVAL, TIMESTAMPTZ};
use crate::functions::zone::{bind_session_zone, bound_zone, instant_of, is_infinite, local_time};
use crate::functions::Call;
use crate::functions::{
    self, fail, row_count, set_null, write_or_fail, Argument, Callback, Native,
};

/// `date` moved `months` months, its day clamped to the new month's length.
fn add_months(date: NaiveDate, months: i64) -> Option<NaiveDate> {
    let first = date.with_day(1)?;
    let moved = if months >= 0 {
        first.checked_add_months(Months::new(u32::try_from(months).ok()?))?
    } else {
        first.checked_sub_months(Months::new(u32::try_from(-months).ok()?))?
    };
    let last_day = (28..=31)
        .rev()
        .find(|d| moved.with_day(*d).is_some())
        .unwrap_or(28);
    moved.with_day(date.day().min(last_day))
}

/// `utc` (microseconds) plus the interval, in `zone`.
pub fn add_interval(utc: i64, i: Parts, zone: &SessionTz) -> Result<i64, String> {
    if is_infinite(utc) {
        return Ok(utc);
    }
    let out_of_range = || "timestamp out of range".to_string();
    let mut t = utc;
    if i.months != 0 || i.days != 0 {
        let local = local_time(t, zone).ok_or_else(out_of_range)?;
        let mut date = local.date();
        if i.months != 0 {
            date = add_months(date, i.months).ok_or_else(out_of_range)?;
        }
        if i.days != 0 {
            date = date
                .checked_add_signed(chrono::Duration::days(i.days))
                .ok_or_else(out_of_range)?;
        }
        t = instant_of(date.and_time(local.time()), zone);
    }
    t.checked_add(i.micros).ok_or_else(out_of_range)
}

/// Registers the operators' overloads on the engine of `conn`.
///
/// # Safety
/// `conn` must be an open connection.
pub unsafe fn register(conn: ffi::duckdb_connection) -> Result<(), String> {
    let op = |name, params, result, function, zoned: bool| Native {
        name,
        params,
        result,
        result_scale: 0,
        function,
        bind: if zoned { Some(bind_session_zone) } else { None },
        extra: None,
    };
    for n in [
        op(
            "+",
            &[TIMESTAMPTZ, INTERVAL],
            TIMESTAMPTZ,
            Some(plus as Callback),
            true,
        ),
        op(
            "+",
            &[INTERVAL, TIMESTAMPTZ],
            TIMESTAMPTZ,
            Some(plus_commuted as Callback),
            true,
        ),
        op(
            "-",
            &[TIMESTAMPTZ, INTERVAL],
            TIMESTAMPTZ,
            Some(minus as Callback),
            true,
        ),
        op(
            "-",
            &[TIMESTAMPTZ, TIMESTAMPTZ],
            INTERVAL,
            Some(difference as Callback),
            false,
        ),
        // date - date is a count of days, an integer in PostgreSQL.
        op(
            "-",
            &[
                ffi::DUCKDB_TYPE_DUCKDB_TYPE_DATE,
                ffi::DUCKDB_TYPE_DUCKDB_TYPE_DATE,
            ],
            ffi::DUCKDB_TYPE_DUCKDB_TYPE_INTEGER,
            Some(days_between as Callback),
            false,
        ),
    ] {
        functions::register(conn, &n)?;
    }
    Ok(())
}

native_scalar! {
    fn days_between(info, input, output) {
        let (a, b) = (Argument::<i32>::of(input, 0), Argument::<i32>::of(input, 1));
        let out = ffi::duckdb_vector_get_data(output).cast::<i32>();
        for row in 0..row_count(input) {
            let (Some(x), Some(y)) = (a.get(row), b.get(row)) else {
                set_null(output, row as u64);
                continue;
            };
            // Infinite dates (±i32::MAX) have no difference PostgreSQL gives.
            if x.abs() == i32::MAX || y.abs() == i32::MAX {
                fail(info, "cannot subtract infinite dates");
                return;
            }
            match x.checked_sub(y) {
                Some(d) => out.add(row).write(d),
                None => {
                    fail(info, "integer out of range");
                    return;
                }
            }
        }
    }
}

#[derive(Clone, Copy)]
enum Shape {
    /// (timestamptz, interval), the interval added (`sign` 1) or subtracted.
    InstantFirst { sign: i64 },
    /// (interval, timestamptz).
    IntervalFirst,
}

native_scalar! {
    fn plus => shifted_rows(Shape::InstantFirst { sign: 1 });
    fn plus_commuted => shifted_rows(Shape::IntervalFirst);
    fn minus => shifted_rows(Shape::InstantFirst { sign: -1 });
    fn difference => difference_rows();
}

/// # Safety
/// Called by the engine with a flat chunk of (TIMESTAMPTZ, INTERVAL) or
/// (INTERVAL, TIMESTAMPTZ) and a flat TIMESTAMPTZ output of its size.
unsafe fn shifted_rows(Call(info, input, output): Call, shape: Shape) {
    let zone = bound_zone(info);
    let (instant_at, interval_at) = match shape {
        Shape::InstantFirst { .. } => (0, 1),
        Shape::IntervalFirst => (1, 0),
    };
    let sign = match shape {
        Shape::InstantFirst { sign } => sign,
        Shape::IntervalFirst => 1,
    };
    let instants = Argument::<i64>::of(input, instant_at);
    let intervals = Argument::<ffi::duckdb_interval>::of(input, interval_at);
    let out = ffi::duckdb_vector_get_data(output).cast::<i64>();
    for row in 0..row_count(input) {
        let (Some(instant), Some(i)) = (instants.get(row), intervals.get(row)) else {
            set_null(output, row as u64);
            continue;
        };
        let parts = Parts {
            months: sign * i64::from(i.months),
            days: sign * i64::from(i.days),
            micros: sign.saturating_mul(i.micros),
        };
        if !write_or_fail(info, out, row, add_interval(instant, parts, &zone)) {
            return;
        }
    }
}

/// # Safety
/// Called by the engine with a flat chunk of (TIMESTAMPTZ, TIMESTAMPTZ) and a
/// flat INTERVAL output of its size.
unsafe fn difference_rows(Call(info, input, output): Call) {
    let (left, right) = (Argument::<i64>::of(input, 0), Argument::<i64>::of(input, 1));
    let out = ffi::duckdb_vector_get_data(output).cast::<ffi::duckdb_interval>();
    for row in 0..row_count(input) {
        let (Some(a), Some(b)) = (left.get(row), right.get(row)) else {
            set_null(output, row as u64);
            continue;
        };
        if is_infinite(a) || is_infinite(b) {
            fail(info, "cannot subtract infinite timestamps");
            return;
        }
        let Some(micros) = a.checked_sub(b) else {
            fail(info, "interval out of range");
            return;
        };
        let j = justify_hours(Parts {
            months: 0,
            days: 0,
            micros,
        });
        out.add(row).write(ffi::duckdb_interval {
            months: 0,
            days: i32::try_from(j.days).unwrap_or(i32::MAX),
            micros: j.micros,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDateTime;

    fn micros(s: &str) -> i64 {
        NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S")
            .expect("a timestamp")
            .and_utc()
            .timestamp_micros()
    }

    fn parts(months: i64, days: i64, hours: i64) -> Parts {
        Parts {
            months,
            days,
            micros: hours * 3_600_000_000,
        }
    }

    /// PostgreSQL 15 with TimeZone America/New_York:
    /// '2024-03-09 17:00+00'::timestamptz + '1 day' = '2024-03-10 12:00:00-04'
    /// (23 hours: DST began), + '24 hours' = '2024-03-10 13:00:00-04',
    /// '2024-01-31 15:00+00' + '1 mon' = '2024-02-29 10:00:00-05'.
    #[test]
    fn days_and_months_move_the_wall_clock_in_the_zone() {
        let ny = SessionTz::parse("America/New_York").expect("zone");
        let t = micros("2024-03-09 17:00:00");
        assert_eq!(
            add_interval(t, parts(0, 1, 0), &ny),
            Ok(micros("2024-03-10 16:00:00"))
        );
        assert_eq!(
            add_interval(t, parts(0, 0, 24), &ny),
            Ok(micros("2024-03-10 17:00:00"))
        );
        let jan = micros("2024-01-31 15:00:00");
        assert_eq!(
            add_interval(jan, parts(1, 0, 0), &ny),
            Ok(micros("2024-02-29 15:00:00"))
        );
        assert_eq!(
            add_interval(jan, parts(-2, 0, 0), &ny),
            Ok(micros("2023-11-30 15:00:00"))
        );
    }
}
