//! `floe_snapshots('schema.table')` and `floe_history('schema.table')`: a lake
//! table's snapshots and the log of its current snapshot, as relations in any
//! query (replaced by VALUES lists before DuckDB sees the statement).

use floe_catalog::pg_schema::types::quote_literal;
use iceberg::spec::TableMetadata;

use floe_sql::tokens::{Tok, Token};

/// Which listing a call asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HistoryKind {
    Snapshots,
    History,
}

/// A call in the statement text: its byte span and the table name argument.
#[derive(Debug, Clone, PartialEq)]
pub struct HistoryCall {
    pub start: usize,
    pub end: usize,
    pub kind: HistoryKind,
    pub table: String,
}

/// Finds `floe_snapshots('…')` and `floe_history('…')` calls.
pub fn find_calls(tokens: &[Token]) -> Vec<HistoryCall> {
    tokens
        .windows(4)
        .filter_map(|w| {
            let kind = if w[0].is_word("floe_snapshots") {
                HistoryKind::Snapshots
            } else if w[0].is_word("floe_history") {
                HistoryKind::History
            } else {
                return None;
            };
            match (&w[1].tok, &w[2].tok, &w[3].tok) {
                (Tok::Punct('('), Tok::Str(table), Tok::Punct(')')) => Some(HistoryCall {
                    start: w[0].span.start,
                    end: w[3].span.end,
                    kind,
                    table: table.clone(),
                }),
                _ => None,
            }
        })
        .collect()
}

/// The relation a call stands for.
pub fn render(kind: HistoryKind, metadata: &TableMetadata) -> String {
    let current = metadata.current_snapshot_id();
    let (columns, rows): (&str, Vec<String>) = match kind {
        HistoryKind::Snapshots => {
            let mut snapshots: Vec<_> = metadata.snapshots().collect();
            snapshots.sort_by_key(|s| (s.timestamp_ms(), s.sequence_number()));
            (
                "snapshot_id, parent_id, sequence_number, committed_at, operation, is_current, summary",
                snapshots
                    .iter()
                    .map(|s| {
                        let summary = serde_json::to_string(&s.summary().additional_properties)
                            .unwrap_or_default();
                        format!(
                            "({}::BIGINT, {}::BIGINT, {}::BIGINT, make_timestamp({}::BIGINT * 1000)::TIMESTAMPTZ, {}, {}, {})",
                            s.snapshot_id(),
                            s.parent_snapshot_id()
                                .map_or("NULL".to_string(), |p| p.to_string()),
                            s.sequence_number(),
                            s.timestamp_ms(),
                            quote_literal(s.summary().operation.as_str()),
                            Some(s.snapshot_id()) == current,
                            quote_literal(&summary),
                        )
                    })
                    .collect(),
            )
        }
        HistoryKind::History => (
            "made_current_at, snapshot_id, parent_id",
            metadata
                .history()
                .iter()
                .map(|h| {
                    let parent = metadata
                        .snapshot_by_id(h.snapshot_id)
                        .and_then(|s| s.parent_snapshot_id());
                    format!(
                        "(make_timestamp({}::BIGINT * 1000)::TIMESTAMPTZ, {}::BIGINT, {}::BIGINT)",
                        h.timestamp_ms,
                        h.snapshot_id,
                        parent.map_or("NULL".to_string(), |p| p.to_string()),
                    )
                })
                .collect(),
        ),
    };
    if rows.is_empty() {
        let nulls = match kind {
            HistoryKind::Snapshots => "NULL::BIGINT, NULL::BIGINT, NULL::BIGINT, NULL::TIMESTAMPTZ, NULL::VARCHAR, NULL::BOOLEAN, NULL::VARCHAR",
            HistoryKind::History => "NULL::TIMESTAMPTZ, NULL::BIGINT, NULL::BIGINT",
        };
        return format!("(SELECT * FROM (VALUES ({nulls})) AS v({columns}) LIMIT 0)");
    }
    format!(
        "(SELECT * FROM (VALUES {}) AS v({columns}))",
        rows.join(", ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calls_are_found_with_their_spans() {
        let sql = "SELECT * FROM floe_snapshots('sales.orders') s, FLOE_HISTORY('x')";
        let calls = find_calls(&floe_sql::tokens::tokenize(sql));
        assert_eq!(calls.len(), 2);
        assert_eq!(
            &sql[calls[0].start..calls[0].end],
            "floe_snapshots('sales.orders')"
        );
        assert_eq!(calls[0].table, "sales.orders");
        assert_eq!(calls[1].kind, HistoryKind::History);
    }
}
