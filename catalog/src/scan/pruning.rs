//! WHERE clauses as Iceberg predicates, for pruning data files before a scan.
//!
//! Pruning only ever skips files, so a conversion may be looser than the SQL
//! (an AND keeps the conjuncts it can convert) but never stricter: anything under
//! NOT or OR must convert whole, and literals convert only when their value is
//! exact in the column's type.

use iceberg::expr::{Predicate, Reference};
use iceberg::spec::{Datum, PrimitiveType};
use sqlparser::ast::{BinaryOperator, Expr, UnaryOperator, Value};

/// Resolves a column reference of the SQL to the Iceberg column it names.
pub type ColumnResolver<'a> = dyn Fn(&Expr) -> Option<(String, PrimitiveType)> + 'a;

/// The predicate implied by `expr` on the resolver's table, if any.
pub fn to_predicate(expr: &Expr, columns: &ColumnResolver<'_>) -> Option<Predicate> {
    convert(expr, columns, false)
}

/// `exact`: the result must be equivalent to `expr` (needed under NOT and OR).
fn convert(expr: &Expr, columns: &ColumnResolver<'_>, exact: bool) -> Option<Predicate> {
    match expr {
        Expr::Nested(e) => convert(e, columns, exact),
        Expr::BinaryOp { left, op, right } => match op {
            BinaryOperator::And => {
                let l = convert(left, columns, exact);
                let r = convert(right, columns, exact);
                match (l, r) {
                    (Some(l), Some(r)) => Some(l.and(r)),
                    (Some(one), None) | (None, Some(one)) if !exact => Some(one),
                    _ => None,
                }
            }
            BinaryOperator::Or => {
                let l = convert(left, columns, true)?;
                let r = convert(right, columns, true)?;
                Some(l.or(r))
            }
            _ => comparison(left, op, right, columns),
        },
        Expr::UnaryOp {
            op: UnaryOperator::Not,
            expr,
        } => convert(expr, columns, true).map(Predicate::negate),
        Expr::IsNull(e) => columns(e).map(|(c, _)| Reference::new(c).is_null()),
        Expr::IsNotNull(e) => columns(e).map(|(c, _)| Reference::new(c).is_not_null()),
        Expr::Between {
            expr,
            negated,
            low,
            high,
        } => {
            let (c, t) = columns(expr)?;
            let lo = datum(low, &t)?;
            let hi = datum(high, &t)?;
            let p = Reference::new(c.clone())
                .greater_than_or_equal_to(lo)
                .and(Reference::new(c).less_than_or_equal_to(hi));
            Some(if *negated { p.negate() } else { p })
        }
        Expr::InList {
            expr,
            list,
            negated,
        } => {
            let (c, t) = columns(expr)?;
            let values: Option<Vec<Datum>> = list.iter().map(|v| datum(v, &t)).collect();
            let values = values?;
            if values.is_empty() {
                return None;
            }
            Some(if *negated {
                Reference::new(c).is_not_in(values)
            } else {
                Reference::new(c).is_in(values)
            })
        }
        _ => None,
    }
}

fn comparison(
    left: &Expr,
    op: &BinaryOperator,
    right: &Expr,
    columns: &ColumnResolver<'_>,
) -> Option<Predicate> {
    // Column on either side; a literal on the other.
    let (column, literal, flipped) = match (columns(left), columns(right)) {
        (Some(c), None) => (c, right, false),
        (None, Some(c)) => (c, left, true),
        _ => return None,
    };
    let (name, t) = column;
    let value = datum(literal, &t)?;
    let r = Reference::new(name);
    let p = match (op, flipped) {
        (BinaryOperator::Eq, _) => r.equal_to(value),
        (BinaryOperator::NotEq, _) => r.not_equal_to(value),
        (BinaryOperator::Lt, false) | (BinaryOperator::Gt, true) => r.less_than(value),
        (BinaryOperator::LtEq, false) | (BinaryOperator::GtEq, true) => {
            r.less_than_or_equal_to(value)
        }
        (BinaryOperator::Gt, false) | (BinaryOperator::Lt, true) => r.greater_than(value),
        (BinaryOperator::GtEq, false) | (BinaryOperator::LtEq, true) => {
            r.greater_than_or_equal_to(value)
        }
        _ => return None,
    };
    Some(p)
}

/// A literal as a value of the column's type, when the conversion is exact.
fn datum(expr: &Expr, t: &PrimitiveType) -> Option<Datum> {
    match expr {
        Expr::Nested(e) => datum(e, t),
        Expr::Value(v) => value_datum(&v.value, false, t),
        Expr::UnaryOp {
            op: UnaryOperator::Minus,
            expr,
        } => match expr.as_ref() {
            Expr::Value(v) => value_datum(&v.value, true, t),
            _ => None,
        },
        // DATE '2026-01-01', TIMESTAMP '…'
        Expr::TypedString(ts) => match &ts.value.value {
            Value::SingleQuotedString(s) => string_datum(s, t),
            _ => None,
        },
        // '2026-01-01'::date and CAST(… AS date): the literal's text is what counts.
        Expr::Cast { expr, .. } => datum(expr, t),
        _ => None,
    }
}

fn value_datum(v: &Value, negative: bool, t: &PrimitiveType) -> Option<Datum> {
    match v {
        Value::Number(text, _) => {
            let text = if negative {
                format!("-{text}")
            } else {
                text.clone()
            };
            number_datum(&text, t)
        }
        Value::SingleQuotedString(s) if !negative => string_datum(s, t),
        Value::Boolean(b) if !negative && *t == PrimitiveType::Boolean => Some(Datum::bool(*b)),
        _ => None,
    }
}

fn number_datum(text: &str, t: &PrimitiveType) -> Option<Datum> {
    match t {
        PrimitiveType::Int => text.parse::<i32>().ok().map(Datum::int),
        PrimitiveType::Long => text.parse::<i64>().ok().map(Datum::long),
        // f64 literals compare exactly only against doubles.
        PrimitiveType::Double => {
            let v: f64 = text.parse().ok()?;
            v.is_finite().then(|| Datum::double(v))
        }
        _ => None,
    }
}

fn string_datum(s: &str, t: &PrimitiveType) -> Option<Datum> {
    match t {
        PrimitiveType::String => Some(Datum::string(s)),
        PrimitiveType::Date => Datum::date_from_str(s.trim()).ok(),
        PrimitiveType::Timestamp => {
            let mut normalized = s.trim().replacen(' ', "T", 1);
            // A bare date is midnight, as in a Postgres timestamp literal.
            if !normalized.contains('T') {
                normalized.push_str("T00:00:00");
            }
            Datum::timestamp_from_str(normalized).ok()
        }
        PrimitiveType::Int | PrimitiveType::Long => number_datum(s.trim(), t),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sqlparser::dialect::PostgreSqlDialect;
    use sqlparser::parser::Parser;

    fn where_of(sql: &str) -> Expr {
        let stmt = Parser::parse_sql(&PostgreSqlDialect {}, sql)
            .expect("parses")
            .remove(0);
        let sqlparser::ast::Statement::Query(q) = stmt else {
            panic!("query")
        };
        let sqlparser::ast::SetExpr::Select(s) = *q.body else {
            panic!("select")
        };
        s.selection.expect("where")
    }

    fn cols(e: &Expr) -> Option<(String, PrimitiveType)> {
        let Expr::Identifier(i) = e else { return None };
        match i.value.as_str() {
            "id" => Some(("id".into(), PrimitiveType::Long)),
            "region" => Some(("region".into(), PrimitiveType::String)),
            "day" => Some(("day".into(), PrimitiveType::Date)),
            "ts" => Some(("ts".into(), PrimitiveType::Timestamp)),
            _ => None,
        }
    }

    fn convert_where(clause: &str) -> Option<String> {
        to_predicate(&where_of(&format!("SELECT 1 FROM t WHERE {clause}")), &cols)
            .map(|p| p.to_string())
    }

    #[test]
    fn comparisons_in_lists_ranges_and_nulls_convert() {
        assert_eq!(
            convert_where("region = 'eu'").as_deref(),
            Some("region = \"eu\"")
        );
        assert!(convert_where("5 < id").expect("flipped").contains("id > 5"));
        assert!(convert_where("id IN (1, 2)").is_some());
        assert!(convert_where("day BETWEEN DATE '2026-01-01' AND '2026-01-31'").is_some());
        assert!(convert_where("day >= '2026-01-01'::date").is_some());
        assert!(convert_where("region IS NULL").is_some());
        assert!(convert_where("ts >= '2026-01-05' AND ts < '2026-01-06 12:00:00'").is_some());
    }

    #[test]
    fn conversions_never_narrow_the_sql() {
        // A conjunct that cannot convert is dropped from an AND ...
        let p = convert_where("id = 1 AND lower(region) = 'eu'").expect("keeps id = 1");
        assert!(p.contains("id = 1") && !p.contains("region"));
        // ... but makes an OR or a NOT unusable.
        assert_eq!(convert_where("id = 1 OR lower(region) = 'eu'"), None);
        assert_eq!(convert_where("NOT (id = 1 AND lower(region) = 'eu')"), None);
        // Inexact literals are not converted.
        assert_eq!(convert_where("id < 2.5"), None);
        assert_eq!(convert_where("unknown_col = 1"), None);
        // Column against column is not a pruning predicate.
        assert_eq!(convert_where("id = id"), None);
    }
}
