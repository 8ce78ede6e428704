//! Result column types as PostgreSQL gives them for catalog queries. The engine
//! reads `name` and `"char"` catalog columns as text and `oid` (and its alias
//! types) as an unsigned integer; PostgreSQL reports them as `name`, `"char"`,
//! `oid`, `regclass`… and clients read them by those types. This module infers
//! a select list's PostgreSQL types where they are one of those: column
//! references are resolved through the FROM clause (aliases, joins, derived
//! tables, CTEs and the enclosing query for correlated subqueries) to the
//! PostgreSQL 15 catalog relation they read; casts, CASE, COALESCE, scalar
//! subqueries, UNION branches and functions returning `name` carry the type on
//! as PostgreSQL's type resolution does.

use std::collections::HashMap;

use floe_catalog::pg_schema::pg15_catalog;
use sqlparser::ast::{
    CastKind, DataType, Expr, FunctionArg, FunctionArgExpr, FunctionArguments, ObjectName, Query,
    Select, SelectItem, SetExpr, TableFactor, TableWithJoins, Value,
};

use crate::codec::types::oid;

/// An expression's type as far as this inference knows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ty {
    /// A type PostgreSQL gives it that the engine does not (its OID).
    Known(u32),
    /// An untyped literal (`NULL`, `'text'`): takes the type of its siblings.
    Unknown,
    /// An integer literal: an `oid` beside one (`CASE … THEN typbasetype ELSE 0`).
    Integer,
    /// Anything else: the engine's type stands.
    Other,
}

/// The PostgreSQL type of each result column of `q` where it is one the
/// engine does not report (`name`, `"char"`, `oid`, the reg* types); `None`
/// for the others.
pub fn query_result_types(q: &Query) -> Option<Vec<Option<u32>>> {
    let types = query_types(q, &Scope::default())?;
    Some(
        types
            .into_iter()
            .map(|t| match t {
                Ty::Known(o) => Some(o),
                _ => None,
            })
            .collect(),
    )
}

/// A relation visible in a FROM clause: its column types by name, or opaque
/// (a user table, a table function) when they are not known.
#[derive(Debug, Clone)]
enum Relation {
    /// Columns in order.
    Known(Vec<(String, Ty)>),
    Opaque,
}

#[derive(Debug, Clone, Default)]
struct Scope<'a> {
    /// (alias or name, relation) for each FROM item.
    relations: Vec<(String, Relation)>,
    /// Common table expressions in scope, by name.
    ctes: HashMap<String, Relation>,
    parent: Option<&'a Scope<'a>>,
}

impl Scope<'_> {
    fn column(&self, qualifier: Option<&str>, column: &str) -> Ty {
        let mut scope = Some(self);
        while let Some(s) = scope {
            let mut found = None;
            let mut candidates = 0;
            for (name, rel) in &s.relations {
                if qualifier.is_some_and(|q| q != name) {
                    continue;
                }
                match rel {
                    Relation::Known(cols) => {
                        if let Some((_, t)) = cols.iter().find(|(n, _)| n == column) {
                            found = Some(*t);
                            candidates += 1;
                        }
                    }
                    Relation::Opaque if qualifier.is_some() => return Ty::Other,
                    Relation::Opaque => {}
                }
            }
            match (found, candidates) {
                (Some(t), 1) => return t,
                (Some(_), _) => return Ty::Other,
                _ if qualifier.is_some()
                    && s.relations
                        .iter()
                        .any(|(n, _)| Some(n.as_str()) == qualifier) =>
                {
                    return Ty::Other
                }
                _ => {}
            }
            scope = s.parent;
        }
        Ty::Other
    }

    fn cte(&self, name: &str) -> Option<&Relation> {
        let mut scope = Some(self);
        while let Some(s) = scope {
            if let Some(r) = s.ctes.get(name) {
                return Some(r);
            }
            scope = s.parent;
        }
        None
    }
}

fn query_types(q: &Query, parent: &Scope<'_>) -> Option<Vec<Ty>> {
    let mut scope = Scope {
        parent: Some(parent),
        ..Scope::default()
    };
    if let Some(with) = &q.with {
        for cte in &with.cte_tables {
            let aliases: Vec<String> = cte
                .alias
                .columns
                .iter()
                .map(|c| c.name.value.clone())
                .collect();
            let name = ident_text(&cte.alias.name);
            // A recursive CTE reads itself: its columns first take the types
            // of its non-recursive branch.
            if let (true, SetExpr::SetOperation { left, .. }, false) =
                (with.recursive, cte.query.body.as_ref(), aliases.is_empty())
            {
                if let Some(anchor) = set_types(left, &scope).filter(|t| t.len() == aliases.len()) {
                    let columns = aliases
                        .iter()
                        .map(|a| a.to_lowercase())
                        .zip(anchor)
                        .collect();
                    scope.ctes.insert(name.clone(), Relation::Known(columns));
                }
            }
            let relation = derived(&cte.query, &aliases, &scope);
            scope.ctes.insert(name, relation);
        }
    }
    set_types(&q.body, &scope)
}

fn set_types(body: &SetExpr, scope: &Scope<'_>) -> Option<Vec<Ty>> {
    match body {
        SetExpr::Select(s) => select_types(s, scope),
        SetExpr::Query(q) => query_types(q, scope),
        SetExpr::SetOperation { left, right, .. } => {
            let l = set_types(left, scope)?;
            let r = set_types(right, scope)?;
            (l.len() == r.len()).then(|| l.into_iter().zip(r).map(|(a, b)| merge(a, b)).collect())
        }
        _ => None,
    }
}

/// The type PostgreSQL resolves two branches of a UNION or CASE to, as far
/// as this inference goes.
fn merge(a: Ty, b: Ty) -> Ty {
    match (a, b) {
        (Ty::Unknown, t) | (t, Ty::Unknown) => t,
        (x, y) if x == y => x,
        (Ty::Integer, Ty::Known(oid::OID)) | (Ty::Known(oid::OID), Ty::Integer) => {
            Ty::Known(oid::OID)
        }
        _ => Ty::Other,
    }
}

/// The element type of catalog array type `t`.
fn element_of(t: Ty) -> Ty {
    match t {
        Ty::Known(oid::NAME_ARRAY) => Ty::Known(oid::NAME),
        Ty::Known(oid::CHAR_ARRAY) => Ty::Known(oid::CHAR),
        Ty::Known(oid::OID_ARRAY) => Ty::Known(oid::OID),
        _ => Ty::Other,
    }
}

/// The array type of elements of type `t`, where it is one the engine does
/// not report.
fn array_of(t: Ty) -> Ty {
    match t {
        Ty::Known(oid::NAME) => Ty::Known(oid::NAME_ARRAY),
        Ty::Known(oid::CHAR) => Ty::Known(oid::CHAR_ARRAY),
        Ty::Known(oid::OID) => Ty::Known(oid::OID_ARRAY),
        _ => Ty::Other,
    }
}

/// A derived table's or CTE's columns: named after `aliases` when given, else
/// after its select list.
fn derived(q: &Query, aliases: &[String], scope: &Scope<'_>) -> Relation {
    // A plain SELECT names its columns itself, `*` included.
    if let (SetExpr::Select(s), true, None) = (q.body.as_ref(), aliases.is_empty(), &q.with) {
        return select_columns(s, scope).map_or(Relation::Opaque, Relation::Known);
    }
    let Some(types) = query_types(q, scope) else {
        return Relation::Opaque;
    };
    let names = if aliases.is_empty() {
        match floe_sql::pg_names::query_column_names(q) {
            Some(n) => n,
            None => return Relation::Opaque,
        }
    } else {
        aliases.iter().map(|a| a.to_lowercase()).collect()
    };
    Relation::Known(names.into_iter().zip(types).collect())
}

fn select_types(s: &Select, parent: &Scope<'_>) -> Option<Vec<Ty>> {
    select_columns(s, parent).map(|c| c.into_iter().map(|(_, t)| t).collect())
}

/// A select list's columns: names and types, `*` and `r.*` expanded from the
/// FROM items (when all are known).
fn select_columns(s: &Select, parent: &Scope<'_>) -> Option<Vec<(String, Ty)>> {
    let mut scope = Scope {
        parent: Some(parent),
        ..Scope::default()
    };
    for item in &s.from {
        add_from(item, &mut scope);
    }
    let mut columns = Vec::new();
    for item in &s.projection {
        match item {
            SelectItem::UnnamedExpr(e) | SelectItem::ExprWithAlias { expr: e, .. } => {
                let name = floe_sql::pg_names::item_name(item).unwrap_or_default();
                columns.push((name, expr_type(e, &scope)));
            }
            SelectItem::Wildcard(_) => {
                for (_, relation) in &scope.relations {
                    let Relation::Known(known) = relation else {
                        return None;
                    };
                    columns.extend(known.iter().cloned());
                }
            }
            SelectItem::QualifiedWildcard(kind, _) => {
                let qualifier = kind.to_string();
                let qualifier = qualifier.strip_suffix(".*").unwrap_or(&qualifier);
                let qualifier = qualifier.rsplit('.').next().unwrap_or("").trim_matches('"');
                let found = scope
                    .relations
                    .iter()
                    .find(|(label, _)| label.eq_ignore_ascii_case(qualifier));
                let Some((_, Relation::Known(known))) = found else {
                    return None;
                };
                columns.extend(known.iter().cloned());
            }
        }
    }
    Some(columns)
}

fn add_from(item: &TableWithJoins, scope: &mut Scope<'_>) {
    add_factor(&item.relation, scope);
    for join in &item.joins {
        add_factor(&join.relation, scope);
    }
}

fn add_factor(factor: &TableFactor, scope: &mut Scope<'_>) {
    match factor {
        // A function in FROM (`unnest(a, b) WITH ORDINALITY k(x, y, n)`).
        TableFactor::Table {
            name,
            alias,
            args: Some(args),
            with_ordinality,
            ..
        } => {
            let arrays: Vec<Expr> = if last_ident(name) == "unnest" {
                args.args
                    .iter()
                    .filter_map(|a| match a {
                        FunctionArg::Unnamed(FunctionArgExpr::Expr(e)) => Some(e.clone()),
                        _ => None,
                    })
                    .collect()
            } else {
                Vec::new()
            };
            if arrays.is_empty() {
                add_function_relation(alias.as_ref(), scope);
            } else {
                add_unnest(alias.as_ref(), &arrays, *with_ordinality, scope);
            }
        }
        TableFactor::Table { name, alias, .. } => {
            let table = last_ident(name);
            let relation = if name.0.len() == 1 && scope.cte(&table).is_some() {
                scope.cte(&table).cloned().unwrap_or(Relation::Opaque)
            } else {
                catalog_relation(name)
            };
            let label = alias.as_ref().map_or(table, |a| ident_text(&a.name));
            scope.relations.push((label, relation));
        }
        TableFactor::Derived {
            subquery, alias, ..
        } => {
            let aliases: Vec<String> = alias
                .as_ref()
                .map(|a| a.columns.iter().map(|c| c.name.value.clone()).collect())
                .unwrap_or_default();
            let relation = derived(subquery, &aliases, scope);
            let label = alias
                .as_ref()
                .map_or_else(String::new, |a| ident_text(&a.name));
            scope.relations.push((label, relation));
        }
        TableFactor::NestedJoin {
            table_with_joins, ..
        } => add_from(table_with_joins, scope),
        TableFactor::UNNEST {
            alias,
            array_exprs,
            with_ordinality,
            ..
        } => add_unnest(alias.as_ref(), array_exprs, *with_ordinality, scope),
        TableFactor::Function { alias, .. } | TableFactor::TableFunction { alias, .. } => {
            add_function_relation(alias.as_ref(), scope)
        }
        _ => scope.relations.push((String::new(), Relation::Opaque)),
    }
}

/// `unnest(a [, b …]) [WITH ORDINALITY]` in FROM: a column of each array's
/// element type (named by the alias, else `unnest`), then `ordinality`.
fn add_unnest(
    alias: Option<&sqlparser::ast::TableAlias>,
    arrays: &[Expr],
    with_ordinality: bool,
    scope: &mut Scope<'_>,
) {
    let mut columns: Vec<(String, Ty)> = arrays
        .iter()
        .map(|e| ("unnest".to_string(), element_of(expr_type(e, scope))))
        .collect();
    if with_ordinality {
        columns.push(("ordinality".to_string(), Ty::Other));
    }
    let label = alias.map_or_else(String::new, |a| ident_text(&a.name));
    match alias.map(|a| a.columns.as_slice()) {
        Some(names) if !names.is_empty() => {
            for (column, name) in columns.iter_mut().zip(names) {
                column.0 = ident_text(&name.name);
            }
        }
        // A single array's column takes the alias's name.
        Some(_) if arrays.len() == 1 => columns[0].0 = label.clone(),
        _ => {}
    }
    scope.relations.push((label, Relation::Known(columns)));
}

/// Another function in FROM: with its columns named, a relation of them (of
/// the engine's types).
fn add_function_relation(alias: Option<&sqlparser::ast::TableAlias>, scope: &mut Scope<'_>) {
    let label = alias.map_or_else(String::new, |a| ident_text(&a.name));
    let relation = match alias.map(|a| a.columns.as_slice()) {
        Some(names) if !names.is_empty() => Relation::Known(
            names
                .iter()
                .map(|c| (ident_text(&c.name), Ty::Other))
                .collect(),
        ),
        _ => Relation::Opaque,
    };
    scope.relations.push((label, relation));
}

/// A `pg_catalog` or `information_schema` relation's column types.
fn catalog_relation(name: &ObjectName) -> Relation {
    let parts: Vec<String> = name
        .0
        .iter()
        .filter_map(|p| p.as_ident().map(ident_text))
        .collect();
    let key = match parts.as_slice() {
        [t] => t.clone(),
        [s, t] if s == "pg_catalog" => t.clone(),
        [s, t] if s == "information_schema" => format!("information_schema.{t}"),
        _ => return Relation::Opaque,
    };
    match pg15_catalog::relations().get(&key) {
        Some(r) => Relation::Known(
            r.columns
                .iter()
                .map(|c| (c.name.to_string(), pg_type(c.pg_type)))
                .collect(),
        ),
        None => Relation::Opaque,
    }
}

/// The inferred type of a catalog column of PostgreSQL type `t` (as
/// `format_type` writes it).
fn pg_type(t: &str) -> Ty {
    match t {
        "name" => Ty::Known(oid::NAME),
        "\"char\"" => Ty::Known(oid::CHAR),
        "name[]" => Ty::Known(oid::NAME_ARRAY),
        "\"char\"[]" => Ty::Known(oid::CHAR_ARRAY),
        "aclitem[]" => Ty::Known(oid::ACLITEM_ARRAY),
        "oid[]" => Ty::Known(oid::OID_ARRAY),
        "int2vector" => Ty::Known(oid::INT2VECTOR),
        "oidvector" => Ty::Known(oid::OIDVECTOR),
        "pg_lsn" => Ty::Known(oid::PG_LSN),
        // information_schema's character_data and yes_or_no.
        "character varying" => Ty::Known(oid::VARCHAR),
        other => cast_type_name(other),
    }
}

/// The type a cast to `t` gives.
fn cast_type(t: &DataType) -> Ty {
    let text = t.to_string().to_lowercase();
    let base = text.rsplit('.').next().unwrap_or("").trim_matches('"');
    // The router writes casts to OID-alias types as casts to `floe_<type>`.
    let base = base.strip_prefix("floe_").unwrap_or(base);
    match base.split('(').next().unwrap_or(base).trim() {
        "name" => Ty::Known(oid::NAME),
        "char" if text.contains('"') => Ty::Known(oid::CHAR),
        "varchar" | "character varying" => Ty::Known(oid::VARCHAR),
        "char" | "character" | "bpchar" => Ty::Known(oid::BPCHAR),
        "jsonb" => Ty::Known(oid::JSONB),
        other => cast_type_name(other),
    }
}

/// The type named `name` when it is `oid` or an OID-alias type.
fn cast_type_name(name: &str) -> Ty {
    match name {
        // The router writes casts to `oid` as casts to UINTEGER.
        "oid" | "uinteger" => Ty::Known(oid::OID),
        "regclass" => Ty::Known(oid::REGCLASS),
        "regtype" => Ty::Known(oid::REGTYPE),
        "regproc" => Ty::Known(oid::REGPROC),
        "regprocedure" => Ty::Known(oid::REGPROCEDURE),
        "regoper" => Ty::Known(oid::REGOPER),
        "regoperator" => Ty::Known(oid::REGOPERATOR),
        "regnamespace" => Ty::Known(oid::REGNAMESPACE),
        "regrole" => Ty::Known(oid::REGROLE),
        "regconfig" => Ty::Known(oid::REGCONFIG),
        "regdictionary" => Ty::Known(oid::REGDICTIONARY),
        _ => Ty::Other,
    }
}

/// Functions whose result is of type `name`.
const NAME_FUNCTIONS: &[&str] = &[
    "pg_get_userbyid",
    "current_database",
    "current_schema",
    "current_user",
    "session_user",
    "current_role",
    "user",
    "pg_encoding_to_char",
    "getdatabaseencoding",
    "pg_client_encoding",
];

fn expr_type(e: &Expr, scope: &Scope<'_>) -> Ty {
    match e {
        Expr::Identifier(i) => scope.column(None, &ident_text(i)),
        Expr::CompoundIdentifier(parts) => match parts.as_slice() {
            [.., q, c] => scope.column(Some(&ident_text(q)), &ident_text(c)),
            [c] => scope.column(None, &ident_text(c)),
            [] => Ty::Other,
        },
        Expr::Nested(inner) => expr_type(inner, scope),
        // A jsonb's member or path is a jsonb (the engine's is JSON).
        Expr::BinaryOp {
            left,
            op: sqlparser::ast::BinaryOperator::Arrow | sqlparser::ast::BinaryOperator::HashArrow,
            ..
        } if expr_type(left, scope) == Ty::Known(oid::JSONB) => Ty::Known(oid::JSONB),
        Expr::Cast {
            kind: CastKind::Cast | CastKind::DoubleColon,
            data_type,
            ..
        } => cast_type(data_type),
        Expr::Value(v) => match &v.value {
            Value::Null | Value::SingleQuotedString(_) => Ty::Unknown,
            Value::Number(n, _) if n.bytes().all(|b| b.is_ascii_digit()) => Ty::Integer,
            _ => Ty::Other,
        },
        Expr::Case {
            conditions,
            else_result,
            ..
        } => {
            let mut t = Ty::Unknown;
            for c in conditions {
                t = merge(t, expr_type(&c.result, scope));
            }
            if let Some(e) = else_result {
                t = merge(t, expr_type(e, scope));
            }
            t
        }
        Expr::Subquery(q) => query_types(q, scope)
            .and_then(|t| t.into_iter().next())
            .unwrap_or(Ty::Other),
        Expr::Function(f) => {
            // The router calls Floe's stand-ins (`floe_pg_get_userbyid`).
            let full = last_ident(&f.name);
            let name = full.strip_prefix("floe_").unwrap_or(&full).to_string();
            if NAME_FUNCTIONS.contains(&name.as_str()) {
                return Ty::Known(oid::NAME);
            }
            match (name.as_str(), &f.args) {
                // ARRAY(SELECT …) and array_agg(x): arrays of the element's type.
                ("array", FunctionArguments::Subquery(q)) => array_of(
                    query_types(q, scope)
                        .and_then(|t| t.into_iter().next())
                        .unwrap_or(Ty::Other),
                ),
                ("array_agg", FunctionArguments::List(list)) => match list.args.first() {
                    Some(FunctionArg::Unnamed(FunctionArgExpr::Expr(e))) => {
                        array_of(expr_type(e, scope))
                    }
                    _ => Ty::Other,
                },
                ("current_schemas", _) => Ty::Known(oid::NAME_ARRAY),
                ("pg_typeof", _) => Ty::Known(oid::REGTYPE),
                // The router's casts to varchar and char of a length.
                ("as_varchar" | "as_varchar_n", _) => Ty::Known(oid::VARCHAR),
                ("as_bpchar_n", _) => Ty::Known(oid::BPCHAR),
                // unnest of a catalog array: its elements' type.
                ("unnest", FunctionArguments::List(list)) if list.args.len() == 1 => {
                    match list.args.first() {
                        Some(FunctionArg::Unnamed(FunctionArgExpr::Expr(e))) => {
                            element_of(expr_type(e, scope))
                        }
                        _ => Ty::Other,
                    }
                }
                ("coalesce" | "nullif" | "greatest" | "least", _) => {
                    let FunctionArguments::List(list) = &f.args else {
                        return Ty::Other;
                    };
                    list.args.iter().fold(Ty::Unknown, |t, a| match a {
                        FunctionArg::Unnamed(FunctionArgExpr::Expr(e)) => {
                            merge(t, expr_type(e, scope))
                        }
                        _ => Ty::Other,
                    })
                }
                _ => Ty::Other,
            }
        }
        _ => Ty::Other,
    }
}

fn ident_text(i: &sqlparser::ast::Ident) -> String {
    if i.quote_style.is_some() {
        i.value.clone()
    } else {
        i.value.to_lowercase()
    }
}

fn last_ident(name: &ObjectName) -> String {
    name.0
        .last()
        .and_then(|p| p.as_ident())
        .map(ident_text)
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn types(sql: &str) -> Vec<Option<u32>> {
        let q = floe_sql::pg_names::parse_query(sql).expect("a query");
        query_result_types(&q).expect("types")
    }

    #[test]
    fn wildcards_and_recursive_ctes_carry_catalog_types() {
        assert_eq!(
            types(
                "WITH RECURSIVE tree(oid, names, depth) AS (\
                 SELECT t.oid, (SELECT array_agg(a.attname) FROM pg_attribute a), 0 FROM pg_type t \
                 UNION ALL SELECT tree.oid, tree.names, depth + 1 FROM tree WHERE false) \
                 SELECT DISTINCT *, oid::regtype::text AS n FROM tree"
            ),
            vec![Some(oid::OID), Some(oid::NAME_ARRAY), None, None]
        );
        assert_eq!(
            types("SELECT n.*, 1 FROM pg_namespace n"),
            vec![
                Some(oid::OID),
                Some(oid::NAME),
                Some(oid::OID),
                Some(oid::ACLITEM_ARRAY),
                None
            ]
        );
        assert_eq!(
            types("SELECT CASE t.typtype WHEN 'd' THEN t.typbasetype ELSE 0 END FROM pg_type t"),
            vec![Some(oid::OID)]
        );
        assert_eq!(
            types(
                "SELECT unnest(floe_current_schemas(true)), NULL::varchar, CAST(1 AS character varying(3))"
            ),
            vec![Some(oid::NAME), Some(oid::VARCHAR), Some(oid::VARCHAR)]
        );
    }

    #[test]
    fn catalog_columns_resolve_through_aliases_and_joins() {
        assert_eq!(
            types(
                "SELECT n.nspname, c.relname, c.relkind, oid, c.relnatts, relpages \
                 FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace"
            ),
            vec![
                Some(oid::NAME),
                Some(oid::NAME),
                Some(oid::CHAR),
                None, // `oid` alone names a column of both relations
                None,
                None
            ]
        );
        assert_eq!(types("SELECT c.oid FROM pg_class c"), vec![Some(oid::OID)]);
    }

    #[test]
    fn expressions_carry_the_type_on() {
        assert_eq!(
            types(
                "SELECT CASE WHEN c.relkind = 'r' THEN c.relname ELSE NULL END, \
                 COALESCE(c.relname, 'x'), (SELECT n.nspname FROM pg_namespace n WHERE n.oid = c.relnamespace), \
                 'postgres'::name, c.oid::regclass, CAST(c.reltype AS regtype), pg_encoding_to_char(6), \
                 CASE WHEN true THEN c.relname ELSE 'a' || 'b' END \
                 FROM pg_class c"
            ),
            vec![
                Some(oid::NAME),
                Some(oid::NAME),
                Some(oid::NAME),
                Some(oid::NAME),
                Some(oid::REGCLASS),
                Some(oid::REGTYPE),
                Some(oid::NAME),
                None
            ]
        );
    }

    #[test]
    fn unions_derived_tables_and_ctes() {
        assert_eq!(
            types("SELECT pubname FROM pg_publication UNION SELECT NULL"),
            vec![Some(oid::NAME)]
        );
        assert_eq!(
            types("SELECT relname FROM pg_class UNION SELECT 'x' || 'y'"),
            vec![None]
        );
        assert_eq!(
            types("SELECT t.n FROM (SELECT relname AS n FROM pg_class) t"),
            vec![Some(oid::NAME)]
        );
        assert_eq!(
            types("WITH x AS (SELECT nspname FROM pg_namespace) SELECT nspname FROM x"),
            vec![Some(oid::NAME)]
        );
    }

    #[test]
    fn user_tables_are_left_to_the_engine() {
        assert_eq!(types("SELECT relname FROM my_table"), vec![None]);
        assert_eq!(types("SELECT x.relname FROM s.pg_class x"), vec![None]);
        assert_eq!(
            types("SELECT relname FROM pg_class, my_table"),
            vec![Some(oid::NAME)]
        );
    }
}
