//! Catalog functions psql's `\d+`, `\dt+` and BI tools' metadata queries call,
//! answered from the virtual schema: `col_description(table_oid, column_number)`
//! and `obj_description(oid[, catalog])` from `pg_description` (lake table, view
//! and column comments, and PostgreSQL's own on its built-in objects), `pg_table_size`, `pg_relation_size` and
//! `pg_total_relation_size` from the data file sizes of each table's current
//! snapshot, `pg_database_size` and `pg_tablespace_size` from all of them. Each call becomes a scalar subquery; only the call's name and
//! parentheses are replaced, so its arguments are rewritten like any other SQL
//! (`'s.t'::regclass` inside still finds the table).

use floe_sql::tokens::{Tok, Token};

/// `pg_class`'s OID, the catalog comments on relations and columns are filed under.
use floe_catalog::pg_schema::virtual_schema::PG_CLASS_OID;

#[derive(Debug, Clone, Copy, PartialEq)]
enum Function {
    ColumnDescription,
    ObjectDescription,
    /// pg_table_size, pg_relation_size, pg_total_relation_size.
    RelationSize,
    /// pg_database_size, pg_tablespace_size: every lake table's data (the
    /// database's one tablespace holds it all).
    DatabaseSize,
}

impl Function {
    fn named(token: &Token) -> Option<Function> {
        let name = match &token.tok {
            Tok::Word(w) => w.to_ascii_lowercase(),
            _ => return None,
        };
        Some(match name.as_str() {
            "col_description" => Function::ColumnDescription,
            "obj_description" => Function::ObjectDescription,
            "pg_table_size" | "pg_relation_size" | "pg_total_relation_size" => {
                Function::RelationSize
            }
            "pg_database_size" | "pg_tablespace_size" => Function::DatabaseSize,
            _ => return None,
        })
    }

    fn takes(self, arguments: usize) -> bool {
        match self {
            Function::ColumnDescription => arguments == 2,
            Function::ObjectDescription => matches!(arguments, 1 | 2),
            Function::RelationSize | Function::DatabaseSize => arguments == 1,
        }
    }
}

/// The virtual relations the calls read.
pub struct CatalogRelations<'a> {
    pub descriptions: &'a str,
    /// `(oid, bytes)` of every lake relation.
    pub sizes: &'a str,
}

/// One call found in a statement.
#[derive(Debug, Clone, PartialEq)]
pub struct CatalogCall {
    /// Byte range of the name and the opening parenthesis.
    open: (usize, usize),
    /// Byte range of the closing parenthesis.
    close: (usize, usize),
    arguments: usize,
    function: Function,
}

/// The calls in `sql`, outermost only (a call inside another's arguments is
/// left in place).
pub fn find_calls(tokens: &[Token]) -> Vec<CatalogCall> {
    let mut calls = Vec::new();
    let mut i = 0;
    while i + 1 < tokens.len() {
        let function = Function::named(&tokens[i]);
        let qualified_before =
            i >= 2 && tokens[i - 1].tok == Tok::Punct('.') && !tokens[i - 2].is_word("pg_catalog");
        let Some(function) =
            function.filter(|_| tokens[i + 1].tok == Tok::Punct('(') && !qualified_before)
        else {
            i += 1;
            continue;
        };
        let mut depth = 0;
        let mut arguments = 1;
        let mut close = None;
        for (k, t) in tokens.iter().enumerate().skip(i + 1) {
            match t.tok {
                Tok::Punct('(') => depth += 1,
                Tok::Punct(')') => {
                    depth -= 1;
                    if depth == 0 {
                        close = Some(k);
                        break;
                    }
                }
                Tok::Punct(',') if depth == 1 => arguments += 1,
                _ => {}
            }
        }
        let Some(close) = close else {
            break;
        };
        let start = if i >= 2 && tokens[i - 1].tok == Tok::Punct('.') {
            tokens[i - 2].span.start
        } else {
            tokens[i].span.start
        };
        if function.takes(arguments) {
            calls.push(CatalogCall {
                open: (start, tokens[i + 1].span.end),
                close: (tokens[close].span.start, tokens[close].span.end),
                arguments,
                function,
            });
        }
        i = close + 1;
    }
    calls
}

/// The edits that turn a call into a scalar subquery: the arguments become the
/// row compared with (object, column number), (object, catalog name) for
/// `obj_description(oid, catalog)`, or the object's OID.
pub fn edits(call: &CatalogCall, relations: &CatalogRelations<'_>) -> [(usize, usize, String); 2] {
    if call.function == Function::DatabaseSize {
        return [
            (
                call.open.0,
                call.open.1,
                format!(
                    "(SELECT CAST(COALESCE(sum(__floe_s.bytes), 0) AS BIGINT) FROM {} AS __floe_s \
                     WHERE (",
                    relations.sizes
                ),
            ),
            (call.close.0, call.close.1, ") IS NOT NULL)".to_string()),
        ];
    }
    let query = match (call.function, call.arguments) {
        (Function::RelationSize, _) => format!(
            "(SELECT __floe_s.bytes FROM {} AS __floe_s WHERE (__floe_s.oid) = (",
            relations.sizes
        ),
        (Function::ColumnDescription, _) => format!(
            "(SELECT __floe_d.description FROM {} AS __floe_d \
             WHERE __floe_d.classoid = {PG_CLASS_OID} AND (__floe_d.objoid, __floe_d.objsubid) = (",
            relations.descriptions
        ),
        (_, 2) => format!(
            "(SELECT __floe_d.description FROM {} AS __floe_d \
             WHERE __floe_d.objsubid = 0 AND (__floe_d.objoid, {}) = (",
            relations.descriptions,
            catalog_name("__floe_d.classoid")
        ),
        _ => format!(
            "(SELECT __floe_d.description FROM {} AS __floe_d \
             WHERE __floe_d.objsubid = 0 AND (__floe_d.objoid) = (",
            relations.descriptions
        ),
    };
    [
        (call.open.0, call.open.1, query),
        (call.close.0, call.close.1, ") LIMIT 1)".to_string()),
    ]
}

/// The name of the catalog with OID `classoid` (`'pg_ts_config'`), among
/// those whose objects have comments.
fn catalog_name(classoid: &str) -> String {
    let arms: Vec<String> = floe_catalog::pg_schema::pg15_rows::described_catalogs()
        .iter()
        .map(|(oid, name)| format!("WHEN {oid} THEN '{name}'"))
        .collect();
    format!("CASE {classoid} {} END", arms.join(" "))
}

#[cfg(test)]
mod tests {
    use super::*;
    use floe_sql::tokens::tokenize;

    #[test]
    fn calls_become_subqueries() {
        let sql =
            "SELECT col_description(a.attrelid, a.attnum), obj_description(c.oid, 'pg_class'), \
                   pg_catalog.obj_description(c.oid) FROM t";
        let calls = find_calls(&tokenize(sql));
        assert_eq!(calls.len(), 3);
        let relations = CatalogRelations {
            descriptions: "D",
            sizes: "S",
        };
        let rewritten = floe_sql::apply(
            sql,
            calls.iter().flat_map(|c| edits(c, &relations)).collect(),
        );
        assert!(
            rewritten
                .contains("(__floe_d.objoid, __floe_d.objsubid) = (a.attrelid, a.attnum) LIMIT 1)"),
            "{rewritten}"
        );
        assert!(
            rewritten.contains("WHEN 1259 THEN 'pg_class'"),
            "{rewritten}"
        );
        assert!(
            rewritten.contains("END) = (c.oid, 'pg_class') LIMIT 1)"),
            "{rewritten}"
        );
        assert!(rewritten.contains("objsubid = 0 AND (__floe_d.objoid) = (c.oid) LIMIT 1)"));
        assert!(!rewritten.contains("pg_catalog.obj_description"));
        let rewrite = |sql: &str| {
            let calls = find_calls(&tokenize(sql));
            floe_sql::apply(
                sql,
                calls.iter().flat_map(|c| edits(c, &relations)).collect(),
            )
        };
        assert_eq!(
            rewrite("SELECT pg_size_pretty(pg_database_size(d.datname)) FROM d"),
            "SELECT pg_size_pretty((SELECT CAST(COALESCE(sum(__floe_s.bytes), 0) AS BIGINT) \
             FROM S AS __floe_s WHERE (d.datname) IS NOT NULL)) FROM d"
        );
        assert_eq!(
            rewrite("SELECT pg_catalog.pg_size_pretty(pg_catalog.pg_table_size(c.oid))"),
            "SELECT pg_catalog.pg_size_pretty((SELECT __floe_s.bytes FROM S AS __floe_s \
             WHERE (__floe_s.oid) = (c.oid) LIMIT 1))"
        );
    }
}
