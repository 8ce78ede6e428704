//! Postgres statements no sqlparser dialect reads, reshaped into statements it
//! does read that name the same relations and hold the same expressions, so the
//! policy checks exactly what the worker will run. Each shape is matched on the
//! token stream; a text that matches none of them stays a syntax error.
//!
//! - `ALTER VIEW …` reads as `ALTER TABLE …` (rename, set schema, columns).
//! - `COMMENT ON VIEW | MATERIALIZED VIEW x IS $$…$$` reads as
//!   `COMMENT ON TABLE x IS ''` (the comment is a literal nothing runs).
//! - `CREATE TABLE t (a, b) AS query [WITH [NO] DATA]` reads without the column
//!   names and the data clause.
//! - `COPY t FROM STDIN … WHERE cond` reads as the COPY without its filter plus
//!   `SELECT 1 WHERE cond`, so the filter's functions are checked.
//! - `DECLARE name … CURSOR … FOR query` reads as its query.
//! - `FETCH`, `MOVE` and `CLOSE` made only of words and (signed) counts read
//!   as `CLOSE ALL`: they name a cursor, no relation and no function.

use sqlparser::dialect::PostgreSqlDialect;
use sqlparser::keywords::Keyword;
use sqlparser::tokenizer::{Token, Tokenizer, Word};

/// The texts to parse and check in place of `piece`, if it has one of the
/// shapes above.
pub(super) fn reshaped(piece: &str) -> Option<Vec<String>> {
    let tokens = Tokenizer::new(&PostgreSqlDialect {}, piece)
        .tokenize()
        .ok()?;
    let sig: Vec<usize> = (0..tokens.len())
        .filter(|i| !matches!(tokens[*i], Token::Whitespace(_)))
        .collect();
    let word = |n: usize| -> Option<String> {
        match tokens.get(*sig.get(n)?)? {
            Token::Word(w) if w.quote_style.is_none() => Some(w.value.to_ascii_uppercase()),
            _ => None,
        }
    };
    let mut edit = Edit::new(&tokens);
    match word(0)?.as_str() {
        "ALTER" => {
            if word(1)? == "VIEW" {
                edit.replace(sig[1], keyword("TABLE"));
                return Some(vec![edit.text()]);
            }
            None
        }
        "COMMENT" => {
            if word(1)? != "ON" {
                return None;
            }
            let mut changed = true;
            match (word(2)?.as_str(), word(3).as_deref()) {
                ("VIEW", _) => edit.replace(sig[2], keyword("TABLE")),
                ("MATERIALIZED", Some("VIEW")) => {
                    edit.drop(sig[2]);
                    edit.replace(sig[3], keyword("TABLE"));
                }
                _ => changed = false,
            }
            // `IS <literal>` ends the statement; a dollar-quoted or escaped
            // literal reads as an empty one.
            let last = *sig.last()?;
            if sig.len() < 2 || word(sig.len() - 2).as_deref() != Some("IS") {
                return None;
            }
            if is_string_literal(&tokens[last]) {
                edit.replace(last, Token::SingleQuotedString(String::new()));
                changed = true;
            }
            changed.then(|| vec![edit.text()])
        }
        "CREATE" => {
            let table = (1..sig.len().min(5)).find(|n| word(*n).as_deref() == Some("TABLE"))?;
            let as_at =
                top_level(&tokens, &sig, table + 1).find(|n| word(*n).as_deref() == Some("AS"))?;
            let mut changed = false;
            // The column names before AS: a list of bare names only.
            if as_at >= 2 && tokens[sig[as_at - 1]] == Token::RParen {
                let open = (table + 1..as_at - 1).find(|n| tokens[sig[*n]] == Token::LParen)?;
                let names_only = (open + 1..as_at - 1).all(|n| {
                    let t = &tokens[sig[n]];
                    if (n - open) % 2 == 1 {
                        matches!(t, Token::Word(_))
                    } else {
                        *t == Token::Comma
                    }
                });
                if !names_only {
                    return None;
                }
                (sig[open]..=sig[as_at - 1]).for_each(|i| edit.drop(i));
                changed = true;
            }
            // A trailing WITH [NO] DATA.
            let n = sig.len();
            if n >= 2 && word(n - 1).as_deref() == Some("DATA") {
                let with = if word(n - 2).as_deref() == Some("NO") {
                    n - 3
                } else {
                    n - 2
                };
                if word(with).as_deref() == Some("WITH") {
                    (sig[with]..tokens.len()).for_each(|i| edit.drop(i));
                    changed = true;
                }
            }
            changed.then(|| vec![edit.text()])
        }
        "COPY" => {
            let from = top_level(&tokens, &sig, 1).find(|n| word(*n).as_deref() == Some("FROM"))?;
            if word(from + 1)? != "STDIN" {
                return None;
            }
            let filter = top_level(&tokens, &sig, from + 2)
                .find(|n| word(*n).as_deref() == Some("WHERE"))?;
            let condition: String = tokens[sig[filter] + 1..]
                .iter()
                .map(|t| t.to_string())
                .collect();
            (sig[filter]..tokens.len()).for_each(|i| edit.drop(i));
            Some(vec![edit.text(), format!("SELECT 1 WHERE {condition}")])
        }
        "DECLARE" => {
            let cursor = (2..sig.len().min(8)).find(|n| word(*n).as_deref() == Some("CURSOR"))?;
            let for_at = (cursor + 1..sig.len().min(cursor + 5))
                .find(|n| word(*n).as_deref() == Some("FOR"))?;
            let query: String = tokens[sig.get(for_at + 1).copied()?..]
                .iter()
                .map(|t| t.to_string())
                .collect();
            Some(vec![query])
        }
        "FETCH" | "MOVE" | "CLOSE" => {
            let plain = sig.iter().all(|i| {
                matches!(
                    tokens[*i],
                    Token::Word(_)
                        | Token::Number(..)
                        | Token::Minus
                        | Token::Plus
                        | Token::SemiColon
                )
            });
            (plain && sig.len() <= 6).then(|| vec!["CLOSE ALL".to_string()])
        }
        _ => None,
    }
}

/// The positions in `sig` from `start` on that are outside any brackets.
fn top_level<'a>(
    tokens: &'a [Token],
    sig: &'a [usize],
    start: usize,
) -> impl Iterator<Item = usize> + 'a {
    let mut depth = 0usize;
    (start..sig.len()).filter(move |n| match tokens[sig[*n]] {
        Token::LParen | Token::LBracket => {
            depth += 1;
            false
        }
        Token::RParen | Token::RBracket => {
            depth = depth.saturating_sub(1);
            false
        }
        _ => depth == 0,
    })
}

fn is_string_literal(t: &Token) -> bool {
    matches!(
        t,
        Token::SingleQuotedString(_)
            | Token::DollarQuotedString(_)
            | Token::EscapedStringLiteral(_)
            | Token::NationalStringLiteral(_)
            | Token::UnicodeStringLiteral(_)
    )
}

fn keyword(text: &str) -> Token {
    Token::Word(Word {
        value: text.to_string(),
        quote_style: None,
        keyword: Keyword::NoKeyword,
    })
}

/// A token stream with some tokens replaced or left out.
struct Edit<'a> {
    tokens: &'a [Token],
    replaced: Vec<Option<Option<Token>>>,
}

impl<'a> Edit<'a> {
    fn new(tokens: &'a [Token]) -> Edit<'a> {
        Edit {
            tokens,
            replaced: vec![None; tokens.len()],
        }
    }
    fn replace(&mut self, i: usize, t: Token) {
        self.replaced[i] = Some(Some(t));
    }
    fn drop(&mut self, i: usize) {
        self.replaced[i] = Some(None);
    }
    fn text(&self) -> String {
        let mut out = String::new();
        for (t, r) in self.tokens.iter().zip(&self.replaced) {
            match r {
                None => out.push_str(&t.to_string()),
                Some(Some(t)) => out.push_str(&t.to_string()),
                Some(None) => out.push(' '),
            }
        }
        out
    }
}
