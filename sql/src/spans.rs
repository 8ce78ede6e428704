//! SQL tokens with their byte spans, for rewrites that replace exact spans of a
//! statement and leave the rest of the text as the client wrote it.

use sqlparser::dialect::PostgreSqlDialect;
use sqlparser::tokenizer::{Location, Span, Token, Tokenizer};

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
    let index = LineIndex::new(sql);
    Some(
        tokens
            .into_iter()
            .filter(|t| !matches!(t.token, Token::Whitespace(_)))
            .map(|t| Spanned {
                start: index.offset(t.span.start),
                end: index.offset(t.span.end),
                token: t.token,
            })
            .collect(),
    )
}

/// Turns sqlparser locations (1-based lines and character columns) into byte
/// offsets of one SQL text.
pub struct LineIndex<'a> {
    sql: &'a str,
    line_starts: Vec<usize>,
}

impl<'a> LineIndex<'a> {
    pub fn new(sql: &'a str) -> LineIndex<'a> {
        let line_starts = std::iter::once(0)
            .chain(sql.match_indices('\n').map(|(i, _)| i + 1))
            .collect();
        LineIndex { sql, line_starts }
    }

    /// The byte offset of `loc` (the end of the text if it lies beyond).
    pub fn offset(&self, loc: Location) -> usize {
        let sql = self.sql;
        let start = self
            .line_starts
            .get(loc.line.saturating_sub(1) as usize)
            .copied()
            .unwrap_or(sql.len());
        sql[start..]
            .char_indices()
            .nth(loc.column.saturating_sub(1) as usize)
            .map_or(sql.len(), |(i, _)| start + i)
    }

    /// The byte range of `span`, if sqlparser recorded one.
    pub fn range(&self, span: Span) -> Option<(usize, usize)> {
        (span != Span::empty()).then(|| (self.offset(span.start), self.offset(span.end)))
    }
}

/// A possibly qualified name written as text (`sales.orders`, `"My".t`),
/// split into parts folded as Postgres folds identifiers; `None` if it is not
/// a name.
pub fn split_name(text: &str) -> Option<Vec<String>> {
    let tokens = Tokenizer::new(&PostgreSqlDialect {}, text)
        .tokenize()
        .ok()?;
    let mut parts = Vec::new();
    let mut expect_part = true;
    for t in tokens {
        match t {
            Token::Word(w) if expect_part => {
                parts.push(match w.quote_style {
                    Some(_) => w.value,
                    None => w.value.to_lowercase(),
                });
                expect_part = false;
            }
            Token::Period if !expect_part => expect_part = true,
            Token::Whitespace(_) => {}
            _ => return None,
        }
    }
    (!expect_part && !parts.is_empty()).then_some(parts)
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
    fn names_split_and_fold_like_identifiers() {
        assert_eq!(
            split_name("Sales.\"Orders\""),
            Some(vec!["sales".to_string(), "Orders".to_string()])
        );
        assert_eq!(split_name("a..b"), None);
        assert_eq!(split_name("a; drop"), None);
    }

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
