//! The SQL tokenizer the worker's text decisions stand on: words, quoted
//! identifiers, string literals, numbers, `$n` placeholders and punctuation, each
//! with its byte span. It understands PostgreSQL's quoting (`'…'`, `E'…'`, `"…"`,
//! `$tag$…$tag$`) and comments, so nothing inside a literal is ever mistaken for
//! syntax; unterminated literals and comments end at the end of the text (the
//! policy has already refused such a text).

use std::ops::Range;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Tok {
    /// An unquoted word (keyword or identifier), as written.
    Word(String),
    /// A double-quoted identifier, unescaped.
    QuotedIdent(String),
    /// A string literal, unescaped.
    Str(String),
    Number(String),
    /// `$n`
    Param(u32),
    /// Any other character or operator.
    Punct(char),
}

#[derive(Debug, Clone)]
pub struct Token {
    pub tok: Tok,
    pub span: Range<usize>,
}

impl Token {
    pub fn is_word(&self, w: &str) -> bool {
        matches!(&self.tok, Tok::Word(x) if x.eq_ignore_ascii_case(w))
    }
}

/// Tokenizes `sql`; unterminated literals and comments end at the end of the text.
pub fn tokenize(sql: &str) -> Vec<Token> {
    let b = sql.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        let start = i;
        if c.is_ascii_whitespace() {
            i += 1;
            continue;
        }
        if c == b'-' && b.get(i + 1) == Some(&b'-') {
            while i < b.len() && b[i] != b'\n' {
                i += 1;
            }
            continue;
        }
        if c == b'/' && b.get(i + 1) == Some(&b'*') {
            let mut depth = 0;
            while i < b.len() {
                if b[i] == b'/' && b.get(i + 1) == Some(&b'*') {
                    depth += 1;
                    i += 2;
                } else if b[i] == b'*' && b.get(i + 1) == Some(&b'/') {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    i += 1;
                }
            }
            continue;
        }
        if (c == b'e' || c == b'E') && b.get(i + 1) == Some(&b'\'') {
            let (s, end) = read_quoted(sql, i + 1, b'\'', true);
            out.push(Token {
                tok: Tok::Str(s),
                span: start..end,
            });
            i = end;
            continue;
        }
        if c == b'\'' {
            let (s, end) = read_quoted(sql, i, b'\'', false);
            out.push(Token {
                tok: Tok::Str(s),
                span: start..end,
            });
            i = end;
            continue;
        }
        if c == b'"' {
            let (s, end) = read_quoted(sql, i, b'"', false);
            out.push(Token {
                tok: Tok::QuotedIdent(s),
                span: start..end,
            });
            i = end;
            continue;
        }
        if c == b'$' {
            // $n placeholder or $tag$ dollar quote.
            let mut j = i + 1;
            while j < b.len() && b[j].is_ascii_digit() {
                j += 1;
            }
            if j > i + 1 {
                let n = sql[i + 1..j].parse().unwrap_or(0);
                out.push(Token {
                    tok: Tok::Param(n),
                    span: start..j,
                });
                i = j;
                continue;
            }
            let mut j = i + 1;
            while j < b.len() && (b[j].is_ascii_alphanumeric() || b[j] == b'_') {
                j += 1;
            }
            if j < b.len() && b[j] == b'$' {
                let tag = &sql[i..=j];
                let body_start = j + 1;
                let (body, end) = match sql[body_start..].find(tag) {
                    Some(k) => (
                        sql[body_start..body_start + k].to_string(),
                        body_start + k + tag.len(),
                    ),
                    None => (sql[body_start..].to_string(), b.len()),
                };
                out.push(Token {
                    tok: Tok::Str(body),
                    span: start..end,
                });
                i = end;
                continue;
            }
        }
        if c.is_ascii_alphabetic() || c == b'_' || c >= 0x80 {
            let mut j = i;
            while j < b.len()
                && (b[j].is_ascii_alphanumeric() || b[j] == b'_' || b[j] == b'$' || b[j] >= 0x80)
            {
                j += 1;
            }
            out.push(Token {
                tok: Tok::Word(sql[i..j].to_string()),
                span: start..j,
            });
            i = j;
            continue;
        }
        if c.is_ascii_digit() || (c == b'.' && b.get(i + 1).is_some_and(|d| d.is_ascii_digit())) {
            let mut j = i;
            while j < b.len() && (b[j].is_ascii_alphanumeric() || b[j] == b'.') {
                j += 1;
            }
            out.push(Token {
                tok: Tok::Number(sql[i..j].to_string()),
                span: start..j,
            });
            i = j;
            continue;
        }
        let ch = sql[i..].chars().next().unwrap_or(' ');
        out.push(Token {
            tok: Tok::Punct(ch),
            span: start..i + ch.len_utf8(),
        });
        i += ch.len_utf8();
    }
    out
}

/// Reads a quoted run starting at `start` (the opening quote); doubled quotes escape
/// themselves, and with `backslashes` so does `\`. Returns the unescaped text and the
/// index after the closing quote.
fn read_quoted(sql: &str, start: usize, q: u8, backslashes: bool) -> (String, usize) {
    let b = sql.as_bytes();
    let mut out = Vec::new();
    let mut i = start + 1;
    while i < b.len() {
        let c = b[i];
        if backslashes && c == b'\\' && i + 1 < b.len() {
            let n = b[i + 1];
            out.push(match n {
                b'n' => b'\n',
                b't' => b'\t',
                b'r' => b'\r',
                other => other,
            });
            i += 2;
            continue;
        }
        if c == q {
            if b.get(i + 1) == Some(&q) {
                out.push(q);
                i += 2;
                continue;
            }
            return (String::from_utf8_lossy(&out).into_owned(), i + 1);
        }
        out.push(c);
        i += 1;
    }
    (String::from_utf8_lossy(&out).into_owned(), b.len())
}

/// The first `n` words of the statement, upper-cased (skipping leading parentheses).
pub fn leading_words(tokens: &[Token], n: usize) -> Vec<String> {
    tokens
        .iter()
        .skip_while(|t| t.tok == Tok::Punct('('))
        .take(n)
        .map_while(|t| match &t.tok {
            Tok::Word(w) => Some(w.to_ascii_uppercase()),
            _ => None,
        })
        .collect()
}

/// Whether `word` appears as a keyword outside parentheses.
pub fn has_top_level_word(tokens: &[Token], word: &str) -> bool {
    let mut depth = 0i32;
    for t in tokens {
        match &t.tok {
            Tok::Punct('(') => depth += 1,
            Tok::Punct(')') => depth -= 1,
            _ if depth == 0 && t.is_word(word) => return true,
            _ => {}
        }
    }
    false
}

/// Whether token `k` is the punctuation `c`.
pub fn punct_at(tokens: &[Token], k: usize, c: char) -> bool {
    matches!(tokens.get(k), Some(Token { tok: Tok::Punct(p), .. }) if *p == c)
}

/// An identifier as Postgres folds it: unquoted words to lower case.
pub fn identifier(t: &Token) -> Option<String> {
    match &t.tok {
        Tok::Word(w) => Some(w.to_lowercase()),
        Tok::QuotedIdent(q) => Some(q.clone()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literals_hide_their_contents() {
        let t = tokenize("SELECT 'a;b''c', E'x\\'y', $$ $1 $$, \"Col\"\"X\" -- $2\n/* $3 */ $4");
        let params: Vec<u32> = t
            .iter()
            .filter_map(|t| {
                if let Tok::Param(n) = t.tok {
                    Some(n)
                } else {
                    None
                }
            })
            .collect();
        assert_eq!(params, vec![4]);
        assert!(t.iter().any(|t| t.tok == Tok::Str("a;b'c".into())));
        assert!(t.iter().any(|t| t.tok == Tok::Str("x'y".into())));
        assert!(t.iter().any(|t| t.tok == Tok::QuotedIdent("Col\"X".into())));
    }

    #[test]
    fn returning_is_found_only_at_top_level() {
        assert!(has_top_level_word(
            &tokenize("INSERT INTO t VALUES (1) RETURNING id"),
            "RETURNING"
        ));
        assert!(!has_top_level_word(
            &tokenize("INSERT INTO t SELECT 'returning'"),
            "RETURNING"
        ));
    }
}
