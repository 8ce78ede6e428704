//! `EXPLAIN [ANALYZE] statement` shaped as PostgreSQL shapes it: one text
//! column called `QUERY PLAN`, one row per line of the plan, tag `EXPLAIN`
//! (clients such as pgAdmin, DBeaver and psql read it that way). The plan is
//! the engine's, for the statement as Floe runs it (lake tables planned into
//! their file scans). PostgreSQL's option list (`(ANALYZE, VERBOSE, COSTS off,
//! FORMAT TEXT, …)`) is read; `ANALYZE` runs a query and shows its measured
//! plan; other formats than text are refused, and so is ANALYZE of a
//! statement that changes data (Floe would have to run the change).

use std::rc::Rc;

use super::{Portal, SResult, Session, Statement, StatementKind};
use crate::codec::types::oid;
use crate::pg_error::{sqlstate, FromDuckdb, PgError};
use crate::wire::{self, Field};
use floe_sql::tokens::{Tok, Token};

/// A parsed EXPLAIN: whether to run the statement, and the statement.
pub(super) struct Explain {
    analyze: bool,
    inner: Rc<Statement>,
}

fn syntax_error(near: &str) -> PgError {
    PgError::new(
        sqlstate::SYNTAX_ERROR,
        format!("syntax error at or near \"{near}\""),
    )
}

/// Reads PostgreSQL's EXPLAIN options: the parenthesised list, or the old
/// `ANALYZE` / `VERBOSE` words. Returns whether ANALYZE is on and where the
/// explained statement starts.
fn read_options(tokens: &[Token], sql: &str) -> Result<(bool, usize), PgError> {
    let mut analyze = false;
    let mut i = 1;
    let text = |t: &Token| sql.get(t.span.clone()).unwrap_or_default().to_string();
    if tokens.get(i).is_some_and(|t| t.tok == Tok::Punct('(')) {
        i += 1;
        loop {
            let name = tokens.get(i).ok_or_else(|| syntax_error("end of input"))?;
            let Tok::Word(option) = &name.tok else {
                return Err(syntax_error(&text(name)));
            };
            let option = option.to_ascii_lowercase();
            i += 1;
            // An optional value: a word, a string or a number.
            let value = match tokens.get(i).map(|t| &t.tok) {
                Some(Tok::Word(w)) => Some(w.to_ascii_lowercase()),
                Some(Tok::Str(s)) | Some(Tok::Number(s)) => Some(s.to_ascii_lowercase()),
                _ => None,
            };
            if value.is_some() {
                i += 1;
            }
            let on = match value.as_deref() {
                None | Some("true" | "on" | "1") => true,
                Some("false" | "off" | "0") => false,
                Some(other) if option == "format" => {
                    if other != "text" {
                        return Err(PgError::new(
                            sqlstate::FEATURE_NOT_SUPPORTED,
                            format!("EXPLAIN format \"{other}\" is not supported; use FORMAT TEXT"),
                        ));
                    }
                    true
                }
                Some(other) => {
                    return Err(PgError::new(
                        sqlstate::INVALID_PARAMETER_VALUE,
                        format!("{option} requires a Boolean value, not \"{other}\""),
                    ))
                }
            };
            match option.as_str() {
                "analyze" => analyze = on,
                "verbose" | "costs" | "settings" | "buffers" | "wal" | "timing" | "summary"
                | "format" => {}
                _ => {
                    return Err(PgError::new(
                        sqlstate::SYNTAX_ERROR,
                        format!("unrecognized EXPLAIN option \"{option}\""),
                    ))
                }
            }
            match tokens.get(i).map(|t| &t.tok) {
                Some(Tok::Punct(',')) => i += 1,
                Some(Tok::Punct(')')) => {
                    i += 1;
                    break;
                }
                Some(_) => return Err(syntax_error(&text(&tokens[i]))),
                None => return Err(syntax_error("end of input")),
            }
        }
    } else {
        if tokens
            .get(i)
            .is_some_and(|t| t.is_word("ANALYZE") || t.is_word("ANALYSE"))
        {
            analyze = true;
            i += 1;
        }
        if tokens.get(i).is_some_and(|t| t.is_word("VERBOSE")) {
            i += 1;
        }
    }
    let start = tokens
        .get(i)
        .map(|t| t.span.start)
        .ok_or_else(|| syntax_error("end of input"))?;
    Ok((analyze, start))
}

/// The single column PostgreSQL's EXPLAIN returns.
fn plan_field() -> Field {
    Field {
        name: "QUERY PLAN".to_string(),
        type_oid: oid::TEXT,
        typmod: -1,
    }
}

impl Session {
    pub(super) fn prepare_explain(
        &mut self,
        sql: &str,
        tokens: &[Token],
        client_types: &[u32],
    ) -> SResult<Rc<Statement>> {
        let (analyze, start) = read_options(tokens, sql)?;
        let text = sql[start..].trim_end().trim_end_matches(';');
        let inner_tokens = floe_sql::tokens::tokenize(text);
        // The caller lists the catalog again for a missing relation, once.
        let inner = self.prepare_statement_once(text, &inner_tokens, client_types)?;
        let explainable = match &inner.kind {
            StatementKind::Duck(d) => d.lake_commit.is_none() && (!analyze || !d.modifies),
            _ => false,
        };
        if !explainable {
            return Err(PgError::new(
                sqlstate::FEATURE_NOT_SUPPORTED,
                if analyze {
                    "EXPLAIN ANALYZE is supported for queries only"
                } else {
                    "EXPLAIN is supported for queries and changes to session tables only"
                },
            )
            .into());
        }
        Ok(Rc::new(Statement {
            sql: sql.to_string(),
            param_types: inner.param_types.clone(),
            kind: StatementKind::Explain(Explain { analyze, inner }),
            fields: Some(vec![plan_field()]),
            client_types: client_types.to_vec(),
            lake_snapshots: Vec::new(),
            _lake_pins: Vec::new(),
        }))
    }

    pub(super) fn run_explain(&mut self, portal: &mut Portal, e: &Explain) -> SResult<()> {
        let StatementKind::Duck(inner) = &e.inner.kind else {
            return Err(PgError::new(sqlstate::INTERNAL_ERROR, "nothing to explain").into());
        };
        let verb = if e.analyze {
            "EXPLAIN ANALYZE"
        } else {
            "EXPLAIN"
        };
        let sql = format!("{verb} {}", inner.engine_sql);
        let mut result = self.run_engine_statement(&sql, &portal.params)?;
        // The engine answers (kind, plan text) rows; the plan's lines are the rows.
        let mut lines: Vec<String> = Vec::new();
        let plan_column = result.column_count().saturating_sub(1);
        while let Some(chunk) = result
            .fetch()
            .map_err(|err| PgError::from_duckdb(&err.message, None))?
        {
            let v = chunk.vector(plan_column);
            for row in 0..chunk.len() {
                if !v.is_valid(row) {
                    continue;
                }
                // SAFETY: the plan column is VARCHAR and `row` is in the chunk.
                let bytes = unsafe { v.get_bytes(row) };
                let text = String::from_utf8_lossy(bytes);
                lines.extend(text.lines().map(|l| l.trim_end().to_string()));
            }
        }
        while lines.last().is_some_and(|l| l.is_empty()) {
            lines.pop();
        }
        if portal.describe {
            wire::row_description(&mut self.out, &[plan_field()], &|_| false);
        }
        for line in &lines {
            wire::text_row(&mut self.out, &[Some(line)]);
        }
        wire::command_complete(&mut self.out, "EXPLAIN");
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn options(sql: &str) -> Result<(bool, String), String> {
        let tokens = floe_sql::tokens::tokenize(sql);
        read_options(&tokens, sql)
            .map(|(a, start)| (a, sql[start..].to_string()))
            .map_err(|e| e.code.to_string())
    }

    #[test]
    fn explain_options_read_as_postgres_reads_them() {
        // (text, ANALYZE?, the statement explained)
        let explained = [
            ("EXPLAIN SELECT 1", false, "SELECT 1"),
            ("EXPLAIN ANALYZE SELECT 1", true, "SELECT 1"),
            ("explain analyse verbose select 1", true, "select 1"),
            (
                "EXPLAIN (ANALYZE, COSTS OFF, FORMAT TEXT) SELECT 1",
                true,
                "SELECT 1",
            ),
            ("EXPLAIN (ANALYZE false) SELECT 1", false, "SELECT 1"),
        ];
        for (sql, analyze, statement) in explained {
            assert_eq!(options(sql), Ok((analyze, statement.to_string())), "{sql}");
        }
        let refused = [
            ("EXPLAIN (FORMAT JSON) SELECT 1", "0A000"),
            ("EXPLAIN (BOGUS) SELECT 1", "42601"),
            ("EXPLAIN (ANALYZE maybe) SELECT 1", "22023"),
            ("EXPLAIN (ANALYZE", "42601"),
            ("EXPLAIN", "42601"),
        ];
        for (sql, code) in refused {
            assert_eq!(options(sql), Err(code.to_string()), "{sql}");
        }
    }
}
