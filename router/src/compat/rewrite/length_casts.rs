//! Casts to character types of a length: PostgreSQL cuts the text to the
//! length on an explicit cast (`'abcdef'::varchar(3)` is `abc`, `x::char`
//! is `char(1)`), the engine ignores the length. `x::varchar(n)`,
//! `x::character varying(n)`, `x::char(n)`, `x::character(n)`,
//! `x::bpchar(n)`, `x::char` and their `CAST(x AS …)` forms become
//! `floe_as_varchar_n(x, n)` (`floe_as_bpchar_n` for the blank-padded
//! types, which are named and typed `bpchar`), the text of `x` (as
//! `x::text` writes it) cut to `n` characters.

use sqlparser::tokenizer::Token;

use super::zoned_casts::{cast_call, operand_start};

type Edit = (usize, usize, String);

/// The length of a cast to the character type named at `toks[j..]`, and the
/// index of the type's last token; `None` for other types (`text`, arrays,
/// the one-byte `"char"`).
fn length_target(toks: &[floe_sql::Spanned], mut j: usize) -> Option<(&'static str, u64, usize)> {
    let tok = |k: usize| toks.get(k).map(|t| &t.token);
    let bare = |k: usize, w: &str| matches!(tok(k), Some(Token::Word(x)) if x.quote_style.is_none() && x.value.eq_ignore_ascii_case(w));
    if bare(j, "pg_catalog") && matches!(tok(j + 1), Some(Token::Period)) {
        j += 2;
    }
    let (name_end, padded) = if bare(j, "varchar") {
        (j, false)
    } else if bare(j, "character") && bare(j + 1, "varying") {
        (j + 1, false)
    } else if bare(j, "char") || bare(j, "character") || bare(j, "bpchar") {
        (j, true)
    } else {
        return None;
    };
    let (length, last) = match (tok(name_end + 1), tok(name_end + 2), tok(name_end + 3)) {
        (Some(Token::LParen), Some(Token::Number(n, _)), Some(Token::RParen)) => {
            (n.parse::<u64>().ok().filter(|n| *n > 0)?, name_end + 3)
        }
        // `char` alone is `char(1)`; `bpchar` and `varchar` alone have no length.
        (Some(Token::LParen), ..) => return None,
        _ if padded && !bare(j, "bpchar") => (1, name_end),
        _ => return None,
    };
    match tok(last + 1) {
        Some(Token::LBracket) => None,
        _ if padded => Some(("floe_as_bpchar_n(", length, last)),
        _ => Some(("floe_as_varchar_n(", length, last)),
    }
}

/// The edits turning each cast to a character type of a length into
/// `floe_as_varchar_n(x, n)`.
pub(super) fn length_cast_edits(toks: &[floe_sql::Spanned]) -> Vec<Edit> {
    let mut edits = Vec::new();
    for (k, t) in toks.iter().enumerate() {
        match t.token {
            Token::DoubleColon => {
                let Some((call, length, last)) = length_target(toks, k + 1) else {
                    continue;
                };
                let start = match k.checked_sub(1).map(|p| &toks[p].token) {
                    // A literal on its own (a typed one starts at its type).
                    Some(Token::SingleQuotedString(_) | Token::Number(..)) => {
                        operand_start(toks, k).unwrap_or(k - 1)
                    }
                    _ => match operand_start(toks, k) {
                        Some(start) => start,
                        None => continue,
                    },
                };
                edits.push((toks[start].start, toks[start].start, call.into()));
                edits.push((toks[k].start, toks[last].end, format!(", {length})")));
            }
            Token::Word(ref w) if w.value.eq_ignore_ascii_case("cast") => {
                let Some((as_at, close)) = cast_call(toks, k) else {
                    continue;
                };
                match length_target(toks, as_at + 1) {
                    Some((call, length, last)) if last + 1 == close => {
                        edits.push((toks[k].start, toks[k + 1].end, call.into()));
                        edits.push((toks[as_at - 1].end, toks[close].end, format!(", {length})")));
                    }
                    _ => {}
                }
            }
            _ => {}
        }
    }
    edits
}

#[cfg(test)]
mod tests {
    use super::super::rewrite;
    use crate::compat::rewrite::tests::check;

    #[test]
    fn casts_to_a_length_cut_the_text() {
        check(&[(
            "SELECT 'abcdef'::varchar(3), t.c::character varying(2), f(x)::char, \
                 CAST(x AS character(4)), x::pg_catalog.bpchar(5) FROM t",
            Some(
                "SELECT floe_as_varchar_n('abcdef', 3), floe_as_varchar_n(t.c, 2), \
                 floe_as_bpchar_n(f(x), 1), floe_as_bpchar_n(x, 4), floe_as_bpchar_n(x, 5) FROM t",
            ),
        )]);
        // A chain: the length cut, then the cast to text.
        check(&[(
            "SELECT 'abc'::varchar(2)::text",
            Some("SELECT floe_as_varchar_n('abc', 2)::text"),
        )]);
        // Without a length, arrays, the one-byte "char", DDL: as written.
        for sql in [
            "SELECT x::varchar, x::bpchar, x::varchar(3)[], x::\"char\" FROM t",
            "CREATE TABLE t (a varchar(3), b char(2))",
        ] {
            assert!(rewrite(sql).is_none_or(|r| !r.contains("_n(")), "{sql}");
        }
    }
}
