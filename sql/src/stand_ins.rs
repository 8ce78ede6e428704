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

/// The function the router calls for `a / b`, as `DIVISION(a , b)`: the
/// `,` stands where the `/` was.
pub const DIVISION: &str = "floe_div";

/// The sum a window's average is written with: `avg(x) OVER w` is
/// `floe_avg(WINDOW_SUM(x) OVER w, count(x) OVER w)`.
pub const WINDOW_SUM: &str = "floe_window_sum";

fn is_word(t: Option<&Token>, w: &str) -> bool {
    matches!(t, Some(Token::Word(x)) if x.quote_style.is_none() && x.value.eq_ignore_ascii_case(w))
}

/// `sql` with each stand-in call (`floe_sum(`) named as PostgreSQL names it,
/// each `floe_div(a , b)` written `a / b` again and each window average
/// written `avg(x) OVER w` again.
pub fn restore_pg_names(sql: &str) -> String {
    let Some(tokens) = significant_tokens(sql) else {
        return sql.to_string();
    };
    let mut edits: Vec<(usize, usize, String)> = Vec::new();
    for (k, pair) in tokens.windows(2).enumerate() {
        let (Token::Word(w), Token::LParen) = (&pair[0].token, &pair[1].token) else {
            continue;
        };
        if w.quote_style.is_some() {
            continue;
        }
        if w.value.eq_ignore_ascii_case(DIVISION) {
            if let Some((comma, close)) = division_parts(&tokens, k + 1) {
                edits.push((pair[0].start, pair[1].end, String::new()));
                edits.push((tokens[comma].start, tokens[comma].end, "/".to_string()));
                edits.push((tokens[close].start, tokens[close].end, String::new()));
            }
        } else if w.value.eq_ignore_ascii_case("floe_avg")
            && is_word(tokens.get(k + 2).map(|t| &t.token), WINDOW_SUM)
        {
            // floe_avg(floe_window_sum(x) OVER w, count(x) OVER w): avg(x) OVER w.
            if let Some((comma, close)) = division_parts(&tokens, k + 1) {
                edits.push((pair[0].start, tokens[k + 2].end, "avg".to_string()));
                edits.push((tokens[comma].start, tokens[close].end, String::new()));
            }
        } else if let Some(pg) = pg_name_of(&w.value) {
            edits.push((pair[0].start, pair[0].end, pg.to_string()));
        }
    }
    if edits.is_empty() {
        return sql.to_string();
    }
    edits.sort_by_key(|e| e.0);
    apply(sql, edits)
}

/// The top-level `,` and the closing `)` of the call whose `(` is at `open`.
fn division_parts(tokens: &[crate::spans::Spanned], open: usize) -> Option<(usize, usize)> {
    let mut depth = 0usize;
    let mut comma = None;
    for (j, t) in tokens.iter().enumerate().skip(open) {
        match t.token {
            Token::LParen | Token::LBracket => depth += 1,
            Token::RParen | Token::RBracket => {
                depth = depth.checked_sub(1)?;
                if depth == 0 {
                    return comma.map(|c| (c, j));
                }
            }
            Token::Comma if depth == 1 => {
                if comma.is_some() {
                    return None;
                }
                comma = Some(j);
            }
            _ => {}
        }
    }
    None
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
        assert_eq!(
            restore_pg_names(
                "SELECT floe_avg(floe_window_sum(x) OVER (ORDER BY y), count( x ) OVER ( ORDER BY y )) FROM t"
            ),
            "SELECT avg(x) OVER (ORDER BY y) FROM t"
        );
        assert_eq!(
            restore_pg_names("SELECT floe_div(floe_div(a , b) , f(c, d)), floe_div(1.0,3) FROM t"),
            "SELECT a / b / f(c, d), 1.0/3 FROM t"
        );
    }
}
