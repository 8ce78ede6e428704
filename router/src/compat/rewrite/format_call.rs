//! PostgreSQL's `format(fmt, args…)` with a literal format string, as the
//! `concat` of its pieces (see `format_call`).

use sqlparser::tokenizer::Token;

use super::{lit, matching_paren, top_level_commas};

/// One piece of a `format()` string: literal text, or the next argument
/// written as `%s`, `%I` or `%L`.
#[derive(Debug, PartialEq)]
enum FormatPiece {
    Text(String),
    Argument(char),
}

/// A `format()` string in pieces; `None` when it uses what the rewrite does
/// not (argument positions, flags, widths, unknown conversions).
fn format_pieces(text: &str) -> Option<Vec<FormatPiece>> {
    let mut pieces = Vec::new();
    let mut literal = String::new();
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c != '%' {
            literal.push(c);
            continue;
        }
        match chars.next()? {
            '%' => literal.push('%'),
            conversion @ ('s' | 'I' | 'L') => {
                if !literal.is_empty() {
                    pieces.push(FormatPiece::Text(std::mem::take(&mut literal)));
                }
                pieces.push(FormatPiece::Argument(conversion));
            }
            _ => return None,
        }
    }
    if !literal.is_empty() {
        pieces.push(FormatPiece::Text(literal));
    }
    Some(pieces)
}

/// PostgreSQL's `format(fmt, args…)` with a literal `fmt` whose conversions
/// take the arguments in order: edits at the call's boundaries (the arguments
/// themselves are left for the other rules) turning it into `concat` (inside
/// `floe_format`, which names the column `format`) of the
/// literal text and each argument as text (`%s`, NULL as empty), identifier
/// (`%I`) or literal (`%L`, NULL as `NULL`).
pub(super) fn format_call(
    toks: &[floe_sql::Spanned],
    k: usize,
) -> Option<Vec<(usize, usize, String)>> {
    let close = matching_paren(toks, k + 1)?;
    let Some(Token::SingleQuotedString(text)) = toks.get(k + 2).map(|t| &t.token) else {
        return None;
    };
    let pieces = format_pieces(text)?;
    // The commas separating the arguments (the first follows the format string).
    let commas = top_level_commas(toks, k + 2, close);
    let conversions: Vec<char> = pieces
        .iter()
        .filter_map(|p| match p {
            FormatPiece::Argument(c) => Some(*c),
            FormatPiece::Text(_) => None,
        })
        .collect();
    let arguments_in_order = match commas.first() {
        Some(first) => *first == k + 3,
        None => close == k + 3,
    };
    // Arguments beyond the conversions are ignored, as PostgreSQL does.
    if !arguments_in_order || commas.len() < conversions.len() {
        return None;
    }
    let open_of = |c: char| match c {
        'I' => "quote_ident(CAST((",
        'L' => "COALESCE(quote_literal(CAST((",
        _ => "COALESCE(CAST((",
    };
    let close_of = |c: char| match c {
        'I' => ") AS VARCHAR))",
        'L' => ") AS VARCHAR)), 'NULL')",
        _ => ") AS VARCHAR), '')",
    };
    // The literal text before each argument and after the last, as SQL strings.
    let mut between: Vec<String> = vec![String::new()];
    for p in &pieces {
        match p {
            FormatPiece::Text(t) => {
                let last = between.last_mut()?;
                last.push_str(", ");
                last.push_str(&lit(t));
            }
            FormatPiece::Argument(_) => between.push(String::new()),
        }
    }
    let span = |j: usize| (toks[j].start, toks[j].end);
    let first = conversions
        .first()
        .map_or(String::new(), |c| format!(", {}", open_of(*c)));
    let mut edits = vec![(
        span(k).0,
        span(k + 2).1,
        format!("floe_format(concat(''{}{first}", between[0]),
    )];
    // An unused argument is still evaluated, as text of length zero.
    let (unused_open, unused_close) = (", substr(CAST((", ") AS VARCHAR), 1, 0)");
    let used = conversions.len();
    for (n, comma) in commas.iter().enumerate() {
        let text = match n {
            // The comma after the format string starts the first argument.
            0 if used > 0 => String::new(),
            0 => unused_open.to_string(),
            n if n < used => format!(
                "{}{}, {}",
                close_of(conversions[n - 1]),
                between[n],
                open_of(conversions[n])
            ),
            n if n == used => format!(
                "{}{}{unused_open}",
                close_of(conversions[n - 1]),
                between[n]
            ),
            _ => format!("{unused_close}{unused_open}"),
        };
        edits.push((span(*comma).0, span(*comma).1, text));
    }
    // The end of the last argument and the text after it (with no conversion,
    // the first edit wrote all the text).
    let ending = match (conversions.last(), commas.len() > used) {
        (_, true) => unused_close.to_string(),
        (Some(c), false) => format!("{}{}", close_of(*c), between.last()?),
        (None, false) => String::new(),
    };
    edits.push((span(close).0, span(close).1, format!("{ending}))")));
    Some(edits)
}

#[cfg(test)]
mod tests {
    use crate::compat::rewrite::tests::check;

    #[test]
    fn format_becomes_concat() {
        check(&[
            ("SELECT pg_catalog.format('%I.%I', n.nspname, c.relname) FROM t", Some(
                "SELECT floe_format(concat('', quote_ident(CAST(( n.nspname) AS VARCHAR)), '.', \
                 quote_ident(CAST(( c.relname) AS VARCHAR)))) FROM t"
            )),
            ("SELECT format('100%% %s=%L', k, v::regclass)", Some(
                "SELECT floe_format(concat('', '100% ', COALESCE(CAST(( k) AS VARCHAR), ''), '=', \
                 COALESCE(quote_literal(CAST(( v::floe_regclass) AS VARCHAR)), 'NULL')))"
            )),
            ("SELECT format('x%%')", Some("SELECT floe_format(concat('', 'x%'))")),
            ("SELECT format('%%I', c.opcname)", Some(
                "SELECT floe_format(concat('', '%I', substr(CAST(( c.opcname) AS VARCHAR), 1, 0)))"
            )),
            ("SELECT format('%s!', a, b)", Some(
                "SELECT floe_format(concat('', COALESCE(CAST(( a) AS VARCHAR), ''), '!', \
                 substr(CAST(( b) AS VARCHAR), 1, 0)))"
            )),
        ]);
        // Positions and too few arguments are left as written.
        check(&[
            ("SELECT format('%1$s', a)", None),
            ("SELECT format('%s %s', a)", None),
        ]);
    }
}
