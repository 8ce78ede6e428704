//! Engine functions that read or write values by a PostgreSQL template:
//! `to_date(text, template)` and `to_timestamp(text, template)`
//! (`pg_to_date` reads the text) give a `date`, and a `timestamptz` whose
//! wall-clock time is in the session's zone unless the text gives an offset
//! (`TZH`/`TZM`); a text that does not read is the statement's error, with
//! PostgreSQL's message (and so its SQLSTATE, 22007 or 22008).
//! `to_char(number, template)` writes integers, numerics (exactly, as
//! decimal text) and doubles as `pg_number_format` does.

use duckdb::ffi;

use crate::functions::number_format;
use crate::functions::to_date::read;
use crate::functions::types::VARCHAR;
use crate::functions::zone::{bind_session_zone, bound_zone};
use crate::functions::Call;
use crate::functions::{self, fail, row_count, set_null, write_text, Argument, Callback, Native};

use crate::functions::NUMERIC_SCALE;

/// Registers the functions on the engine of `conn`.
///
/// # Safety
/// `conn` must be an open connection.
pub unsafe fn register(conn: ffi::duckdb_connection) -> Result<(), String> {
    let to_char = |number, function| Native {
        name: "to_char",
        params: number,
        result: VARCHAR,
        result_scale: 0,
        function,
        bind: None,
        extra: None,
    };
    for n in [
        to_char(
            &[ffi::DUCKDB_TYPE_DUCKDB_TYPE_BIGINT, VARCHAR],
            Some(to_char_bigint as Callback),
        ),
        to_char(
            &[ffi::DUCKDB_TYPE_DUCKDB_TYPE_DOUBLE, VARCHAR],
            Some(to_char_double as Callback),
        ),
        // numeric(38, NUMERIC_SCALE), see functions::NUMERIC.
        to_char(
            &[ffi::DUCKDB_TYPE_DUCKDB_TYPE_DECIMAL, VARCHAR],
            Some(to_char_numeric as Callback),
        ),
    ] {
        functions::register(conn, &n)?;
    }
    functions::register(
        conn,
        &Native::scalar(
            "to_date",
            &[VARCHAR, VARCHAR],
            ffi::DUCKDB_TYPE_DUCKDB_TYPE_DATE,
            to_date,
        ),
    )?;
    functions::register(
        conn,
        &Native::scalar(
            "to_timestamp",
            &[VARCHAR, VARCHAR],
            ffi::DUCKDB_TYPE_DUCKDB_TYPE_TIMESTAMP_TZ,
            to_timestamp,
        )
        .with_bind(bind_session_zone),
    )
}

#[derive(Clone, Copy)]
enum Target {
    Date,
    Timestamptz,
}

native_scalar! {
    fn to_date => read_rows(Target::Date);
    fn to_timestamp => read_rows(Target::Timestamptz);
}

/// # Safety
/// Called by the engine with a flat chunk of (VARCHAR, VARCHAR) and a flat
/// DATE or TIMESTAMPTZ output of the chunk's size.
unsafe fn read_rows(Call(info, input, output): Call, target: Target) {
    let zone = match target {
        Target::Timestamptz => Some(bound_zone(info)),
        Target::Date => None,
    };
    let texts = Argument::<ffi::duckdb_string_t>::of(input, 0);
    let templates = Argument::<ffi::duckdb_string_t>::of(input, 1);
    let out = ffi::duckdb_vector_get_data(output);
    for row in 0..row_count(input) {
        let idx = row as u64;
        let (Some(text), Some(template)) = (texts.text(row), templates.text(row)) else {
            set_null(output, idx);
            continue;
        };
        let read = match read(&text, &template) {
            Ok(r) => r,
            Err(e) => {
                fail(info, &e.message);
                return;
            }
        };
        match &zone {
            None => {
                let days = read.local.and_utc().timestamp().div_euclid(86_400);
                let days = i32::try_from(days).unwrap_or(i32::MAX);
                out.cast::<i32>().add(row).write(days);
            }
            Some(zone) => {
                let local = read.local.and_utc().timestamp_micros();
                let utc = match read.offset {
                    Some(offset) => local.saturating_sub(i64::from(offset) * 1_000_000),
                    None => zone.utc_of_local(local),
                };
                out.cast::<i64>().add(row).write(utc);
            }
        }
    }
}

/// How `to_char`'s number argument is stored.
#[derive(Clone, Copy)]
enum Number {
    Bigint,
    Double,
    /// `numeric(38, NUMERIC_SCALE)`: a 128-bit integer of that scale.
    Numeric,
}

native_scalar! {
    fn to_char_bigint(info, input, output) {
        number_rows(input, output, Number::Bigint)
    }
}

native_scalar! {
    fn to_char_double(info, input, output) {
        number_rows(input, output, Number::Double)
    }
}

native_scalar! {
    fn to_char_numeric(info, input, output) {
        number_rows(input, output, Number::Numeric)
    }
}

/// A scaled 128-bit integer as decimal text (`-12.5000000000`).
fn decimal_text(value: i128, scale: u32) -> String {
    let digits = value.unsigned_abs().to_string();
    let scale = scale as usize;
    let padded = format!("{digits:0>width$}", width = scale + 1);
    let (int, frac) = padded.split_at(padded.len() - scale);
    let sign = if value < 0 { "-" } else { "" };
    if scale == 0 {
        format!("{sign}{int}")
    } else {
        format!("{sign}{int}.{frac}")
    }
}

/// # Safety
/// Called by the engine with a flat chunk of (number, VARCHAR) and a flat
/// VARCHAR output of the chunk's size.
unsafe fn number_rows(input: ffi::duckdb_data_chunk, output: ffi::duckdb_vector, kind: Number) {
    let templates = Argument::<ffi::duckdb_string_t>::of(input, 1);
    for row in 0..row_count(input) {
        let idx = row as u64;
        let value = match kind {
            Number::Bigint => Argument::<i64>::of(input, 0)
                .get(row)
                .map(|v| v.to_string()),
            Number::Double => Argument::<f64>::of(input, 0)
                .get(row)
                .filter(|v| v.is_finite())
                .map(|v| v.to_string()),
            Number::Numeric => Argument::<ffi::duckdb_hugeint>::of(input, 0)
                .get(row)
                .map(|h| decimal_text(functions::i128_of(h), NUMERIC_SCALE)),
        };
        let (Some(text), Some(template)) = (value, templates.text(row)) else {
            set_null(output, idx);
            continue;
        };
        let written = number_format::to_char(&text, &template);
        write_text(output, idx, &written);
    }
}

#[cfg(test)]
mod tests {
    use super::decimal_text;

    #[test]
    fn scaled_integers_read_as_decimals() {
        assert_eq!(decimal_text(-125_000_000_000, 10), "-12.5000000000");
        assert_eq!(decimal_text(5, 10), "0.0000000005");
        assert_eq!(decimal_text(0, 0), "0");
    }
}
