//! `EXTRACT` and `date_part` as the engine's functions. PostgreSQL 15's
//! EXTRACT gives `numeric` (seconds with six decimals, `2024` for a year) and
//! date_part `double precision` with fractional seconds; the engine's own
//! give whole numbers for most fields and whole seconds. The router writes
//! `EXTRACT(f FROM x)` as `floe_extract_sN('f', x)` — one function per
//! scale PostgreSQL gives the field (`floe_sql::date_field`), since a
//! function's result type is fixed — and `date_part(f, x)` as
//! `floe_date_part(f, x)`; both read the fields through [`date_parts`].
//! Distinct names keep them apart from the engine's optimizer, which turns a
//! `date_part` of a constant field into its own `year(x)`.

use duckdb::ffi;

use crate::codec::text::SessionTz;
use crate::functions::date_parts::{part, Moment, Part};
use crate::functions::types::{
    DATE, DECIMAL, DOUBLE, INTERVAL, TIME, TIMESTAMP, TIMESTAMPTZ, TIME_TZ, VARCHAR,
};
use crate::functions::zone::{bind_session_zone, bound_zone};
use crate::functions::{
    self, fail, guarded, row_count, set_null, Argument, Callback, Native, NUMERIC_WIDTH,
};

/// The EXTRACT functions by scale; the scale is their static data.
const EXTRACT_SCALES: &[(&str, &str)] = &[
    ("floe_extract_s0", "0"),
    ("floe_extract_s3", "3"),
    ("floe_extract_s6", "6"),
    ("floe_extract_s20", "20"),
];

/// Registers `floe_date_part` and the `floe_extract_sN` functions on the
/// engine of `conn`.
///
/// # Safety
/// `conn` must be an open connection.
pub unsafe fn register(conn: ffi::duckdb_connection) -> Result<(), String> {
    // Every overload captures the session's zone (a timestamptz's fields
    // are its wall-clock time's).
    let overload = |name, input, result, result_scale, function, extra| Native {
        name,
        params: input,
        result,
        result_scale,
        function: Some(function),
        bind: Some(bind_session_zone),
        extra,
    };
    functions::register_set(
        conn,
        "floe_date_part",
        &[
            overload(
                "floe_date_part",
                &[VARCHAR, DATE],
                DOUBLE,
                0,
                part_of_date as Callback,
                None,
            ),
            overload(
                "floe_date_part",
                &[VARCHAR, TIMESTAMP],
                DOUBLE,
                0,
                part_of_timestamp,
                None,
            ),
            overload(
                "floe_date_part",
                &[VARCHAR, TIMESTAMPTZ],
                DOUBLE,
                0,
                part_of_zoned,
                None,
            ),
            overload(
                "floe_date_part",
                &[VARCHAR, TIME],
                DOUBLE,
                0,
                part_of_time,
                None,
            ),
            overload(
                "floe_date_part",
                &[VARCHAR, TIME_TZ],
                DOUBLE,
                0,
                part_of_time_tz,
                None,
            ),
            overload(
                "floe_date_part",
                &[VARCHAR, INTERVAL],
                DOUBLE,
                0,
                part_of_interval,
                None,
            ),
        ],
    )?;
    for (name, scale_text) in EXTRACT_SCALES {
        let scale: u8 = scale_text.parse().map_err(|_| "bad scale".to_string())?;
        let extra = Some(scale_text);
        functions::register_set(
            conn,
            name,
            &[
                // A date's fields are whole numbers, whatever the field.
                overload(
                    name,
                    &[VARCHAR, DATE],
                    DECIMAL,
                    0,
                    extract_date as Callback,
                    extra,
                ),
                overload(
                    name,
                    &[VARCHAR, TIMESTAMP],
                    DECIMAL,
                    scale,
                    extract_timestamp,
                    extra,
                ),
                overload(
                    name,
                    &[VARCHAR, TIMESTAMPTZ],
                    DECIMAL,
                    scale,
                    extract_zoned,
                    extra,
                ),
                overload(name, &[VARCHAR, TIME], DECIMAL, scale, extract_time, extra),
                overload(
                    name,
                    &[VARCHAR, TIME_TZ],
                    DECIMAL,
                    scale,
                    extract_time_tz,
                    extra,
                ),
                overload(
                    name,
                    &[VARCHAR, INTERVAL],
                    DECIMAL,
                    scale,
                    extract_interval,
                    extra,
                ),
            ],
        )?;
    }
    Ok(())
}

/// What a call writes: `date_part`'s double, or EXTRACT's numeric of a scale.
#[derive(Clone, Copy)]
enum Output {
    Double,
    Numeric(u8),
}

/// The scale an EXTRACT function writes (its static data); a date's fields
/// are written whole.
unsafe fn extract_output(info: ffi::duckdb_function_info, date: bool) -> Output {
    if date {
        return Output::Numeric(0);
    }
    let ptr = ffi::duckdb_scalar_function_get_extra_info(info).cast::<&'static str>();
    let scale = if ptr.is_null() {
        0
    } else {
        (*ptr).parse().unwrap_or(0)
    };
    Output::Numeric(scale)
}

/// # Safety
/// Called by the engine with a flat (VARCHAR, `T`) chunk and a flat output
/// of the chunk's size, DOUBLE or DECIMAL(38, scale) as `output` says.
unsafe fn rows<T: Copy>(
    info: ffi::duckdb_function_info,
    input: ffi::duckdb_data_chunk,
    output: ffi::duckdb_vector,
    out_kind: Output,
    moment: impl Fn(T, &SessionTz) -> Moment,
) {
    let zone = bound_zone(info);
    let fields = Argument::<ffi::duckdb_string_t>::of(input, 0);
    let values = Argument::<T>::of(input, 1);
    let data = ffi::duckdb_vector_get_data(output);
    for row in 0..row_count(input) {
        let (Some(field), Some(value)) = (fields.text(row), values.get(row)) else {
            set_null(output, row as u64);
            continue;
        };
        let value = match part(&field, &moment(value, &zone)) {
            Ok(Some(v)) => v,
            Ok(None) => {
                set_null(output, row as u64);
                continue;
            }
            Err(msg) => {
                fail(info, &msg);
                return;
            }
        };
        match out_kind {
            Output::Double => data.cast::<f64>().add(row).write(value.to_f64()),
            Output::Numeric(scale) => {
                let Some(units) = value.units_at(scale).filter(|u| fits(*u)) else {
                    fail(info, &overflow(value));
                    return;
                };
                data.cast::<ffi::duckdb_hugeint>()
                    .add(row)
                    .write_unaligned(functions::hugeint_of(units));
            }
        }
    }
}

/// Whether `units` fit the engine's widest decimal.
fn fits(units: i128) -> bool {
    units.unsigned_abs() < 10u128.pow(u32::from(NUMERIC_WIDTH))
}

fn overflow(value: Part) -> String {
    match value {
        Part::Infinity { .. } => {
            "value out of range: an infinite timestamp's field is infinite".to_string()
        }
        Part::Exact { .. } => "numeric field overflow: value out of range".to_string(),
    }
}

fn date(days: i32, _: &SessionTz) -> Moment {
    Moment::Date(days)
}

/// `date_part(f, date)` is PostgreSQL's `date_part(f, date::timestamp)`.
fn date_as_timestamp(days: i32, _: &SessionTz) -> Moment {
    Moment::Timestamp(match days {
        i32::MAX => i64::MAX,
        d if d == -i32::MAX => -i64::MAX,
        d => i64::from(d) * 86_400_000_000,
    })
}

fn timestamp(micros: i64, _: &SessionTz) -> Moment {
    Moment::Timestamp(micros)
}

fn zoned(micros: i64, zone: &SessionTz) -> Moment {
    Moment::Zoned(micros, zone.clone())
}

fn time(micros: i64, _: &SessionTz) -> Moment {
    Moment::Time(micros)
}

fn time_tz(t: ffi::duckdb_time_tz, _: &SessionTz) -> Moment {
    let (micros, offset) = crate::codec::rows::time_tz_parts(t.bits);
    Moment::TimeTz(micros, offset)
}

fn interval(i: ffi::duckdb_interval, _: &SessionTz) -> Moment {
    Moment::Interval {
        months: i.months,
        days: i.days,
        micros: i.micros,
    }
}

macro_rules! callback {
    ($name:ident, $ty:ty, $output:expr, $moment:expr) => {
        unsafe extern "C" fn $name(
            info: ffi::duckdb_function_info,
            input: ffi::duckdb_data_chunk,
            output: ffi::duckdb_vector,
        ) {
            guarded(info, || {
                let out_kind: Output = $output(info);
                rows::<$ty>(info, input, output, out_kind, $moment)
            });
        }
    };
}

callback!(part_of_date, i32, |_| Output::Double, date_as_timestamp);
callback!(part_of_timestamp, i64, |_| Output::Double, timestamp);
callback!(part_of_zoned, i64, |_| Output::Double, zoned);
callback!(part_of_time, i64, |_| Output::Double, time);
callback!(
    part_of_time_tz,
    ffi::duckdb_time_tz,
    |_| Output::Double,
    time_tz
);
callback!(
    part_of_interval,
    ffi::duckdb_interval,
    |_| Output::Double,
    interval
);
callback!(extract_date, i32, |i| extract_output(i, true), date);
callback!(
    extract_timestamp,
    i64,
    |i| extract_output(i, false),
    timestamp
);
callback!(extract_zoned, i64, |i| extract_output(i, false), zoned);
callback!(extract_time, i64, |i| extract_output(i, false), time);
callback!(
    extract_time_tz,
    ffi::duckdb_time_tz,
    |i| extract_output(i, false),
    time_tz
);
callback!(
    extract_interval,
    ffi::duckdb_interval,
    |i| extract_output(i, false),
    interval
);

#[cfg(test)]
mod tests {
    use crate::engine::duck::Database;

    /// Each `(expression, text)`: the expression's value cast to text.
    fn check(cases: &[(&str, &str)]) {
        let db = Database::open(None, &[]).expect("db");
        let conn = db.connect().expect("connection");
        crate::functions::registry::register_all(&conn).expect("registered");
        for (expr, want) in cases {
            let sql = format!(
                "SELECT CASE WHEN ({expr})::VARCHAR = '{want}' THEN 1 \
                 ELSE error(({expr})::VARCHAR) END"
            );
            conn.execute_batch(&sql)
                .unwrap_or_else(|e| panic!("{expr}: {}", e.message));
        }
    }

    #[test]
    fn extract_is_numeric_with_postgres_scale() {
        check(&[
            (
                "floe_extract_s6('second', TIMESTAMP '2024-03-05 01:02:03.5')",
                "3.500000",
            ),
            ("floe_extract_s0('year', DATE '2024-03-05')", "2024"),
            ("floe_extract_s6('epoch', DATE '2024-03-05')", "1709596800"),
            ("floe_extract_s3('ms', INTERVAL '3.5 seconds')", "3500.000"),
            (
                "floe_extract_s6('epoch', TIMESTAMPTZ '2024-03-05 01:02:03.123456+01')",
                "1709596923.123456",
            ),
        ]);
    }

    #[test]
    fn date_part_is_double_with_fractions() {
        check(&[
            (
                "floe_date_part('second', TIMESTAMP '2024-03-05 01:02:03.5')",
                "3.5",
            ),
            ("floe_date_part('hour', DATE '2024-03-05')", "0.0"),
            ("floe_date_part('epoch', TIME '01:02:03.25')", "3723.25"),
        ]);
    }

    #[test]
    fn unknown_and_unsupported_fields_fail() {
        let db = Database::open(None, &[]).expect("db");
        let conn = db.connect().expect("connection");
        crate::functions::registry::register_all(&conn).expect("registered");
        let message = crate::engine::duck::error_of(
            &conn,
            "SELECT floe_extract_s6('second', DATE '2024-03-05')",
        );
        assert!(
            message.contains("unit \"second\" not supported for type date"),
            "{message}"
        );
        let message = crate::engine::duck::error_of(
            &conn,
            "SELECT floe_date_part('fortnight', TIMESTAMP '2024-03-05')",
        );
        assert!(
            message.contains("not recognized for type timestamp without time zone"),
            "{message}"
        );
    }
}
