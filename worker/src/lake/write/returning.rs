//! `INSERT … RETURNING` on a lake table. The rows an INSERT writes are exactly
//! the rows of its staged Parquet file (defaults filled, sequence values drawn,
//! CHECKs passed), so RETURNING is a query over that file, read as the table's
//! columns and types: run after the COPY wrote it and before the commit
//! uploads it, so what the client gets back is what was committed.

use std::path::Path;

use floe_catalog::pg_schema::types::quote_ident;
use floe_sql::tokens::{Tok, Token};
use iceberg::table::Table;

use crate::lake::scan_sql::{self, LocalFile};
use crate::pg_error::{sqlstate, PgError};

/// The queries behind a RETURNING list.
#[derive(Debug, Clone)]
pub struct Returning {
    /// The list over a typed, empty relation: prepared at once, so a client's
    /// Describe learns the columns before anything is written.
    pub described_sql: String,
    /// The list over the rows the statement staged.
    pub rows_sql: String,
}

/// Where a top-level `RETURNING` clause starts: the statement before it and
/// the text of its list. `None` without one.
pub(super) fn split_returning<'a>(
    sql: &'a str,
    tokens: &'a [Token],
) -> Option<(&'a str, &'a [Token], &'a str)> {
    let mut depth = 0i32;
    for (i, t) in tokens.iter().enumerate() {
        match &t.tok {
            Tok::Punct('(') => depth += 1,
            Tok::Punct(')') => depth -= 1,
            _ if depth == 0 && t.is_word("RETURNING") => {
                let list = sql[t.span.end..].trim().trim_end_matches(';').trim_end();
                return Some((&sql[..t.span.start], &tokens[..i], list));
            }
            _ => {}
        }
    }
    None
}

/// The queries for `list` over `table`'s rows staged at `staged` (a file, or a
/// directory of partition files), the rows known as `alias`.
pub(super) fn returning_queries(
    list: &str,
    list_tokens: &[Token],
    table: &Table,
    alias: &str,
    staged: &Path,
) -> Result<Returning, PgError> {
    if list.is_empty() {
        return Err(PgError::new(
            sqlstate::SYNTAX_ERROR,
            "syntax error at end of input",
        ));
    }
    // The COPY takes the statement's parameters; the list runs after it, alone.
    if list_tokens.iter().any(|t| matches!(t.tok, Tok::Param(_))) {
        return Err(PgError::new(
            sqlstate::FEATURE_NOT_SUPPORTED,
            "parameters in the RETURNING list of a lake table's INSERT are not supported",
        ));
    }
    let columns = floe_catalog::scan_columns(table.metadata().current_schema());
    let local = if staged.extension().is_some_and(|e| e == "parquet") {
        staged.to_string_lossy().into_owned()
    } else {
        format!("{}/**/*.parquet", staged.to_string_lossy())
    };
    let file = LocalFile {
        location: local.clone(),
        local,
        position_deletes: Vec::new(),
        equality_deletes: Vec::new(),
    };
    let alias = quote_ident(alias);
    let over = |relation: String| format!("SELECT {list} FROM {relation} AS {alias}");
    Ok(Returning {
        described_sql: over(scan_sql::render(&columns, &[], true, false)),
        rows_sql: over(scan_sql::render(&columns, &[file], true, false)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_clause_is_found_outside_parentheses_only() {
        let sql = "INSERT INTO t (returning) SELECT 'RETURNING' RETURNING id, v;";
        let tokens = floe_sql::tokens::tokenize(sql);
        let (body, body_tokens, list) = split_returning(sql, &tokens).expect("clause");
        assert_eq!(
            body.trim_end(),
            "INSERT INTO t (returning) SELECT 'RETURNING'"
        );
        assert_eq!(body_tokens.len(), 8);
        assert_eq!(list, "id, v");
        let plain = "INSERT INTO t VALUES (1)";
        assert!(split_returning(plain, &floe_sql::tokens::tokenize(plain)).is_none());
    }
}
