//! Casts between `timestamptz` and the zone-less date and time types, which
//! PostgreSQL makes in the session's `TimeZone` (`'…+00'::timestamptz::date`
//! is the previous day in New York); the engine, built without time zones,
//! makes them in UTC — a silently different answer. `x::date`,
//! `x::timestamp` and `x::timestamptz` (and `CAST(x AS …)`) of a column, a
//! call or a parenthesized expression become `floe_as_date(x)`,
//! `floe_as_timestamp(x)` and `floe_as_timestamptz(x)`: session macros that
//! convert in the session's zone when `x` has the type the conversion needs
//! and cast as the engine does otherwise. Plain string literals are left
//! alone (the worker reads zone-less timestamptz literals in the session's
//! zone); typed ones (`timestamp '…'::timestamptz`) are converted.

use sqlparser::tokenizer::Token;

use super::{column_reference_start, first_top_level, is_word, matching_paren, past_pg_catalog};

/// The macro standing for a cast to the type named at `toks[j..]`, and the
/// index of the type's last token; `None` for other types.
fn zoned_target(toks: &[floe_sql::Spanned], j: usize) -> Option<(&'static str, usize)> {
    let tok = |k: usize| toks.get(k).map(|t| &t.token);
    let j = past_pg_catalog(toks, j);
    let (name, last) = if is_word(tok(j), "date") {
        ("floe_as_date", j)
    } else if is_word(tok(j), "timestamptz") {
        ("floe_as_timestamptz", j)
    } else if is_word(tok(j), "text") {
        ("floe_as_text", j)
    } else if is_word(tok(j), "varchar") {
        ("floe_as_varchar", j)
    } else if is_word(tok(j), "timestamp") {
        match (tok(j + 1), tok(j + 2), tok(j + 3)) {
            (Some(Token::Word(w)), Some(Token::Word(_)), Some(Token::Word(z)))
                if w.value.eq_ignore_ascii_case("with") && z.value.eq_ignore_ascii_case("zone") =>
            {
                ("floe_as_timestamptz", j + 3)
            }
            (Some(Token::Word(w)), Some(Token::Word(_)), Some(Token::Word(z)))
                if w.value.eq_ignore_ascii_case("without")
                    && z.value.eq_ignore_ascii_case("zone") =>
            {
                ("floe_as_timestamp", j + 3)
            }
            _ => ("floe_as_timestamp", j),
        }
    } else {
        return None;
    };
    // An array type or a precision is another cast.
    match tok(last + 1) {
        Some(Token::LBracket | Token::LParen) => None,
        _ => Some((name, last)),
    }
}

/// Where the operand of a `::` cast at `colons` starts: a column reference,
/// or a call or parenthesized expression; `None` for anything else (a
/// literal, a parameter, another cast).
pub(super) fn operand_start(toks: &[floe_sql::Spanned], colons: usize) -> Option<usize> {
    let before = colons.checked_sub(1)?;
    match toks.get(before)?.token {
        Token::Word(_) => {
            let start = column_reference_start(toks, colons)?;
            // `x::timestamptz::date`: the operand is itself a cast.
            let chained = start
                .checked_sub(1)
                .is_some_and(|p| matches!(toks[p].token, Token::DoubleColon));
            (!chained).then_some(start)
        }
        Token::RParen => {
            let open = (0..before).rev().find(|&o| {
                matches!(toks[o].token, Token::LParen) && matching_paren(toks, o) == Some(before)
            })?;
            // A call: its (possibly qualified) name starts the operand; a
            // keyword before the parenthesis is no call's name.
            match open.checked_sub(1).map(|n| &toks[n].token) {
                // `ARRAY(…)::text` is the array's own rewrite.
                Some(Token::Word(w)) if w.value.eq_ignore_ascii_case("array") => None,
                Some(Token::Word(w)) if !is_clause_keyword(&w.value) => {
                    // `x::varchar(2)::text`: the parenthesis is a type's length.
                    column_reference_start(toks, open).filter(|&start| {
                        !start
                            .checked_sub(1)
                            .is_some_and(|p| matches!(toks[p].token, Token::DoubleColon))
                    })
                }
                _ => Some(open),
            }
        }
        // A typed literal (`timestamp '…'`): its type name starts it.
        Token::SingleQuotedString(_) => {
            let word = before.checked_sub(1)?;
            let typed = ["timestamp", "timestamptz", "date"]
                .iter()
                .any(|t| is_word(toks.get(word).map(|t| &t.token), t));
            typed.then_some(word)
        }
        _ => None,
    }
}

/// Whether a word before `(` belongs to the statement's grammar rather than
/// naming a function (`SELECT (a + b)::date`, `IN (…)`).
fn is_clause_keyword(word: &str) -> bool {
    const KEYWORDS: &[&str] = &[
        "select",
        "where",
        "and",
        "or",
        "not",
        "on",
        "in",
        "from",
        "by",
        "then",
        "else",
        "when",
        "as",
        "having",
        "exists",
        "any",
        "all",
        "some",
        "values",
        "using",
        "join",
        "case",
        "returning",
        "set",
        "is",
        "between",
        "like",
        "ilike",
        "distinct",
        "over",
        "limit",
        "offset",
        "union",
        "except",
        "intersect",
        "with",
        "array",
    ];
    KEYWORDS.iter().any(|k| word.eq_ignore_ascii_case(k))
}

/// The `AS` and the closing `)` of the `CAST(x AS t)` whose `CAST` is at `k`.
pub(super) fn cast_call(toks: &[floe_sql::Spanned], k: usize) -> Option<(usize, usize)> {
    if !matches!(toks.get(k + 1).map(|t| &t.token), Some(Token::LParen)) {
        return None;
    }
    let close = matching_paren(toks, k + 1)?;
    let as_at = first_top_level(toks, k + 2, close, |t| is_word(Some(t), "AS"))?;
    Some((as_at, close))
}

/// The edits turning every zoned cast in `toks` into its macro: the macro's
/// name and `(` before the operand, `)` in place of the cast.
pub(super) fn zoned_cast_edits(toks: &[floe_sql::Spanned]) -> Vec<(usize, usize, String)> {
    let mut edits = Vec::new();
    for (k, t) in toks.iter().enumerate() {
        match t.token {
            Token::DoubleColon => {
                let (Some((name, last)), Some(start)) =
                    (zoned_target(toks, k + 1), operand_start(toks, k))
                else {
                    continue;
                };
                edits.push((toks[start].start, toks[start].start, format!("{name}(")));
                edits.push((toks[k].start, toks[last].end, ")".to_string()));
            }
            Token::Word(ref w) if w.value.eq_ignore_ascii_case("cast") => {
                // CAST(x AS date): the call becomes the macro's.
                let Some((as_at, close)) = cast_call(toks, k) else {
                    continue;
                };
                let Some((name, last)) = zoned_target(toks, as_at + 1) else {
                    continue;
                };
                if last + 1 != close
                    || matches!(
                        toks.get(k + 2).map(|t| &t.token),
                        Some(Token::SingleQuotedString(_))
                    ) && as_at == k + 3
                {
                    continue;
                }
                edits.push((toks[k].start, toks[k + 1].end, format!("{name}(")));
                edits.push((toks[as_at - 1].end, toks[close].end, ")".to_string()));
            }
            _ => {}
        }
    }
    edits
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rewritten(sql: &str) -> String {
        let toks = floe_sql::significant_tokens(sql).expect("tokens");
        let mut edits = zoned_cast_edits(&toks);
        edits.sort_by_key(|e| e.0);
        floe_sql::apply(sql, edits)
    }

    #[test]
    fn casts_of_columns_calls_and_expressions_take_the_session_zone() {
        assert_eq!(
            rewritten("SELECT t.at::date, placed::timestamptz, f(x)::timestamp FROM t"),
            "SELECT floe_as_date(t.at), floe_as_timestamptz(placed), floe_as_timestamp(f(x)) FROM t"
        );
        assert_eq!(
            rewritten("SELECT (a + b)::pg_catalog.date, CAST(x AS timestamp with time zone)"),
            "SELECT floe_as_date((a + b)), floe_as_timestamptz(x)"
        );
        assert_eq!(
            rewritten(
                "SELECT date_trunc('day', at)::date, CAST(at AS TIMESTAMP WITHOUT TIME ZONE)"
            ),
            "SELECT floe_as_date(date_trunc('day', at)), floe_as_timestamp(at)"
        );
    }

    #[test]
    fn literals_arrays_precisions_and_other_types_stay() {
        for sql in [
            "SELECT '2024-01-01'::date",
            "SELECT CAST('2024-01-01' AS date)",
            "SELECT x::date[], x::timestamp(3), x::text, $1::date",
            "SELECT x::timestamptz::date",
        ] {
            let out = rewritten(sql);
            assert!(
                !out.contains("floe_as_date(x::") && !out.contains("floe_as_date('"),
                "{out}"
            );
        }
        assert_eq!(rewritten("SELECT x::date[]"), "SELECT x::date[]");
        assert_eq!(
            rewritten("SELECT timestamp '2024-03-05 10:00'::timestamptz"),
            "SELECT floe_as_timestamptz(timestamp '2024-03-05 10:00')"
        );
        assert_eq!(rewritten("SELECT '1'::date"), "SELECT '1'::date");
    }

    #[test]
    fn casts_to_text_of_columns_and_expressions_write_as_postgres() {
        assert_eq!(
            rewritten("SELECT at::text, CAST(f(x) AS varchar), (a || b)::pg_catalog.text FROM t"),
            "SELECT floe_as_text(at), floe_as_varchar(f(x)), floe_as_text((a || b)) FROM t"
        );
        for sql in [
            "SELECT 'a'::text, x::varchar(3), ARRAY[1]::text, ARRAY(SELECT 1)::text",
            "SELECT x::regclass::text, $1::text, x::text[], CAST('a' AS text)",
        ] {
            assert_eq!(rewritten(sql), sql);
        }
    }
}
