//! Partition specs of `CREATE TABLE … PARTITIONED BY (…)`: columns and
//! Iceberg transforms (`bucket`, `truncate`, `year`…) as an unbound spec.

use super::*;

/// `PARTITION BY (region, day(ts), bucket(16, id), truncate(4, name))`.
pub(super) fn partition_columns(e: &Expr) -> Result<Vec<PartitionColumn>, PgError> {
    let items: Vec<&Expr> = match e {
        Expr::Tuple(items) => items.iter().collect(),
        Expr::Nested(inner) => vec![inner.as_ref()],
        other => vec![other],
    };
    items.into_iter().map(partition_column).collect()
}

pub(super) fn partition_column(e: &Expr) -> Result<PartitionColumn, PgError> {
    let bad = || {
        PgError::new(
            sqlstate::SYNTAX_ERROR,
            format!("cannot partition by {e}: use a column, year/month/day/hour(column), bucket(n, column) or truncate(n, column)"),
        )
    };
    match e {
        Expr::Identifier(id) => Ok(PartitionColumn {
            column: fold(id),
            transform: Transform::Identity,
        }),
        Expr::Function(f) => {
            let name = f.name.to_string().to_ascii_lowercase();
            let FunctionArguments::List(list) = &f.args else {
                return Err(bad());
            };
            let args: Vec<&Expr> = list
                .args
                .iter()
                .map(|a| match a {
                    FunctionArg::Unnamed(FunctionArgExpr::Expr(e)) => Ok(e),
                    _ => Err(bad()),
                })
                .collect::<Result<_, _>>()?;
            let column = |e: &Expr| match e {
                Expr::Identifier(id) => Ok(fold(id)),
                _ => Err(bad()),
            };
            let number = |e: &Expr| match e {
                Expr::Value(v) => match &v.value {
                    Value::Number(n, _) => n.parse::<u32>().map_err(|_| bad()),
                    _ => Err(bad()),
                },
                _ => Err(bad()),
            };
            let (transform, col) = match (name.as_str(), args.as_slice()) {
                ("year" | "years", [c]) => (Transform::Year, column(c)?),
                ("month" | "months", [c]) => (Transform::Month, column(c)?),
                ("day" | "days", [c]) => (Transform::Day, column(c)?),
                ("hour" | "hours", [c]) => (Transform::Hour, column(c)?),
                ("identity", [c]) => (Transform::Identity, column(c)?),
                ("bucket", [n, c]) => (Transform::Bucket(number(n)?), column(c)?),
                ("truncate", [n, c]) => (Transform::Truncate(number(n)?), column(c)?),
                _ => return Err(bad()),
            };
            Ok(PartitionColumn {
                column: col,
                transform,
            })
        }
        _ => Err(bad()),
    }
}

pub(super) fn partition_spec(
    schema: &iceberg::spec::Schema,
    columns: &[PartitionColumn],
) -> Result<Option<UnboundPartitionSpec>, PgError> {
    if columns.is_empty() {
        return Ok(None);
    }
    let mut fields = Vec::new();
    for p in columns {
        let field = schema.field_by_name(&p.column).ok_or_else(|| {
            PgError::new(
                sqlstate::UNDEFINED_COLUMN,
                format!("column \"{}\" does not exist", p.column),
            )
        })?;
        let name = match p.transform {
            Transform::Identity => p.column.clone(),
            Transform::Bucket(_) => format!("{}_bucket", p.column),
            Transform::Truncate(_) => format!("{}_trunc", p.column),
            Transform::Year => format!("{}_year", p.column),
            Transform::Month => format!("{}_month", p.column),
            Transform::Day => format!("{}_day", p.column),
            Transform::Hour => format!("{}_hour", p.column),
            _ => p.column.clone(),
        };
        if p.transform.result_type(&field.field_type).is_err() {
            return Err(PgError::new(
                sqlstate::DATATYPE_MISMATCH,
                format!(
                    "cannot partition by {}({}) of type {}",
                    p.transform, p.column, field.field_type
                ),
            ));
        }
        fields.push(UnboundPartitionField {
            source_id: field.id,
            field_id: None,
            name,
            transform: p.transform,
        });
    }
    UnboundPartitionSpec::builder()
        .add_partition_fields(fields)
        .map(|b| Some(b.build()))
        .map_err(|e| {
            PgError::new(
                sqlstate::INVALID_TABLE_DEFINITION,
                format!("invalid partitioning: {e}"),
            )
        })
}
