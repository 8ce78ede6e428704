//! Result column names as PostgreSQL gives them. DuckDB names an unaliased
//! expression after its text (`count_star()`, `(a + 1)`, `CAST(x AS INTEGER)`);
//! PostgreSQL names it after the function, column or type involved (`count`,
//! `?column?`, `int4`) and folds unquoted aliases to lower case. Clients and
//! tools read columns by those names, so the worker reports them.

use sqlparser::ast::{
    CastKind, DataType, Expr, Function, ObjectName, Query, Select, SelectItem, SetExpr, Statement,
    Value,
};
use sqlparser::dialect::PostgreSqlDialect;
use sqlparser::parser::Parser;

/// The names PostgreSQL would give the result columns of `sql`, if it is a
/// query whose select list has no `*` (those keep the engine's names).
pub fn column_names(sql: &str) -> Option<Vec<String>> {
    let mut statements = Parser::parse_sql(&PostgreSqlDialect {}, sql).ok()?;
    if statements.len() != 1 {
        return None;
    }
    match statements.remove(0) {
        Statement::Query(q) => query_names(&q),
        _ => None,
    }
}

/// The PostgreSQL type of each result column of a catalog query that reads a
/// `name`, `"char"` or `oid` catalog column as it is (`c.relname`, `n.nspname AS
/// "Schema"`, `c.relkind`) or calls a function returning `name`
/// (`pg_get_userbyid`, `current_database()`); `None` for other columns.
/// DuckDB reads both types as VARCHAR, which clients would see as `text`.
pub fn catalog_column_types(sql: &str) -> Option<Vec<Option<u32>>> {
    use std::sync::OnceLock;
    static NAMES: OnceLock<std::collections::HashSet<&'static str>> = OnceLock::new();
    static CHARS: OnceLock<std::collections::HashSet<&'static str>> = OnceLock::new();
    static OIDS: OnceLock<std::collections::HashSet<&'static str>> = OnceLock::new();
    let oids = OIDS.get_or_init(|| floe_catalog::pg15_catalog::columns_always_of_type("oid"));
    let names = NAMES.get_or_init(|| floe_catalog::pg15_catalog::columns_always_of_type("name"));
    let chars =
        CHARS.get_or_init(|| floe_catalog::pg15_catalog::columns_always_of_type("\"char\""));
    const NAME_FUNCTIONS: &[&str] = &[
        "pg_get_userbyid",
        "current_database",
        "current_schema",
        "current_user",
        "session_user",
        "current_role",
        "user",
    ];
    let mut statements = Parser::parse_sql(&PostgreSqlDialect {}, sql).ok()?;
    if statements.len() != 1 {
        return None;
    }
    let Statement::Query(q) = statements.remove(0) else {
        return None;
    };
    let SetExpr::Select(s) = q.body.as_ref() else {
        return None;
    };
    let column_type = |e: &Expr| -> Option<u32> {
        let column = match e {
            Expr::Identifier(i) if i.quote_style.is_none() => i.value.to_lowercase(),
            Expr::CompoundIdentifier(parts) => parts.last()?.value.to_lowercase(),
            Expr::Function(f) => {
                let name = function_name(f);
                return NAME_FUNCTIONS
                    .contains(&name.as_str())
                    .then_some(crate::types::oid::NAME);
            }
            _ => return None,
        };
        if names.contains(column.as_str()) {
            Some(crate::types::oid::NAME)
        } else if chars.contains(column.as_str()) {
            Some(crate::types::oid::CHAR)
        } else if oids.contains(column.as_str()) {
            Some(crate::types::oid::OID)
        } else {
            None
        }
    };
    s.projection
        .iter()
        .map(|item| match item {
            SelectItem::UnnamedExpr(e) | SelectItem::ExprWithAlias { expr: e, .. } => {
                Some(column_type(e))
            }
            _ => None,
        })
        .collect()
}

fn query_names(q: &Query) -> Option<Vec<String>> {
    set_names(&q.body)
}

fn set_names(body: &SetExpr) -> Option<Vec<String>> {
    match body {
        SetExpr::Select(s) => select_names(s),
        SetExpr::Query(q) => query_names(q),
        SetExpr::SetOperation { left, .. } => set_names(left),
        _ => None,
    }
}

fn select_names(s: &Select) -> Option<Vec<String>> {
    s.projection
        .iter()
        .map(|item| match item {
            SelectItem::UnnamedExpr(e) => Some(expr_name(e)),
            SelectItem::ExprWithAlias { alias, .. } => Some(if alias.quote_style.is_some() {
                alias.value.clone()
            } else {
                alias.value.to_lowercase()
            }),
            _ => None,
        })
        .collect()
}

/// PostgreSQL's name for an unaliased expression (FigureColname).
fn expr_name(e: &Expr) -> String {
    let unknown = || "?column?".to_string();
    let ident = |i: &sqlparser::ast::Ident| {
        if i.quote_style.is_some() {
            i.value.clone()
        } else {
            i.value.to_lowercase()
        }
    };
    match e {
        Expr::Identifier(i) => ident(i),
        Expr::CompoundIdentifier(parts) => parts.last().map_or_else(unknown, ident),
        Expr::Function(f) => function_name(f),
        Expr::Nested(inner) => expr_name(inner),
        Expr::Cast {
            kind,
            expr,
            data_type,
            ..
        } => match expr_name(expr) {
            n if n != "?column?" => n,
            _ if matches!(kind, CastKind::Cast | CastKind::DoubleColon) => type_name(data_type),
            _ => unknown(),
        },
        Expr::Case { .. } => "case".into(),
        Expr::Exists { .. } => "exists".into(),
        Expr::Array(_) => "array".into(),
        Expr::Subquery(q) => query_names(q)
            .and_then(|n| n.into_iter().next())
            .unwrap_or_else(unknown),
        Expr::Value(v) if matches!(v.value, Value::Boolean(_)) => "bool".into(),
        Expr::Extract { .. } => "extract".into(),
        Expr::Substring { .. } => "substring".into(),
        Expr::Trim { .. } => "btrim".into(),
        Expr::Position { .. } => "position".into(),
        Expr::Overlay { .. } => "overlay".into(),
        Expr::Ceil { .. } => "ceil".into(),
        Expr::Floor { .. } => "floor".into(),
        _ => unknown(),
    }
}

fn function_name(f: &Function) -> String {
    let name = last_part(&f.name);
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
        other => return other.rsplit('.').next().unwrap_or(other).to_string(),
    };
    name.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(sql: &str) -> Option<Vec<String>> {
        column_names(sql)
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
            names("SELECT 1 AS Foo, 2 AS \"Bar\""),
            Some(vec!["foo".into(), "Bar".into()])
        );
        assert_eq!(
            names("SELECT pg_catalog.version()"),
            Some(vec!["version".into()])
        );
        assert_eq!(
            names("SELECT floe_pg_size_pretty(1), floe_format_type(23, -1)"),
            Some(vec!["pg_size_pretty".into(), "format_type".into()])
        );
        assert_eq!(names("SELECT * FROM t"), None);
        assert_eq!(
            names("SELECT a FROM t UNION SELECT b FROM u"),
            Some(vec!["a".into()])
        );
        assert_eq!(names("INSERT INTO t VALUES (1)"), None);
    }
}
