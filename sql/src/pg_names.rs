//! Result column names as PostgreSQL gives them. DuckDB names an unaliased
//! expression after its text (`count_star()`, `(a + 1)`, `CAST(x AS INTEGER)`);
//! PostgreSQL names it after the function, column or type involved (`count`,
//! `?column?`, `int4`) and folds unquoted aliases to lower case. Clients and
//! tools read columns by those names, so the worker reports them.

use sqlparser::ast::{
    CastKind, DataType, Expr, Function, FunctionArg, FunctionArgExpr, FunctionArguments,
    ObjectName, Query, Select, SelectItem, SetExpr, Statement,
};
use sqlparser::dialect::PostgreSqlDialect;
use sqlparser::parser::Parser;

/// `sql` as one query, which the result's names and types are read from;
/// `None` for anything else.
pub fn parse_query(sql: &str) -> Option<Query> {
    let mut statements = Parser::parse_sql(&PostgreSqlDialect {}, sql).ok()?;
    if statements.len() != 1 {
        return None;
    }
    match statements.remove(0) {
        Statement::Query(q) => Some(*q),
        _ => None,
    }
}

/// The names PostgreSQL gives a query's result columns (`None` when its
/// select list has a `*`).
pub fn query_column_names(q: &Query) -> Option<Vec<String>> {
    set_names(&q.body)
}

fn set_names(body: &SetExpr) -> Option<Vec<String>> {
    match body {
        SetExpr::Select(s) => select_names(s),
        SetExpr::Query(q) => query_column_names(q),
        SetExpr::SetOperation { left, .. } => set_names(left),
        _ => None,
    }
}

fn select_names(s: &Select) -> Option<Vec<String>> {
    s.projection.iter().map(item_name).collect()
}

/// The name of a select-list item's column; `None` for a `*`.
pub fn item_name(item: &SelectItem) -> Option<String> {
    match item {
        SelectItem::UnnamedExpr(e) => Some(expr_name(e)),
        SelectItem::ExprWithAlias { alias, .. } => Some(if alias.quote_style.is_some() {
            alias.value.clone()
        } else {
            alias.value.to_lowercase()
        }),
        _ => None,
    }
}

/// PostgreSQL's name for an unaliased expression (FigureColname).
fn expr_name(e: &Expr) -> String {
    figure_name(e).map_or_else(|| "?column?".into(), |(name, _)| name)
}

/// How sure a name is, as in PostgreSQL's FigureColnameInternal: a cast or a
/// CASE names its column after what it wraps only when that name is strong.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd)]
enum Strength {
    /// A fallback (`case`, a type name).
    Weak,
    /// A column, a function, a keyword construct.
    Strong,
}

fn figure_name(e: &Expr) -> Option<(String, Strength)> {
    let ident = |i: &sqlparser::ast::Ident| {
        if i.quote_style.is_some() {
            i.value.clone()
        } else {
            i.value.to_lowercase()
        }
    };
    let strong = |n: &str| Some((n.to_string(), Strength::Strong));
    match e {
        Expr::Identifier(i) => Some((ident(i), Strength::Strong)),
        Expr::CompoundIdentifier(parts) => parts.last().map(|i| (ident(i), Strength::Strong)),
        // Floe's stand-ins for casts (`ARRAY[…]::text`, `d::regdictionary`) are
        // named as the cast would be: after what they convert.
        Expr::Function(f)
            if matches!(
                last_part(&f.name).as_str(),
                "floe_array_text"
                    | "floe_regdictionary_name"
                    | "floe_reg_text"
                    | "floe_reg_array_text"
            ) =>
        {
            match &f.args {
                FunctionArguments::List(list) => match list.args.first() {
                    Some(FunctionArg::Unnamed(FunctionArgExpr::Expr(arg))) => figure_name(arg),
                    _ => None,
                },
                _ => None,
            }
        }
        // The router's zoned casts are named as the casts they stand for:
        // after what they convert, else after the type.
        Expr::Function(f)
            if matches!(
                last_part(&f.name).as_str(),
                "floe_as_date"
                    | "floe_as_timestamp"
                    | "floe_as_timestamptz"
                    | "floe_as_text"
                    | "floe_as_varchar"
                    | "floe_as_varchar_n"
                    | "floe_as_bpchar_n"
            ) =>
        {
            let arg = match &f.args {
                FunctionArguments::List(list) => match list.args.first() {
                    Some(FunctionArg::Unnamed(FunctionArgExpr::Expr(arg))) => figure_name(arg),
                    _ => None,
                },
                _ => None,
            };
            match arg {
                Some((n, Strength::Strong)) => Some((n, Strength::Strong)),
                _ => Some((
                    last_part(&f.name)
                        .trim_start_matches("floe_as_")
                        .trim_end_matches("_n")
                        .to_string(),
                    Strength::Weak,
                )),
            }
        }
        // An OID the router looked up from a literal: a cast of it is named
        // after the type, as a cast of the literal is.
        Expr::Function(f) if last_part(&f.name) == "floe_oid_of" => None,
        // The router's division is the operator it stands for: unnamed.
        Expr::Function(f) if last_part(&f.name) == crate::stand_ins::DIVISION => None,
        Expr::Function(f) => Some((function_name(f), Strength::Strong)),
        Expr::Nested(inner) => figure_name(inner),
        Expr::Cast {
            kind,
            expr,
            data_type,
            ..
        } => match figure_name(expr) {
            Some((n, Strength::Strong)) => Some((n, Strength::Strong)),
            _ if matches!(kind, CastKind::Cast | CastKind::DoubleColon) => {
                Some((type_name(data_type), Strength::Weak))
            }
            weak => weak,
        },
        Expr::Case { else_result, .. } => match else_result.as_deref().and_then(figure_name) {
            Some((n, Strength::Strong)) => Some((n, Strength::Strong)),
            _ => Some(("case".into(), Strength::Weak)),
        },
        Expr::Exists { .. } => strong("exists"),
        // A subscript is named after what it subscripts, a field after itself.
        Expr::CompoundFieldAccess { root, access_chain } => match access_chain.last() {
            Some(sqlparser::ast::AccessExpr::Dot(field)) => figure_name(field),
            _ => figure_name(root),
        },
        // ARRAY[…] is named `array`; a bracket list is how the router writes
        // an array literal ('{1,2}'), which has no name of its own.
        Expr::Array(a) if a.named => strong("array"),
        Expr::Array(_) => None,
        Expr::Subquery(q) => query_column_names(q)
            .and_then(|n| n.into_iter().next())
            .map(|n| (n, Strength::Strong)),
        Expr::Extract { .. } => strong("extract"),
        Expr::Substring {
            shorthand: true, ..
        } => strong("substr"),
        Expr::Substring { .. } => strong("substring"),
        // TRIM(LEADING …) is ltrim, TRIM(TRAILING …) rtrim, the rest btrim.
        Expr::Trim { trim_where, .. } => match trim_where {
            Some(sqlparser::ast::TrimWhereField::Leading) => strong("ltrim"),
            Some(sqlparser::ast::TrimWhereField::Trailing) => strong("rtrim"),
            _ => strong("btrim"),
        },
        Expr::Position { .. } => strong("position"),
        Expr::Overlay { .. } => strong("overlay"),
        Expr::Ceil { .. } => strong("ceil"),
        Expr::Floor { .. } => strong("floor"),
        Expr::AtTimeZone { .. } => strong("timezone"),
        _ => None,
    }
}

fn function_name(f: &Function) -> String {
    let name = last_part(&f.name);
    // The router writes EXTRACT as one of floe_extract_s0/_s3/_s6/_s20.
    if name.starts_with("floe_extract_s") {
        return "extract".to_string();
    }
    // The router calls Floe's stand-ins for Postgres functions (`floe_format_type`
    // for `format_type`); the column keeps the Postgres name.
    match name.strip_prefix("floe_") {
        Some(pg) if !pg.is_empty() => pg.to_string(),
        _ => name,
    }
}

fn last_part(name: &ObjectName) -> String {
    name.0
        .last()
        .and_then(|p| p.as_ident())
        .map(|i| {
            if i.quote_style.is_some() {
                i.value.clone()
            } else {
                i.value.to_lowercase()
            }
        })
        .unwrap_or_else(|| "?column?".into())
}

/// The name PostgreSQL gives a cast to `t` (the type's internal name).
fn type_name(t: &DataType) -> String {
    let text = t.to_string().to_lowercase();
    // A cast to an array type is named after the element type.
    let text = text.trim_end_matches("[]").to_string();
    let base = text.split('(').next().unwrap_or("").trim();
    let name = match base {
        "int" | "integer" | "int4" => "int4",
        "bigint" | "int8" => "int8",
        "smallint" | "int2" => "int2",
        "real" | "float4" => "float4",
        "double precision" | "float8" | "double" => "float8",
        "numeric" | "decimal" => "numeric",
        "boolean" | "bool" => "bool",
        "character varying" | "varchar" => "varchar",
        "character" | "char" | "bpchar" => "bpchar",
        "timestamp with time zone" | "timestamptz" => "timestamptz",
        "timestamp" | "timestamp without time zone" => "timestamp",
        "time" | "time without time zone" => "time",
        // The router writes casts to oid and its aliases as UINTEGER.
        "uinteger" => "oid",
        "blob" => "bytea",
        other => {
            let base = other.rsplit('.').next().unwrap_or(other);
            // The router writes casts to OID-alias types as casts to `floe_<type>`.
            return base.strip_prefix("floe_").unwrap_or(base).to_string();
        }
    };
    name.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(sql: &str) -> Option<Vec<String>> {
        query_column_names(&parse_query(sql)?)
    }

    #[test]
    fn names_follow_postgres() {
        assert_eq!(
            names("SELECT count(*), sum(x), t.Col, \"Q\", 1 + 2, x::int, 'a'::text, CASE WHEN true THEN 1 END FROM t"),
            Some(vec![
                "count".into(),
                "sum".into(),
                "col".into(),
                "Q".into(),
                "?column?".into(),
                "x".into(),
                "text".into(),
                "case".into()
            ])
        );
        assert_eq!(
            names("SELECT 1 AS Foo, 2 AS \"Bar\", true"),
            Some(vec!["foo".into(), "Bar".into(), "?column?".into()])
        );
        assert_eq!(
            names("SELECT pg_catalog.version()"),
            Some(vec!["version".into()])
        );
        assert_eq!(
            names("SELECT floe_pg_size_pretty(1), floe_format_type(23, -1)"),
            Some(vec!["pg_size_pretty".into(), "format_type".into()])
        );
        assert_eq!(
            names(
                "SELECT substr(s, 2), substring(s from 2), (ARRAY[1, 2])[2], a[1], floe_div(a , b)"
            ),
            Some(vec![
                "substr".into(),
                "substring".into(),
                "array".into(),
                "a".into(),
                "?column?".into()
            ])
        );
        assert_eq!(names("SELECT * FROM t"), None);
        assert_eq!(
            names("SELECT a FROM t UNION SELECT b FROM u"),
            Some(vec!["a".into()])
        );
        assert_eq!(names("INSERT INTO t VALUES (1)"), None);
    }
}
