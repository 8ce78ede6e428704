//! PostgreSQL's JSON builders on the engine's: `json_build_object(…)` becomes
//! `floe_json_build_object(json_object(…))`, `json_build_array` wraps
//! `json_array`, `json_agg` wraps `to_json(list(…))` and `json_object_agg`
//! `json_group_object` (with their `FILTER` and `OVER` clauses inside the
//! wrapper). The wrappers (the worker's `json_text`) lay the value out as
//! PostgreSQL does, and the column keeps PostgreSQL's name. The `jsonb`
//! builders are also cast to `jsonb`, which the worker writes canonically.
//!
//! The path operators `#>` and `#>>` (which the engine does not parse) become
//! its `->` and `->>` with the path as a JSON pointer: a literal path
//! (`'{a,1}'` → `'/a/1'`) is converted here, any other through
//! `floe_json_pointer`.

use sqlparser::tokenizer::Token;

use super::column_names::call_start;
use super::division::{left_operand_start, right_operand_end};
use super::{array_elements, is_word, lit, matching_paren};

type Edit = (usize, usize, String);

/// PostgreSQL's function, what its name becomes (the engine's builder in
/// Floe's layout function) and what follows its call.
const BUILDERS: &[(&str, &str, &str)] = &[
    (
        "json_build_object",
        "floe_json_build_object(json_object",
        ")",
    ),
    ("json_build_array", "floe_json_build_array(json_array", ")"),
    ("json_agg", "floe_json_agg(to_json(list", "))"),
    (
        "json_object_agg",
        "floe_json_object_agg(json_group_object",
        ")",
    ),
    (
        "jsonb_build_object",
        "CAST(floe_jsonb_build_object(json_object",
        ") AS jsonb)",
    ),
    (
        "jsonb_build_array",
        "CAST(floe_jsonb_build_array(json_array",
        ") AS jsonb)",
    ),
    (
        "jsonb_agg",
        "CAST(floe_jsonb_agg(to_json(list",
        ")) AS jsonb)",
    ),
    (
        "jsonb_object_agg",
        "CAST(floe_jsonb_object_agg(json_group_object",
        ") AS jsonb)",
    ),
    ("to_jsonb", "CAST(floe_to_jsonb(to_json", ") AS jsonb)"),
];

/// The edits for every JSON builder call in `toks`.
pub(super) fn json_call_edits(toks: &[floe_sql::Spanned]) -> Vec<Edit> {
    let tok = |k: usize| toks.get(k).map(|t| &t.token);
    let mut edits = Vec::new();
    for k in 0..toks.len() {
        let Some(Token::Word(w)) = tok(k) else {
            continue;
        };
        if w.quote_style.is_some() || !matches!(tok(k + 1), Some(Token::LParen)) {
            continue;
        }
        let name = w.value.to_ascii_lowercase();
        let Some((_, open, close)) = BUILDERS.iter().find(|(pg, _, _)| *pg == name) else {
            continue;
        };
        let (start, before) = call_start(toks, k);
        // Another schema's function of that name (`s.json_agg(`) is not ours.
        if before.is_some_and(|b| matches!(toks[b].token, Token::Period)) && start == toks[k].start
        {
            continue;
        }
        let Some(mut end) = matching_paren(toks, k + 1) else {
            continue;
        };
        if is_word(tok(end + 1), "FILTER") {
            match matching_paren(toks, end + 2) {
                Some(close) => end = close,
                None => continue,
            }
        }
        if is_word(tok(end + 1), "OVER") {
            end = match tok(end + 2) {
                Some(Token::LParen) => match matching_paren(toks, end + 2) {
                    Some(close) => close,
                    None => continue,
                },
                Some(Token::Word(_)) => end + 2,
                _ => continue,
            };
        }
        let close = if name == "json_agg" {
            format!("), {})", element_kind(toks, k + 2))
        } else {
            close.to_string()
        };
        edits.push((start, toks[k].end, open.to_string()));
        edits.push((toks[end].end, toks[end].end, close));
    }
    edits
}

/// What the `json_agg` argument starting at `k` aggregates, as the worker's
/// `json_text` numbers it: 2 for `json_build_object`/`json_build_array`
/// values, 1 for other JSON values, 0 for anything else (rows, arrays).
fn element_kind(toks: &[floe_sql::Spanned], k: usize) -> u8 {
    let called = |name: &str| {
        is_word(toks.get(k).map(|t| &t.token), name)
            && matches!(toks.get(k + 1).map(|t| &t.token), Some(Token::LParen))
    };
    if called("json_build_object") || called("json_build_array") {
        2
    } else if [
        "row_to_json",
        "to_json",
        "json_agg",
        "array_to_json",
        "json_object",
    ]
    .iter()
    .any(|n| called(n))
    {
        1
    } else {
        0
    }
}

/// The edits turning `j #> path` into `j -> pointer` and `j #>> path` into
/// `j ->> pointer`. `#>` binds as PostgreSQL's other operators do, as `->`
/// does in the engine, so only the operator and its right operand change.
pub(super) fn json_path_edits(toks: &[floe_sql::Spanned]) -> Vec<Edit> {
    let mut edits = Vec::new();
    for (k, t) in toks.iter().enumerate() {
        let arrow = match t.token {
            Token::HashArrow => "->",
            Token::HashLongArrow => "->>",
            _ => continue,
        };
        let Some(end) = right_operand_end(toks, k) else {
            continue;
        };
        // The engine's `->` binds more loosely than PostgreSQL's `#>` (below
        // `IS`, comparisons): the operation is kept in parentheses.
        if let Some(start) = left_operand_start(toks, k) {
            edits.push((toks[start].start, toks[start].start, "(".into()));
            edits.push((toks[end].end, toks[end].end, ")".into()));
        }
        edits.push((t.start, t.end, arrow.to_string()));
        let (from, to) = (toks[k + 1].start, toks[end].end);
        let pointer = match &toks[k + 1].token {
            Token::SingleQuotedString(path) => json_pointer(path),
            _ => None,
        };
        match pointer {
            // A literal path, with or without its cast to an array type.
            Some(pointer) => edits.push((from, to, lit(&pointer))),
            None => {
                edits.push((from, from, "floe_json_pointer(".into()));
                edits.push((to, to, ")".into()));
            }
        }
    }
    edits
}

/// The JSON pointer of a PostgreSQL path literal (`{a,1}` → `/a/1`; the
/// empty path is the whole value); `None` for a literal that is not a
/// one-dimensional array without NULLs.
fn json_pointer(path: &str) -> Option<String> {
    let elements = array_elements(path)?;
    if elements.is_empty() {
        return Some("$".into());
    }
    let mut pointer = String::new();
    for (element, _) in elements {
        pointer.push('/');
        pointer.push_str(&element?.replace('~', "~0").replace('/', "~1"));
    }
    Some(pointer)
}

#[cfg(test)]
mod tests {
    use crate::compat::rewrite::tests::check;

    #[test]
    fn builders_are_wrapped_in_postgres_layouts() {
        check(&[
            ("SELECT json_build_object('a', json_build_array(1, 2)), \
                 json_agg(t ORDER BY id) FILTER (WHERE id > 1), pg_catalog.json_object_agg(k, v) FROM t", Some(
                "SELECT floe_json_build_object(json_object('a', floe_json_build_array(json_array(1, 2)))), \
                 floe_json_agg(to_json(list(t ORDER BY id) FILTER (WHERE id > 1)), 0), \
                 floe_json_object_agg(json_group_object(k, v)) FROM t"
            )),
            ("SELECT json_agg(x) OVER (ORDER BY x) FROM t", Some("SELECT floe_json_agg(to_json(list(x) OVER (ORDER BY x)), 0) FROM t")),
            ("SELECT json_agg(json_build_object('id', id)) FROM t", Some(
                "SELECT floe_json_agg(to_json(list(floe_json_build_object(json_object('id', id)))), 2) FROM t"
            )),
            ("SELECT jsonb_build_object('a', 1), to_jsonb(x) FROM t", Some(
                "SELECT CAST(floe_jsonb_build_object(json_object('a', 1)) AS jsonb), \
                 CAST(floe_to_jsonb(to_json(x)) AS jsonb) FROM t"
            )),
        ]);
    }

    #[test]
    fn path_operators_become_pointers_in_parentheses() {
        check(&[
            (
                "SELECT j #> '{a,1}' IS NULL, t.j::jsonb #>> '{a/b,~}' FROM t",
                Some("SELECT (j -> '/a/1') IS NULL, (t.j::jsonb ->> '/a~1b/~0') FROM t"),
            ),
            (
                "SELECT j #> '{}', j #> $1, j #>> '{a}'::text[] FROM t",
                Some("SELECT (j -> '$'), (j -> floe_json_pointer($1)), (j ->> '/a') FROM t"),
            ),
        ]);
    }
}
