//! SQL tokens with their byte spans, for rewrites that replace exact spans of a
//! statement and leave the rest of the text as the client wrote it.

use sqlparser::dialect::PostgreSqlDialect;
use sqlparser::tokenizer::{Token, Tokenizer};

/// A token and the byte range it covers in the SQL text.
pub struct Spanned {
    pub token: Token,
    pub start: usize,
    pub end: usize,
}

/// The tokens of `sql` other than whitespace and comments, with byte spans
/// (sqlparser reports 1-based lines and character columns); `None` if the text
/// does not tokenize.
pub fn significant_tokens(sql: &str) -> Option<Vec<Spanned>> {
    let tokens = Tokenizer::new(&PostgreSqlDialect {}, sql)
        .tokenize_with_location()
        .ok()?;
    let line_starts: Vec<usize> = std::iter::once(0)
        .chain(sql.match_indices('\n').map(|(i, _)| i + 1))
        .collect();
    let to_offset = |line: u64, col: u64| -> usize {
        let start = line_starts
            .get(line.saturating_sub(1) as usize)
            .copied()
            .unwrap_or(sql.len());
        sql[start..]
            .char_indices()
            .nth(col.saturating_sub(1) as usize)
            .map_or(sql.len(), |(i, _)| start + i)
    };
    Some(
        tokens
            .into_iter()
            .filter(|t| !matches!(t.token, Token::Whitespace(_)))
            .map(|t| Spanned {
                start: to_offset(t.span.start.line, t.span.start.column),
                end: to_offset(t.span.end.line, t.span.end.column),
                token: t.token,
            })
            .collect(),
    )
}

/// Applies (start, end, replacement) edits, given in order, to `sql`.
pub fn apply(sql: &str, edits: Vec<(usize, usize, String)>) -> String {
    let mut out = String::with_capacity(sql.len() + 64);
    let mut last = 0;
    for (s, e, r) in edits {
        out.push_str(&sql[last..s]);
        out.push_str(&r);
        last = e;
    }
    out.push_str(&sql[last..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spans_are_byte_offsets_across_lines_and_multibyte_text() {
        let sql = "SELECT 'é',\n  x";
        let toks = significant_tokens(sql).expect("tokens");
        let x = toks.last().expect("x");
        assert_eq!(&sql[x.start..x.end], "x");
        let lit = &toks[1];
        assert_eq!(&sql[lit.start..lit.end], "'é'");
        assert_eq!(
            apply(sql, vec![(x.start, x.end, "y".into())]),
            "SELECT 'é',\n  y"
        );
    }
}
