//! Finds the table references of a statement that may name lake tables: their
//! byte spans, their names as written, the alias they go by, and the WHERE
//! clause that filters them (when pushing it down to file pruning is sound).

use std::collections::{HashMap, HashSet};
use std::ops::ControlFlow;

use floe_catalog::SnapshotSelector;
use floe_sql::LineIndex;
use sqlparser::ast::{
    Expr, Ident, JoinOperator, ObjectNamePart, Query, SetExpr, Spanned, TableFactor, Visit, Visitor,
};
use sqlparser::dialect::PostgreSqlDialect;
use sqlparser::parser::Parser;

use crate::pg_error::{sqlstate, PgError};
use floe_sql::tokens::{Tok, Token};

/// A name part: folded to lower case unless it was quoted (Postgres rules).
pub fn fold(ident: &Ident) -> String {
    if ident.quote_style.is_some() {
        ident.value.clone()
    } else {
        ident.value.to_lowercase()
    }
}

/// One table reference in the statement text.
#[derive(Debug, Clone)]
pub struct TableRef {
    /// Byte range of the table name (`ns.t`) in the SQL.
    pub start: usize,
    pub end: usize,
    /// Name parts, folded.
    pub parts: Vec<String>,
    /// Whether the reference carries its own alias.
    pub has_alias: bool,
    /// The name columns are qualified with: the alias, else the table name.
    pub qualifier: String,
    /// The enclosing SELECT's WHERE, when its conjuncts may prune this table.
    pub filter: Option<Expr>,
    /// Whether this is the only table in its FROM (unqualified columns are its own).
    pub sole: bool,
    pub snapshot: SnapshotSelector,
}

/// Time travel written after a table name: `AT (VERSION => id)` or
/// `AT (TIMESTAMP => '…')` (DuckDB's syntax).
#[derive(Debug, Clone, PartialEq)]
struct TimeTravel {
    start: usize,
    end: usize,
    snapshot: SnapshotSelector,
}

/// Finds `AT (…)` clauses; a malformed one is an error, not a silent current read.
fn time_travel(sql: &str, tokens: &[Token]) -> Result<Vec<TimeTravel>, PgError> {
    let mut found = Vec::new();
    let mut i = 0;
    while i + 6 < tokens.len() {
        let t = &tokens[i..];
        let is_at = t[0].is_word("AT")
            && t[1].tok == Tok::Punct('(')
            && (t[2].is_word("VERSION") || t[2].is_word("TIMESTAMP"))
            && t[3].tok == Tok::Punct('=')
            && t[4].tok == Tok::Punct('>');
        if !is_at {
            i += 1;
            continue;
        }
        let Some(close) = t.iter().position(|x| x.tok == Tok::Punct(')')) else {
            break;
        };
        let value = &t[5..close];
        let bad = |what: &str| {
            PgError::new(
                sqlstate::INVALID_PARAMETER_VALUE,
                format!(
                    "invalid time travel clause {}: {what}",
                    &sql[t[0].span.start..t[close].span.end]
                ),
            )
        };
        let snapshot = if t[2].is_word("VERSION") {
            match value {
                [Token {
                    tok: Tok::Number(n),
                    ..
                }] => SnapshotSelector::Id(n.parse().map_err(|_| bad("expected a snapshot id"))?),
                _ => return Err(bad("expected a snapshot id")),
            }
        } else {
            // TIMESTAMP => '…' or TIMESTAMP => TIMESTAMP '…'
            let text = match value {
                [Token {
                    tok: Tok::Str(s), ..
                }] => s,
                [w, Token {
                    tok: Tok::Str(s), ..
                }] if w.is_word("TIMESTAMP") || w.is_word("TIMESTAMPTZ") => s,
                _ => return Err(bad("expected a timestamp literal")),
            };
            SnapshotSelector::AsOf(
                timestamp_ms(text).ok_or_else(|| bad("expected a timestamp literal"))?,
            )
        };
        found.push(TimeTravel {
            start: t[0].span.start,
            end: t[close].span.end,
            snapshot,
        });
        i += close + 1;
    }
    Ok(found)
}

/// Milliseconds since the epoch; times without an offset are UTC.
fn timestamp_ms(text: &str) -> Option<i64> {
    let text = text.trim();
    if let Ok(t) = chrono::DateTime::parse_from_rfc3339(text) {
        return Some(t.timestamp_millis());
    }
    for f in ["%Y-%m-%d %H:%M:%S%.f%#z", "%Y-%m-%d %H:%M:%S%#z"] {
        if let Ok(t) = chrono::DateTime::parse_from_str(text, f) {
            return Some(t.timestamp_millis());
        }
    }
    for f in ["%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%dT%H:%M:%S%.f"] {
        if let Ok(t) = chrono::NaiveDateTime::parse_from_str(text, f) {
            return Some(t.and_utc().timestamp_millis());
        }
    }
    chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|t| t.and_utc().timestamp_millis())
}

/// The statements' table references, outermost first, with time travel
/// clauses attached (and blanked out of the text DuckDB will see, so `sql` must
/// be edited with [`blank_time_travel`]'s result); `None` when the text does not
/// parse (DuckDB then reports on it as it stands).
pub fn find_with_time_travel(
    sql: &str,
    tokens: &[Token],
) -> Result<Option<(String, Vec<TableRef>)>, PgError> {
    let clauses = time_travel(sql, tokens)?;
    let mut text = sql.to_string();
    for c in &clauses {
        // Same byte length, so every span stays valid.
        text.replace_range(c.start..c.end, &" ".repeat(c.end - c.start));
    }
    let Some(mut refs) = find(&text) else {
        return Ok(None);
    };
    for c in &clauses {
        match refs
            .iter_mut()
            .filter(|r| r.end <= c.start)
            .max_by_key(|r| r.end)
        {
            Some(r) => r.snapshot = c.snapshot,
            None => {
                return Err(PgError::new(
                    sqlstate::SYNTAX_ERROR,
                    "AT (VERSION => …) must follow a table name",
                ))
            }
        }
    }
    Ok(Some((text, refs)))
}

/// The statements' table references, outermost first; `None` when the text does
/// not parse (DuckDB then reports on it as it stands).
pub fn find(sql: &str) -> Option<Vec<TableRef>> {
    let statements = Parser::parse_sql(&PostgreSqlDialect {}, sql).ok()?;
    let index = LineIndex::new(sql);
    let mut finder = Finder {
        index: &index,
        refs: Vec::new(),
        contexts: HashMap::new(),
        ctes: HashSet::new(),
    };
    for s in &statements {
        let _ = s.visit(&mut finder);
    }
    let Finder {
        mut refs,
        contexts,
        ctes,
        ..
    } = finder;
    refs.retain(|r| !(r.parts.len() == 1 && ctes.contains(&r.parts[0])));
    for r in &mut refs {
        if let Some((filter, sole)) = contexts.get(&r.start) {
            r.filter = filter.clone();
            r.sole = *sole;
        }
    }
    refs.sort_by_key(|r| r.start);
    refs.dedup_by_key(|r| r.start);
    Some(refs)
}

struct Finder<'a> {
    index: &'a LineIndex<'a>,
    refs: Vec<TableRef>,
    /// By name start offset: the WHERE that may prune it, and whether it is alone.
    contexts: HashMap<usize, (Option<Expr>, bool)>,
    ctes: HashSet<String>,
}

impl Finder<'_> {
    fn name_start(&self, factor: &TableFactor) -> Option<usize> {
        match factor {
            TableFactor::Table {
                name, args: None, ..
            } => self.index.range(name.span()).map(|(s, _)| s),
            _ => None,
        }
    }

    fn record_selects(&mut self, body: &SetExpr) {
        match body {
            SetExpr::Select(select) => {
                let factors: usize = select.from.iter().map(|t| 1 + t.joins.len()).sum();
                let sole = factors == 1;
                for twj in &select.from {
                    let mut preserved = vec![!twj.joins.iter().any(|j| {
                        matches!(
                            j.join_operator,
                            JoinOperator::Right(_)
                                | JoinOperator::RightOuter(_)
                                | JoinOperator::FullOuter(_)
                        )
                    })];
                    preserved.extend(twj.joins.iter().map(|j| {
                        matches!(
                            j.join_operator,
                            JoinOperator::Join(_)
                                | JoinOperator::Inner(_)
                                | JoinOperator::CrossJoin(_)
                        )
                    }));
                    let relations =
                        std::iter::once(&twj.relation).chain(twj.joins.iter().map(|j| &j.relation));
                    for (factor, pushable) in relations.zip(preserved) {
                        if let Some(start) = self.name_start(factor) {
                            let filter = if pushable {
                                select.selection.clone()
                            } else {
                                None
                            };
                            self.contexts.insert(start, (filter, sole));
                        }
                    }
                }
            }
            SetExpr::SetOperation { left, right, .. } => {
                self.record_selects(left);
                self.record_selects(right);
            }
            SetExpr::Query(q) => self.record_selects(&q.body),
            _ => {}
        }
    }
}

impl Visitor for Finder<'_> {
    type Break = ();

    fn pre_visit_query(&mut self, query: &Query) -> ControlFlow<()> {
        if let Some(with) = &query.with {
            for cte in &with.cte_tables {
                self.ctes.insert(fold(&cte.alias.name));
            }
        }
        self.record_selects(&query.body);
        ControlFlow::Continue(())
    }

    fn pre_visit_table_factor(&mut self, factor: &TableFactor) -> ControlFlow<()> {
        let TableFactor::Table {
            name,
            alias,
            args: None,
            ..
        } = factor
        else {
            return ControlFlow::Continue(());
        };
        let Some((start, end)) = self.index.range(name.span()) else {
            return ControlFlow::Continue(());
        };
        let parts: Option<Vec<String>> = name
            .0
            .iter()
            .map(|p| match p {
                ObjectNamePart::Identifier(i) => Some(fold(i)),
                _ => None,
            })
            .collect();
        let Some(parts) = parts else {
            return ControlFlow::Continue(());
        };
        let qualifier = match alias {
            Some(a) => fold(&a.name),
            None => parts.last().cloned().unwrap_or_default(),
        };
        self.refs.push(TableRef {
            start,
            end,
            parts,
            has_alias: alias.is_some(),
            qualifier,
            filter: None,
            sole: false,
            snapshot: SnapshotSelector::Current,
        });
        ControlFlow::Continue(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(sql: &str) -> Vec<String> {
        find(sql)
            .expect("parses")
            .iter()
            .map(|r| sql[r.start..r.end].to_string())
            .collect()
    }

    #[test]
    fn finds_tables_in_joins_subqueries_and_ctes_but_not_cte_names() {
        let sql =
            "WITH c AS (SELECT * FROM sales.orders) SELECT * FROM c JOIN \"Sales\".x ON true \
                   WHERE EXISTS (SELECT 1 FROM s.y)";
        assert_eq!(names(sql), vec!["sales.orders", "\"Sales\".x", "s.y"]);
        let r = find(sql).expect("parses");
        assert_eq!(r[1].parts, vec!["Sales".to_string(), "x".to_string()]);
        assert!(find("SELECT * FROM read_parquet('x')")
            .expect("parses")
            .is_empty());
    }

    #[test]
    fn filters_reach_inner_and_preserved_tables_only() {
        let sql = "SELECT * FROM a.t1 x LEFT JOIN a.t2 ON true WHERE x.id = 1";
        let r = find(sql).expect("parses");
        assert_eq!(r[0].qualifier, "x");
        assert!(r[0].has_alias && r[0].filter.is_some() && !r[0].sole);
        assert!(r[1].filter.is_none(), "nullable side of a LEFT JOIN");
        let r = find("SELECT * FROM a.t WHERE id = 1").expect("parses");
        assert!(r[0].sole && r[0].filter.is_some() && r[0].qualifier == "t");
    }

    #[test]
    fn time_travel_clauses_attach_to_the_table_before_them() {
        let sql = "SELECT * FROM a.t AT (VERSION => 42) x JOIN a.u AT (TIMESTAMP => '2026-01-02 03:04:05') ON true";
        let tokens = floe_sql::tokens::tokenize(sql);
        let (text, refs) = find_with_time_travel(sql, &tokens)
            .expect("valid")
            .expect("parses");
        assert_eq!(text.len(), sql.len());
        assert!(!text.contains("VERSION"));
        assert_eq!(refs[0].snapshot, SnapshotSelector::Id(42));
        assert_eq!(refs[0].qualifier, "x");
        assert_eq!(refs[1].snapshot, SnapshotSelector::AsOf(1_767_323_045_000));
        let bad = "SELECT * FROM a.t AT (VERSION => 'x')";
        let err = find_with_time_travel(bad, &floe_sql::tokens::tokenize(bad)).expect_err("bad");
        assert_eq!(err.code, "22023");
    }

    #[test]
    fn multibyte_text_keeps_byte_spans() {
        let sql = "SELECT 'é', * FROM ns.t";
        assert_eq!(names(sql), vec!["ns.t"]);
    }
}
