//! Names of calls in nested select lists: PostgreSQL names an unaliased
//! `count(*)` column `count` (the function's name), the engine `count_star()`;
//! an outer query that refers to a subquery's or CTE's column by
//! PostgreSQL's name (`ORDER BY count`) needs the alias written out. The
//! outermost select list needs none: its names are PostgreSQL's already
//! (the worker's `pg_names`).

use sqlparser::tokenizer::Token;

use super::{is_word, matching_paren};

/// Words that end a select list (and a FROM item's alias).
const CLAUSE_WORDS: &[&str] = &[
    "FROM",
    "WHERE",
    "GROUP",
    "HAVING",
    "ORDER",
    "LIMIT",
    "OFFSET",
    "UNION",
    "INTERSECT",
    "EXCEPT",
    "WINDOW",
    "INTO",
    "FETCH",
    "FOR",
    "RETURNING",
    "JOIN",
    "ON",
    "USING",
    "LEFT",
    "RIGHT",
    "INNER",
    "FULL",
    "CROSS",
    "NATURAL",
    "WITH",
];

/// Calls whose column PostgreSQL names otherwise (a cast after its type) or
/// that other rules rewrite as whole items.
const NAMED_OTHERWISE: &[&str] = &[
    "CAST",
    "TRY_CAST",
    "TRIM",
    "GENERATE_SERIES",
    "UNNEST",
    "_PG_EXPANDARRAY",
    "FORMAT",
];

/// ` AS "name"` after the call at `k` when it is a whole select-list item
/// without an alias (a window's `OVER (…)` included).
pub(super) fn call_item_alias(
    toks: &[floe_sql::Spanned],
    k: usize,
    name: &str,
) -> Option<(usize, usize, String)> {
    if NAMED_OTHERWISE.iter().any(|n| name.eq_ignore_ascii_case(n)) {
        return None;
    }
    let (_, before) = call_start(toks, k);
    let starts_item = before.is_some_and(|b| {
        let p = Some(&toks[b].token);
        matches!(p, Some(Token::Comma))
            || ["SELECT", "DISTINCT", "ALL"].iter().any(|w| is_word(p, w))
    });
    if !starts_item {
        return None;
    }
    let mut end = matching_paren(toks, k + 1)?;
    if is_word(toks.get(end + 1).map(|t| &t.token), "OVER")
        && matches!(toks.get(end + 2).map(|t| &t.token), Some(Token::LParen))
    {
        end = matching_paren(toks, end + 2)?;
    }
    // The item ends here: a comma, FROM, the closing parenthesis or the end.
    let next = toks.get(end + 1).map(|t| &t.token);
    let ends_item = match next {
        None | Some(Token::Comma | Token::RParen | Token::SemiColon) => true,
        Some(Token::Word(w)) if w.quote_style.is_none() => {
            !alias_word(toks, end + 1) && !w.value.eq_ignore_ascii_case("AS")
        }
        _ => false,
    };
    if !ends_item {
        return None;
    }
    let column = name.to_lowercase().replace('"', "\"\"");
    Some((toks[end].end, toks[end].end, format!(" AS \"{column}\"")))
}

/// The start of the call at `k` and the token before it, taking in a
/// `pg_catalog.` or `information_schema.` qualifier.
pub(super) fn call_start(toks: &[floe_sql::Spanned], k: usize) -> (usize, Option<usize>) {
    let qualified = k >= 2
        && matches!(toks[k - 1].token, Token::Period)
        && (is_word(Some(&toks[k - 2].token), "pg_catalog")
            || is_word(Some(&toks[k - 2].token), "information_schema"));
    if qualified {
        (toks[k - 2].start, k.checked_sub(3))
    } else {
        (toks[k].start, k.checked_sub(1))
    }
}

/// Whether the token at `k` is a word that may be an alias.
pub(super) fn alias_word(toks: &[floe_sql::Spanned], k: usize) -> bool {
    match toks.get(k).map(|t| &t.token) {
        Some(Token::Word(a)) => {
            a.quote_style.is_some()
                || !CLAUSE_WORDS
                    .iter()
                    .any(|kw| a.value.eq_ignore_ascii_case(kw))
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::super::rewrite;
    use crate::compat::rewrite::tests::check;

    #[test]
    fn nested_calls_are_named_as_postgres_names_them() {
        check(&[
            ("WITH w AS (SELECT x, COUNT(1) FROM t GROUP BY x) SELECT x FROM w ORDER BY Count", Some("WITH w AS (SELECT x, COUNT(1) AS \"count\" FROM t GROUP BY x) SELECT x FROM w ORDER BY Count")),
            ("SELECT * FROM (SELECT row_number() OVER (ORDER BY a), max(b) FROM t) s", Some(
                "SELECT * FROM (SELECT row_number() OVER (ORDER BY a) AS \"row_number\", \
                 max(b) AS \"max\" FROM t) s"
            )),
        ]);
        // Aliased, part of a larger item, outermost, or named otherwise: as written.
        for sql in [
            "SELECT * FROM (SELECT count(*) AS n FROM t) s",
            "SELECT * FROM (SELECT count(*) n FROM t) s",
            "SELECT * FROM (SELECT count(*) + 1 FROM t) s",
            "SELECT count(*) FROM t",
            "SELECT * FROM (SELECT CAST(a AS int) FROM t) s",
        ] {
            assert!(rewrite(sql).is_none_or(|r| !r.contains(" AS \"")), "{sql}");
        }
    }
}
