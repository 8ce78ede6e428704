//! PostgreSQL's `justify_days`, `justify_hours` and `justify_interval`, which
//! the engine lacks: an interval's days folded into 30-day months and its
//! time into 24-hour days, the parts then given one sign, as PostgreSQL does
//! it (`timestamp.c`).

use duckdb::ffi;

use crate::functions::{self, row_count, set_null, Argument, Callback, Native};

const DAYS_PER_MONTH: i64 = 30;
const MICROS_PER_DAY: i64 = 86_400_000_000;

/// An interval's three parts, as the engine stores them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Parts {
    pub months: i64,
    pub days: i64,
    pub micros: i64,
}

/// Moves whole `per`s of `small` into `big`.
fn carry(big: &mut i64, small: &mut i64, per: i64) {
    let whole = *small / per;
    *small -= whole * per;
    *big += whole;
}

/// Gives `small` the sign of `big`, borrowing one `per` from it.
fn match_sign(big: &mut i64, small: &mut i64, per: i64) {
    if *big > 0 && *small < 0 {
        *small += per;
        *big -= 1;
    } else if *big < 0 && *small > 0 {
        *small -= per;
        *big += 1;
    }
}

/// `justify_hours`: whole days out of the time.
pub fn justify_hours(i: Parts) -> Parts {
    let mut r = i;
    carry(&mut r.days, &mut r.micros, MICROS_PER_DAY);
    match_sign(&mut r.days, &mut r.micros, MICROS_PER_DAY);
    r
}

/// `justify_days`: whole months out of the days.
pub fn justify_days(i: Parts) -> Parts {
    let mut r = i;
    carry(&mut r.months, &mut r.days, DAYS_PER_MONTH);
    match_sign(&mut r.months, &mut r.days, DAYS_PER_MONTH);
    r
}

/// `justify_interval`: both, with one sign for all three parts.
pub fn justify_interval(i: Parts) -> Parts {
    let mut r = i;
    // Days first where that cannot change the sign (PostgreSQL avoids an
    // overflow so).
    if (r.days > 0 && r.micros > 0) || (r.days < 0 && r.micros < 0) {
        carry(&mut r.months, &mut r.days, DAYS_PER_MONTH);
    }
    carry(&mut r.days, &mut r.micros, MICROS_PER_DAY);
    carry(&mut r.months, &mut r.days, DAYS_PER_MONTH);
    // The months' sign wins over days and time (a zero day count looks at
    // the time).
    let day_sign = if r.days != 0 {
        r.days.signum()
    } else {
        r.micros.signum()
    };
    if r.months > 0 && day_sign < 0 {
        r.days += DAYS_PER_MONTH;
        r.months -= 1;
    } else if r.months < 0 && day_sign > 0 {
        r.days -= DAYS_PER_MONTH;
        r.months += 1;
    }
    match_sign(&mut r.days, &mut r.micros, MICROS_PER_DAY);
    r
}

/// Registers the three functions on the engine of `conn`.
///
/// # Safety
/// `conn` must be an open connection.
pub unsafe fn register(conn: ffi::duckdb_connection) -> Result<(), String> {
    const INTERVAL: ffi::DUCKDB_TYPE = ffi::DUCKDB_TYPE_DUCKDB_TYPE_INTERVAL;
    let justify = |name, function| Native {
        name,
        params: &[INTERVAL],
        result: INTERVAL,
        result_scale: 0,
        function,
        bind: None,
        extra: None,
    };
    for n in [
        justify("justify_hours", Some(hours as Callback)),
        justify("justify_days", Some(days as Callback)),
        justify("justify_interval", Some(interval as Callback)),
    ] {
        functions::register(conn, &n)?;
    }
    Ok(())
}

native_scalar! {
    fn hours(info, input, output) {
        rows(input, output, justify_hours)
    }
}

native_scalar! {
    fn days(info, input, output) {
        rows(input, output, justify_days)
    }
}

native_scalar! {
    fn interval(info, input, output) {
        rows(input, output, justify_interval)
    }
}

/// # Safety
/// Called by the engine with a flat chunk of one INTERVAL vector and a flat
/// INTERVAL output of the chunk's size.
unsafe fn rows(input: ffi::duckdb_data_chunk, output: ffi::duckdb_vector, f: fn(Parts) -> Parts) {
    let values = Argument::<ffi::duckdb_interval>::of(input, 0);
    let out = ffi::duckdb_vector_get_data(output).cast::<ffi::duckdb_interval>();
    for row in 0..row_count(input) {
        let Some(v) = values.get(row) else {
            set_null(output, row as u64);
            continue;
        };
        let r = f(Parts {
            months: i64::from(v.months),
            days: i64::from(v.days),
            micros: v.micros,
        });
        out.add(row).write(ffi::duckdb_interval {
            months: i32::try_from(r.months).unwrap_or(if r.months < 0 {
                i32::MIN
            } else {
                i32::MAX
            }),
            days: i32::try_from(r.days).unwrap_or(if r.days < 0 { i32::MIN } else { i32::MAX }),
            micros: r.micros,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(months: i64, days: i64, hours: i64) -> Parts {
        Parts {
            months,
            days,
            micros: hours * 3_600_000_000,
        }
    }

    /// PostgreSQL 15: justify_days('35 days') = '1 mon 5 days',
    /// justify_hours('27 hours') = '1 day 03:00:00',
    /// justify_interval('1 mon -1 hour') = '29 days 23:00:00',
    /// justify_interval('-35 days 2 hours') = '-1 mons -4 days -22:00:00'.
    #[test]
    fn intervals_are_justified_as_postgres_justifies_them() {
        assert_eq!(justify_days(p(0, 35, 0)), p(1, 5, 0));
        assert_eq!(justify_hours(p(0, 0, 27)), p(0, 1, 3));
        assert_eq!(justify_interval(p(1, 0, -1)), p(0, 29, 23));
        assert_eq!(justify_interval(p(0, -35, 2)), p(-1, -4, -22));
        assert_eq!(justify_days(p(-1, 35, 0)), p(0, 5, 0));
    }
}
