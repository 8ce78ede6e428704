//! `col_description(table_oid, column_number)` and `obj_description(oid[, catalog])`,
//! which psql's `\d+`, `\dt+` and BI tools' metadata queries call, answered from
//! the virtual `pg_description` (lake table, view and column comments): each call
//! becomes a scalar subquery over that relation. Only the call's name and
//! parentheses are replaced, so its arguments are rewritten like any other SQL
//! (`'s.t'::regclass` inside still finds the table).

use crate::sql_text::{Tok, Token};

/// `pg_class`'s OID, the catalog comments on relations are filed under.
const PG_CLASS_OID: u32 = 1259;

/// One call found in a statement.
#[derive(Debug, Clone, PartialEq)]
pub struct DescriptionCall {
    /// Byte range of the name and the opening parenthesis.
    open: (usize, usize),
    /// Byte range of the closing parenthesis.
    close: (usize, usize),
    /// Argument texts, as written.
    args: Vec<String>,
    column: bool,
}

/// The calls in `sql`, outermost only (a call inside another's arguments is
/// left in place).
pub fn find_calls(sql: &str, tokens: &[Token]) -> Vec<DescriptionCall> {
    let mut calls = Vec::new();
    let mut i = 0;
    while i + 1 < tokens.len() {
        let column = tokens[i].is_word("col_description");
        let object = tokens[i].is_word("obj_description");
        let qualified_before =
            i >= 2 && tokens[i - 1].tok == Tok::Punct('.') && !tokens[i - 2].is_word("pg_catalog");
        if !(column || object) || tokens[i + 1].tok != Tok::Punct('(') || qualified_before {
            i += 1;
            continue;
        }
        let mut depth = 0;
        let mut args = Vec::new();
        let mut arg_start = tokens[i + 1].span.end;
        let mut close = None;
        for (k, t) in tokens.iter().enumerate().skip(i + 1) {
            match t.tok {
                Tok::Punct('(') => depth += 1,
                Tok::Punct(')') => {
                    depth -= 1;
                    if depth == 0 {
                        args.push(sql[arg_start..t.span.start].trim().to_string());
                        close = Some(k);
                        break;
                    }
                }
                Tok::Punct(',') if depth == 1 => {
                    args.push(sql[arg_start..t.span.start].trim().to_string());
                    arg_start = t.span.end;
                }
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
        let arity_ok = if column {
            args.len() == 2
        } else {
            matches!(args.len(), 1 | 2)
        };
        if arity_ok {
            calls.push(DescriptionCall {
                open: (start, tokens[i + 1].span.end),
                close: (tokens[close].span.start, tokens[close].span.end),
                args,
                column,
            });
        }
        i = close + 1;
    }
    calls
}

/// The edits that turn a call into a scalar subquery over `descriptions` (the
/// virtual `pg_description` relation): the arguments become the row compared
/// with (object, column number) or, for `obj_description(oid, catalog)`,
/// (object, 'pg_class') — comments on other catalogs' objects are not kept.
pub fn edits(call: &DescriptionCall, descriptions: &str) -> [(usize, usize, String); 2] {
    let compared = match (call.column, call.args.len()) {
        (true, _) => "__floe_d.objoid, __floe_d.objsubid",
        (false, 2) => "__floe_d.objoid, 'pg_class'",
        (false, _) => "__floe_d.objoid",
    };
    let subid = if call.column {
        ""
    } else {
        "__floe_d.objsubid = 0 AND "
    };
    [
        (
            call.open.0,
            call.open.1,
            format!(
                "(SELECT __floe_d.description FROM {descriptions} AS __floe_d \
                 WHERE __floe_d.classoid = {PG_CLASS_OID} AND {subid}({compared}) = ("
            ),
        ),
        (call.close.0, call.close.1, ") LIMIT 1)".to_string()),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sql_text::tokenize;

    #[test]
    fn calls_become_subqueries() {
        let sql =
            "SELECT col_description(a.attrelid, a.attnum), obj_description(c.oid, 'pg_class'), \
                   pg_catalog.obj_description(c.oid) FROM t";
        let calls = find_calls(sql, &tokenize(sql));
        assert_eq!(calls.len(), 3);
        let rewritten = floe_sql::apply(sql, calls.iter().flat_map(|c| edits(c, "D")).collect());
        assert!(
            rewritten
                .contains("(__floe_d.objoid, __floe_d.objsubid) = (a.attrelid, a.attnum) LIMIT 1)"),
            "{rewritten}"
        );
        assert!(rewritten.contains("(__floe_d.objoid, 'pg_class') = (c.oid, 'pg_class') LIMIT 1)"));
        assert!(rewritten.contains("objsubid = 0 AND (__floe_d.objoid) = (c.oid) LIMIT 1)"));
        assert!(!rewritten.contains("pg_catalog.obj_description"));
    }
}
