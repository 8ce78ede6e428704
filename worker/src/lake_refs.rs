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
    fn multibyte_text_keeps_byte_spans() {
        let sql = "SELECT 'é', * FROM ns.t";
        assert_eq!(names(sql), vec!["ns.t"]);
    }
}
