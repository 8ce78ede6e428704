//! Decodes Bind parameters (text or binary, per their Postgres type) into DuckDB values.
//!
//! Scalars whose Postgres text form Rust parses exactly (integers, floats, booleans)
//! are bound typed. Other text parameters are bound as VARCHAR, which DuckDB treats
//! like an untyped string literal and casts to the type the statement needs, the way
//! Postgres treats an `unknown` literal.

use bytes::Buf;

use crate::codec::text::{PG_EPOCH_DAYS, PG_EPOCH_MICROS};
use crate::codec::types::{element_of, oid};
use crate::engine::duck::Value;
use crate::pg_error::{sqlstate, PgError};

fn invalid_text(type_name: &str, text: &str) -> PgError {
    PgError::new(
        sqlstate::INVALID_TEXT_REPRESENTATION,
        format!("invalid input syntax for type {type_name}: \"{text}\""),
    )
}

fn out_of_range(type_name: &str, text: &str) -> PgError {
    PgError::new(
        sqlstate::NUMERIC_VALUE_OUT_OF_RANGE,
        format!("value \"{text}\" is out of range for type {type_name}"),
    )
}

/// Fails unless a binary value of `type_name` has exactly `n` bytes.
pub fn expect_binary_len(raw: &[u8], n: usize, type_name: &str) -> Result<(), PgError> {
    if raw.len() == n {
        Ok(())
    } else {
        Err(bad_binary(type_name))
    }
}

pub fn bad_binary(type_name: &str) -> PgError {
    PgError::new(
        sqlstate::INVALID_BINARY_REPRESENTATION,
        format!("incorrect binary data format in bind parameter of type {type_name}"),
    )
}

fn parse_int(text: &str, type_name: &str, min: i64, max: i64) -> Result<i64, PgError> {
    let t = text.trim();
    match t.parse::<i64>() {
        Ok(v) if v >= min && v <= max => Ok(v),
        Ok(_) => Err(out_of_range(type_name, t)),
        Err(e) => match e.kind() {
            std::num::IntErrorKind::PosOverflow | std::num::IntErrorKind::NegOverflow => {
                Err(out_of_range(type_name, t))
            }
            _ => Err(invalid_text(type_name, t)),
        },
    }
}

fn parse_float(text: &str, type_name: &str) -> Result<f64, PgError> {
    let t = text.trim();
    let lower = t.to_ascii_lowercase();
    match lower.as_str() {
        "nan" => return Ok(f64::NAN),
        "infinity" | "+infinity" | "inf" | "+inf" => return Ok(f64::INFINITY),
        "-infinity" | "-inf" => return Ok(f64::NEG_INFINITY),
        _ => {}
    }
    let v: f64 = t.parse().map_err(|_| invalid_text(type_name, t))?;
    if v.is_infinite() {
        return Err(out_of_range(type_name, t));
    }
    Ok(v)
}

fn parse_bool(text: &str) -> Result<bool, PgError> {
    let t = text.trim().to_ascii_lowercase();
    match t.as_str() {
        "t" | "true" | "y" | "yes" | "on" | "1" => Ok(true),
        "f" | "false" | "n" | "no" | "off" | "0" => Ok(false),
        _ => Err(invalid_text("boolean", text)),
    }
}

fn parse_bytea(text: &str) -> Result<Vec<u8>, PgError> {
    if let Some(hex) = text.strip_prefix("\\x") {
        let digits: Vec<u8> = hex.bytes().filter(|c| !c.is_ascii_whitespace()).collect();
        if !digits.len().is_multiple_of(2) {
            return Err(invalid_text("bytea", text));
        }
        digits
            .chunks(2)
            .map(|p| {
                let h = (p[0] as char).to_digit(16);
                let l = (p[1] as char).to_digit(16);
                match (h, l) {
                    (Some(h), Some(l)) => Ok((h * 16 + l) as u8),
                    _ => Err(invalid_text("bytea", text)),
                }
            })
            .collect()
    } else {
        // Escape format: backslash escapes (\\ and \ooo), everything else literal.
        let b = text.as_bytes();
        let mut out = Vec::with_capacity(b.len());
        let mut i = 0;
        while i < b.len() {
            if b[i] == b'\\' {
                if b.get(i + 1) == Some(&b'\\') {
                    out.push(b'\\');
                    i += 2;
                } else if i + 3 < b.len()
                    && b[i + 1..i + 4].iter().all(|c| (b'0'..=b'7').contains(c))
                {
                    let v = (b[i + 1] - b'0') as u32 * 64
                        + (b[i + 2] - b'0') as u32 * 8
                        + (b[i + 3] - b'0') as u32;
                    if v > 255 {
                        return Err(invalid_text("bytea", text));
                    }
                    out.push(v as u8);
                    i += 4;
                } else {
                    return Err(invalid_text("bytea", text));
                }
            } else {
                out.push(b[i]);
                i += 1;
            }
        }
        Ok(out)
    }
}

/// Decodes one text-format parameter of Postgres type `type_oid` (0 = unspecified).
pub fn decode_text(type_oid: u32, raw: &[u8]) -> Result<Value, PgError> {
    let text = std::str::from_utf8(raw).map_err(|_| {
        PgError::new(
            sqlstate::CHARACTER_NOT_IN_REPERTOIRE,
            "invalid byte sequence for encoding \"UTF8\"",
        )
    })?;
    Ok(match type_oid {
        oid::BOOL => Value::bool(parse_bool(text)?),
        oid::INT2 => {
            Value::i16(parse_int(text, "smallint", i16::MIN.into(), i16::MAX.into())? as i16)
        }
        oid::INT4 => {
            Value::i32(parse_int(text, "integer", i32::MIN.into(), i32::MAX.into())? as i32)
        }
        oid::INT8 => Value::i64(parse_int(text, "bigint", i64::MIN, i64::MAX)?),
        oid::OID => Value::i64(parse_int(text, "oid", 0, u32::MAX.into())?),
        oid::FLOAT4 => Value::f32(parse_float(text, "real")? as f32),
        oid::FLOAT8 => Value::f64(parse_float(text, "double precision")?),
        oid::BYTEA => Value::blob(&parse_bytea(text)?),
        t if element_of(t).is_some() && text.trim_start().starts_with(['{', '[']) => {
            Value::varchar(&array_literal_to_duckdb(text)?)
        }
        _ => Value::varchar(text),
    })
}

/// Converts a Postgres array literal (`{1,NULL,"a b"}`, nested braces for more
/// dimensions) into the list literal DuckDB casts from (`['1', NULL, 'a b']`).
fn array_literal_to_duckdb(text: &str) -> Result<String, PgError> {
    let t = text.trim();
    // Optional dimension decoration: [1:3]={...}
    let body = match (t.starts_with('['), t.find('=')) {
        (true, Some(eq)) => t[eq + 1..].trim_start(),
        (true, None) => return Ok(t.to_string()),
        _ => t,
    };
    let chars: Vec<char> = body.chars().collect();
    let mut pos = 0;
    let mut out = String::with_capacity(body.len() + 8);
    parse_array(&chars, &mut pos, &mut out).ok_or_else(|| invalid_text("array", text))?;
    while pos < chars.len() && chars[pos].is_whitespace() {
        pos += 1;
    }
    if pos != chars.len() {
        return Err(invalid_text("array", text));
    }
    Ok(out)
}

fn parse_array(c: &[char], pos: &mut usize, out: &mut String) -> Option<()> {
    if c.get(*pos) != Some(&'{') {
        return None;
    }
    *pos += 1;
    out.push('[');
    let mut first = true;
    loop {
        while c.get(*pos)?.is_whitespace() {
            *pos += 1;
        }
        if c[*pos] == '}' && first {
            *pos += 1;
            out.push(']');
            return Some(());
        }
        if !first {
            out.push_str(", ");
        }
        first = false;
        match c[*pos] {
            '{' => parse_array(c, pos, out)?,
            '"' => {
                *pos += 1;
                let mut v = String::new();
                loop {
                    match *c.get(*pos)? {
                        '\\' => {
                            v.push(*c.get(*pos + 1)?);
                            *pos += 2;
                        }
                        '"' => {
                            *pos += 1;
                            break;
                        }
                        ch => {
                            v.push(ch);
                            *pos += 1;
                        }
                    }
                }
                push_quoted(out, &v);
            }
            _ => {
                let mut v = String::new();
                while let Some(&ch) = c.get(*pos) {
                    if ch == ',' || ch == '}' {
                        break;
                    }
                    if ch == '\\' {
                        v.push(*c.get(*pos + 1)?);
                        *pos += 2;
                        continue;
                    }
                    v.push(ch);
                    *pos += 1;
                }
                let v = v.trim();
                if v.eq_ignore_ascii_case("NULL") {
                    out.push_str("NULL");
                } else if v.is_empty() {
                    return None;
                } else {
                    push_quoted(out, v);
                }
            }
        }
        while c.get(*pos)?.is_whitespace() {
            *pos += 1;
        }
        match c.get(*pos)? {
            ',' => *pos += 1,
            '}' => {
                *pos += 1;
                out.push(']');
                return Some(());
            }
            _ => return None,
        }
    }
}

/// A single-quoted element of a DuckDB list literal (backslash escapes).
fn push_quoted(out: &mut String, v: &str) {
    out.push('\'');
    for ch in v.chars() {
        if ch == '\'' || ch == '\\' {
            out.push('\\');
        }
        out.push(ch);
    }
    out.push('\'');
}

/// Decodes one binary-format parameter of Postgres type `type_oid`.
pub fn decode_binary(type_oid: u32, raw: &[u8]) -> Result<Value, PgError> {
    let mut b = raw;
    let need = |n: usize, name: &str| expect_binary_len(raw, n, name);
    Ok(match type_oid {
        oid::BOOL => {
            need(1, "boolean")?;
            Value::bool(raw[0] != 0)
        }
        oid::INT2 => {
            need(2, "smallint")?;
            Value::i16(b.get_i16())
        }
        oid::INT4 => {
            need(4, "integer")?;
            Value::i32(b.get_i32())
        }
        oid::OID => {
            need(4, "oid")?;
            Value::i64(i64::from(b.get_u32()))
        }
        oid::INT8 => {
            need(8, "bigint")?;
            Value::i64(b.get_i64())
        }
        oid::FLOAT4 => {
            need(4, "real")?;
            Value::f32(b.get_f32())
        }
        oid::FLOAT8 => {
            need(8, "double precision")?;
            Value::f64(b.get_f64())
        }
        oid::DATE => {
            need(4, "date")?;
            let d = b.get_i32();
            match d {
                i32::MAX => Value::varchar("infinity"),
                i32::MIN => Value::varchar("-infinity"),
                _ => Value::date(
                    d.checked_add(PG_EPOCH_DAYS)
                        .ok_or_else(|| bad_binary("date"))?,
                ),
            }
        }
        oid::TIME => {
            need(8, "time")?;
            Value::time(b.get_i64())
        }
        oid::TIMETZ => {
            need(12, "time with time zone")?;
            let micros = b.get_i64();
            let west = b.get_i32();
            Value::time_tz(micros, -west)
        }
        oid::TIMESTAMP | oid::TIMESTAMPTZ => {
            need(8, "timestamp")?;
            let t = b.get_i64();
            let unix = match t {
                i64::MAX => return Ok(Value::varchar("infinity")),
                i64::MIN => return Ok(Value::varchar("-infinity")),
                _ => t
                    .checked_add(PG_EPOCH_MICROS)
                    .ok_or_else(|| bad_binary("timestamp"))?,
            };
            if type_oid == oid::TIMESTAMP {
                Value::timestamp(unix)
            } else {
                Value::timestamp_tz(unix)
            }
        }
        oid::INTERVAL => {
            need(16, "interval")?;
            let micros = b.get_i64();
            let days = b.get_i32();
            let months = b.get_i32();
            Value::interval(months, days, micros)
        }
        oid::UUID => {
            need(16, "uuid")?;
            Value::uuid(b.get_u128())
        }
        oid::NUMERIC => Value::varchar(&numeric_from_binary(raw)?),
        oid::BYTEA => Value::blob(raw),
        oid::JSONB => {
            // Version byte 1, then the JSON text.
            if raw.first() != Some(&1) {
                return Err(bad_binary("jsonb"));
            }
            Value::varchar(std::str::from_utf8(&raw[1..]).map_err(|_| bad_binary("jsonb"))?)
        }
        t if element_of(t).is_some() => Value::varchar(&array_text_from_binary(raw)?),
        _ => Value::varchar(std::str::from_utf8(raw).map_err(|_| {
            PgError::new(
                sqlstate::CHARACTER_NOT_IN_REPERTOIRE,
                "invalid byte sequence for encoding \"UTF8\"",
            )
        })?),
    })
}

/// The decimal text of a binary `numeric`.
pub fn numeric_from_binary(raw: &[u8]) -> Result<String, PgError> {
    let mut b = raw;
    if b.len() < 8 {
        return Err(bad_binary("numeric"));
    }
    let ndigits = b.get_i16();
    let weight = i32::from(b.get_i16());
    let sign = b.get_u16();
    let dscale = b.get_i16().max(0) as usize;
    if ndigits < 0 || b.len() != ndigits as usize * 2 {
        return Err(bad_binary("numeric"));
    }
    match sign {
        0xC000 => return Ok("NaN".into()),
        0xD000 => return Ok("Infinity".into()),
        0xF000 => return Ok("-Infinity".into()),
        _ => {}
    }
    let digits: Vec<i16> = (0..ndigits).map(|_| b.get_i16()).collect();
    let mut int_part = String::new();
    for w in 0..=weight.max(-1) {
        let d = digits.get(w as usize).copied().unwrap_or(0);
        if int_part.is_empty() {
            if d != 0 {
                int_part.push_str(&d.to_string());
            }
        } else {
            int_part.push_str(&format!("{d:04}"));
        }
    }
    if int_part.is_empty() {
        int_part.push('0');
    }
    let mut frac = String::new();
    let mut idx = weight + 1;
    while frac.len() < dscale {
        let d = if idx < 0 {
            0
        } else {
            digits.get(idx as usize).copied().unwrap_or(0)
        };
        frac.push_str(&format!("{d:04}"));
        idx += 1;
    }
    frac.truncate(dscale);
    let mut s = String::new();
    if sign == 0x4000 {
        s.push('-');
    }
    s.push_str(&int_part);
    if dscale > 0 {
        s.push('.');
        s.push_str(&frac);
    }
    Ok(s)
}

/// The Postgres text literal of a binary one-dimensional array of scalars, which
/// DuckDB casts to its LIST type.
fn array_text_from_binary(raw: &[u8]) -> Result<String, PgError> {
    let mut b = raw;
    if b.len() < 12 {
        return Err(bad_binary("array"));
    }
    let ndim = b.get_i32();
    let _has_null = b.get_i32();
    let elem = b.get_u32();
    if ndim == 0 {
        return Ok("[]".into());
    }
    if ndim != 1 || b.len() < 8 {
        return Err(PgError::new(
            sqlstate::FEATURE_NOT_SUPPORTED,
            "only one-dimensional array parameters are supported",
        ));
    }
    let len = b.get_i32();
    let _lbound = b.get_i32();
    let mut items = Vec::with_capacity(len.max(0) as usize);
    for _ in 0..len {
        if b.len() < 4 {
            return Err(bad_binary("array"));
        }
        let n = b.get_i32();
        if n < 0 {
            items.push("NULL".to_string());
            continue;
        }
        let n = n as usize;
        if b.len() < n {
            return Err(bad_binary("array"));
        }
        let (item, rest) = b.split_at(n);
        b = rest;
        items.push(scalar_literal(elem, item)?);
    }
    Ok(format!("[{}]", items.join(", ")))
}

/// A DuckDB literal for one binary array element.
fn scalar_literal(elem: u32, raw: &[u8]) -> Result<String, PgError> {
    let mut b = raw;
    let quote = floe_sql::quote::literal;
    Ok(match elem {
        oid::BOOL if raw.len() == 1 => (raw[0] != 0).to_string(),
        oid::INT2 if raw.len() == 2 => b.get_i16().to_string(),
        oid::INT4 if raw.len() == 4 => b.get_i32().to_string(),
        oid::INT8 if raw.len() == 8 => b.get_i64().to_string(),
        oid::OID if raw.len() == 4 => b.get_u32().to_string(),
        oid::FLOAT4 if raw.len() == 4 => format!("{:?}", b.get_f32()),
        oid::FLOAT8 if raw.len() == 8 => format!("{:?}", b.get_f64()),
        oid::NUMERIC => numeric_from_binary(raw)?,
        oid::TEXT | oid::VARCHAR | oid::JSON | oid::NAME | oid::BPCHAR => {
            quote(std::str::from_utf8(raw).map_err(|_| bad_binary("text"))?)
        }
        _ => {
            return Err(PgError::new(
                sqlstate::FEATURE_NOT_SUPPORTED,
                format!("binary array parameters with element type {elem} are not supported; send them as text"),
            ))
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers_check_range_and_syntax() {
        assert!(decode_text(oid::INT4, b"42").is_ok());
        assert_eq!(
            decode_text(oid::INT2, b"70000").err().map(|e| e.code),
            Some(sqlstate::NUMERIC_VALUE_OUT_OF_RANGE)
        );
        assert_eq!(
            decode_text(oid::INT4, b"abc").err().map(|e| e.code),
            Some(sqlstate::INVALID_TEXT_REPRESENTATION)
        );
        assert_eq!(
            decode_text(oid::INT8, b"99999999999999999999")
                .err()
                .map(|e| e.code),
            Some(sqlstate::NUMERIC_VALUE_OUT_OF_RANGE)
        );
    }

    #[test]
    fn bools_and_bytea() {
        assert!(parse_bool("yes").expect("bool"));
        assert!(!parse_bool(" off ").expect("bool"));
        assert!(parse_bool("maybe").is_err());
        assert_eq!(parse_bytea("\\x0aff").expect("hex"), vec![0x0a, 0xff]);
        assert_eq!(
            parse_bytea("a\\\\b\\001").expect("escape"),
            b"a\\b\x01".to_vec()
        );
    }

    #[test]
    fn binary_numeric_to_text() {
        // 1234567.89
        let raw = [0, 3, 0, 1, 0, 0, 0, 2, 0, 123, 0x11, 0xD7, 0x22, 0xC4];
        assert_eq!(numeric_from_binary(&raw).expect("numeric"), "1234567.89");
        // -0.0005
        let raw = [0, 1, 0xFF, 0xFF, 0x40, 0, 0, 4, 0, 5];
        assert_eq!(numeric_from_binary(&raw).expect("numeric"), "-0.0005");
        let zero = [0, 0, 0, 0, 0, 0, 0, 0];
        assert_eq!(numeric_from_binary(&zero).expect("numeric"), "0");
    }

    #[test]
    fn binary_arrays_to_literals() {
        let mut raw = vec![];
        raw.extend_from_slice(&1i32.to_be_bytes());
        raw.extend_from_slice(&1i32.to_be_bytes());
        raw.extend_from_slice(&oid::INT4.to_be_bytes());
        raw.extend_from_slice(&3i32.to_be_bytes());
        raw.extend_from_slice(&1i32.to_be_bytes());
        for v in [Some(1i32), None, Some(-3)] {
            match v {
                Some(v) => {
                    raw.extend_from_slice(&4i32.to_be_bytes());
                    raw.extend_from_slice(&v.to_be_bytes());
                }
                None => raw.extend_from_slice(&(-1i32).to_be_bytes()),
            }
        }
        assert_eq!(
            array_text_from_binary(&raw).expect("array"),
            "[1, NULL, -3]"
        );
    }

    #[test]
    fn text_arrays_become_duckdb_lists() {
        let c = |t: &str| array_literal_to_duckdb(t).expect(t);
        assert_eq!(c("{1,2,3}"), "['1', '2', '3']");
        assert_eq!(c("{}"), "[]");
        assert_eq!(
            c(r#"{"a b",NULL,"it's","x\"y",c}"#),
            r#"['a b', NULL, 'it\'s', 'x"y', 'c']"#
        );
        assert_eq!(c("{{1,2},{3,4}}"), "[['1', '2'], ['3', '4']]");
        assert_eq!(c("[1:2]={5,6}"), "['5', '6']");
        assert!(array_literal_to_duckdb("{1,2").is_err());
        assert!(array_literal_to_duckdb("{1,,2}").is_err());
    }

    #[test]
    fn short_binary_is_rejected() {
        assert_eq!(
            decode_binary(oid::INT4, &[0, 1]).err().map(|e| e.code),
            Some(sqlstate::INVALID_BINARY_REPRESENTATION)
        );
    }
}
