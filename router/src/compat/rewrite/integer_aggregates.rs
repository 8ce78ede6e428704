//! `sum(x)` and `avg(x)` typed as PostgreSQL 15 types them for integers
//! (`sum` of `integer` a `bigint`, `avg` of an integer a `numeric`): plain
//! calls become the worker's `floe_sum(` and `floe_avg(`, session macros that
//! choose by the argument's type and leave other types to the engine's
//! aggregate. Calls a macro cannot stand for keep the engine's aggregate:
//! `DISTINCT`/`ALL`, `*`, an `ORDER BY` among the arguments, `FILTER` or
//! `WITHIN GROUP` after them, `avg(x) OVER` of arguments other rules rewrite
//! (a window macro's body must be a single aggregate, so a window's average
//! is written out as its sum by its count, the arguments twice) and
//! functions of other schemas (`s.sum(x)`).

use sqlparser::tokenizer::Token;

use super::{call_start, is_word, matching_paren};

type Edit = (usize, usize, String);

/// The edits for every plain `sum(`/`avg(` call in `toks`.
pub(super) fn integer_aggregate_edits(toks: &[floe_sql::Spanned]) -> Vec<Edit> {
    let tok = |k: usize| toks.get(k).map(|t| &t.token);
    let mut edits = Vec::new();
    for k in 0..toks.len() {
        let name = match tok(k) {
            Some(Token::Word(w)) if w.quote_style.is_none() => w.value.to_ascii_lowercase(),
            _ => continue,
        };
        if !floe_sql::stand_ins::AGGREGATES.contains(&name.as_str())
            || !matches!(tok(k + 1), Some(Token::LParen))
        {
            continue;
        }
        let (Some(start), Some(close)) = (call_start(toks, k), matching_paren(toks, k + 1)) else {
            continue;
        };
        let plain_arguments = !matches!(tok(k + 2), Some(Token::Mul) | Some(Token::RParen))
            && !is_word(tok(k + 2), "DISTINCT")
            && !is_word(tok(k + 2), "ALL")
            && !ordered_arguments(toks, k + 1, close)
            && !aggregates_inside(toks, k + 1, close);
        // A window macro's body must be one aggregate: the average's is two.
        let after = tok(close + 1);
        let window_average = name == "avg" && is_word(after, "OVER");
        let plain_after = !(is_word(after, "FILTER") || is_word(after, "WITHIN") || window_average);
        if plain_arguments && plain_after {
            edits.push((start, toks[k].end, format!("floe_{name}")));
        } else if plain_arguments && window_average && simple_between(toks, k + 1, close) {
            edits.extend(window_average_edits(toks, start, k, close));
        }
    }
    edits
}

/// `avg(x) OVER w` as `floe_avg(floe_window_sum(x) OVER w, count(x) OVER
/// w)`: the quotient of the window's sum by its count, which is
/// PostgreSQL's average (a window macro's body must be one aggregate, so the
/// average is written out here). The arguments and the window are written
/// twice, so only those no other rule rewrites are taken (`simple_between`):
/// both copies must partition, order and frame alike.
fn window_average_edits(
    toks: &[floe_sql::Spanned],
    start: usize,
    name: usize,
    close: usize,
) -> Vec<Edit> {
    let tok = |k: usize| toks.get(k).map(|t| &t.token);
    let window_end = match tok(close + 2) {
        Some(Token::LParen) => matching_paren(toks, close + 2),
        Some(Token::Word(_)) => Some(close + 2),
        _ => None,
    };
    let Some(window_end) = window_end else {
        return Vec::new();
    };
    if window_end > close + 2 && !simple_between(toks, close + 2, window_end) {
        return Vec::new();
    }
    let text = |from: usize, to: usize| -> String {
        toks[from..=to]
            .iter()
            .map(|t| t.token.to_string())
            .collect::<Vec<_>>()
            .join(" ")
    };
    let arguments = text(name + 1, close);
    let window = text(close + 1, window_end);
    vec![
        (
            start,
            toks[name].end,
            format!("floe_avg({}", floe_sql::stand_ins::WINDOW_SUM),
        ),
        (
            toks[window_end].end,
            toks[window_end].end,
            format!(", count{arguments} {window})"),
        ),
    ]
}

/// Whether the tokens between the parentheses at `open` and `close` are
/// names, numbers, commas and arithmetic only, which no other rule rewrites.
fn simple_between(toks: &[floe_sql::Spanned], open: usize, close: usize) -> bool {
    toks[open + 1..close]
        .iter()
        .enumerate()
        .all(|(i, t)| match &t.token {
            Token::Word(_) => !matches!(
                toks.get(open + 2 + i).map(|n| &n.token),
                Some(Token::LParen)
            ),
            Token::Number(..)
            | Token::Comma
            | Token::Period
            | Token::Plus
            | Token::Minus
            | Token::Mul
            | Token::Div
            | Token::Mod
            | Token::LParen
            | Token::RParen => true,
            _ => false,
        })
}

/// Aggregates whose result a window `sum` may add up (`sum(count(*)) OVER
/// ()`): the macro cannot learn such an argument's type, so the engine's
/// `sum` (whose 128-bit result is PostgreSQL's `numeric` for these) stays.
const INNER_AGGREGATES: &[&str] = &["count", "sum", "avg", "min", "max"];

/// Whether the arguments between `open` and `close` call an aggregate
/// (outside subqueries, whose aggregates are their own).
fn aggregates_inside(toks: &[floe_sql::Spanned], open: usize, close: usize) -> bool {
    let mut j = open + 1;
    while j < close {
        let next = toks.get(j + 1).map(|t| &t.token);
        if matches!(toks[j].token, Token::LParen) && is_word(next, "SELECT") {
            j = matching_paren(toks, j).unwrap_or(close) + 1;
            continue;
        }
        let aggregate = matches!(&toks[j].token, Token::Word(w) if w.quote_style.is_none()
            && INNER_AGGREGATES.iter().any(|a| w.value.eq_ignore_ascii_case(a)));
        if aggregate && matches!(next, Some(Token::LParen)) {
            return true;
        }
        j += 1;
    }
    false
}

/// Whether the arguments between `open` and `close` hold an `ORDER BY` of
/// their own (not one inside a nested call or subquery).
fn ordered_arguments(toks: &[floe_sql::Spanned], open: usize, close: usize) -> bool {
    let mut depth = 0usize;
    for t in &toks[open..close] {
        match &t.token {
            Token::LParen => depth += 1,
            Token::RParen => depth = depth.saturating_sub(1),
            Token::Word(w) if depth == 1 && w.value.eq_ignore_ascii_case("ORDER") => return true,
            _ => {}
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::super::rewrite;
    use crate::compat::rewrite::tests::check;

    #[test]
    fn plain_sums_and_averages_are_floes() {
        check(&[
            (
                "SELECT sum(x), pg_catalog.avg(x + 1), SUM(x) OVER (ORDER BY y) FROM t",
                Some("SELECT floe_sum(x), floe_avg(x + 1), floe_sum(x) OVER (ORDER BY y) FROM t"),
            ),
            (
                "SELECT avg((SELECT max(a) FROM u ORDER BY 1)) FROM t",
                Some("SELECT floe_avg((SELECT max(a) AS \"max\" FROM u ORDER BY 1)) FROM t"),
            ),
        ]);
    }

    #[test]
    fn window_averages_are_sums_by_counts() {
        check(&[(
            "SELECT avg(t.x * 2) OVER (PARTITION BY g ORDER BY y), avg(x) OVER w FROM t",
            Some(
                "SELECT floe_avg(floe_window_sum(t.x * 2) OVER (PARTITION BY g ORDER BY y), \
                 count( t . x * 2 ) OVER ( PARTITION BY g ORDER BY y )), \
                 floe_avg(floe_window_sum(x) OVER w, count( x ) OVER w) FROM t",
            ),
        )]);
    }

    #[test]
    fn calls_a_macro_cannot_stand_for_are_left_alone() {
        for sql in [
            "SELECT sum(DISTINCT x) FROM t",
            "SELECT avg(ALL x) FROM t",
            "SELECT sum(x) FILTER (WHERE x > 1) FROM t",
            "SELECT sum(x ORDER BY y) FROM t",
            "SELECT s.sum(x), t.avg FROM t",
            "SELECT \"sum\"(x) FROM t",
            "SELECT sum FROM t",
            "SELECT sum(count(*)) OVER () FROM t GROUP BY x",
        ] {
            assert_eq!(rewrite(sql), None, "{sql}");
        }
        // A window's average of what another rule rewrites: the engine's.
        for sql in [
            "SELECT avg(x::date - d) OVER (ORDER BY y) FROM t",
            "SELECT avg(length(x)) OVER w FROM t",
            "SELECT avg(x) OVER (ORDER BY d::date) FROM t",
        ] {
            assert!(
                rewrite(sql).is_none_or(|r| !r.contains("floe_avg")),
                "{sql}"
            );
        }
    }
}
