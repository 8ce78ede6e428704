//! Set-returning functions as PostgreSQL runs them, written for the engine:
//! `generate_series` in a select list (one row per value, not one list),
//! `generate_series` of two integer literals in FROM (integers, not
//! bigints), `unnest` of several arrays in FROM (one column per array, side by
//! side, `WITH ORDINALITY` numbering the rows) and
//! `information_schema._pg_expandarray` (rows of each element `x` and its
//! position `n`). Edits are made at the calls' boundaries; their arguments are
//! left for the other rules.

use sqlparser::tokenizer::Token;

use super::column_names::{alias_word, call_start};
use super::{is_word, matching_paren, top_level_commas};

type Edit = (usize, usize, String);

/// The edits for every set-returning call in `toks`.
pub(super) fn set_returning_edits(toks: &[floe_sql::Spanned]) -> Vec<Edit> {
    #[derive(Clone, Copy, PartialEq)]
    enum Clause {
        Select,
        From,
        Other,
    }
    let mut clauses = vec![Clause::Other];
    let mut edits = Vec::new();
    for k in 0..toks.len() {
        let t = &toks[k].token;
        match t {
            Token::LParen => clauses.push(Clause::Other),
            Token::RParen if clauses.len() > 1 => {
                clauses.pop();
            }
            Token::Word(w) if w.quote_style.is_none() => {
                let word = w.value.to_ascii_uppercase();
                let nested = clauses.len() > 1;
                let here = clauses.last_mut().expect("the outermost clause stays");
                let calls = matches!(toks.get(k + 1).map(|t| &t.token), Some(Token::LParen));
                match word.as_str() {
                    "SELECT" => *here = Clause::Select,
                    "FROM" => *here = Clause::From,
                    "WHERE" | "GROUP" | "HAVING" | "ORDER" | "LIMIT" | "OFFSET" | "UNION"
                    | "INTERSECT" | "EXCEPT" | "WINDOW" | "INTO" | "RETURNING" => {
                        *here = Clause::Other
                    }
                    "GENERATE_SERIES" if calls && *here == Clause::Select => {
                        edits.extend(generate_series_item(toks, k, &w.value));
                    }
                    "GENERATE_SERIES" if calls && *here == Clause::From => {
                        edits.extend(series_in_from(toks, k));
                    }
                    "UNNEST" if calls => edits.extend(unnest_of_several(toks, k)),
                    "_PG_EXPANDARRAY" if calls => {
                        // A FROM item follows FROM, JOIN, LATERAL or a comma of FROM.
                        let from_item = call_start(toks, k).1.is_some_and(|b| {
                            let p = Some(&toks[b].token);
                            is_word(p, "FROM")
                                || is_word(p, "JOIN")
                                || is_word(p, "LATERAL")
                                || (*here == Clause::From && matches!(p, Some(Token::Comma)))
                        });
                        edits.extend(expand_array(toks, k, !from_item));
                    }
                    // A call naming a column of a subquery or CTE, which outer
                    // queries refer to by PostgreSQL's name for it.
                    _ if calls && nested && *here == Clause::Select => {
                        edits.extend(super::column_names::call_item_alias(toks, k, &w.value));
                    }
                    _ => {}
                }
            }
            _ => {}
        }
    }
    edits
}

/// `generate_series(…)` as an item of a select list: DuckDB's scalar
/// `generate_series` returns one list, Postgres one row per value, which
/// `unnest` of the list gives. Only a call that is the whole item changes
/// (`SELECT generate_series(1, 3)`, `SELECT a, generate_series(…) AS g FROM t`).
fn generate_series_item(toks: &[floe_sql::Spanned], k: usize, name: &str) -> Vec<Edit> {
    // The item starts here (after SELECT, DISTINCT, ALL or a comma).
    let (start, before) = call_start(toks, k);
    let starts_item = before.is_some_and(|b| {
        let p = &toks[b].token;
        matches!(p, Token::Comma)
            || ["SELECT", "DISTINCT", "ALL"]
                .iter()
                .any(|w| is_word(Some(p), w))
    });
    let Some(end) = matching_paren(toks, k + 1) else {
        return Vec::new();
    };
    // The item is the call alone (an alias may follow).
    let ends_item = !matches!(
        toks.get(end + 1).map(|t| &t.token),
        Some(Token::DoubleColon | Token::Period | Token::LBracket)
    );
    if !(starts_item && ends_item) {
        return Vec::new();
    }
    // A series of integer literals is of integers, as in PostgreSQL.
    let (open, cast) = if integer_literal_arguments(toks, k, end) {
        ("CAST(unnest(", " AS INTEGER)")
    } else {
        ("unnest(", "")
    };
    // Without an alias the column keeps Postgres's name.
    let alias = if alias_word(toks, end + 1) || is_word(toks.get(end + 1).map(|t| &t.token), "AS") {
        ""
    } else {
        " AS generate_series"
    };
    vec![
        (start, toks[k].end, format!("{open}{name}")),
        (toks[end].start, toks[end].end, format!(")){cast}{alias}")),
    ]
}

/// Whether the call at `k` closed at `end` has two or three integer
/// literals that fit an `integer` as its arguments.
fn integer_literal_arguments(toks: &[floe_sql::Spanned], k: usize, end: usize) -> bool {
    let int_literal = |i: usize| {
        let (negative, at) = match toks.get(i).map(|t| &t.token) {
            Some(Token::Minus) => (true, i + 1),
            _ => (false, i),
        };
        match toks.get(at).map(|t| &t.token) {
            Some(Token::Number(n, _)) => n
                .parse::<i64>()
                .ok()
                .map(|v| if negative { -v } else { v })
                .filter(|v| i32::try_from(*v).is_ok())
                .map(|_| at),
            _ => None,
        }
    };
    match top_level_commas(toks, k + 1, end).as_slice() {
        [c] => int_literal(k + 2) == Some(c - 1) && int_literal(c + 1) == Some(end - 1),
        [c, d] => {
            int_literal(k + 2) == Some(c - 1)
                && int_literal(c + 1) == Some(d - 1)
                && int_literal(d + 1) == Some(end - 1)
        }
        _ => false,
    }
}

/// `generate_series(…)` in FROM with integer literals that fit an
/// `integer` (PostgreSQL's series is of integers, DuckDB's of bigints, which
/// clients read as the type of the column: pgjdbc's `KEY_SEQ`), or stepped by
/// an interval.
fn series_in_from(toks: &[floe_sql::Spanned], k: usize) -> Vec<Edit> {
    let Some(end) = matching_paren(toks, k + 1) else {
        return Vec::new();
    };
    // A series stepped by an interval is of timestamps, which the engine's
    // FROM-clause series has only without a zone: the scalar series (one
    // list, `timestamptz` where PostgreSQL's is) unnested stands for it.
    let integers = integer_literal_arguments(toks, k, end);
    if !integers && !interval_step(toks, k, end) {
        return Vec::new();
    }
    // The column is named as PostgreSQL names a scalar function's: by the
    // column alias (`pos(n)`), else the table alias (`g`), else the
    // function's name.
    let written_as = is_word(toks.get(end + 1).map(|t| &t.token), "AS");
    let alias_at = if written_as { end + 2 } else { end + 1 };
    let (column, table) = if alias_word(toks, alias_at) {
        let column_list = matches!(
            toks.get(alias_at + 1).map(|t| &t.token),
            Some(Token::LParen)
        );
        let alias = &toks[alias_at].token;
        (
            if column_list {
                String::new()
            } else {
                format!(" AS {alias}")
            },
            "",
        )
    } else if integers
        && is_word(toks.get(end + 1).map(|t| &t.token), "WITH")
        && is_word(toks.get(end + 2).map(|t| &t.token), "ORDINALITY")
    {
        // `WITH ORDINALITY` numbers the function's rows (the engine's
        // numbering); an alias after it names the subquery's columns.
        let aliased =
            is_word(toks.get(end + 3).map(|t| &t.token), "AS") || alias_word(toks, end + 3);
        let (start, _) = call_start(toks, k);
        return vec![
            (
                start,
                toks[k].end,
                "(SELECT CAST(generate_series AS INTEGER) AS generate_series, ordinality \
                 FROM generate_series"
                    .to_string(),
            ),
            (
                toks[end].start,
                toks[end + 2].end,
                if aliased {
                    ") WITH ORDINALITY)".to_string()
                } else {
                    ") WITH ORDINALITY) AS generate_series".to_string()
                },
            ),
        ];
    } else if written_as || is_word(toks.get(end + 1).map(|t| &t.token), "WITH") {
        // Other series `WITH ORDINALITY`: the engine's.
        return Vec::new();
    } else {
        (" AS generate_series".to_string(), " AS generate_series")
    };
    let (head, tail) = if integers {
        (
            format!("(SELECT CAST(generate_series AS INTEGER){column} FROM generate_series"),
            format!(")){table}"),
        )
    } else {
        (
            "(SELECT unnest(generate_series".to_string(),
            format!(")){column}){table}"),
        )
    };
    let (start, _) = call_start(toks, k);
    vec![
        (start, toks[k].end, head),
        (toks[end].start, toks[end].end, tail),
    ]
}

/// Whether the third argument of the call at `k` (closed at `end`) is an
/// interval by its spelling (`interval '1 day'`, `'1 day'::interval`).
fn interval_step(toks: &[floe_sql::Spanned], k: usize, end: usize) -> bool {
    let commas = top_level_commas(toks, k + 1, end);
    let [_, third] = commas.as_slice() else {
        return false;
    };
    toks[third + 1..end]
        .iter()
        .any(|t| is_word(Some(&t.token), "interval"))
}

/// `unnest(a, b, …) [WITH ORDINALITY]` in FROM: one column per array, the
/// shorter padded with NULLs (as DuckDB's `unnest`s side by side in one
/// select list give), numbered from 1 in a last bigint column when ordinal.
fn unnest_of_several(toks: &[floe_sql::Spanned], k: usize) -> Vec<Edit> {
    let Some(end) = matching_paren(toks, k + 1) else {
        return Vec::new();
    };
    let commas = top_level_commas(toks, k + 1, end);
    if commas.is_empty() {
        return Vec::new();
    }
    let ordinal = is_word(toks.get(end + 1).map(|t| &t.token), "WITH")
        && is_word(toks.get(end + 2).map(|t| &t.token), "ORDINALITY");
    let (start, _) = call_start(toks, k);
    // Columns named as PostgreSQL names them (when no alias list renames them).
    let (open, close) = if ordinal {
        (
            "(SELECT *, row_number() OVER () AS ordinality FROM (SELECT unnest(",
            ") AS unnest))",
        )
    } else {
        ("(SELECT unnest(", ") AS unnest)")
    };
    let mut edits = vec![(start, toks[k + 1].end, open.to_string())];
    edits.extend(commas.iter().map(|&c| {
        (
            toks[c].start,
            toks[c].end,
            ") AS unnest, unnest(".to_string(),
        )
    }));
    if ordinal {
        edits.push((toks[end].start, toks[end + 2].end, close.to_string()));
    } else {
        edits.push((toks[end].start, toks[end].end, close.to_string()));
    }
    edits
}

/// `information_schema._pg_expandarray(a)`: a row `(x, n)` for each element
/// `x` of `a` at position `n`; in a select list one row per element (read as
/// `(… ).x` and `(… ).n`), in FROM the columns `x` and `n`.
fn expand_array(toks: &[floe_sql::Spanned], k: usize, in_select_list: bool) -> Vec<Edit> {
    let Some(end) = matching_paren(toks, k + 1) else {
        return Vec::new();
    };
    let (start, _) = call_start(toks, k);
    let (open, close) = if in_select_list {
        ("unnest(floe_expandarray(", "))")
    } else {
        ("(SELECT unnest(floe_expandarray(", "), recursive := true))")
    };
    vec![
        (start, toks[k + 1].end, open.to_string()),
        (toks[end].start, toks[end].end, close.to_string()),
    ]
}

#[cfg(test)]
mod tests {
    use super::super::rewrite;
    use crate::compat::rewrite::tests::check;

    #[test]
    fn several_arrays_unnest_side_by_side() {
        check(&[
            ("SELECT * FROM pg_index i, unnest(i.indkey, i.indoption) WITH ORDINALITY koi(k, o, n)", Some(
                "SELECT * FROM pg_index i, (SELECT *, row_number() OVER () AS ordinality FROM \
                 (SELECT unnest(i.indkey) AS unnest, unnest( i.indoption) AS unnest)) koi(k, o, n)"
            )),
            ("SELECT * FROM unnest(ARRAY[1, 2], f(a, b)) u(x, y)", Some("SELECT * FROM (SELECT unnest(ARRAY[1, 2]) AS unnest, unnest( f(a, b)) AS unnest) u(x, y)")),
            ("SELECT * FROM unnest(ARRAY[1, 2]) u(x)", None),
        ]);
    }

    #[test]
    fn expanded_arrays_give_elements_and_positions() {
        check(&[
            ("SELECT (information_schema._pg_expandarray(i.indkey)).n FROM pg_index i", Some("SELECT (unnest(floe_expandarray(i.indkey))).n FROM pg_index i")),
            ("SELECT e.n FROM information_schema._pg_expandarray(ARRAY[3, 4]) e", Some(
                "SELECT e.n FROM (SELECT unnest(floe_expandarray(ARRAY[3, 4]), recursive := true)) e"
            )),
        ]);
    }

    #[test]
    fn expanded_arrays_in_nested_select_lists() {
        check(&[
            ("SELECT * FROM (SELECT a, information_schema._pg_expandarray(i.indkey) AS k FROM pg_index i) s", Some("SELECT * FROM (SELECT a, unnest(floe_expandarray(i.indkey)) AS k FROM pg_index i) s")),
        ]);
    }

    #[test]
    fn integer_series_in_from_are_integers() {
        check(&[
            ("SELECT pos.n FROM t, pg_catalog.generate_series(1, 32) pos(n)", Some(
                "SELECT pos.n FROM t, (SELECT CAST(generate_series AS INTEGER) FROM \
                 generate_series(1, 32)) pos(n)"
            )),
            ("SELECT g FROM generate_series(1, 3) g, generate_series(-2, 2, 2) AS \"H\"", Some(
                "SELECT g FROM (SELECT CAST(generate_series AS INTEGER) AS g FROM \
                 generate_series(1, 3)) g, (SELECT CAST(generate_series AS INTEGER) AS \"H\" \
                 FROM generate_series(-2, 2, 2)) AS \"H\""
            )),
            ("SELECT * FROM generate_series(1, 3) WHERE true", Some(
                "SELECT * FROM (SELECT CAST(generate_series AS INTEGER) AS generate_series FROM \
                 generate_series(1, 3)) AS generate_series WHERE true"
            )),
            ("SELECT d FROM generate_series(now() - interval '2 days', now(), interval '1 day') d", Some(
                "SELECT d FROM (SELECT unnest(generate_series(now() - interval '2 days', now(), \
                 interval '1 day')) AS d) d"
            )),
        ]);
        // Numbered: integers, numbered by the engine, aliased as written.
        check(&[
            (
                "SELECT * FROM generate_series(1, 3) WITH ORDINALITY AS g(n, o)",
                Some(
                    "SELECT * FROM (SELECT CAST(generate_series AS INTEGER) AS generate_series, \
                 ordinality FROM generate_series(1, 3) WITH ORDINALITY) AS g(n, o)",
                ),
            ),
            (
                "SELECT * FROM generate_series(1, 3) WITH ORDINALITY",
                Some(
                    "SELECT * FROM (SELECT CAST(generate_series AS INTEGER) AS generate_series, \
                 ordinality FROM generate_series(1, 3) WITH ORDINALITY) AS generate_series",
                ),
            ),
        ]);
        // Beyond an integer, or not literals: as written.
        for sql in [
            "SELECT * FROM generate_series(1, 3000000000) g(n)",
            "SELECT * FROM generate_series(1, x) g(n)",
            "SELECT * FROM generate_series(1, x) WITH ORDINALITY",
        ] {
            assert!(rewrite(sql).is_none_or(|r| !r.contains("INTEGER")), "{sql}");
        }
    }
}
