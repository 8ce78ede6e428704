//! `EXTRACT(field FROM x)` and `date_part(field, x)` as PostgreSQL 15 gives
//! them: EXTRACT a `numeric` whose scale depends on the field (seconds six
//! decimals, years none), date_part a `double precision` with fractional
//! seconds. The engine's own give whole numbers. EXTRACT becomes the
//! worker's `floe_extract_sN('field', x)` for the field's scale
//! (`floe_sql::date_field`), `date_part(` becomes `floe_date_part(`; the
//! operand is left for the other rules.

use sqlparser::tokenizer::Token;

use super::{call_start, is_word, lit, matching_paren};

type Edit = (usize, usize, String);

/// The edits for every EXTRACT and date_part call in `toks`.
pub(super) fn date_field_edits(toks: &[floe_sql::Spanned]) -> Vec<Edit> {
    let tok = |k: usize| toks.get(k).map(|t| &t.token);
    let mut edits = Vec::new();
    for k in 0..toks.len() {
        if !matches!(tok(k + 1), Some(Token::LParen)) {
            continue;
        }
        // Not a column or a function of another schema (`t.extract`).
        let Some(start) = call_start(toks, k) else {
            continue;
        };
        if is_word(tok(k), "date_part") {
            edits.push((start, toks[k].end, "floe_date_part".to_string()));
        } else if is_word(tok(k), "extract") && is_word(tok(k + 3), "FROM") {
            let field = match tok(k + 2) {
                Some(Token::Word(w)) => w.value.clone(),
                Some(Token::SingleQuotedString(s)) => s.clone(),
                _ => continue,
            };
            if matching_paren(toks, k + 1).is_none() {
                continue;
            }
            let function = floe_sql::date_field::extract_function(&field);
            edits.push((
                start,
                toks[k + 3].end,
                format!("{function}({},", lit(&field)),
            ));
        }
    }
    edits
}

#[cfg(test)]
mod tests {
    use crate::compat::rewrite::tests::check;

    #[test]
    fn extract_takes_the_scale_of_its_field() {
        check(&[
            (
                "SELECT extract(year FROM d), EXTRACT(SECOND FROM t) FROM x",
                Some("SELECT floe_extract_s0('year', d), floe_extract_s6('SECOND', t) FROM x"),
            ),
            (
                "SELECT extract('epoch' from now())",
                Some("SELECT floe_extract_s6('epoch', now())"),
            ),
        ]);
    }

    #[test]
    fn date_part_is_floes() {
        check(&[(
            "SELECT pg_catalog.date_part('hour', t), date_part('ms', t) FROM x",
            Some("SELECT floe_date_part('hour', t), floe_date_part('ms', t) FROM x"),
        )]);
        // A column named extract, another schema's function: left alone.
        check(&[("SELECT t.extract, s.date_part(1) FROM t", None)]);
    }

    #[test]
    fn operands_keep_their_own_rewrites() {
        check(&[(
            "SELECT extract(hour FROM placed::timestamp) FROM t",
            Some("SELECT floe_extract_s0('hour', floe_as_timestamp(placed)) FROM t"),
        )]);
    }
}
