//! `timestamp with time zone` literals read in the session's time zone, as
//! PostgreSQL reads them: `'2024-01-01 12:00'::timestamptz` with `TimeZone`
//! `Europe/Paris` is 11:00 UTC. The engine (built without time zone support)
//! would read it as UTC. A literal without a zone of its own (cast with
//! `::`, `CAST(… AS …)` or written `timestamptz '…'`) becomes the UTC instant
//! it names, written with an explicit `+00`; literals that carry a zone or an
//! offset, and special values (`now`, `infinity`), are left to the engine.
//! Text parameters bound as `timestamptz` are read the same way. Date,
//! timestamp and timestamptz literals written with their era
//! (`'0044-03-15 BC'::date`), which the engine cannot read, are written with
//! the astronomical year it reads (`-0043-03-15`).

use crate::codec::text::SessionTz;
use crate::functions::text_casts::{split_era, zone_less_date_time};
use floe_sql::tokens::{punct_at, Tok, Token};

/// The type a literal is read as.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Target {
    Zoned,
    Date,
    Timestamp,
}

/// `sql` with every zone-less `timestamptz` literal replaced by its instant
/// in `tz`, and every date or timestamp literal with an era by the date it
/// names; `None` when it has none.
pub(super) fn inline_zoned_literals(sql: &str, tokens: &[Token], tz: &SessionTz) -> Option<String> {
    let mut edits: Vec<(usize, usize, String)> = Vec::new();
    let mut k = 0;
    while k < tokens.len() {
        let found = cast_literal(tokens, k)
            .or_else(|| typed_literal(tokens, k))
            .or_else(|| cast_call(tokens, k));
        if let Some((start, end, text, target)) = found {
            let replacement = match target {
                Target::Zoned => {
                    utc_instant(text, tz).map(|instant| format!("CAST('{instant}' AS TIMESTAMPTZ)"))
                }
                Target::Date | Target::Timestamp => era_literal(text, target),
            };
            if let Some(replacement) = replacement {
                edits.push((tokens[start].span.start, tokens[end].span.end, replacement));
                k = end + 1;
                continue;
            }
        }
        k += 1;
    }
    (!edits.is_empty()).then(|| floe_sql::apply(sql, edits))
}

/// Whether any literal of `tokens` may carry an era (`… BC`, `… AD`).
pub(super) fn mentions_an_era(tokens: &[Token]) -> bool {
    tokens
        .iter()
        .any(|t| matches!(&t.tok, Tok::Str(s) if split_era(s).1.is_some()))
}

/// A date or timestamp literal written with its era, as the engine reads
/// it; `None` for other text (the engine's own cast reads or refuses it).
fn era_literal(text: &str, target: Target) -> Option<String> {
    split_era(text).1?;
    let naive = zone_less_date_time(text)?;
    Some(match target {
        Target::Date => format!("CAST('{}' AS DATE)", naive.format("%Y-%m-%d")),
        _ => format!(
            "CAST('{}' AS TIMESTAMP)",
            naive.format("%Y-%m-%d %H:%M:%S%.6f")
        ),
    })
}

/// The end of a date or time type name starting at token `k`
/// (`timestamptz`, `timestamp with[out] time zone`, `timestamp`, `date`,
/// either after `pg_catalog.`), not an array, and what it reads as.
fn literal_type_end(tokens: &[Token], mut k: usize) -> Option<(usize, Target)> {
    if tokens.get(k).is_some_and(|t| t.is_word("pg_catalog")) && punct_at(tokens, k + 1, '.') {
        k += 2;
    }
    let zone_follows = |with: &str| {
        tokens.get(k + 1).is_some_and(|t| t.is_word(with))
            && tokens.get(k + 2).is_some_and(|t| t.is_word("time"))
            && tokens.get(k + 3).is_some_and(|t| t.is_word("zone"))
    };
    let (end, target) = if tokens.get(k)?.is_word("timestamptz") {
        (k, Target::Zoned)
    } else if tokens.get(k)?.is_word("timestamp") && zone_follows("with") {
        (k + 3, Target::Zoned)
    } else if tokens.get(k)?.is_word("timestamp") && zone_follows("without") {
        (k + 3, Target::Timestamp)
    } else if tokens.get(k)?.is_word("timestamp") {
        (k, Target::Timestamp)
    } else if tokens.get(k)?.is_word("date") {
        (k, Target::Date)
    } else {
        return None;
    };
    (!punct_at(tokens, end + 1, '[')).then_some((end, target))
}

fn string_at(tokens: &[Token], k: usize) -> Option<&str> {
    match &tokens.get(k)?.tok {
        Tok::Str(s) => Some(s),
        _ => None,
    }
}

/// `'…'::timestamptz` at token `k`: (first token, last token, the text, its
/// type).
fn cast_literal(tokens: &[Token], k: usize) -> Option<(usize, usize, &str, Target)> {
    let text = string_at(tokens, k)?;
    if !(punct_at(tokens, k + 1, ':') && punct_at(tokens, k + 2, ':')) {
        return None;
    }
    // `'…'::a::b` casts again: only the first cast reads the text.
    let (end, target) = literal_type_end(tokens, k + 3)?;
    Some((k, end, text, target))
}

/// `timestamptz '…'` at token `k`.
fn typed_literal(tokens: &[Token], k: usize) -> Option<(usize, usize, &str, Target)> {
    // Not the type of a cast (`x::timestamptz 'y'` is no literal).
    if k >= 1 && punct_at(tokens, k - 1, ':') {
        return None;
    }
    let (end, target) = literal_type_end(tokens, k)?;
    Some((k, end + 1, string_at(tokens, end + 1)?, target))
}

/// `CAST('…' AS timestamptz)` at token `k`.
fn cast_call(tokens: &[Token], k: usize) -> Option<(usize, usize, &str, Target)> {
    if !(tokens.get(k)?.is_word("cast") && punct_at(tokens, k + 1, '(')) {
        return None;
    }
    let text = string_at(tokens, k + 2)?;
    if !tokens.get(k + 3)?.is_word("as") {
        return None;
    }
    let (end, target) = literal_type_end(tokens, k + 4)?;
    punct_at(tokens, end + 1, ')').then_some((k, end + 1, text, target))
}

/// The UTC instant (`YYYY-MM-DD HH:MM:SS.ffffff+00`) a zone-less date-time
/// names in `tz`; `None` for text with a zone or offset, special values and
/// anything else the engine should read itself.
pub(super) fn utc_instant(text: &str, tz: &SessionTz) -> Option<String> {
    let utc = crate::functions::text_casts::instant_in_zone(text, tz)?;
    let instant = chrono::DateTime::from_timestamp_micros(utc)?;
    Some(instant.format("%Y-%m-%d %H:%M:%S%.6f+00").to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use floe_sql::tokens::tokenize;

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
    fn literals_with_an_era_name_the_astronomical_year() {
        assert_eq!(
            inline(
                "SELECT '0044-03-15 BC'::date, timestamp '0044-03-15 10:30 bc', \
                 CAST('2024-01-02 AD' AS date), date '0001-01-01 BC'",
                "UTC"
            )
            .as_deref(),
            Some(
                "SELECT CAST('-0043-03-15' AS DATE), CAST('-0043-03-15 10:30:00.000000' AS TIMESTAMP), \
                 CAST('2024-01-02' AS DATE), CAST('0000-01-01' AS DATE)"
            )
        );
        assert_eq!(
            inline("SELECT '0044-03-15 12:00 BC'::timestamptz", "UTC").as_deref(),
            Some("SELECT CAST('-0043-03-15 12:00:00.000000+00' AS TIMESTAMPTZ)")
        );
        // No year zero BC; dates without an era are the engine's.
        assert_eq!(inline("SELECT '0000-01-01 BC'::date", "UTC"), None);
        assert_eq!(inline("SELECT '2024-01-01'::date", "UTC"), None);
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
