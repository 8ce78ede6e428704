//! Division as PostgreSQL 15 divides: an exact `numeric` quotient when
//! either side is `numeric` (the engine answers a `double precision`), the
//! engine's own division for integers, floats and intervals.
//!
//! PostgreSQL chooses a quotient's scale per value (`select_div_scale`: 16
//! significant digits counted from the quotient's estimated first base-10000
//! group, at least each operand's scale), so `1.0/3` is
//! `0.33333333333333333333` and `10.0/3` is `3.3333333333333333`. The
//! engine's decimals have one scale per column, so a quotient is computed
//! exactly at PostgreSQL's scale (rounded half away from zero, as
//! PostgreSQL rounds) and held as `numeric(38, QUOTIENT_SCALE)`, a type
//! Floe gives quotients only; the row encoder shows each such value with the
//! scale PostgreSQL shows it with ([`display_scale`]). The router calls
//! `floe_div(a, b)` for every `a / b` it can delimit; its overloads divide
//! integers as integers (truncating, PostgreSQL's type for the pair) and
//! floats as floats, and everything else (`numeric`, the engine's 128-bit
//! sums) as `numeric`.

use duckdb::ffi;
use num_bigint::BigInt;

use crate::codec::types::IntWidth;
use crate::functions::types::{ANY, BIGINT, DECIMAL, DOUBLE, FLOAT, INTEGER, INTERVAL, SMALLINT};
use crate::functions::{self, fail, guarded, hugeint_of, row_count, set_null, Callback, Native};

/// The scale quotients are held at; with the engine's widest decimal
/// (38 digits) it leaves 17 digits before the point.
pub const QUOTIENT_SCALE: u8 = floe_catalog::pg_schema::types::UNCONSTRAINED_NUMERIC.1;

/// A `numeric` operand: `units · 10^-scale`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Exact {
    pub units: i128,
    pub scale: u32,
}

/// Why a quotient has no value.
#[derive(Debug, PartialEq, thiserror::Error)]
pub enum DivisionError {
    #[error("division by zero")]
    ByZero,
    #[error("value overflows numeric format")]
    Overflow,
}

/// PostgreSQL's weight (position of the first non-zero base-10000 group,
/// 0 for the units group) and first group of `x`; `(0, 0)` for zero.
fn weight_and_first_group(x: Exact) -> (i64, u128) {
    let magnitude = x.units.unsigned_abs();
    if magnitude == 0 {
        return (0, 0);
    }
    let digits = i64::from(magnitude.ilog10()) + 1;
    // Power of ten of the leading digit, then its base-10000 group.
    let exponent = digits - 1 - i64::from(x.scale);
    let weight = exponent.div_euclid(4);
    let shift = i64::from(x.scale) + 4 * weight;
    let first = if shift >= 0 {
        magnitude / 10u128.pow(shift as u32)
    } else {
        magnitude * 10u128.pow((-shift) as u32)
    };
    (weight, first)
}

/// The scale PostgreSQL 15 gives `a / b` (`select_div_scale`).
pub fn division_scale(a: Exact, b: Exact) -> u32 {
    let (w1, f1) = weight_and_first_group(a);
    let (w2, f2) = weight_and_first_group(b);
    let mut qweight = w1 - w2;
    if f1 <= f2 {
        qweight -= 1;
    }
    let rscale = (16 - 4 * qweight)
        .max(i64::from(a.scale))
        .max(i64::from(b.scale))
        .clamp(0, 1000);
    rscale as u32
}

/// `a / b` rounded half away from zero at `scale` decimals, in units of
/// `10^-scale`.
fn rounded_quotient(a: Exact, b: Exact, scale: u32) -> Result<BigInt, DivisionError> {
    if b.units == 0 {
        return Err(DivisionError::ByZero);
    }
    // a/b = a.units·10^(b.scale + scale) / (b.units·10^a.scale) units.
    let ten = BigInt::from(10);
    let numerator = BigInt::from(a.units) * ten.pow(b.scale + scale);
    let denominator = BigInt::from(b.units) * ten.pow(a.scale);
    let quotient = &numerator / &denominator;
    let remainder = &numerator % &denominator;
    let twice: BigInt = remainder.magnitude().clone().into();
    let twice = twice * 2;
    let whole: BigInt = denominator.magnitude().clone().into();
    if twice >= whole {
        let away = if (numerator.sign() == num_bigint::Sign::Minus)
            != (denominator.sign() == num_bigint::Sign::Minus)
        {
            -1
        } else {
            1
        };
        Ok(quotient + away)
    } else {
        Ok(quotient)
    }
}

/// [`quotient_units`] in 128-bit integers, when every step fits (most
/// quotients: no allocation per row); `None` otherwise.
fn small_quotient_units(a: Exact, b: Exact, scale: u32) -> Option<i128> {
    let pow = |e: u32| 10i128.checked_pow(e);
    let numerator = a.units.checked_mul(pow(b.scale.checked_add(scale)?)?)?;
    let denominator = b.units.checked_mul(pow(a.scale)?)?;
    if denominator == 0 {
        return None;
    }
    let quotient = numerator.checked_div(denominator)?;
    let remainder = numerator.checked_rem(denominator)?;
    let half_or_more = remainder.unsigned_abs().checked_mul(2)? >= denominator.unsigned_abs();
    let away = if (numerator < 0) != (denominator < 0) {
        -1
    } else {
        1
    };
    let rounded = if half_or_more {
        quotient + away
    } else {
        quotient
    };
    let units = rounded.checked_mul(pow(u32::from(QUOTIENT_SCALE) - scale)?)?;
    (units.unsigned_abs() < 10u128.pow(u32::from(functions::NUMERIC_WIDTH))).then_some(units)
}

/// `a / b` as PostgreSQL computes it, in units of `10^-QUOTIENT_SCALE`
/// (exact at PostgreSQL's scale when that is at most `QUOTIENT_SCALE`,
/// rounded at `QUOTIENT_SCALE` otherwise).
pub fn quotient_units(a: Exact, b: Exact) -> Result<i128, DivisionError> {
    let scale = division_scale(a, b).min(u32::from(QUOTIENT_SCALE));
    if let Some(units) = small_quotient_units(a, b, scale) {
        return Ok(units);
    }
    let units =
        rounded_quotient(a, b, scale)? * BigInt::from(10).pow(u32::from(QUOTIENT_SCALE) - scale);
    let limit = BigInt::from(10).pow(u32::from(functions::NUMERIC_WIDTH));
    if units.magnitude() >= limit.magnitude() {
        return Err(DivisionError::Overflow);
    }
    i128::try_from(units).map_err(|_| DivisionError::Overflow)
}

/// The scale PostgreSQL shows a quotient held as `magnitude` units of
/// `10^-QUOTIENT_SCALE` with: 16 significant digits from the value's first
/// base-10000 group, or more where the held digits go further (PostgreSQL's
/// scale came from its operands, which the value no longer shows: a
/// quotient whose operands begin with the same group has four more digits).
pub fn display_scale(magnitude: u128) -> u8 {
    let full = u32::from(QUOTIENT_SCALE);
    // Zero shows as `0 / 1` does; one (`x / x`: both operands begin with
    // the same group) with PostgreSQL's four more digits.
    if magnitude == 0 || magnitude == 10u128.pow(full) {
        return 20.min(QUOTIENT_SCALE);
    }
    let (weight, _) = weight_and_first_group(Exact {
        units: magnitude as i128,
        scale: full,
    });
    let significant = (16 - 4 * weight).clamp(0, i64::from(full)) as u32;
    let trailing_zeros = (0..full)
        .take_while(|k| (magnitude / 10u128.pow(*k)).is_multiple_of(10))
        .count() as u32;
    significant.max(full - trailing_zeros) as u8
}

/// Registers `floe_div`: integer quotients of integers (of the wider
/// type), `double precision` (`real` for two reals) where either side is a
/// float, an interval divided by a number, `numeric` quotients of
/// everything else. Every pair of integer
/// types has its own overload: the engine would rather pass an integer as
/// `ANY` than widen it.
///
/// # Safety
/// `conn` must be an open connection.
pub unsafe fn register(conn: ffi::duckdb_connection) -> Result<(), String> {
    let overload = |params: &'static [ffi::DUCKDB_TYPE], result, function: Callback| Native {
        name: "floe_div",
        params,
        result,
        result_scale: QUOTIENT_SCALE,
        function: Some(function),
        bind: None,
        extra: None,
    };
    functions::register_set(
        conn,
        "floe_div",
        &[
            overload(&[SMALLINT, SMALLINT], SMALLINT, integer_div::<i16>),
            overload(&[SMALLINT, INTEGER], INTEGER, integer_div::<i32>),
            overload(&[SMALLINT, BIGINT], BIGINT, integer_div::<i64>),
            overload(&[INTEGER, SMALLINT], INTEGER, integer_div::<i32>),
            overload(&[INTEGER, INTEGER], INTEGER, integer_div::<i32>),
            overload(&[INTEGER, BIGINT], BIGINT, integer_div::<i64>),
            overload(&[BIGINT, SMALLINT], BIGINT, integer_div::<i64>),
            overload(&[BIGINT, INTEGER], BIGINT, integer_div::<i64>),
            overload(&[BIGINT, BIGINT], BIGINT, integer_div::<i64>),
            overload(&[ANY, ANY], DECIMAL, numeric_div),
            overload(&[FLOAT, FLOAT], FLOAT, float_div::<f32>),
            overload(&[DOUBLE, DOUBLE], DOUBLE, float_div::<f64>),
            overload(&[DOUBLE, FLOAT], DOUBLE, float_div::<f64>),
            overload(&[FLOAT, DOUBLE], DOUBLE, float_div::<f64>),
            overload(&[DOUBLE, ANY], DOUBLE, float_div::<f64>),
            overload(&[ANY, DOUBLE], DOUBLE, float_div::<f64>),
            overload(&[FLOAT, ANY], DOUBLE, float_div::<f64>),
            overload(&[ANY, FLOAT], DOUBLE, float_div::<f64>),
            overload(&[INTERVAL, ANY], INTERVAL, interval_div),
        ],
    )
}

/// An integer result type of division.
trait IntegerQuotient: TryFrom<i128> + Copy {
    /// PostgreSQL's name for the type, for its out-of-range error.
    const NAME: &'static str;
}

impl IntegerQuotient for i16 {
    const NAME: &'static str = "smallint";
}

impl IntegerQuotient for i32 {
    const NAME: &'static str = "integer";
}

impl IntegerQuotient for i64 {
    const NAME: &'static str = "bigint";
}

/// Truncating division of two integers into a `T`; `i16::MIN / -1` and the
/// like are out of range, as in PostgreSQL.
unsafe extern "C" fn integer_div<T: IntegerQuotient>(
    info: ffi::duckdb_function_info,
    input: ffi::duckdb_data_chunk,
    output: ffi::duckdb_vector,
) {
    let out = ffi::duckdb_vector_get_data(output).cast::<T>();
    each_pair(info, input, output, |row, x, y| {
        let (Value::Exact(a), Value::Exact(b)) = (x, y) else {
            return Err("a float reached integer division".to_string());
        };
        if b.units == 0 {
            return Err(DivisionError::ByZero.to_string());
        }
        let quotient =
            T::try_from(a.units / b.units).map_err(|_| format!("{} out of range", T::NAME))?;
        out.add(row).write_unaligned(quotient);
        Ok(())
    });
}

/// One argument of a call whose parameter is `ANY`: read by the type the
/// value came with.
struct Operand {
    data: *mut std::ffi::c_void,
    validity: *mut u64,
    kind: OperandKind,
}

#[derive(Clone, Copy)]
enum OperandKind {
    Int(IntWidth),
    Decimal { storage: IntWidth, scale: u32 },
    F32,
    F64,
    Null,
}

impl Operand {
    /// Argument `i` of `input`; `Err` holds a type division does not take.
    ///
    /// # Safety
    /// `input` is the call's chunk with at least `i + 1` columns.
    unsafe fn of(input: ffi::duckdb_data_chunk, i: u64) -> Result<Operand, ffi::DUCKDB_TYPE> {
        let vector = ffi::duckdb_data_chunk_get_vector(input, i);
        let mut t = ffi::duckdb_vector_get_column_type(vector);
        let id = ffi::duckdb_get_type_id(t);
        let kind = match id {
            ffi::DUCKDB_TYPE_DUCKDB_TYPE_FLOAT => Ok(OperandKind::F32),
            ffi::DUCKDB_TYPE_DUCKDB_TYPE_DOUBLE => Ok(OperandKind::F64),
            ffi::DUCKDB_TYPE_DUCKDB_TYPE_SQLNULL => Ok(OperandKind::Null),
            ffi::DUCKDB_TYPE_DUCKDB_TYPE_DECIMAL => Ok(OperandKind::Decimal {
                storage: IntWidth::of(ffi::duckdb_decimal_internal_type(t))
                    .unwrap_or(IntWidth::I128),
                scale: u32::from(ffi::duckdb_decimal_scale(t)),
            }),
            other => IntWidth::of(other).map(OperandKind::Int).ok_or(other),
        };
        ffi::duckdb_destroy_logical_type(&mut t);
        Ok(Operand {
            data: ffi::duckdb_vector_get_data(vector),
            validity: ffi::duckdb_vector_get_validity(vector),
            kind: kind?,
        })
    }

    /// The value at `row` as an exact number or a float; `None` when NULL.
    ///
    /// # Safety
    /// `row` is below the chunk's row count.
    unsafe fn get(&self, row: usize) -> Option<Value> {
        if matches!(self.kind, OperandKind::Null) || !functions::is_valid(self.validity, row as u64)
        {
            return None;
        }
        let data = self.data;
        let exact = |units: Option<i128>, scale: u32| {
            units.map(|units| Value::Exact(Exact { units, scale }))
        };
        match self.kind {
            OperandKind::Int(width) => exact(integer_at(data, row, width), 0),
            OperandKind::Decimal { storage, scale } => exact(integer_at(data, row, storage), scale),
            OperandKind::F32 => Some(Value::Float(f64::from(value_at::<f32>(data, row)))),
            OperandKind::F64 => Some(Value::Float(value_at::<f64>(data, row))),
            OperandKind::Null => None,
        }
    }
}

impl OperandKind {
    /// PostgreSQL's name for the operand's type, for errors.
    fn pg_name(self) -> &'static str {
        match self {
            OperandKind::Int(IntWidth::I8 | IntWidth::I16 | IntWidth::U8) => "smallint",
            OperandKind::Int(IntWidth::I32 | IntWidth::U16) => "integer",
            OperandKind::Int(IntWidth::I64 | IntWidth::U32) => "bigint",
            OperandKind::F32 => "real",
            OperandKind::F64 => "double precision",
            OperandKind::Null => "unknown",
            _ => "numeric",
        }
    }
}

/// PostgreSQL's name for an engine type division does not take.
fn pg_name_of_type(id: ffi::DUCKDB_TYPE) -> &'static str {
    match id {
        ffi::DUCKDB_TYPE_DUCKDB_TYPE_VARCHAR => "text",
        ffi::DUCKDB_TYPE_DUCKDB_TYPE_BOOLEAN => "boolean",
        ffi::DUCKDB_TYPE_DUCKDB_TYPE_DATE => "date",
        ffi::DUCKDB_TYPE_DUCKDB_TYPE_TIME => "time without time zone",
        ffi::DUCKDB_TYPE_DUCKDB_TYPE_TIMESTAMP => "timestamp without time zone",
        ffi::DUCKDB_TYPE_DUCKDB_TYPE_TIMESTAMP_TZ => "timestamp with time zone",
        ffi::DUCKDB_TYPE_DUCKDB_TYPE_INTERVAL => "interval",
        ffi::DUCKDB_TYPE_DUCKDB_TYPE_BLOB => "bytea",
        ffi::DUCKDB_TYPE_DUCKDB_TYPE_UUID => "uuid",
        ffi::DUCKDB_TYPE_DUCKDB_TYPE_LIST | ffi::DUCKDB_TYPE_DUCKDB_TYPE_ARRAY => "anyarray",
        _ => "unknown",
    }
}

/// `span / factor` as PostgreSQL 15 divides an interval: months and days
/// truncated, their fractions carried down to days and microseconds.
pub fn divide_interval(span: ffi::duckdb_interval, factor: f64) -> Option<ffi::duckdb_interval> {
    const DAYS_PER_MONTH: f64 = 30.0;
    const SECS_PER_DAY: f64 = 86_400.0;
    let to_micros = |x: f64| (x * 1_000_000.0).round_ties_even() / 1_000_000.0;
    if factor == 0.0 {
        return None;
    }
    let months = (f64::from(span.months) / factor) as i32;
    let mut days = (f64::from(span.days) / factor) as i32;
    let month_remainder_days =
        to_micros((f64::from(span.months) / factor - f64::from(months)) * DAYS_PER_MONTH);
    let mut sec_remainder = to_micros(
        (f64::from(span.days) / factor - f64::from(days) + month_remainder_days
            - f64::from(month_remainder_days as i32))
            * SECS_PER_DAY,
    );
    if sec_remainder.abs() >= SECS_PER_DAY {
        let whole_days = (sec_remainder / SECS_PER_DAY) as i32;
        days += whole_days;
        sec_remainder -= f64::from(whole_days) * SECS_PER_DAY;
    }
    days += month_remainder_days as i32;
    let micros = (span.micros as f64 / factor + sec_remainder * 1_000_000.0).round_ties_even();
    Some(ffi::duckdb_interval {
        months,
        days,
        micros: micros as i64,
    })
}

native_scalar! {
    fn interval_div(info, input, output) {
        let spans = functions::Argument::<ffi::duckdb_interval>::of(input, 0);
        let factors = match Operand::of(input, 1) {
            Ok(f) => f,
            Err(id) => {
                let message = format!(
                    "operator does not exist: interval / {}",
                    pg_name_of_type(id)
                );
                fail(info, &message);
                return;
            }
        };
        let out = ffi::duckdb_vector_get_data(output).cast::<ffi::duckdb_interval>();
        for row in 0..row_count(input) {
            let (Some(span), Some(factor)) = (spans.get(row), factors.get(row)) else {
                set_null(output, row as u64);
                continue;
            };
            let Some(quotient) = divide_interval(span, factor.as_f64()) else {
                fail(info, &DivisionError::ByZero.to_string());
                return;
            };
            out.add(row).write_unaligned(quotient);
        }
    }
}

/// The value at `row` of a flat vector's `data`.
///
/// # Safety
/// `data` holds `T`s covering `row`.
unsafe fn value_at<T: Copy>(data: *mut std::ffi::c_void, row: usize) -> T {
    data.cast::<T>().add(row).read_unaligned()
}

/// The integer stored as `width` at `row` of `data` (`None` for an
/// unsigned 128-bit value beyond the signed range).
///
/// # Safety
/// `data` is a flat vector's data of that width covering `row`.
unsafe fn integer_at(data: *mut std::ffi::c_void, row: usize, width: IntWidth) -> Option<i128> {
    Some(match width {
        IntWidth::I8 => value_at::<i8>(data, row).into(),
        IntWidth::I16 => value_at::<i16>(data, row).into(),
        IntWidth::I32 => value_at::<i32>(data, row).into(),
        IntWidth::I64 => value_at::<i64>(data, row).into(),
        IntWidth::I128 => functions::i128_of(value_at(data, row)),
        IntWidth::U8 => value_at::<u8>(data, row).into(),
        IntWidth::U16 => value_at::<u16>(data, row).into(),
        IntWidth::U32 => value_at::<u32>(data, row).into(),
        IntWidth::U64 => value_at::<u64>(data, row).into(),
        IntWidth::U128 => {
            let h: ffi::duckdb_uhugeint = value_at(data, row);
            i128::try_from((u128::from(h.upper) << 64) | u128::from(h.lower)).ok()?
        }
    })
}

#[derive(Clone, Copy)]
enum Value {
    Exact(Exact),
    Float(f64),
}

impl Value {
    fn as_f64(self) -> f64 {
        match self {
            Value::Float(f) => f,
            Value::Exact(e) => e.units as f64 / 10f64.powi(e.scale as i32),
        }
    }
}

/// Runs `each` over the rows of a two-argument call, NULL in, NULL out.
unsafe fn each_pair(
    info: ffi::duckdb_function_info,
    input: ffi::duckdb_data_chunk,
    output: ffi::duckdb_vector,
    mut each: impl FnMut(usize, Value, Value) -> Result<(), String>,
) {
    guarded(info, || {
        let (a, b) = match (Operand::of(input, 0), Operand::of(input, 1)) {
            (Ok(a), Ok(b)) => (a, b),
            (a, b) => {
                let name = |o: Result<Operand, ffi::DUCKDB_TYPE>| match o {
                    Ok(o) => o.kind.pg_name(),
                    Err(id) => pg_name_of_type(id),
                };
                let message = format!("operator does not exist: {} / {}", name(a), name(b));
                fail(info, &message);
                return;
            }
        };
        for row in 0..row_count(input) {
            let (Some(x), Some(y)) = (a.get(row), b.get(row)) else {
                set_null(output, row as u64);
                continue;
            };
            if let Err(message) = each(row, x, y) {
                fail(info, &message);
                return;
            }
        }
    });
}

unsafe extern "C" fn numeric_div(
    info: ffi::duckdb_function_info,
    input: ffi::duckdb_data_chunk,
    output: ffi::duckdb_vector,
) {
    let out = ffi::duckdb_vector_get_data(output).cast::<ffi::duckdb_hugeint>();
    each_pair(info, input, output, |row, x, y| {
        let (Value::Exact(a), Value::Exact(b)) = (x, y) else {
            return Err("a float reached numeric division".to_string());
        };
        let units = quotient_units(a, b).map_err(|e| e.to_string())?;
        out.add(row).write_unaligned(hugeint_of(units));
        Ok(())
    });
}

/// A float type `floe_div` gives: `double precision` or `real`.
trait FloatQuotient: Copy + PartialEq + std::ops::Div<Output = Self> {
    const ZERO: Self;
    fn of(value: f64) -> Self;
}

impl FloatQuotient for f64 {
    const ZERO: f64 = 0.0;
    fn of(value: f64) -> f64 {
        value
    }
}

impl FloatQuotient for f32 {
    const ZERO: f32 = 0.0;
    fn of(value: f64) -> f32 {
        value as f32
    }
}

unsafe extern "C" fn float_div<F: FloatQuotient>(
    info: ffi::duckdb_function_info,
    input: ffi::duckdb_data_chunk,
    output: ffi::duckdb_vector,
) {
    let out = ffi::duckdb_vector_get_data(output).cast::<F>();
    each_pair(info, input, output, |row, x, y| {
        let divisor = F::of(y.as_f64());
        if divisor == F::ZERO {
            return Err(DivisionError::ByZero.to_string());
        }
        out.add(row).write_unaligned(F::of(x.as_f64()) / divisor);
        Ok(())
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn num(text: &str) -> Exact {
        let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
        let units: i128 = format!("{whole}{fraction}").parse().expect("number");
        Exact {
            units,
            scale: fraction.len() as u32,
        }
    }

    /// The quotient as PostgreSQL prints it, through the display rule.
    fn shown(a: &str, b: &str) -> String {
        let units = quotient_units(num(a), num(b)).expect("quotient");
        let magnitude = units.unsigned_abs();
        let scale = display_scale(magnitude);
        let held = magnitude / 10u128.pow(u32::from(QUOTIENT_SCALE - scale));
        let mut out = bytes::BytesMut::new();
        crate::codec::text::decimal_text(&mut out, units < 0, held, scale);
        String::from_utf8(out.to_vec()).expect("utf8")
    }

    #[test]
    fn quotients_print_as_postgres_prints_them() {
        // Each answer is PostgreSQL 15's.
        for (a, b, pg) in [
            ("1.0", "3", "0.33333333333333333333"),
            ("10.0", "3", "3.3333333333333333"),
            ("2", "3", "0.66666666666666666667"),
            ("1.2", "1.3", "0.92307692307692307692"),
            ("12000", "12345.67", "0.97200070956051797918"),
            ("100000.0", "3", "33333.333333333333"),
            ("7.0", "2", "3.5000000000000000"),
            ("1.50", "3", "0.50000000000000000000"),
            ("30001", "2", "15000.500000000000"),
            ("1", "2", "0.50000000000000000000"),
            ("3.75", "2", "1.8750000000000000"),
            ("-7.0", "2", "-3.5000000000000000"),
            ("-2", "3", "-0.66666666666666666667"),
            ("0", "5", "0.00000000000000000000"),
            ("1.5", "1.4", "1.07142857142857142857"),
            ("3", "3", "1.00000000000000000000"),
            ("-2.5", "2.5", "-1.00000000000000000000"),
            ("123456789012.5", "7", "17636684144.64285714"),
        ] {
            assert_eq!(shown(a, b), pg, "{a} / {b}");
        }
    }

    #[test]
    fn scales_follow_select_div_scale() {
        assert_eq!(division_scale(num("1.0"), num("3")), 20);
        assert_eq!(division_scale(num("10.0"), num("3")), 16);
        assert_eq!(division_scale(num("1"), num("30000.0")), 24);
        assert_eq!(division_scale(num("5"), num("5")), 20);
        assert_eq!(
            division_scale(num("1.0000000000000000000000000"), num("3")),
            25
        );
    }

    #[test]
    fn intervals_divide_as_postgres_divides_them() {
        let span = |months, days, micros| ffi::duckdb_interval {
            months,
            days,
            micros,
        };
        let parts = |i: ffi::duckdb_interval| (i.months, i.days, i.micros);
        // PostgreSQL 15: '1 day' / 2 = '12:00:00'; '1 mon' / 3 = '10 days';
        // '1 mon 1 day' / 7 = '4 days 10:17:08.546743'; '1 hour' / 1.5 =
        // '00:40:00'; '1 year 5 days 3 hours' / -4 = '-3 mons -1 days -06:45:00'.
        let hour = 3_600_000_000;
        assert_eq!(
            parts(divide_interval(span(0, 1, 0), 2.0).expect("q")),
            (0, 0, 12 * hour)
        );
        assert_eq!(
            parts(divide_interval(span(1, 0, 0), 3.0).expect("q")),
            (0, 10, 0)
        );
        assert_eq!(
            parts(divide_interval(span(1, 1, 0), 7.0).expect("q")),
            (0, 4, 37_028_546_743)
        );
        assert_eq!(
            parts(divide_interval(span(12, 5, 3 * hour), -4.0).expect("q")),
            (-3, -1, -24_300_000_000)
        );
        assert_eq!(
            parts(divide_interval(span(0, 0, hour), 1.5).expect("q")),
            (0, 0, 40 * 60_000_000)
        );
        assert!(divide_interval(span(0, 1, 0), 0.0).is_none());
    }

    #[test]
    fn division_by_zero_and_overflow_are_errors() {
        assert_eq!(
            quotient_units(num("1"), num("0")),
            Err(DivisionError::ByZero)
        );
        assert_eq!(
            quotient_units(num("100000000000000000000"), num("1")),
            Err(DivisionError::Overflow)
        );
    }
}
