//! `timestamp with time zone` literals read in the session's time zone, as
//! PostgreSQL reads them: `'2024-01-01 12:00'::timestamptz` with `TimeZone`
//! `Europe/Paris` is 11:00 UTC. The engine (built without time zone support)
//! would read it as UTC. A literal without a zone of its own (cast with
//! `::`, `CAST(… AS …)` or written `timestamptz '…'`) becomes the UTC instant
//! it names, written with an explicit `+00`; literals that carry a zone or an
//! offset, and special values (`now`, `infinity`), are left to the engine.
//! Text parameters bound as `timestamptz` are read the same way.

use crate::pg_text::SessionTz;
use crate::sql_text::{punct_at, Tok, Token};

/// `sql` with every zone-less `timestamptz` literal replaced by its instant
/// in `tz`; `None` when it has none.
pub(super) fn inline_zoned_literals(sql: &str, tokens: &[Token], tz: &SessionTz) -> Option<String> {
    let mut edits: Vec<(usize, usize, String)> = Vec::new();
    let mut k = 0;
    while k < tokens.len() {
        let found = cast_literal(tokens, k)
            .or_else(|| typed_literal(tokens, k))
            .or_else(|| cast_call(tokens, k));
        if let Some((start, end, text)) = found {
            if let Some(instant) = utc_instant(text, tz) {
                edits.push((
                    tokens[start].span.start,
                    tokens[end].span.end,
                    format!("CAST('{instant}' AS TIMESTAMPTZ)"),
                ));
                k = end + 1;
                continue;
            }
        }
        k += 1;
    }
    (!edits.is_empty()).then(|| floe_sql::apply(sql, edits))
}

/// The end of a `timestamptz` type name starting at token `k` (`timestamptz`,
/// `timestamp with time zone`, either after `pg_catalog.`), not an array.
fn zoned_type_end(tokens: &[Token], mut k: usize) -> Option<usize> {
    if tokens.get(k).is_some_and(|t| t.is_word("pg_catalog")) && punct_at(tokens, k + 1, '.') {
        k += 2;
    }
    let end = if tokens.get(k)?.is_word("timestamptz") {
        k
    } else if tokens.get(k)?.is_word("timestamp")
        && tokens.get(k + 1)?.is_word("with")
        && tokens.get(k + 2)?.is_word("time")
        && tokens.get(k + 3)?.is_word("zone")
    {
        k + 3
    } else {
        return None;
    };
    (!punct_at(tokens, end + 1, '[')).then_some(end)
}

fn string_at(tokens: &[Token], k: usize) -> Option<&str> {
    match &tokens.get(k)?.tok {
        Tok::Str(s) => Some(s),
        _ => None,
    }
}

/// `'…'::timestamptz` at token `k`: (first token, last token, the text).
fn cast_literal(tokens: &[Token], k: usize) -> Option<(usize, usize, &str)> {
    let text = string_at(tokens, k)?;
    if !(punct_at(tokens, k + 1, ':') && punct_at(tokens, k + 2, ':')) {
        return None;
    }
    // `'…'::a::b` casts again: only the first cast reads the text.
    Some((k, zoned_type_end(tokens, k + 3)?, text))
}

/// `timestamptz '…'` at token `k`.
fn typed_literal(tokens: &[Token], k: usize) -> Option<(usize, usize, &str)> {
    // Not the type of a cast (`x::timestamptz 'y'` is no literal).
    if k >= 1 && punct_at(tokens, k - 1, ':') {
        return None;
    }
    let end = zoned_type_end(tokens, k)?;
    Some((k, end + 1, string_at(tokens, end + 1)?))
}

/// `CAST('…' AS timestamptz)` at token `k`.
fn cast_call(tokens: &[Token], k: usize) -> Option<(usize, usize, &str)> {
    if !(tokens.get(k)?.is_word("cast") && punct_at(tokens, k + 1, '(')) {
        return None;
    }
    let text = string_at(tokens, k + 2)?;
    if !tokens.get(k + 3)?.is_word("as") {
        return None;
    }
    let end = zoned_type_end(tokens, k + 4)?;
    punct_at(tokens, end + 1, ')').then_some((k, end + 1, text))
}

/// The UTC instant (`YYYY-MM-DD HH:MM:SS.ffffff+00`) a zone-less date-time
/// names in `tz`; `None` for text with a zone or offset, special values and
/// anything else the engine should read itself.
pub(super) fn utc_instant(text: &str, tz: &SessionTz) -> Option<String> {
    let utc = crate::text_casts::instant_in_zone(text, tz)?;
    let instant = chrono::DateTime::from_timestamp_micros(utc)?;
    Some(instant.format("%Y-%m-%d %H:%M:%S%.6f+00").to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sql_text::tokenize;

    fn inline(sql: &str, zone: &str) -> Option<String> {
        let tz = SessionTz::parse(zone).expect("zone");
        inline_zoned_literals(sql, &tokenize(sql), &tz)
    }

    #[test]
    fn zone_less_literals_are_read_in_the_session_zone() {
        assert_eq!(
            inline("SELECT '2024-01-01 12:00'::timestamptz", "Europe/Paris").as_deref(),
            Some("SELECT CAST('2024-01-01 11:00:00.000000+00' AS TIMESTAMPTZ)")
        );
        assert_eq!(
            inline(
                "SELECT timestamp with time zone '2024-06-01 12:00:00.5', \
                 CAST('2024-06-01' AS pg_catalog.timestamptz)",
                "Europe/Paris"
            )
            .as_deref(),
            Some(
                "SELECT CAST('2024-06-01 10:00:00.500000+00' AS TIMESTAMPTZ), \
                 CAST('2024-05-31 22:00:00.000000+00' AS TIMESTAMPTZ)"
            )
        );
        assert_eq!(
            inline("SELECT timestamptz '2024-01-01 12:00'", "-05:30").as_deref(),
            Some("SELECT CAST('2024-01-01 17:30:00.000000+00' AS TIMESTAMPTZ)")
        );
    }

    #[test]
    fn literals_with_zones_and_other_types_stay() {
        for sql in [
            "SELECT '2024-01-01 12:00+02'::timestamptz",
            "SELECT '2024-01-01 12:00Z'::timestamptz",
            "SELECT 'now'::timestamptz",
            "SELECT '2024-01-01 12:00'::timestamp",
            "SELECT '{2024-01-01}'::timestamptz[]",
            "SELECT x::timestamptz FROM t",
        ] {
            assert_eq!(inline(sql, "Europe/Paris"), None, "{sql}");
        }
    }
}
