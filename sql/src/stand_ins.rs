//! PostgreSQL functions the router calls by a `floe_` name (`sum(` becomes
//! `floe_sum(`): worker session macros with PostgreSQL's result types that
//! mean what the PostgreSQL function means. A statement the worker keeps
//! (a view's query) holds the router's names; these give PostgreSQL's back.

use sqlparser::tokenizer::Token;

use crate::spans::{apply, significant_tokens};

/// PostgreSQL functions the router calls as `floe_<name>(` wherever they
/// are called.
pub const CALLS: &[&str] = &[
    "length",
    "char_length",
    "character_length",
    "octet_length",
    "strpos",
    "array_length",
    "make_date",
    "make_timestamp",
    "encode",
    "every",
];

/// Aggregates the router calls as `floe_<name>(` in plain calls only (not
/// with DISTINCT, FILTER or ordered arguments).
pub const AGGREGATES: &[&str] = &["sum", "avg"];

/// Whether `lower` (a statement in lower case) may call a stand-in.
pub fn mentioned(lower: &str) -> bool {
    CALLS.iter().chain(AGGREGATES).any(|n| lower.contains(n))
}

/// PostgreSQL's name for the function called `name`, when it is a stand-in.
pub fn pg_name_of(name: &str) -> Option<&'static str> {
    let plain = name.strip_prefix("floe_")?;
    CALLS
        .iter()
        .chain(AGGREGATES)
        .copied()
        .find(|n| *n == plain)
}

/// `sql` with each stand-in call (`floe_sum(`) named as PostgreSQL names it.
pub fn restore_pg_names(sql: &str) -> String {
    let Some(tokens) = significant_tokens(sql) else {
        return sql.to_string();
    };
    let edits: Vec<(usize, usize, String)> = tokens
        .windows(2)
        .filter_map(|pair| match (&pair[0].token, &pair[1].token) {
            (Token::Word(w), Token::LParen) if w.quote_style.is_none() => {
                pg_name_of(&w.value).map(|pg| (pair[0].start, pair[0].end, pg.to_string()))
            }
            _ => None,
        })
        .collect();
    if edits.is_empty() {
        sql.to_string()
    } else {
        apply(sql, edits)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stand_ins_read_back_as_postgres_names() {
        assert_eq!(pg_name_of("floe_sum"), Some("sum"));
        assert_eq!(pg_name_of("floe_format_type"), None);
        assert_eq!(pg_name_of("sum"), None);
        assert_eq!(
            restore_pg_names(
                "SELECT floe_sum(x), floe_avg(y) OVER (), \"floe_sum\"(z), floe_sum FROM t"
            ),
            "SELECT sum(x), avg(y) OVER (), \"floe_sum\"(z), floe_sum FROM t"
        );
    }
}
