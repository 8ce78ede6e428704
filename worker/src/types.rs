//! The mapping from DuckDB logical types to Postgres types (OID, length, typmod), and
//! the physical layout the encoders read for each.

use std::sync::Arc;

use duckdb::ffi;

use crate::duck::LogicalType;

/// Postgres type OIDs used by Floe.
pub mod oid {
    pub const BOOL: u32 = 16;
    pub const BYTEA: u32 = 17;
    pub const CHAR: u32 = 18;
    pub const NAME: u32 = 19;
    pub const INT8: u32 = 20;
    pub const INT2: u32 = 21;
    pub const INT4: u32 = 23;
    pub const TEXT: u32 = 25;
    pub const OID: u32 = 26;
    pub const REGPROC: u32 = 24;
    pub const REGPROCEDURE: u32 = 2202;
    pub const REGOPER: u32 = 2203;
    pub const REGOPERATOR: u32 = 2204;
    pub const REGCLASS: u32 = 2205;
    pub const REGTYPE: u32 = 2206;
    pub const REGNAMESPACE: u32 = 4089;
    pub const REGROLE: u32 = 4096;
    pub const REGCONFIG: u32 = 3734;
    pub const ACLITEM: u32 = 1033;
    pub const NAME_ARRAY: u32 = 1003;
    pub const CHAR_ARRAY: u32 = 1002;
    pub const ACLITEM_ARRAY: u32 = 1034;
    pub const OID_ARRAY: u32 = 1028;
    pub const INT2VECTOR: u32 = 22;
    pub const OIDVECTOR: u32 = 30;
    pub const REGDICTIONARY: u32 = 3769;
    pub const JSON: u32 = 114;
    pub const JSON_ARRAY: u32 = 199;
    pub const FLOAT4: u32 = 700;
    pub const FLOAT8: u32 = 701;
    pub const UNKNOWN: u32 = 705;
    pub const BOOL_ARRAY: u32 = 1000;
    pub const BYTEA_ARRAY: u32 = 1001;
    pub const INT2_ARRAY: u32 = 1005;
    pub const INT4_ARRAY: u32 = 1007;
    pub const TEXT_ARRAY: u32 = 1009;
    pub const VARCHAR_ARRAY: u32 = 1015;
    pub const INT8_ARRAY: u32 = 1016;
    pub const FLOAT4_ARRAY: u32 = 1021;
    pub const FLOAT8_ARRAY: u32 = 1022;
    pub const BPCHAR: u32 = 1042;
    pub const VARCHAR: u32 = 1043;
    pub const DATE: u32 = 1082;
    pub const TIME: u32 = 1083;
    pub const TIMESTAMP: u32 = 1114;
    pub const TIMESTAMP_ARRAY: u32 = 1115;
    pub const DATE_ARRAY: u32 = 1182;
    pub const TIME_ARRAY: u32 = 1183;
    pub const TIMESTAMPTZ: u32 = 1184;
    pub const TIMESTAMPTZ_ARRAY: u32 = 1185;
    pub const INTERVAL: u32 = 1186;
    pub const INTERVAL_ARRAY: u32 = 1187;
    pub const NUMERIC_ARRAY: u32 = 1231;
    pub const TIMETZ: u32 = 1266;
    pub const TIMETZ_ARRAY: u32 = 1270;
    pub const BIT: u32 = 1560;
    pub const VARBIT: u32 = 1562;
    pub const VARBIT_ARRAY: u32 = 1563;
    pub const NUMERIC: u32 = 1700;
    pub const UUID: u32 = 2950;
    pub const UUID_ARRAY: u32 = 2951;
    pub const JSONB: u32 = 3802;
    pub const PG_LSN: u32 = 3220;
    pub const JSONB_ARRAY: u32 = 3807;
}

/// The array type of an element type, if Postgres has one.
pub fn array_of(elem: u32) -> Option<u32> {
    Some(match elem {
        oid::BOOL => oid::BOOL_ARRAY,
        oid::BYTEA => oid::BYTEA_ARRAY,
        oid::INT2 => oid::INT2_ARRAY,
        oid::INT4 => oid::INT4_ARRAY,
        oid::INT8 => oid::INT8_ARRAY,
        oid::OID => oid::OID_ARRAY,
        oid::TEXT => oid::TEXT_ARRAY,
        oid::VARCHAR => oid::VARCHAR_ARRAY,
        oid::FLOAT4 => oid::FLOAT4_ARRAY,
        oid::FLOAT8 => oid::FLOAT8_ARRAY,
        oid::DATE => oid::DATE_ARRAY,
        oid::TIME => oid::TIME_ARRAY,
        oid::TIMESTAMP => oid::TIMESTAMP_ARRAY,
        oid::TIMESTAMPTZ => oid::TIMESTAMPTZ_ARRAY,
        oid::INTERVAL => oid::INTERVAL_ARRAY,
        oid::NUMERIC => oid::NUMERIC_ARRAY,
        oid::TIMETZ => oid::TIMETZ_ARRAY,
        oid::UUID => oid::UUID_ARRAY,
        oid::JSON => oid::JSON_ARRAY,
        oid::JSONB => oid::JSONB_ARRAY,
        oid::VARBIT => oid::VARBIT_ARRAY,
        _ => return None,
    })
}

/// The element type of an array type.
pub fn element_of(array: u32) -> Option<u32> {
    [
        oid::BOOL,
        oid::BYTEA,
        oid::INT2,
        oid::INT4,
        oid::INT8,
        oid::OID,
        oid::TEXT,
        oid::VARCHAR,
        oid::FLOAT4,
        oid::FLOAT8,
        oid::DATE,
        oid::TIME,
        oid::TIMESTAMP,
        oid::TIMESTAMPTZ,
        oid::INTERVAL,
        oid::NUMERIC,
        oid::TIMETZ,
        oid::UUID,
        oid::JSON,
        oid::JSONB,
        oid::VARBIT,
    ]
    .into_iter()
    .find(|e| array_of(*e) == Some(array))
}

/// The `typlen` Postgres reports for a type in RowDescription.
pub fn type_len(oid: u32) -> i16 {
    match oid {
        oid::BOOL | oid::CHAR => 1,
        oid::INT2 => 2,
        oid::INT4 | oid::FLOAT4 | oid::DATE | oid::OID => 4,
        oid::INT8 | oid::FLOAT8 | oid::TIME | oid::TIMESTAMP | oid::TIMESTAMPTZ => 8,
        oid::TIMETZ => 12,
        oid::INTERVAL | oid::UUID => 16,
        oid::NAME => 64,
        _ => -1,
    }
}

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
                quotient: crate::numeric_division::is_quotient_type(
                    t.decimal_width(),
                    t.decimal_scale(),
                ),
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
