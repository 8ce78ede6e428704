//! `INSERT … RETURNING` and `UPDATE … RETURNING` on a lake table. The rows an
//! INSERT writes are exactly the rows of its staged Parquet file (defaults
//! filled, sequence values drawn, CHECKs passed), and an UPDATE stages its
//! rows' new values before it writes them, so RETURNING is a query over that
//! file, read as the table's columns and types: run after the COPY wrote it
//! and before the commit uploads it, so what the client gets back is what was
//! committed (a commit that fails sends no rows).

use std::path::Path;

use floe_catalog::pg_schema::types::{quote_ident, quote_literal};
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

/// The queries for `list` over `table`'s rows staged at `staged` by an
/// INSERT (a file, or a directory of partition files), the rows known as
/// `alias`.
pub(super) fn returning_queries(
    list: &str,
    list_tokens: &[Token],
    table: &Table,
    alias: &str,
    staged: &Path,
) -> Result<Returning, PgError> {
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
    queries(
        list,
        list_tokens,
        alias,
        scan_sql::render(&columns, &[], true, false),
        scan_sql::render(&columns, &[file], true, false),
    )
}

/// The queries for `list` over the new values an UPDATE staged at `rows`
/// (named as the table's columns, typed as their expressions were), cast to
/// the columns' types as the rows are written.
pub(super) fn updated_rows_queries(
    list: &str,
    list_tokens: &[Token],
    table: &Table,
    alias: &str,
    rows: &Path,
) -> Result<Returning, PgError> {
    let columns = floe_catalog::scan_columns(table.metadata().current_schema());
    let cast: Vec<String> = columns
        .iter()
        .map(|c| {
            let q = quote_ident(&c.name);
            format!("CAST(d.{q} AS {}) AS {q}", c.duck_type)
        })
        .collect();
    let relation = format!(
        "(SELECT {} FROM read_parquet({}) AS d)",
        cast.join(", "),
        quote_literal(&rows.to_string_lossy())
    );
    queries(
        list,
        list_tokens,
        alias,
        scan_sql::render(&columns, &[], true, false),
        relation,
    )
}

fn queries(
    list: &str,
    list_tokens: &[Token],
    alias: &str,
    described: String,
    rows: String,
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
            "parameters in the RETURNING list of a lake table's INSERT or UPDATE are not supported",
        ));
    }
    let alias = quote_ident(alias);
    let over = |relation: String| format!("SELECT {list} FROM {relation} AS {alias}");
    Ok(Returning {
        described_sql: over(described),
        rows_sql: over(rows),
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
