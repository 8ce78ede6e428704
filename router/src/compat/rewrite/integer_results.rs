//! Functions whose PostgreSQL result is an `integer` where the engine's is a
//! `bigint`: `position(a IN b)` becomes `floe_position(a , b)` (a session
//! macro; the `IN` becomes the comma) and `ntile(n) OVER (…)` is cast to
//! `integer` around its window.

use sqlparser::tokenizer::Token;

use super::{is_word, matching_paren};

type Edit = (usize, usize, String);

/// The edits for every `position(… IN …)` and `ntile(…) OVER …` in `toks`.
pub(super) fn integer_result_edits(toks: &[floe_sql::Spanned]) -> Vec<Edit> {
    let tok = |k: usize| toks.get(k).map(|t| &t.token);
    let mut edits = Vec::new();
    for k in 0..toks.len() {
        let called = matches!(tok(k + 1), Some(Token::LParen))
            && !matches!(k.checked_sub(1).and_then(tok), Some(Token::Period));
        if !called {
            continue;
        }
        let Some(close) = matching_paren(toks, k + 1) else {
            continue;
        };
        if unquoted(tok(k), "position") {
            if let Some(within) = top_level_in(toks, k + 1, close) {
                edits.push((toks[k].start, toks[k].end, "floe_position".to_string()));
                edits.push((toks[within].start, toks[within].end, ",".to_string()));
            }
        } else if unquoted(tok(k), "ntile") && is_word(tok(close + 1), "OVER") {
            let window_end = match tok(close + 2) {
                Some(Token::LParen) => matching_paren(toks, close + 2),
                Some(Token::Word(_)) => Some(close + 2),
                _ => None,
            };
            if let Some(end) = window_end {
                edits.push((toks[k].start, toks[k].start, "CAST(".to_string()));
                edits.push((toks[end].end, toks[end].end, " AS INTEGER)".to_string()));
            }
        }
    }
    edits
}

fn unquoted(t: Option<&Token>, name: &str) -> bool {
    matches!(t, Some(Token::Word(w)) if w.quote_style.is_none() && w.value.eq_ignore_ascii_case(name))
}

/// The `IN` between the parentheses at `open` and `close`, outside any
/// nested parentheses.
fn top_level_in(toks: &[floe_sql::Spanned], open: usize, close: usize) -> Option<usize> {
    let mut depth = 0usize;
    for (j, t) in toks.iter().enumerate().take(close).skip(open) {
        match t.token {
            Token::LParen => depth += 1,
            Token::RParen => depth = depth.saturating_sub(1),
            _ if depth == 1 && is_word(Some(&t.token), "IN") => return Some(j),
            _ => {}
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use crate::compat::rewrite::tests::check;

    #[test]
    fn positions_and_tiles_are_integers() {
        check(&[
            ("SELECT position('b' IN s), ntile(4) OVER (ORDER BY x) FROM t", Some(
                "SELECT floe_position('b' , s), CAST(ntile(4) OVER (ORDER BY x) AS INTEGER) FROM t"
            )),
            ("SELECT ntile(2) OVER w FROM t WINDOW w AS (ORDER BY x)", Some("SELECT CAST(ntile(2) OVER w AS INTEGER) FROM t WINDOW w AS (ORDER BY x)")),
            ("SELECT t.position(a) FROM t", None),
        ]);
    }
}
