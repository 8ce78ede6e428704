//! PostgreSQL's `date_bin(stride, source, origin)`, which the engine lacks:
//! the start of the stride-wide bin, counted from `origin`, that holds
//! `source` (bins before the origin included), for `timestamp` and
//! `timestamptz` alike, since both are microseconds on one line. A stride
//! with months or years has no fixed width and is refused, as is one that
//! is not positive, with PostgreSQL 15's messages.

use duckdb::ffi;

use crate::functions::{
    self, fail, row_count, set_null, types::INTERVAL, types::TIMESTAMP, types::TIMESTAMPTZ,
    Argument, Native,
};

const MICROS_PER_DAY: i64 = 86_400_000_000;

use crate::pg_error::messages::{MONTHS_IN_STRIDE, STRIDE_NOT_POSITIVE};
const OUT_OF_RANGE: &str = "timestamp out of range";

/// Registers both overloads on the engine of `conn`.
///
/// # Safety
/// `conn` must be an open connection.
pub unsafe fn register(conn: ffi::duckdb_connection) -> Result<(), String> {
    for (params, result) in [
        (&[INTERVAL, TIMESTAMP, TIMESTAMP], TIMESTAMP),
        (&[INTERVAL, TIMESTAMPTZ, TIMESTAMPTZ], TIMESTAMPTZ),
    ] {
        functions::register(
            conn,
            &Native {
                name: "date_bin",
                params,
                result,
                result_scale: 0,
                function: Some(date_bin_rows),
                bind: None,
                extra: None,
            },
        )?;
    }
    Ok(())
}

/// The start of the bin of `source`; `Err` with PostgreSQL's message.
pub fn bin_start(
    stride: ffi::duckdb_interval,
    source: i64,
    origin: i64,
) -> Result<i64, &'static str> {
    if stride.months != 0 {
        return Err(MONTHS_IN_STRIDE);
    }
    let width = i64::from(stride.days)
        .checked_mul(MICROS_PER_DAY)
        .and_then(|d| d.checked_add(stride.micros))
        .ok_or(OUT_OF_RANGE)?;
    if width <= 0 {
        return Err(STRIDE_NOT_POSITIVE);
    }
    let offset = source.checked_sub(origin).ok_or(OUT_OF_RANGE)?;
    let floored = offset - offset.rem_euclid(width);
    origin.checked_add(floored).ok_or(OUT_OF_RANGE)
}

native_scalar! {
    fn date_bin_rows(info, input, output) {
        let strides = Argument::<ffi::duckdb_interval>::of(input, 0);
        let sources = Argument::<i64>::of(input, 1);
        let origins = Argument::<i64>::of(input, 2);
        let out = ffi::duckdb_vector_get_data(output).cast::<i64>();
        for row in 0..row_count(input) {
            let (Some(stride), Some(source), Some(origin)) =
                (strides.get(row), sources.get(row), origins.get(row))
            else {
                set_null(output, row as u64);
                continue;
            };
            match bin_start(stride, source, origin) {
                Ok(start) => out.add(row).write(start),
                Err(message) => return fail(info, message),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn minutes(m: i64) -> ffi::duckdb_interval {
        ffi::duckdb_interval {
            months: 0,
            days: 0,
            micros: m * 60_000_000,
        }
    }

    /// PostgreSQL 15: date_bin('15 minutes', '2000-01-01 00:07',
    /// '2000-01-01 00:10') = '1999-12-31 23:55:00' (bins before the origin
    /// floor), and the refusals of month and non-positive strides.
    #[test]
    fn bins_floor_from_the_origin() {
        let m = 60_000_000;
        assert_eq!(bin_start(minutes(15), 7 * m, 10 * m), Ok(-5 * m));
        assert_eq!(bin_start(minutes(15), 44 * m, 0), Ok(30 * m));
        assert_eq!(bin_start(minutes(15), 45 * m, 0), Ok(45 * m));
        assert_eq!(bin_start(minutes(0), 0, 0), Err(STRIDE_NOT_POSITIVE));
        assert_eq!(bin_start(minutes(-5), 0, 0), Err(STRIDE_NOT_POSITIVE));
        let month = ffi::duckdb_interval {
            months: 1,
            days: 0,
            micros: 0,
        };
        assert_eq!(bin_start(month, 0, 0), Err(MONTHS_IN_STRIDE));
        assert_eq!(bin_start(minutes(1), i64::MAX, i64::MIN), Err(OUT_OF_RANGE));
    }
}
