//! Iceberg types as DuckDB sees them when it reads Parquet, and as Postgres
//! clients see them in the virtual schema.

use floe_protocol::types::{array_of, oid};
use iceberg::spec::{PrimitiveType, Type};

/// The decimal Floe holds PostgreSQL's unconstrained `numeric` results in
/// (quotients, whose scale PostgreSQL chooses per value): `numeric(38, 21)`.
/// Clients see it as `numeric` without a typmod, in results and in lake
/// columns created from such results.
pub const UNCONSTRAINED_NUMERIC: (u8, u8) = (38, 21);

/// The DuckDB type a column of this Iceberg type is read as.
pub fn duck_type(t: &Type) -> String {
    match t {
        Type::Primitive(p) => match p {
            PrimitiveType::Boolean => "BOOLEAN".into(),
            PrimitiveType::Int => "INTEGER".into(),
            PrimitiveType::Long => "BIGINT".into(),
            PrimitiveType::Float => "FLOAT".into(),
            PrimitiveType::Double => "DOUBLE".into(),
            PrimitiveType::Decimal { precision, scale } => format!("DECIMAL({precision},{scale})"),
            PrimitiveType::Date => "DATE".into(),
            PrimitiveType::Time => "TIME".into(),
            PrimitiveType::Timestamp => "TIMESTAMP".into(),
            PrimitiveType::Timestamptz => "TIMESTAMPTZ".into(),
            PrimitiveType::TimestampNs => "TIMESTAMP_NS".into(),
            // DuckDB has no nanosecond TIMESTAMPTZ; microseconds keep the instant.
            PrimitiveType::TimestamptzNs => "TIMESTAMPTZ".into(),
            PrimitiveType::String => "VARCHAR".into(),
            PrimitiveType::Uuid => "UUID".into(),
            PrimitiveType::Fixed(_) | PrimitiveType::Binary => "BLOB".into(),
        },
        Type::Struct(s) => {
            let fields: Vec<String> = s
                .fields()
                .iter()
                .map(|f| format!("{} {}", quote_ident(&f.name), duck_type(&f.field_type)))
                .collect();
            format!("STRUCT({})", fields.join(", "))
        }
        Type::List(l) => format!("{}[]", duck_type(&l.element_field.field_type)),
        Type::Map(m) => format!(
            "MAP({}, {})",
            duck_type(&m.key_field.field_type),
            duck_type(&m.value_field.field_type)
        ),
    }
}

/// The Postgres type OID and typmod clients see for a column of this type
/// (as the worker reports the same column in a result).
pub fn pg_type(t: &Type) -> (u32, i32) {
    match t {
        Type::Primitive(p) => match p {
            PrimitiveType::Boolean => (oid::BOOL, -1),
            PrimitiveType::Int => (oid::INT4, -1),
            PrimitiveType::Long => (oid::INT8, -1),
            PrimitiveType::Float => (oid::FLOAT4, -1),
            PrimitiveType::Double => (oid::FLOAT8, -1),
            PrimitiveType::Decimal { precision, scale }
                if (*precision, *scale) == (38, u32::from(UNCONSTRAINED_NUMERIC.1)) =>
            {
                (oid::NUMERIC, -1)
            }
            PrimitiveType::Decimal { precision, scale } => (
                oid::NUMERIC,
                ((*precision as i32) << 16 | *scale as i32) + 4,
            ),
            PrimitiveType::Date => (oid::DATE, -1),
            PrimitiveType::Time => (oid::TIME, -1),
            PrimitiveType::Timestamp | PrimitiveType::TimestampNs => (oid::TIMESTAMP, -1),
            PrimitiveType::Timestamptz | PrimitiveType::TimestamptzNs => (oid::TIMESTAMPTZ, -1),
            PrimitiveType::String => (oid::TEXT, -1),
            PrimitiveType::Uuid => (oid::UUID, -1),
            PrimitiveType::Fixed(_) | PrimitiveType::Binary => (oid::BYTEA, -1),
        },
        // Lists of lists, structs and maps travel as text arrays.
        Type::List(l) => match pg_type(&l.element_field.field_type).0 {
            oid::JSON => (oid::TEXT_ARRAY, -1),
            element => (array_of(element).unwrap_or(oid::TEXT_ARRAY), -1),
        },
        // Structs and maps travel as JSON text, as in query results.
        Type::Struct(_) | Type::Map(_) => (oid::JSON, -1),
    }
}

/// Quoting, from its one home (`floe_sql::quote`).
pub use floe_sql::quote::{ident as quote_ident, literal as quote_literal};

#[cfg(test)]
mod tests {
    use super::*;
    use iceberg::spec::{ListType, NestedField};
    use std::sync::Arc;

    #[test]
    fn types_map_to_duckdb_and_postgres() {
        let dec = Type::Primitive(PrimitiveType::Decimal {
            precision: 12,
            scale: 2,
        });
        assert_eq!(duck_type(&dec), "DECIMAL(12,2)");
        assert_eq!(pg_type(&dec), (1700, (12 << 16 | 2) + 4));
        let list = Type::List(ListType::new(Arc::new(NestedField::list_element(
            3,
            Type::Primitive(PrimitiveType::Long),
            false,
        ))));
        assert_eq!(duck_type(&list), "BIGINT[]");
        assert_eq!(pg_type(&list).0, 1016);
        assert_eq!(quote_ident("a\"b"), "\"a\"\"b\"");
        assert_eq!(quote_literal("it's"), "'it''s'");
    }
}
