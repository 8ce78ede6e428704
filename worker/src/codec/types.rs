//! The mapping from DuckDB logical types to Postgres types (OID, length, typmod), and
//! the physical layout the encoders read for each.

use std::sync::Arc;

use duckdb::ffi;

use crate::engine::duck::LogicalType;

pub use floe_protocol::types::{array_of, element_of, oid, type_len};

/// Physical storage of a fixed-width integer in a DuckDB vector.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IntWidth {
    I8,
    I16,
    I32,
    I64,
    I128,
    U8,
    U16,
    U32,
    U64,
    U128,
}

impl IntWidth {
    pub fn of(id: ffi::DUCKDB_TYPE) -> Option<IntWidth> {
        Some(match id {
            ffi::DUCKDB_TYPE_DUCKDB_TYPE_TINYINT => IntWidth::I8,
            ffi::DUCKDB_TYPE_DUCKDB_TYPE_SMALLINT => IntWidth::I16,
            ffi::DUCKDB_TYPE_DUCKDB_TYPE_INTEGER => IntWidth::I32,
            ffi::DUCKDB_TYPE_DUCKDB_TYPE_BIGINT => IntWidth::I64,
            ffi::DUCKDB_TYPE_DUCKDB_TYPE_HUGEINT => IntWidth::I128,
            ffi::DUCKDB_TYPE_DUCKDB_TYPE_UTINYINT => IntWidth::U8,
            ffi::DUCKDB_TYPE_DUCKDB_TYPE_USMALLINT => IntWidth::U16,
            ffi::DUCKDB_TYPE_DUCKDB_TYPE_UINTEGER => IntWidth::U32,
            ffi::DUCKDB_TYPE_DUCKDB_TYPE_UBIGINT => IntWidth::U64,
            ffi::DUCKDB_TYPE_DUCKDB_TYPE_UHUGEINT => IntWidth::U128,
            _ => return None,
        })
    }
}

/// Resolution of a TIMESTAMP vector.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TsUnit {
    Seconds,
    Millis,
    Micros,
    Nanos,
}

/// What a column holds, in the terms the encoders need: physical layout plus the
/// semantic type.
#[derive(Debug, Clone)]
pub enum ValueKind {
    Bool,
    Int(IntWidth),
    Float32,
    Float64,
    Decimal {
        width: IntWidth,
        scale: u8,
        /// Floe's quotient type (`numeric_division`): each value shown
        /// with the scale PostgreSQL gives it, not the column's.
        quotient: bool,
    },
    Text,
    Json,
    Blob,
    Bit,
    Date,
    Time,
    TimeNs,
    TimeTz,
    Timestamp(TsUnit),
    TimestampTz(TsUnit),
    Interval,
    Uuid,
    Enum {
        width: IntWidth,
        labels: Arc<Vec<String>>,
    },
    List(Box<ValueKind>),
    Array(Box<ValueKind>, usize),
    Struct(Vec<(String, ValueKind)>),
    Map(Box<ValueKind>, Box<ValueKind>),
    Union(Vec<(String, ValueKind)>),
    /// A type Floe cannot encode (GEOMETRY, VARIANT, BIGNUM…), named for the error.
    Unsupported(String),
}

impl ValueKind {
    pub fn from_logical(t: &LogicalType) -> ValueKind {
        let id = t.id();
        if let Some(w) = IntWidth::of(id) {
            return ValueKind::Int(w);
        }
        match id {
            ffi::DUCKDB_TYPE_DUCKDB_TYPE_BOOLEAN => ValueKind::Bool,
            ffi::DUCKDB_TYPE_DUCKDB_TYPE_FLOAT => ValueKind::Float32,
            ffi::DUCKDB_TYPE_DUCKDB_TYPE_DOUBLE => ValueKind::Float64,
            ffi::DUCKDB_TYPE_DUCKDB_TYPE_DECIMAL => ValueKind::Decimal {
                width: IntWidth::of(t.decimal_internal()).unwrap_or(IntWidth::I128),
                scale: t.decimal_scale(),
                quotient: is_quotient_type(t.decimal_width(), t.decimal_scale()),
            },
            ffi::DUCKDB_TYPE_DUCKDB_TYPE_VARCHAR | ffi::DUCKDB_TYPE_DUCKDB_TYPE_STRING_LITERAL => {
                if t.alias().is_some_and(|a| a.eq_ignore_ascii_case("json")) {
                    ValueKind::Json
                } else {
                    ValueKind::Text
                }
            }
            ffi::DUCKDB_TYPE_DUCKDB_TYPE_BLOB => ValueKind::Blob,
            ffi::DUCKDB_TYPE_DUCKDB_TYPE_BIT => ValueKind::Bit,
            ffi::DUCKDB_TYPE_DUCKDB_TYPE_DATE => ValueKind::Date,
            ffi::DUCKDB_TYPE_DUCKDB_TYPE_TIME => ValueKind::Time,
            ffi::DUCKDB_TYPE_DUCKDB_TYPE_TIME_NS => ValueKind::TimeNs,
            ffi::DUCKDB_TYPE_DUCKDB_TYPE_TIME_TZ => ValueKind::TimeTz,
            ffi::DUCKDB_TYPE_DUCKDB_TYPE_TIMESTAMP => ValueKind::Timestamp(TsUnit::Micros),
            ffi::DUCKDB_TYPE_DUCKDB_TYPE_TIMESTAMP_S => ValueKind::Timestamp(TsUnit::Seconds),
            ffi::DUCKDB_TYPE_DUCKDB_TYPE_TIMESTAMP_MS => ValueKind::Timestamp(TsUnit::Millis),
            ffi::DUCKDB_TYPE_DUCKDB_TYPE_TIMESTAMP_NS => ValueKind::Timestamp(TsUnit::Nanos),
            ffi::DUCKDB_TYPE_DUCKDB_TYPE_TIMESTAMP_TZ => ValueKind::TimestampTz(TsUnit::Micros),
            ffi::DUCKDB_TYPE_DUCKDB_TYPE_TIMESTAMP_TZ_NS => ValueKind::TimestampTz(TsUnit::Nanos),
            ffi::DUCKDB_TYPE_DUCKDB_TYPE_INTERVAL => ValueKind::Interval,
            ffi::DUCKDB_TYPE_DUCKDB_TYPE_UUID => ValueKind::Uuid,
            ffi::DUCKDB_TYPE_DUCKDB_TYPE_ENUM => ValueKind::Enum {
                width: IntWidth::of(t.enum_internal()).unwrap_or(IntWidth::U32),
                labels: Arc::new(t.enum_values()),
            },
            ffi::DUCKDB_TYPE_DUCKDB_TYPE_LIST => {
                ValueKind::List(Box::new(ValueKind::from_logical(&t.list_child())))
            }
            ffi::DUCKDB_TYPE_DUCKDB_TYPE_ARRAY => ValueKind::Array(
                Box::new(ValueKind::from_logical(&t.array_child())),
                t.array_size(),
            ),
            ffi::DUCKDB_TYPE_DUCKDB_TYPE_STRUCT => ValueKind::Struct(
                t.struct_fields()
                    .iter()
                    .map(|(n, ft)| (n.clone(), ValueKind::from_logical(ft)))
                    .collect(),
            ),
            ffi::DUCKDB_TYPE_DUCKDB_TYPE_MAP => ValueKind::Map(
                Box::new(ValueKind::from_logical(&t.map_key())),
                Box::new(ValueKind::from_logical(&t.map_value())),
            ),
            ffi::DUCKDB_TYPE_DUCKDB_TYPE_UNION => ValueKind::Union(
                t.union_members()
                    .iter()
                    .map(|(n, ft)| (n.clone(), ValueKind::from_logical(ft)))
                    .collect(),
            ),
            ffi::DUCKDB_TYPE_DUCKDB_TYPE_SQLNULL => ValueKind::Text,
            other => ValueKind::Unsupported(type_name(other).to_string()),
        }
    }

    /// The Postgres type this kind is presented as.
    pub fn pg_type(&self) -> u32 {
        match self {
            ValueKind::Bool => oid::BOOL,
            ValueKind::Int(w) => match w {
                IntWidth::I8 | IntWidth::I16 | IntWidth::U8 => oid::INT2,
                IntWidth::I32 | IntWidth::U16 => oid::INT4,
                IntWidth::I64 | IntWidth::U32 => oid::INT8,
                IntWidth::I128 | IntWidth::U64 | IntWidth::U128 => oid::NUMERIC,
            },
            ValueKind::Float32 => oid::FLOAT4,
            ValueKind::Float64 => oid::FLOAT8,
            ValueKind::Decimal { .. } => oid::NUMERIC,
            ValueKind::Text | ValueKind::Enum { .. } | ValueKind::Union(_) => oid::TEXT,
            ValueKind::Json | ValueKind::Struct(_) | ValueKind::Map(..) => oid::JSON,
            ValueKind::Blob => oid::BYTEA,
            ValueKind::Bit => oid::VARBIT,
            ValueKind::Date => oid::DATE,
            ValueKind::Time | ValueKind::TimeNs => oid::TIME,
            ValueKind::TimeTz => oid::TIMETZ,
            ValueKind::Timestamp(_) => oid::TIMESTAMP,
            ValueKind::TimestampTz(_) => oid::TIMESTAMPTZ,
            ValueKind::Interval => oid::INTERVAL,
            ValueKind::Uuid => oid::UUID,
            ValueKind::List(e) | ValueKind::Array(e, _) => {
                // Postgres arrays hold scalars; nested lists are shown as text.
                array_of(e.pg_type())
                    .filter(|_| !matches!(**e, ValueKind::List(_) | ValueKind::Array(..)))
                    .unwrap_or(oid::TEXT)
            }
            ValueKind::Unsupported(_) => oid::TEXT,
        }
    }

    /// The typmod Postgres reports (numeric precision and scale).
    pub fn typmod(&self, t: &LogicalType) -> i32 {
        match self {
            // A quotient is an unconstrained numeric, as in PostgreSQL.
            ValueKind::Decimal { quotient: true, .. } => -1,
            ValueKind::Decimal { scale, .. } => {
                ((i32::from(t.decimal_width()) << 16) | i32::from(*scale)) + 4
            }
            _ => -1,
        }
    }
}

fn type_name(id: ffi::DUCKDB_TYPE) -> &'static str {
    match id {
        ffi::DUCKDB_TYPE_DUCKDB_TYPE_BIGNUM => "BIGNUM",
        ffi::DUCKDB_TYPE_DUCKDB_TYPE_GEOMETRY => "GEOMETRY",
        ffi::DUCKDB_TYPE_DUCKDB_TYPE_VARIANT => "VARIANT",
        ffi::DUCKDB_TYPE_DUCKDB_TYPE_ANY => "ANY",
        _ => "UNKNOWN",
    }
}

/// Whether a `numeric(width, scale)` column is Floe's quotient type.
pub fn is_quotient_type(width: u8, scale: u8) -> bool {
    (width, scale) == floe_catalog::pg_schema::types::UNCONSTRAINED_NUMERIC
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arrays_and_elements_round_trip() {
        for e in [
            oid::INT4,
            oid::TEXT,
            oid::TIMESTAMPTZ,
            oid::NUMERIC,
            oid::UUID,
        ] {
            let a = array_of(e).expect("array type");
            assert_eq!(element_of(a), Some(e));
        }
        assert_eq!(array_of(oid::OID), Some(oid::OID_ARRAY));
        assert_eq!(element_of(oid::OID_ARRAY), Some(oid::OID));
    }

    #[test]
    fn nested_lists_are_text() {
        let nested = ValueKind::List(Box::new(ValueKind::List(Box::new(ValueKind::Int(
            IntWidth::I32,
        )))));
        assert_eq!(nested.pg_type(), oid::TEXT);
        let flat = ValueKind::List(Box::new(ValueKind::Int(IntWidth::I32)));
        assert_eq!(flat.pg_type(), oid::INT4_ARRAY);
        let structs = ValueKind::List(Box::new(ValueKind::Struct(vec![])));
        assert_eq!(structs.pg_type(), oid::JSON_ARRAY);
    }

    #[test]
    fn unsigned_widen_like_design() {
        assert_eq!(ValueKind::Int(IntWidth::U8).pg_type(), oid::INT2);
        assert_eq!(ValueKind::Int(IntWidth::U16).pg_type(), oid::INT4);
        assert_eq!(ValueKind::Int(IntWidth::U32).pg_type(), oid::INT8);
        assert_eq!(ValueKind::Int(IntWidth::U64).pg_type(), oid::NUMERIC);
        assert_eq!(ValueKind::Int(IntWidth::I128).pg_type(), oid::NUMERIC);
    }
}
