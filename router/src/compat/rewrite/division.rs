//! `a / b` becomes `floe_div(a , b)`: the worker's session macro that divides
//! as PostgreSQL does (an exact `numeric` quotient with PostgreSQL's scale
//! when either side is `numeric`; the engine answers a `double precision`).
//! Only the `/` token and the operands' outer edges change (`/` becomes `,`,
//! keeping the text around it), so `floe_sql::stand_ins` can read a kept
//! statement back as written.
//!
//! Operands are delimited by PostgreSQL's precedence: the left one reaches
//! back over `*`, `/`, `%`, `^`, unary signs, casts, subscripts and field
//! selections; the right one forward over a unary sign, one operand and its
//! postfix casts, subscripts and `^` powers. A division whose operands end
//! in anything this does not recognise is left to the engine.

use sqlparser::tokenizer::Token;

use super::{is_word, matching_bracket};

type Edit = (usize, usize, String);

/// Words that may stand just before an operand (a clause or an operator
/// spelled as a word); another word there ends the search unrewritten.
const BEFORE_OPERAND: &[&str] = &[
    "SELECT",
    "WHERE",
    "AND",
    "OR",
    "NOT",
    "THEN",
    "ELSE",
    "WHEN",
    "ON",
    "BY",
    "HAVING",
    "DISTINCT",
    "ALL",
    "BETWEEN",
    "LIKE",
    "ILIKE",
    "IS",
    "IN",
    "RETURNING",
    "LIMIT",
    "OFFSET",
    "CASE",
    "VALUES",
    "AS",
    "SET",
    "FROM",
    "USING",
    "TO",
    "FOR",
    "DEFAULT",
    "SIMILAR",
    "ESCAPE",
    "ROWS",
    "RANGE",
    "GROUPS",
    "PRECEDING",
    "FOLLOWING",
];

/// Type names that prefix a string literal (`interval '1 day'`).
const TYPED_LITERALS: &[&str] = &[
    "interval",
    "date",
    "time",
    "timestamp",
    "timestamptz",
    "numeric",
    "decimal",
    "int",
    "int2",
    "int4",
    "int8",
    "integer",
    "bigint",
    "smallint",
    "real",
    "float",
    "float4",
    "float8",
    "text",
    "varchar",
];

/// Words that continue a multi-word type name after a cast's first word
/// (`double precision`, `character varying`, `timestamp with time zone`).
const TYPE_WORDS: &[&str] = &["precision", "varying", "with", "without", "time", "zone"];

/// The edits turning each delimitable `a / b` of `toks` into `floe_div(a , b)`.
pub(super) fn division_edits(toks: &[floe_sql::Spanned]) -> Vec<Edit> {
    let mut edits = Vec::new();
    for (k, t) in toks.iter().enumerate() {
        if !matches!(t.token, Token::Div) {
            continue;
        }
        let (Some(start), Some(end)) = (left_operand_start(toks, k), right_operand_end(toks, k))
        else {
            continue;
        };
        edits.push((
            toks[start].start,
            toks[start].start,
            "floe_div(".to_string(),
        ));
        edits.push((t.start, t.end, ",".to_string()));
        edits.push((toks[end].end, toks[end].end, ")".to_string()));
    }
    edits
}

fn word_in(t: &Token, words: &[&str]) -> bool {
    matches!(t, Token::Word(w) if w.quote_style.is_none()
        && words.iter().any(|x| w.value.eq_ignore_ascii_case(x)))
}

fn is_literal(t: &Token) -> bool {
    matches!(
        t,
        Token::Number(..)
            | Token::SingleQuotedString(_)
            | Token::EscapedStringLiteral(_)
            | Token::NationalStringLiteral(_)
            | Token::HexStringLiteral(_)
            | Token::DollarQuotedString(_)
            | Token::Placeholder(_)
    )
}

/// The `(` or `[` opening the bracket closed at `close`.
fn opening_bracket(toks: &[floe_sql::Spanned], close: usize) -> Option<usize> {
    let mut depth = 0usize;
    for j in (0..=close).rev() {
        match toks[j].token {
            Token::RParen | Token::RBracket => depth += 1,
            Token::LParen | Token::LBracket => {
                depth = depth.checked_sub(1)?;
                if depth == 0 {
                    return Some(j);
                }
            }
            _ => {}
        }
    }
    None
}

/// The `CASE` of the `END` at `end`.
fn case_start(toks: &[floe_sql::Spanned], end: usize) -> Option<usize> {
    let mut depth = 0usize;
    for j in (0..=end).rev() {
        if is_word(Some(&toks[j].token), "END") {
            depth += 1;
        } else if is_word(Some(&toks[j].token), "CASE") {
            depth = depth.checked_sub(1)?;
            if depth == 0 {
                return Some(j);
            }
        }
    }
    None
}

/// The `END` of the `CASE` at `case`.
fn case_end(toks: &[floe_sql::Spanned], case: usize) -> Option<usize> {
    let mut depth = 0usize;
    for (j, t) in toks.iter().enumerate().skip(case) {
        if is_word(Some(&t.token), "CASE") {
            depth += 1;
        } else if is_word(Some(&t.token), "END") {
            depth = depth.checked_sub(1)?;
            if depth == 0 {
                return Some(j);
            }
        }
    }
    None
}

/// Where the operand (one unit with its postfixes) ending at `last` starts.
fn unit_start(toks: &[floe_sql::Spanned], last: usize) -> Option<usize> {
    let mut start = match &toks[last].token {
        t if is_literal(t) => {
            // A typed literal: `interval '1 day'`.
            match last.checked_sub(1).map(|p| &toks[p].token) {
                Some(w) if word_in(w, TYPED_LITERALS) => last - 1,
                _ => last,
            }
        }
        Token::Word(w) if w.quote_style.is_none() && w.value.eq_ignore_ascii_case("END") => {
            case_start(toks, last)?
        }
        Token::Word(w) if w.quote_style.is_none() && word_in(&toks[last].token, BEFORE_OPERAND) => {
            return None
        }
        Token::Word(_) => last,
        Token::RParen | Token::RBracket => {
            let open = opening_bracket(toks, last)?;
            match open.checked_sub(1).map(|p| &toks[p].token) {
                // A call, `ARRAY[…]`, a subscript or a window's `OVER (…)`.
                Some(Token::Word(w)) if !word_in(&toks[open - 1].token, BEFORE_OPERAND) => {
                    if w.value.eq_ignore_ascii_case("OVER")
                        || w.value.eq_ignore_ascii_case("FILTER")
                    {
                        unit_start(toks, open.checked_sub(2)?)?
                    } else {
                        open - 1
                    }
                }
                Some(Token::RParen | Token::RBracket)
                    if matches!(toks[open].token, Token::LBracket) =>
                {
                    unit_start(toks, open - 1)?
                }
                _ => open,
            }
        }
        _ => return None,
    };
    // A qualified name or a field of a composite: `s.t.c`, `(x).f`.
    while start >= 2 && matches!(toks[start - 1].token, Token::Period) {
        start = unit_start(toks, start - 2)?;
    }
    Some(start)
}

/// Where the left operand of the `/` (or another operator that binds no
/// tighter) at `div` starts.
pub(super) fn left_operand_start(toks: &[floe_sql::Spanned], div: usize) -> Option<usize> {
    let mut start = unit_start(toks, div.checked_sub(1)?)?;
    loop {
        let Some(before) = start.checked_sub(1) else {
            return Some(start);
        };
        match &toks[before].token {
            // The unit was a cast's type: the operand is what is cast.
            Token::DoubleColon | Token::Mul | Token::Div | Token::Mod | Token::Caret => {
                start = unit_start(toks, before.checked_sub(1)?)?;
            }
            // A multi-word type (`x::double precision`).
            t @ Token::Word(_)
                if word_in(&toks[start].token, TYPE_WORDS) && !word_in(t, BEFORE_OPERAND) =>
            {
                start = before;
            }
            // A sign before the operand (not a subtraction).
            Token::Minus | Token::Plus if operand_may_start_after(toks, before) => {
                start = before;
            }
            t @ Token::Word(_) => return word_in(t, BEFORE_OPERAND).then_some(start),
            // Juxtaposed operands (`interval '1' day`) are not ours.
            t if is_literal(t) || matches!(t, Token::RParen | Token::RBracket) => return None,
            _ => return Some(start),
        }
    }
}

/// Whether a sign at `sign` is unary: what precedes it cannot end an operand.
fn operand_may_start_after(toks: &[floe_sql::Spanned], sign: usize) -> bool {
    match sign.checked_sub(1).map(|p| &toks[p].token) {
        None => true,
        Some(t @ Token::Word(_)) => word_in(t, BEFORE_OPERAND),
        Some(t) => !(is_literal(t) || matches!(t, Token::RParen | Token::RBracket)),
    }
}

/// Where the right operand of the `/` at `div` ends.
pub(super) fn right_operand_end(toks: &[floe_sql::Spanned], div: usize) -> Option<usize> {
    let mut p = div + 1;
    while matches!(toks.get(p)?.token, Token::Minus | Token::Plus) {
        p += 1;
    }
    let mut end = unit_end(toks, p)?;
    loop {
        match toks.get(end + 1).map(|t| &t.token) {
            Some(Token::DoubleColon) => end = type_end(toks, end + 2)?,
            Some(Token::LBracket) => end = matching_bracket(toks, end + 1)?,
            Some(Token::Period) => end = unit_end(toks, end + 2)?,
            Some(Token::Caret) => {
                let mut q = end + 2;
                while matches!(toks.get(q)?.token, Token::Minus | Token::Plus) {
                    q += 1;
                }
                end = unit_end(toks, q)?;
            }
            _ => return Some(end),
        }
    }
}

/// Where the unit (literal, name, call, parenthesized expression, CASE)
/// starting at `p` ends.
fn unit_end(toks: &[floe_sql::Spanned], p: usize) -> Option<usize> {
    let tok = |k: usize| toks.get(k).map(|t| &t.token);
    match tok(p)? {
        t if is_literal(t) => Some(p),
        Token::LParen | Token::LBracket => matching_bracket(toks, p),
        Token::Word(w) if w.quote_style.is_none() && w.value.eq_ignore_ascii_case("CASE") => {
            case_end(toks, p)
        }
        Token::Word(_)
            if word_in(tok(p)?, TYPED_LITERALS) && tok(p + 1).is_some_and(is_literal) =>
        {
            // `interval '1' day` and the like go on with words: not ours.
            match tok(p + 2) {
                Some(t @ Token::Word(_)) if !word_in(t, BEFORE_OPERAND) => None,
                _ => Some(p + 1),
            }
        }
        Token::Word(w) if w.quote_style.is_none() && word_in(tok(p)?, BEFORE_OPERAND) => None,
        Token::Word(w) if w.quote_style.is_none() && w.value.eq_ignore_ascii_case("ARRAY") => {
            matches!(tok(p + 1), Some(Token::LBracket | Token::LParen))
                .then(|| matching_bracket(toks, p + 1))?
        }
        Token::Word(_) => match tok(p + 1) {
            Some(Token::LParen) => {
                let mut end = matching_bracket(toks, p + 1)?;
                if is_word(tok(end + 1), "WITHIN") {
                    end = matching_bracket(toks, end + 3)?;
                }
                if is_word(tok(end + 1), "FILTER") {
                    end = matching_bracket(toks, end + 2)?;
                }
                if is_word(tok(end + 1), "OVER") {
                    end = match tok(end + 2)? {
                        Token::LParen => matching_bracket(toks, end + 2)?,
                        Token::Word(_) => end + 2,
                        _ => return None,
                    };
                }
                Some(end)
            }
            _ => Some(p),
        },
        _ => None,
    }
}

/// Where the type name starting at `p` (after `::`) ends.
fn type_end(toks: &[floe_sql::Spanned], p: usize) -> Option<usize> {
    let tok = |k: usize| toks.get(k).map(|t| &t.token);
    let mut end = p;
    if !matches!(tok(end)?, Token::Word(_)) {
        return None;
    }
    while matches!(tok(end + 1), Some(Token::Period))
        && matches!(tok(end + 2), Some(Token::Word(_)))
    {
        end += 2;
    }
    while tok(end + 1).is_some_and(|t| word_in(t, TYPE_WORDS)) {
        end += 1;
    }
    if matches!(tok(end + 1), Some(Token::LParen)) {
        end = matching_bracket(toks, end + 1)?;
    }
    while matches!(tok(end + 1), Some(Token::LBracket)) {
        end = matching_bracket(toks, end + 1)?;
    }
    Some(end)
}

#[cfg(test)]
mod tests {
    use super::super::rewrite;

    fn rewritten(sql: &str) -> String {
        rewrite(sql).unwrap_or_else(|| sql.to_string())
    }

    #[test]
    fn divisions_become_floe_div_by_precedence() {
        for (sql, want) in [
            ("SELECT 1.0/3", "SELECT floe_div(1.0,3)"),
            ("SELECT a / b FROM t", "SELECT floe_div(a , b) FROM t"),
            ("SELECT a * b / c + d", "SELECT floe_div(a * b , c) + d"),
            ("SELECT a + b / c * d", "SELECT a + floe_div(b , c) * d"),
            ("SELECT a / b / c", "SELECT floe_div(floe_div(a , b) , c)"),
            ("SELECT -a / -b", "SELECT floe_div(-a , -b)"),
            ("SELECT a - b / 2", "SELECT a - floe_div(b , 2)"),
            (
                "SELECT t.a::numeric(10,2) / s.b::double precision FROM t",
                "SELECT floe_div(t.a::numeric(10,2) , s.b::double precision) FROM t",
            ),
            (
                "SELECT sum(x) / count(*) FILTER (WHERE y) FROM t",
                "SELECT floe_div(floe_sum(x) , count(*) FILTER (WHERE y)) FROM t",
            ),
            (
                "SELECT sum(x) OVER (PARTITION BY y) / 2 FROM t",
                "SELECT floe_div(floe_sum(x) OVER (PARTITION BY y) , 2) FROM t",
            ),
            (
                "SELECT CASE WHEN a THEN 1 ELSE 2 END / (b + 1)",
                "SELECT floe_div(CASE WHEN a THEN 1 ELSE 2 END , (b + 1))",
            ),
            (
                "SELECT interval '1 day' / 2, x[1] / 2 ^ 3",
                "SELECT floe_div(interval '1 day' , 2), floe_div(x[1] , 2 ^ 3)",
            ),
            (
                "SELECT CAST(a AS numeric) / $1 WHERE a / 2 > 1",
                "SELECT floe_div(CAST(a AS numeric) , $1) WHERE floe_div(a , 2) > 1",
            ),
            (
                "SELECT (SELECT max(a) FROM t) / 2",
                "SELECT floe_div((SELECT max(a) AS \"max\" FROM t) , 2)",
            ),
        ] {
            assert_eq!(rewritten(sql), want, "{sql}");
        }
    }

    #[test]
    fn divisions_it_cannot_delimit_are_left_alone() {
        for sql in [
            "SELECT interval '1' day / 2",
            "SELECT 'a/b', \"a/b\" FROM t",
        ] {
            assert_eq!(rewritten(sql), sql, "{sql}");
        }
    }
}
