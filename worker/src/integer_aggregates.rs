//! `sum` and `avg` of integers typed as PostgreSQL 15 types them: `sum` of a
//! `smallint` or `integer` is a `bigint` (the engine's is a 128-bit integer,
//! which clients would see as `numeric`), `avg` of any integer a `numeric`
//! (the engine's is a `double precision`). The router calls `floe_sum(` and
//! `floe_avg(` (plain calls only: DISTINCT, FILTER and ordered arguments keep
//! the engine's aggregate); the session macros below pick the PostgreSQL
//! result by argument type and leave every other type to the engine. An
//! integer average is the exact quotient rounded half away from zero to
//! `AVG_SCALE` decimals, the scale PostgreSQL gives averages from 1 to 9999
//! (its scale varies with the value; the engine's decimals have one scale).

use duckdb::ffi;

use crate::native_functions::types::{BIGINT, DECIMAL, HUGEINT};
use crate::native_functions::{
    self, fail, guarded, hugeint_of, i128_of, row_count, set_null, Argument, Native,
};

/// Decimals of an integer average.
pub const AVG_SCALE: u8 = 16;

/// The session macros answering `floe_sum(x)` and `floe_avg(x)`.
pub const MACROS: &[&str] = &[
    "CREATE OR REPLACE TEMP MACRO floe_sum(x SMALLINT) AS CAST(sum(x) AS BIGINT), \
     (x INTEGER) AS CAST(sum(x) AS BIGINT), (x) AS sum(x)",
    "CREATE OR REPLACE TEMP MACRO floe_avg(x SMALLINT) AS floe_integer_avg(sum(x), count(x)), \
     (x INTEGER) AS floe_integer_avg(sum(x), count(x)), \
     (x BIGINT) AS floe_integer_avg(sum(x), count(x)), (x) AS avg(x)",
];

/// Registers `floe_integer_avg(sum, count)`.
///
/// # Safety
/// `conn` must be an open connection.
pub unsafe fn register(conn: ffi::duckdb_connection) -> Result<(), String> {
    native_functions::register(
        conn,
        &Native {
            name: "floe_integer_avg",
            params: &[HUGEINT, BIGINT],
            result: DECIMAL,
            result_scale: AVG_SCALE,
            function: Some(integer_avg),
            bind: None,
            extra: None,
        },
    )
}

/// `sum / count` in units of 10^-AVG_SCALE, rounded half away from zero;
/// `None` for no rows or a quotient beyond the engine's widest decimal.
pub fn average_units(sum: i128, count: i64) -> Option<i128> {
    if count <= 0 {
        return None;
    }
    let count = i128::from(count);
    let scale = 10i128.pow(u32::from(AVG_SCALE));
    let (whole, rest) = (sum / count, (sum % count).abs());
    // rest < count < 2^63, so twice rest in units fits.
    let fraction = (2 * rest * scale + count) / (2 * count);
    let magnitude = whole.abs().checked_mul(scale)?.checked_add(fraction)?;
    let limit = 10i128.pow(u32::from(native_functions::NUMERIC_WIDTH));
    (magnitude < limit).then_some(if sum < 0 { -magnitude } else { magnitude })
}

unsafe extern "C" fn integer_avg(
    info: ffi::duckdb_function_info,
    input: ffi::duckdb_data_chunk,
    output: ffi::duckdb_vector,
) {
    guarded(info, || {
        let sums = Argument::<ffi::duckdb_hugeint>::of(input, 0);
        let counts = Argument::<i64>::of(input, 1);
        let out = ffi::duckdb_vector_get_data(output).cast::<ffi::duckdb_hugeint>();
        for row in 0..row_count(input) {
            let (Some(sum), Some(count)) = (sums.get(row), counts.get(row)) else {
                set_null(output, row as u64);
                continue;
            };
            if count == 0 {
                set_null(output, row as u64);
                continue;
            }
            let Some(units) = average_units(i128_of(sum), count) else {
                fail(info, "numeric field overflow");
                return;
            };
            out.add(row).write_unaligned(hugeint_of(units));
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn averages_round_half_away_from_zero_at_sixteen_decimals() {
        let e16 = 10i128.pow(16);
        assert_eq!(average_units(7, 3), Some(23_333_333_333_333_333));
        assert_eq!(average_units(3, 2), Some(15 * e16 / 10));
        assert_eq!(average_units(2, 3), Some(6_666_666_666_666_667));
        assert_eq!(average_units(-2, 3), Some(-6_666_666_666_666_667));
        assert_eq!(average_units(-7, 2), Some(-35 * e16 / 10));
        assert_eq!(
            average_units(i128::from(i64::MAX) * 3, 3),
            Some(i128::from(i64::MAX) * e16)
        );
        assert_eq!(average_units(1, 0), None);
        assert_eq!(average_units(i128::MAX, 1), None);
    }
}
