//! Iceberg schemas for the tables Floe creates: from the Postgres column types a
//! `CREATE TABLE` declares, and from the DuckDB result types of the query behind
//! a `CREATE TABLE … AS`. Field ids are numbered here in declaration order; the
//! catalog may renumber them, so writers always take ids from the created table.

use duckdb::ffi;
use iceberg::spec::{ListType, MapType, NestedField, PrimitiveType, Schema, StructType, Type};

use crate::engine::duck::LogicalType;
use crate::pg_error::{sqlstate, PgError};
use floe_sql::quote::literal;

/// A column of a table being created.
pub struct ColumnSpec {
    pub name: String,
    pub field_type: Type,
    pub required: bool,
}

/// Assigns field ids (top-level columns first, then nested fields) and builds
/// the schema; `identifier` names the primary-key columns.
pub fn build_schema(columns: Vec<ColumnSpec>, identifier: &[String]) -> Result<Schema, PgError> {
    let mut next = columns.len() as i32 + 1;
    let mut fields = Vec::with_capacity(columns.len());
    let mut identifier_ids = Vec::new();
    for (i, c) in columns.into_iter().enumerate() {
        let id = i as i32 + 1;
        if identifier.contains(&c.name) {
            identifier_ids.push(id);
        }
        let t = floe_catalog::objects::tables::renumber(c.field_type, &mut next);
        fields.push(
            if c.required {
                NestedField::required(id, c.name, t)
            } else {
                NestedField::optional(id, c.name, t)
            }
            .into(),
        );
    }
    Schema::builder()
        .with_fields(fields)
        .with_identifier_field_ids(identifier_ids)
        .build()
        .map_err(|e| {
            PgError::new(
                sqlstate::INVALID_TABLE_DEFINITION,
                format!("invalid table definition: {e}"),
            )
        })
}

/// The Iceberg type of a declared Postgres column type (`integer`,
/// `varchar(20)`, `numeric(12,2)`, `timestamptz`, `text[]`, …).
pub fn from_declared(declared: &str) -> Result<Type, PgError> {
    let lower = declared.trim().to_ascii_lowercase();
    if let Some(element) = lower.strip_suffix("[]").or_else(|| {
        lower
            .strip_prefix("array<")
            .and_then(|s| s.strip_suffix('>'))
    }) {
        let element = from_declared(element)?;
        return Ok(Type::List(ListType::new(
            NestedField::list_element(0, element, false).into(),
        )));
    }
    let (base, args) = match lower.find('(') {
        Some(i) => (
            lower[..i].trim(),
            lower[i + 1..].trim_end_matches(')').trim(),
        ),
        None => (lower.as_str(), ""),
    };
    let base = base.trim_start_matches("pg_catalog.");
    let numbers: Vec<u32> = args
        .split(',')
        .filter_map(|a| a.trim().parse().ok())
        .collect();
    use PrimitiveType as P;
    let p = match base {
        "smallint" | "int2" | "integer" | "int" | "int4" | "serial" | "smallserial" => P::Int,
        "bigint" | "int8" | "bigserial" => P::Long,
        "real" | "float4" => P::Float,
        "double precision" | "double" | "float8" => P::Double,
        "float" => match numbers.first() {
            Some(n) if *n <= 24 => P::Float,
            _ => P::Double,
        },
        "numeric" | "decimal" | "dec" => match numbers.as_slice() {
            [] => P::Decimal {
                precision: 38,
                scale: 9,
            },
            [p] => decimal(*p, 0)?,
            [p, s, ..] => decimal(*p, *s)?,
        },
        "boolean" | "bool" => P::Boolean,
        "text" | "varchar" | "character varying" | "char" | "character" | "bpchar" | "string"
        | "name" | "json" | "jsonb" | "citext" => P::String,
        "bytea" | "blob" => P::Binary,
        "uuid" => P::Uuid,
        "date" => P::Date,
        "time" | "time without time zone" => P::Time,
        "timestamp" | "timestamp without time zone" => P::Timestamp,
        "timestamptz" | "timestamp with time zone" => P::Timestamptz,
        other => {
            return Err(PgError::new(
                sqlstate::FEATURE_NOT_SUPPORTED,
                format!("type {other} is not supported for lake tables yet"),
            ))
        }
    };
    Ok(Type::Primitive(p))
}

/// The length `n` of a declared `varchar(n)` / `character varying(n)`.
pub fn declared_length(declared: &str) -> Option<u32> {
    let lower = declared.trim().to_ascii_lowercase();
    let lower = lower.trim_start_matches("pg_catalog.");
    let args = lower
        .strip_prefix("varchar(")
        .or_else(|| lower.strip_prefix("character varying("))?;
    args.strip_suffix(')')?
        .trim()
        .parse()
        .ok()
        .filter(|n| *n > 0)
}

fn decimal(precision: u32, scale: u32) -> Result<PrimitiveType, PgError> {
    if precision == 0 || precision > 38 || scale > precision {
        return Err(PgError::new(
            sqlstate::INVALID_PARAMETER_VALUE,
            format!(
                "NUMERIC({precision},{scale}) is outside what lake tables hold (precision 1 to 38)"
            ),
        ));
    }
    Ok(PrimitiveType::Decimal { precision, scale })
}

/// The Iceberg type a query result column of this DuckDB type is stored as.
pub fn from_duckdb(t: &LogicalType, column: &str) -> Result<Type, PgError> {
    use PrimitiveType as P;
    let p = match t.id() {
        ffi::DUCKDB_TYPE_DUCKDB_TYPE_BOOLEAN => P::Boolean,
        ffi::DUCKDB_TYPE_DUCKDB_TYPE_TINYINT
        | ffi::DUCKDB_TYPE_DUCKDB_TYPE_SMALLINT
        | ffi::DUCKDB_TYPE_DUCKDB_TYPE_INTEGER
        | ffi::DUCKDB_TYPE_DUCKDB_TYPE_UTINYINT
        | ffi::DUCKDB_TYPE_DUCKDB_TYPE_USMALLINT => P::Int,
        ffi::DUCKDB_TYPE_DUCKDB_TYPE_BIGINT | ffi::DUCKDB_TYPE_DUCKDB_TYPE_UINTEGER => P::Long,
        ffi::DUCKDB_TYPE_DUCKDB_TYPE_UBIGINT
        | ffi::DUCKDB_TYPE_DUCKDB_TYPE_HUGEINT
        | ffi::DUCKDB_TYPE_DUCKDB_TYPE_UHUGEINT => P::Decimal {
            precision: 38,
            scale: 0,
        },
        ffi::DUCKDB_TYPE_DUCKDB_TYPE_FLOAT => P::Float,
        ffi::DUCKDB_TYPE_DUCKDB_TYPE_DOUBLE => P::Double,
        ffi::DUCKDB_TYPE_DUCKDB_TYPE_DECIMAL => P::Decimal {
            precision: u32::from(t.decimal_width()),
            scale: u32::from(t.decimal_scale()),
        },
        ffi::DUCKDB_TYPE_DUCKDB_TYPE_VARCHAR
        | ffi::DUCKDB_TYPE_DUCKDB_TYPE_STRING_LITERAL
        | ffi::DUCKDB_TYPE_DUCKDB_TYPE_ENUM
        | ffi::DUCKDB_TYPE_DUCKDB_TYPE_SQLNULL => P::String,
        ffi::DUCKDB_TYPE_DUCKDB_TYPE_BLOB => P::Binary,
        ffi::DUCKDB_TYPE_DUCKDB_TYPE_DATE => P::Date,
        ffi::DUCKDB_TYPE_DUCKDB_TYPE_TIME => P::Time,
        ffi::DUCKDB_TYPE_DUCKDB_TYPE_TIMESTAMP
        | ffi::DUCKDB_TYPE_DUCKDB_TYPE_TIMESTAMP_S
        | ffi::DUCKDB_TYPE_DUCKDB_TYPE_TIMESTAMP_MS
        | ffi::DUCKDB_TYPE_DUCKDB_TYPE_TIMESTAMP_NS => P::Timestamp,
        ffi::DUCKDB_TYPE_DUCKDB_TYPE_TIMESTAMP_TZ
        | ffi::DUCKDB_TYPE_DUCKDB_TYPE_TIMESTAMP_TZ_NS => P::Timestamptz,
        ffi::DUCKDB_TYPE_DUCKDB_TYPE_UUID => P::Uuid,
        ffi::DUCKDB_TYPE_DUCKDB_TYPE_LIST => {
            let element = from_duckdb(&t.list_child(), column)?;
            return Ok(Type::List(ListType::new(
                NestedField::list_element(0, element, false).into(),
            )));
        }
        ffi::DUCKDB_TYPE_DUCKDB_TYPE_ARRAY => {
            let element = from_duckdb(&t.array_child(), column)?;
            return Ok(Type::List(ListType::new(
                NestedField::list_element(0, element, false).into(),
            )));
        }
        ffi::DUCKDB_TYPE_DUCKDB_TYPE_STRUCT => {
            let mut fields = Vec::new();
            for (name, child) in t.struct_fields() {
                let ft = from_duckdb(&child, column)?;
                fields.push(NestedField::optional(0, name, ft).into());
            }
            return Ok(Type::Struct(StructType::new(fields)));
        }
        ffi::DUCKDB_TYPE_DUCKDB_TYPE_MAP => {
            let key = from_duckdb(&t.map_key(), column)?;
            let value = from_duckdb(&t.map_value(), column)?;
            return Ok(Type::Map(MapType::new(
                NestedField::map_key_element(0, key).into(),
                NestedField::map_value_element(0, value, false).into(),
            )));
        }
        _ => {
            return Err(PgError::new(
                sqlstate::FEATURE_NOT_SUPPORTED,
                format!(
                    "column \"{column}\" has type {}, which lake tables cannot store; cast it",
                    unstorable_name(t.id())
                ),
            ))
        }
    };
    Ok(Type::Primitive(p))
}

fn unstorable_name(id: ffi::DUCKDB_TYPE) -> &'static str {
    match id {
        ffi::DUCKDB_TYPE_DUCKDB_TYPE_INTERVAL => "interval",
        ffi::DUCKDB_TYPE_DUCKDB_TYPE_TIME_TZ => "time with time zone",
        ffi::DUCKDB_TYPE_DUCKDB_TYPE_TIME_NS => "time(9)",
        ffi::DUCKDB_TYPE_DUCKDB_TYPE_BIT => "bit",
        ffi::DUCKDB_TYPE_DUCKDB_TYPE_UNION => "union",
        _ => "an engine-specific type",
    }
}

/// DuckDB's `FIELD_IDS` option value for a schema: `{'col': 1, 'list_col':
/// {__duckdb_field_id: 2, element: 3}, …}`.
pub fn field_ids(schema: &Schema) -> String {
    let fields: Vec<String> = schema
        .as_struct()
        .fields()
        .iter()
        .map(|f| format!("{}: {}", literal(&f.name), field_id_value(f)))
        .collect();
    format!("{{{}}}", fields.join(", "))
}

fn field_id_value(f: &NestedField) -> String {
    let nested: Vec<(String, &NestedField)> = match f.field_type.as_ref() {
        Type::Primitive(_) => return f.id.to_string(),
        Type::List(l) => vec![("element".into(), l.element_field.as_ref())],
        Type::Map(m) => vec![
            ("key".into(), m.key_field.as_ref()),
            ("value".into(), m.value_field.as_ref()),
        ],
        Type::Struct(s) => s
            .fields()
            .iter()
            .map(|c| (c.name.clone(), c.as_ref()))
            .collect(),
    };
    let mut parts = vec![format!("__duckdb_field_id: {}", f.id)];
    parts.extend(
        nested
            .into_iter()
            .map(|(name, c)| format!("{}: {}", literal(&name), field_id_value(c))),
    );
    format!("{{{}}}", parts.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn declared_lengths_are_read() {
        assert_eq!(declared_length("VARCHAR(200)"), Some(200));
        assert_eq!(declared_length("character varying(3)"), Some(3));
        assert_eq!(declared_length("varchar"), None);
        assert_eq!(declared_length("text"), None);
        assert_eq!(declared_length("varchar(0)"), None);
    }

    #[test]
    fn declared_types_map_to_iceberg() {
        let p = |s: &str| match from_declared(s) {
            Ok(Type::Primitive(p)) => Some(p),
            _ => None,
        };
        assert_eq!(p("INTEGER"), Some(PrimitiveType::Int));
        assert_eq!(p("bigint"), Some(PrimitiveType::Long));
        assert_eq!(p("character varying(20)"), Some(PrimitiveType::String));
        assert_eq!(
            p("numeric(12, 2)"),
            Some(PrimitiveType::Decimal {
                precision: 12,
                scale: 2
            })
        );
        assert_eq!(
            p("timestamp with time zone"),
            Some(PrimitiveType::Timestamptz)
        );
        assert_eq!(p("double precision"), Some(PrimitiveType::Double));
        assert!(matches!(from_declared("text[]"), Ok(Type::List(_))));
        assert_eq!(
            from_declared("interval").err().map(|e| e.code),
            Some("0A000")
        );
        assert_eq!(
            from_declared("numeric(50)").err().map(|e| e.code),
            Some("22023")
        );
    }

    #[test]
    fn field_ids_cover_nested_fields() {
        let schema = build_schema(
            vec![
                ColumnSpec {
                    name: "id".into(),
                    field_type: Type::Primitive(PrimitiveType::Long),
                    required: true,
                },
                ColumnSpec {
                    name: "tags".into(),
                    field_type: from_declared("text[]")
                        .unwrap_or(Type::Primitive(PrimitiveType::String)),
                    required: false,
                },
            ],
            &["id".to_string()],
        )
        .expect("schema");
        assert_eq!(
            field_ids(&schema),
            "{'id': 1, 'tags': {__duckdb_field_id: 2, 'element': 3}}"
        );
        assert_eq!(schema.identifier_field_ids().collect::<Vec<_>>(), vec![1]);
    }
}
