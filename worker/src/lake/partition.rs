//! Partition values for rows Floe writes into partitioned Iceberg tables. Each
//! partition field becomes a DuckDB expression computing the Iceberg transform
//! (identity, bucket — murmur3 as the spec defines it —, truncate, year, month,
//! day, hour) in an unambiguous text form; DuckDB groups the rows by those values
//! into Hive-style directories (`__floe_p0=…/`), and the directory names are read
//! back here into each file's partition struct.
//!
//! Text forms: integers as decimal digits, strings and bytes as hex, decimals as
//! their unscaled integer; a NULL value is DuckDB's `__HIVE_DEFAULT_PARTITION__`.

use std::path::Path;

use iceberg::spec::{Literal, PartitionSpec, PrimitiveType, Schema, Struct, Transform, Type};

use crate::pg_error::{sqlstate, PgError};

/// What DuckDB writes for a NULL partition value.
const HIVE_NULL: &str = "__HIVE_DEFAULT_PARTITION__";

/// Macros the partition expressions use (Iceberg's bucket hash: 32-bit murmur3
/// of the value as an 8-byte little-endian long), created in every session.
pub const SESSION_MACROS: &[&str] = &[
    "CREATE OR REPLACE TEMP MACRO floe_m3_rotl(x, r) AS (((x << r) | (x >> (32 - r))) & 4294967295::UBIGINT)",
    "CREATE OR REPLACE TEMP MACRO floe_m3_k(k) AS ((floe_m3_rotl((k * 3432918353::UBIGINT) & 4294967295::UBIGINT, 15) * 461845907::UBIGINT) & 4294967295::UBIGINT)",
    "CREATE OR REPLACE TEMP MACRO floe_m3_h(h, k) AS ((floe_m3_rotl(xor(h, floe_m3_k(k)), 13) * 5::UBIGINT + 3864292196::UBIGINT) & 4294967295::UBIGINT)",
    "CREATE OR REPLACE TEMP MACRO floe_m3_f1(h) AS xor(h, h >> 16)",
    "CREATE OR REPLACE TEMP MACRO floe_m3_f2(h) AS xor((h * 2246822507::UBIGINT) & 4294967295::UBIGINT, ((h * 2246822507::UBIGINT) & 4294967295::UBIGINT) >> 13)",
    "CREATE OR REPLACE TEMP MACRO floe_m3_f3(h) AS xor((h * 3266489909::UBIGINT) & 4294967295::UBIGINT, ((h * 3266489909::UBIGINT) & 4294967295::UBIGINT) >> 16)",
    // murmur3_x86_32 of a byte list `x` of length `n` (4-byte little-endian
    // blocks, the tail, the length), as Iceberg hashes strings, UUIDs, binary
    // and decimals.
    "CREATE OR REPLACE TEMP MACRO floe_m3_hash_list(x, n) AS floe_m3_f3(floe_m3_f2(floe_m3_f1(xor(xor(\
       list_reduce([0::UBIGINT] || list_transform(range(n // 4), lambda j: x[4 * j + 1] | (x[4 * j + 2] << 8) | (x[4 * j + 3] << 16) | (x[4 * j + 4] << 24)), lambda h, k: floe_m3_h(h, k)), \
       CASE WHEN n % 4 = 0 THEN 0::UBIGINT ELSE floe_m3_k(x[4 * (n // 4) + 1] \
         | CASE WHEN n % 4 >= 2 THEN x[4 * (n // 4) + 2] << 8 ELSE 0::UBIGINT END \
         | CASE WHEN n % 4 = 3 THEN x[4 * (n // 4) + 3] << 16 ELSE 0::UBIGINT END) END), n::UBIGINT))))",
    "CREATE OR REPLACE TEMP MACRO floe_m3_hash_bytes(b) AS floe_m3_hash_list(list_transform(range(octet_length(b)), lambda i: ('0x' || substr(hex(b), 2 * i + 1, 2))::UBIGINT), octet_length(b))",
    // A decimal hashes the minimal big-endian two's complement of its unscaled value.
    "CREATE OR REPLACE TEMP MACRO floe_twos_len(u) AS (1 + len(list_filter(range(1, 16), lambda j: NOT (u >= -(1::HUGEINT << (8 * j - 1)) AND u < (1::HUGEINT << (8 * j - 1))))))",
    "CREATE OR REPLACE TEMP MACRO floe_m3_hash_unscaled(u) AS floe_m3_hash_list(list_transform(range(floe_twos_len(u)), lambda i: ((u >> (8 * (floe_twos_len(u) - 1 - i))) & 255)::UBIGINT), floe_twos_len(u))",
    "CREATE OR REPLACE TEMP MACRO floe_iceberg_bucket_hash(h, n) AS CAST((h & 2147483647::UBIGINT) % n AS INTEGER)",
    "CREATE OR REPLACE TEMP MACRO floe_iceberg_bucket_long(v, n) AS CAST((floe_m3_f3(floe_m3_f2(floe_m3_f1(xor(floe_m3_h(floe_m3_h(0::UBIGINT, CAST(CAST(v AS BIGINT) & 4294967295 AS UBIGINT)), CAST((CAST(v AS BIGINT) >> 32) & 4294967295 AS UBIGINT)), 8::UBIGINT)))) & 2147483647::UBIGINT) % n AS INTEGER)",
];

/// The column name of partition field `i` in the rows DuckDB partitions.
pub fn column(i: usize) -> String {
    format!("__floe_p{i}")
}

/// The DuckDB expression for partition field `transform` of `value` (an
/// expression of the source column's DuckDB type).
pub fn expression(
    value: &str,
    source: &PrimitiveType,
    transform: &Transform,
) -> Result<String, PgError> {
    use PrimitiveType as P;
    let utc = |v: &str| match source {
        P::Timestamptz | P::TimestamptzNs => format!("make_timestamp(epoch_us({v}))"),
        _ => v.to_string(),
    };
    let epoch = match source {
        P::Date => "DATE '1970-01-01'",
        _ => "TIMESTAMP '1970-01-01'",
    };
    let text = match (transform, source) {
        (Transform::Identity, _) => identity(value, source)?,
        (Transform::Year, P::Date | P::Timestamp | P::Timestamptz) => {
            format!("date_diff('year', {epoch}, {})", utc(value))
        }
        (Transform::Month, P::Date | P::Timestamp | P::Timestamptz) => {
            format!("date_diff('month', {epoch}, {})", utc(value))
        }
        (Transform::Day, P::Date | P::Timestamp | P::Timestamptz) => {
            format!("date_diff('day', {epoch}, {})", utc(value))
        }
        (Transform::Hour, P::Timestamp | P::Timestamptz) => {
            format!("date_diff('hour', {epoch}, {})", utc(value))
        }
        (Transform::Bucket(n), P::Int | P::Long) => {
            format!("floe_iceberg_bucket_long({value}, {n})")
        }
        (Transform::Bucket(n), P::Date) => {
            format!("floe_iceberg_bucket_long(date_diff('day', DATE '1970-01-01', {value}), {n})")
        }
        (Transform::Bucket(n), P::Timestamp | P::Timestamptz) => {
            format!("floe_iceberg_bucket_long(epoch_us({value}), {n})")
        }
        (Transform::Bucket(n), P::String) => {
            format!("floe_iceberg_bucket_hash(floe_m3_hash_bytes(encode({value})), {n})")
        }
        (Transform::Bucket(n), P::Uuid) => format!(
            "floe_iceberg_bucket_hash(floe_m3_hash_bytes(unhex(replace(CAST({value} AS VARCHAR), '-', ''))), {n})"
        ),
        (Transform::Bucket(n), P::Binary | P::Fixed(_)) => {
            format!("floe_iceberg_bucket_hash(floe_m3_hash_bytes({value}), {n})")
        }
        (Transform::Bucket(n), P::Decimal { .. }) => format!(
            "floe_iceberg_bucket_hash(floe_m3_hash_unscaled({}), {n})",
            unscaled(value)
        ),
        (Transform::Truncate(w), P::Int | P::Long) => {
            format!("({value} - ((({value} % {w}) + {w}) % {w}))")
        }
        (Transform::Truncate(w), P::String) => format!("hex(left({value}, {w}))"),
        (Transform::Truncate(w), P::Decimal { .. }) => {
            let u = unscaled(value);
            format!("({u} - ((({u} % {w}) + {w}) % {w}))")
        }
        _ => {
            return Err(PgError::new(
                sqlstate::FEATURE_NOT_SUPPORTED,
                format!("writing {transform} partitions of a {source} column is not supported yet"),
            ))
        }
    };
    Ok(text)
}

fn identity(value: &str, source: &PrimitiveType) -> Result<String, PgError> {
    use PrimitiveType as P;
    Ok(match source {
        P::Boolean => format!("CAST({value} AS INTEGER)"),
        P::Int | P::Long => format!("CAST({value} AS BIGINT)"),
        P::Date => format!("date_diff('day', DATE '1970-01-01', {value})"),
        P::Timestamp | P::Timestamptz => format!("epoch_us({value})"),
        P::String => format!("hex({value})"),
        P::Binary | P::Fixed(_) => format!("hex({value})"),
        P::Uuid => format!("replace(CAST({value} AS VARCHAR), '-', '')"),
        P::Decimal { .. } => unscaled(value),
        other => {
            return Err(PgError::new(
                sqlstate::FEATURE_NOT_SUPPORTED,
                format!("writing identity partitions of a {other} column is not supported yet"),
            ))
        }
    })
}

/// A decimal's unscaled value: its digits without the point.
fn unscaled(value: &str) -> String {
    format!("CAST(replace(CAST({value} AS VARCHAR), '.', '') AS HUGEINT)")
}

/// The partition struct of a file DuckDB wrote under `root` at `file`, from the
/// `__floe_p<i>=<text>` directories on its path.
pub fn values(
    root: &Path,
    file: &Path,
    spec: &PartitionSpec,
    schema: &Schema,
) -> Result<Struct, PgError> {
    let relative = file.strip_prefix(root).unwrap_or(file);
    let mut texts: Vec<Option<String>> = vec![None; spec.fields().len()];
    for part in relative.iter().filter_map(|p| p.to_str()) {
        let Some((key, text)) = part.split_once('=') else {
            continue;
        };
        if let Some(i) = key
            .strip_prefix("__floe_p")
            .and_then(|i| i.parse::<usize>().ok())
        {
            if let Some(slot) = texts.get_mut(i) {
                *slot = Some(text.to_string());
            }
        }
    }
    let mut literals = Vec::with_capacity(texts.len());
    for (field, text) in spec.fields().iter().zip(texts) {
        let text =
            text.ok_or_else(|| internal(format!("no partition directory for {}", field.name)))?;
        if text == HIVE_NULL {
            literals.push(None);
            continue;
        }
        let source = match schema
            .field_by_id(field.source_id)
            .map(|f| f.field_type.as_ref())
        {
            Some(Type::Primitive(p)) => p.clone(),
            _ => {
                return Err(internal(format!(
                    "partition source of {} is not a primitive",
                    field.name
                )))
            }
        };
        let result = match field.transform.result_type(&Type::Primitive(source)) {
            Ok(Type::Primitive(p)) => p,
            _ => {
                return Err(internal(format!(
                    "no result type for partition {}",
                    field.name
                )))
            }
        };
        literals.push(Some(literal(&text, &result).ok_or_else(|| {
            internal(format!(
                "partition value {text:?} of {} does not parse",
                field.name
            ))
        })?));
    }
    Ok(Struct::from_iter(literals))
}

fn literal(text: &str, t: &PrimitiveType) -> Option<Literal> {
    use PrimitiveType as P;
    let int = || text.parse::<i64>().ok();
    Some(match t {
        P::Boolean => Literal::bool(int()? != 0),
        P::Int => Literal::int(i32::try_from(int()?).ok()?),
        P::Long => Literal::long(int()?),
        P::Date => Literal::date(i32::try_from(int()?).ok()?),
        P::Timestamp => Literal::timestamp(int()?),
        P::Timestamptz => Literal::timestamptz(int()?),
        P::String => Literal::string(String::from_utf8(hex(text)?).ok()?),
        P::Binary => Literal::binary(hex(text)?),
        P::Fixed(_) => Literal::fixed(hex(text)?),
        P::Uuid => Literal::uuid(uuid::Uuid::from_slice(&hex(text)?).ok()?),
        P::Decimal { .. } => Literal::decimal(text.parse::<i128>().ok()?),
        _ => return None,
    })
}

fn hex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect()
}

fn internal(message: String) -> PgError {
    PgError::new("XX000", message)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_forms_parse_back() {
        assert_eq!(literal("-3", &PrimitiveType::Int), Some(Literal::int(-3)));
        assert_eq!(
            literal("616263", &PrimitiveType::String),
            Some(Literal::string("abc"))
        );
        assert_eq!(
            literal(
                "1050",
                &PrimitiveType::Decimal {
                    precision: 12,
                    scale: 2
                }
            ),
            Some(Literal::decimal(1050))
        );
        assert_eq!(
            literal("20454", &PrimitiveType::Date),
            Some(Literal::date(20454))
        );
        assert_eq!(literal("zz", &PrimitiveType::String), None);
    }

    #[test]
    fn unsupported_transforms_are_refused() {
        let e = expression("x", &PrimitiveType::Binary, &Transform::Truncate(4));
        assert_eq!(e.err().map(|e| e.code), Some("0A000"));
        let e = expression("x", &PrimitiveType::String, &Transform::Bucket(4));
        assert_eq!(
            e.ok().as_deref(),
            Some("floe_iceberg_bucket_hash(floe_m3_hash_bytes(encode(x)), 4)")
        );
        let e = expression("x", &PrimitiveType::Long, &Transform::Truncate(10));
        assert_eq!(e.ok().as_deref(), Some("(x - (((x % 10) + 10) % 10))"));
    }
}
