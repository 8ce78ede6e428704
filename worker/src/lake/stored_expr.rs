//! Expressions a lake table keeps in the catalog (column defaults and CHECK
//! constraints) are SQL text that runs inside other statements' INSERTs and
//! UPDATEs. Anyone who can write table properties can write that text, so it
//! is checked against an allowlist every time it is used, not only when
//! `CREATE TABLE` stored it: literals, casts, operators, `CASE`, the table's
//! own columns (CHECK only) and a fixed set of functions. What runs is the
//! expression as parsed and checked, rendered again, never the stored text.

use std::ops::ControlFlow;

use sqlparser::ast::{
    visit_expressions_mut, Expr, FunctionArg, FunctionArgExpr, FunctionArguments, Ident,
    ObjectName, ObjectNamePart, Value, ValueWithSpan,
};
use sqlparser::dialect::PostgreSqlDialect;
use sqlparser::parser::Parser;

use crate::lake::refs::fold;
use crate::pg_error::{sqlstate, PgError};

/// The longest stored expression accepted.
const MAX_EXPRESSION_BYTES: usize = 8192;

/// Functions a stored expression may call: pure or clock functions that read
/// nothing but their arguments.
const ALLOWED_FUNCTIONS: &[&str] = &[
    "abs",
    "btrim",
    "ceil",
    "ceiling",
    "char_length",
    "character_length",
    "clock_timestamp",
    "coalesce",
    "concat",
    "current_date",
    "current_time",
    "current_timestamp",
    "date_trunc",
    "floor",
    "gen_random_uuid",
    "greatest",
    "least",
    "left",
    "length",
    "localtime",
    "localtimestamp",
    "lower",
    "ltrim",
    "md5",
    "mod",
    "now",
    "nullif",
    "octet_length",
    "power",
    "random",
    "replace",
    "right",
    "round",
    "rtrim",
    "sign",
    "sqrt",
    "statement_timestamp",
    "strpos",
    "substr",
    "transaction_timestamp",
    "trunc",
    "upper",
];

/// What a stored expression is for.
pub(crate) enum Use<'a> {
    /// A column default: no column references; `nextval('name')` names a lake
    /// sequence, which `sequence` resolves to its qualified name.
    Default {
        sequence: &'a dyn Fn(&str) -> Result<String, PgError>,
    },
    /// A CHECK constraint over the table's `columns`.
    Check { columns: &'a [String] },
}

fn refused(what: &str, purpose: &Use<'_>) -> PgError {
    let place = match purpose {
        Use::Default { .. } => "a column default",
        Use::Check { .. } => "a check constraint",
    };
    PgError::new(
        sqlstate::FEATURE_NOT_SUPPORTED,
        format!("{what} is not allowed in {place} of a lake table"),
    )
}

/// Parses `text` and checks it for `purpose`; the checked expression, with
/// `nextval` calls naming qualified sequences.
pub(crate) fn checked(text: &str, purpose: &Use<'_>) -> Result<Expr, PgError> {
    if text.len() > MAX_EXPRESSION_BYTES {
        return Err(refused("an expression this long", purpose));
    }
    let mut expr = Parser::new(&PostgreSqlDialect {})
        .try_with_sql(text)
        .and_then(|mut p| {
            let e = p.parse_expr()?;
            p.expect_token(&sqlparser::tokenizer::Token::EOF)?;
            Ok(e)
        })
        .map_err(|e| PgError::new(sqlstate::SYNTAX_ERROR, e.to_string()))?;
    check(&mut expr, purpose)?;
    Ok(expr)
}

/// The engine's name of `nextval` on a lake sequence.
const ENGINE_NEXTVAL: &str = "floe_nextval";

fn is_engine_nextval(e: &Expr) -> bool {
    matches!(e, Expr::Function(f) if matches!(f.name.0.as_slice(),
        [ObjectNamePart::Identifier(id)] if id.value == ENGINE_NEXTVAL))
}

/// A checked default as the catalog keeps it: `nextval('schema.s')`.
pub(crate) fn stored_form(expr: &Expr) -> String {
    let mut stored = expr.clone();
    let _ = visit_expressions_mut(&mut stored, |e| {
        if let (true, Expr::Function(f)) = (is_engine_nextval(e), &mut *e) {
            f.name = ObjectName(vec![ObjectNamePart::Identifier(Ident::new("nextval"))]);
        }
        ControlFlow::<()>::Continue(())
    });
    stored.to_string()
}

/// A checked default with each sequence call a constant: what binding it
/// runs, so that binding takes no value.
pub(crate) fn without_sequence_calls(expr: &Expr) -> Expr {
    let mut probe = expr.clone();
    let _ = visit_expressions_mut(&mut probe, |e| {
        if is_engine_nextval(e) {
            *e = Expr::value(Value::Number("1".into(), false));
        }
        ControlFlow::<()>::Continue(())
    });
    probe
}

/// Checks a parsed expression in place (see [`checked`]).
pub(crate) fn check(expr: &mut Expr, purpose: &Use<'_>) -> Result<(), PgError> {
    let mut failure = None;
    let _ = visit_expressions_mut(expr, |e| match check_node(e, purpose) {
        Ok(()) => ControlFlow::Continue(()),
        Err(err) => {
            failure = Some(err);
            ControlFlow::Break(())
        }
    });
    failure.map_or(Ok(()), Err)
}

fn check_node(e: &mut Expr, purpose: &Use<'_>) -> Result<(), PgError> {
    match e {
        Expr::Value(ValueWithSpan { value, .. }) => match value {
            Value::Placeholder(_) => Err(refused("a parameter", purpose)),
            _ => Ok(()),
        },
        Expr::Identifier(id) => match purpose {
            Use::Check { columns } if columns.contains(&fold(id)) => Ok(()),
            Use::Check { .. } => Err(PgError::new(
                sqlstate::UNDEFINED_COLUMN,
                format!("column \"{}\" does not exist", fold(id)),
            )),
            Use::Default { .. } => Err(PgError::new(
                sqlstate::FEATURE_NOT_SUPPORTED,
                "cannot use column reference in DEFAULT expression",
            )),
        },
        Expr::Function(f) => {
            let name = match f.name.0.as_slice() {
                [ObjectNamePart::Identifier(id)] => fold(id),
                _ => return Err(refused(&format!("function {}", f.name), purpose)),
            };
            if f.filter.is_some()
                || f.over.is_some()
                || f.null_treatment.is_some()
                || !f.within_group.is_empty()
                || !matches!(f.parameters, FunctionArguments::None)
            {
                return Err(refused(&format!("this call of {name}"), purpose));
            }
            let args = match &f.args {
                FunctionArguments::None => Vec::new(),
                FunctionArguments::Subquery(_) => return Err(refused("a subquery", purpose)),
                FunctionArguments::List(list) => {
                    if list.duplicate_treatment.is_some() || !list.clauses.is_empty() {
                        return Err(refused(&format!("this call of {name}"), purpose));
                    }
                    let mut args = Vec::new();
                    for a in &list.args {
                        match a {
                            FunctionArg::Unnamed(FunctionArgExpr::Expr(e)) => args.push(e.clone()),
                            _ => return Err(refused(&format!("this call of {name}"), purpose)),
                        }
                    }
                    args
                }
            };
            if name == "nextval" {
                let Use::Default { sequence } = purpose else {
                    return Err(refused("nextval", purpose));
                };
                let [Expr::Value(ValueWithSpan {
                    value: Value::SingleQuotedString(seq),
                    ..
                })] = args.as_slice()
                else {
                    return Err(refused("nextval of anything but a sequence name", purpose));
                };
                let qualified = sequence(seq)?;
                f.name = ObjectName(vec![ObjectNamePart::Identifier(Ident::new("floe_nextval"))]);
                if let FunctionArguments::List(list) = &mut f.args {
                    list.args = vec![FunctionArg::Unnamed(FunctionArgExpr::Expr(Expr::value(
                        Value::SingleQuotedString(qualified),
                    )))];
                }
                return Ok(());
            }
            if name == ENGINE_NEXTVAL || !ALLOWED_FUNCTIONS.contains(&name.as_str()) {
                return Err(refused(&format!("function {name}()"), purpose));
            }
            Ok(())
        }
        Expr::Cast { format: None, .. }
        | Expr::TypedString { .. }
        | Expr::Interval(_)
        | Expr::UnaryOp { .. }
        | Expr::BinaryOp { .. }
        | Expr::Nested(_)
        | Expr::IsNull(_)
        | Expr::IsNotNull(_)
        | Expr::IsTrue(_)
        | Expr::IsNotTrue(_)
        | Expr::IsFalse(_)
        | Expr::IsNotFalse(_)
        | Expr::IsDistinctFrom(..)
        | Expr::IsNotDistinctFrom(..)
        | Expr::Between { .. }
        | Expr::InList { .. }
        | Expr::Like { any: false, .. }
        | Expr::ILike { any: false, .. }
        | Expr::Case { .. }
        | Expr::Extract { .. }
        | Expr::Substring { .. }
        | Expr::Trim { .. }
        | Expr::Position { .. }
        | Expr::Ceil { .. }
        | Expr::Floor { .. } => Ok(()),
        other => Err(refused(&format!("{other}"), purpose)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn default_sql(text: &str) -> Result<String, PgError> {
        let resolve = |s: &str| Ok(format!("public.{s}"));
        checked(text, &Use::Default { sequence: &resolve }).map(|e| e.to_string())
    }

    fn check_sql(text: &str) -> Result<String, PgError> {
        let columns = vec!["v".to_string(), "w".to_string()];
        checked(text, &Use::Check { columns: &columns }).map(|e| e.to_string())
    }

    #[test]
    fn defaults_allow_constants_clocks_and_sequences() {
        assert_eq!(default_sql("0").unwrap(), "0");
        assert_eq!(default_sql("now()").unwrap(), "now()");
        assert_eq!(default_sql("'x'::text").unwrap(), "'x'::TEXT");
        assert_eq!(
            default_sql("nextval('s')").unwrap(),
            "floe_nextval('public.s')"
        );
        assert_eq!(
            default_sql("CURRENT_TIMESTAMP").unwrap(),
            "CURRENT_TIMESTAMP"
        );
    }

    #[test]
    fn stored_expressions_cannot_reach_outside() {
        for bad in [
            "read_csv('/etc/passwd')",
            "(SELECT 1)",
            "getenv('HOME')",
            "floe_nextval('public.s')",
            "pg_catalog.now()",
            "count(*) OVER ()",
            "1; DROP TABLE t",
            "$1",
            "v",
        ] {
            assert!(default_sql(bad).is_err(), "{bad}");
        }
        assert!(check_sql("v > 0 AND w IS NOT NULL").is_ok());
        assert!(check_sql("x > 0").is_err());
        assert!(check_sql("v IN (SELECT 1)").is_err());
        assert!(check_sql("nextval('s') > 0").is_err());
        assert!(check_sql(&"1 + ".repeat(5000)).is_err());
    }

    #[test]
    fn sequence_calls_are_stored_and_probed_by_their_node() {
        let resolve = |s: &str| Ok(format!("public.{s}"));
        let e = checked(
            "nextval('s') + length('floe_nextval(')",
            &Use::Default { sequence: &resolve },
        )
        .unwrap();
        assert_eq!(
            stored_form(&e),
            "nextval('public.s') + length('floe_nextval(')"
        );
        assert_eq!(
            without_sequence_calls(&e).to_string(),
            "1 + length('floe_nextval(')"
        );
    }
}
