//! `to_date(text, template)` and `to_timestamp(text, template)` as PostgreSQL
//! reads a date or time from text by a template (the reverse of `to_char`):
//! numeric fields (`YYYY`, `MM`, `DD`, `DDD`, `HH24`, `HH12`, `MI`, `SS`,
//! `MS`, `US`, `FF1`–`FF6`, `TZH`, `TZM`), month and day names (`Month`,
//! `Mon`, `Day`, `Dy`, any case), `AM`/`PM`, the era (`BC`/`AD`), `FM`, quoted text and
//! separators. As in PostgreSQL (outside `FX` mode) a separator in the
//! template matches any one separator in the text or none, blanks are
//! skipped, a field followed by a separator reads all its digits, text left
//! over is ignored and fields not given take their first value.

use crate::pg_error::sqlstate;
use chrono::{NaiveDate, NaiveDateTime};

/// A template field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Field {
    Year(usize),
    Month,
    MonthName {
        abbreviated: bool,
    },
    DayName {
        abbreviated: bool,
    },
    Day,
    DayOfYear,
    DayOfWeek,
    Hour24,
    Hour12,
    Minute,
    Second,
    /// Fractional second digits; the field's width.
    Fraction(usize),
    Meridiem {
        dotted: bool,
    },
    /// `BC`/`AD` (or `B.C.`/`A.D.`): the era of the year.
    Era,
    OffsetHours,
    OffsetMinutes,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Node {
    Field(Field, &'static str),
    Literal(String),
    Separator,
    Blank,
}

/// Template patterns, longest first where one begins another.
const PATTERNS: &[(&str, Field)] = &[
    ("YYYY", Field::Year(4)),
    ("YYY", Field::Year(3)),
    ("YY", Field::Year(2)),
    ("Y", Field::Year(1)),
    ("MONTH", Field::MonthName { abbreviated: false }),
    ("MON", Field::MonthName { abbreviated: true }),
    ("MM", Field::Month),
    ("MS", Field::Fraction(3)),
    ("MI", Field::Minute),
    ("DAY", Field::DayName { abbreviated: false }),
    ("DY", Field::DayName { abbreviated: true }),
    ("DDD", Field::DayOfYear),
    ("DD", Field::Day),
    ("D", Field::DayOfWeek),
    ("HH24", Field::Hour24),
    ("HH12", Field::Hour12),
    ("HH", Field::Hour12),
    ("SS", Field::Second),
    ("US", Field::Fraction(6)),
    ("FF1", Field::Fraction(1)),
    ("FF2", Field::Fraction(2)),
    ("FF3", Field::Fraction(3)),
    ("FF4", Field::Fraction(4)),
    ("FF5", Field::Fraction(5)),
    ("FF6", Field::Fraction(6)),
    ("A.M.", Field::Meridiem { dotted: true }),
    ("P.M.", Field::Meridiem { dotted: true }),
    ("AM", Field::Meridiem { dotted: false }),
    ("PM", Field::Meridiem { dotted: false }),
    ("A.D.", Field::Era),
    ("B.C.", Field::Era),
    ("AD", Field::Era),
    ("BC", Field::Era),
    ("TZH", Field::OffsetHours),
    ("TZM", Field::OffsetMinutes),
];

const MONTHS: [&str; 12] = [
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
];
const DAYS: [&str; 7] = [
    "sunday",
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
];

/// Why text did not read as a date: PostgreSQL's SQLSTATE and message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadError {
    pub sqlstate: &'static str,
    pub message: String,
}

/// What the text gave.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Read {
    pub local: NaiveDateTime,
    /// `TZH`/`TZM`: seconds east of Greenwich.
    pub offset: Option<i32>,
}

fn template_nodes(template: &str) -> Vec<Node> {
    let mut nodes = Vec::new();
    let mut rest = template;
    while let Some(c) = rest.chars().next() {
        if let Some(stripped) = rest.strip_prefix("FM").or_else(|| rest.strip_prefix("fm")) {
            rest = stripped;
            continue;
        }
        if c == '"' {
            let body = &rest[1..];
            let end = body.find('"').unwrap_or(body.len());
            nodes.push(Node::Literal(body[..end].to_string()));
            rest = body.get(end + 1..).unwrap_or("");
            continue;
        }
        let upper = rest.to_ascii_uppercase();
        if let Some((p, f)) = PATTERNS.iter().find(|(p, _)| upper.starts_with(p)) {
            nodes.push(Node::Field(*f, p));
            rest = &rest[p.len()..];
            continue;
        }
        nodes.push(if c.is_whitespace() {
            Node::Blank
        } else if c.is_alphanumeric() {
            Node::Literal(c.to_string())
        } else {
            Node::Separator
        });
        rest = &rest[c.len_utf8()..];
    }
    nodes
}

/// The year a field of fewer than four digits names: the nearest to 2020.
fn nearest_year(year: i64) -> i64 {
    match year {
        0..=69 => year + 2000,
        70..=99 => year + 1900,
        100..=519 => year + 2000,
        520..=999 => year + 1000,
        _ => year,
    }
}

struct Reader<'a> {
    text: &'a str,
    pos: usize,
}

impl Reader<'_> {
    fn rest(&self) -> &str {
        &self.text[self.pos..]
    }

    fn skip_blanks(&mut self) {
        let rest = self.rest();
        self.pos += rest.len() - rest.trim_start().len();
    }

    /// Digits at the reading position: at most `width` when `limited`.
    fn digits(&mut self, width: usize, limited: bool) -> Option<(i64, usize)> {
        let rest = self.rest();
        let count = rest
            .chars()
            .take_while(char::is_ascii_digit)
            .take(if limited { width } else { 18 })
            .count();
        if count == 0 {
            return None;
        }
        let value = rest[..count].parse().ok()?;
        self.pos += count;
        Some((value, count))
    }

    /// Reads the first of `markers` (lower case; the text in any case) the
    /// text starts with: that marker's meaning.
    fn marker(&mut self, markers: &[(&str, bool)]) -> Option<bool> {
        let rest = self.rest().to_ascii_lowercase();
        let (text, meaning) = markers.iter().find(|(m, _)| rest.starts_with(m))?;
        self.pos += text.len();
        Some(*meaning)
    }

    /// The name among `names` (or their first three letters) at the reading
    /// position: its index.
    fn name(&mut self, names: &[&str], abbreviated: bool) -> Option<usize> {
        let rest = self.rest().to_ascii_lowercase();
        let found = names.iter().position(|n| {
            let n = if abbreviated { &n[..3] } else { n };
            rest.starts_with(n)
        })?;
        let len = if abbreviated { 3 } else { names[found].len() };
        self.pos += len;
        Some(found)
    }
}

/// Reads `text` by `template`.
pub fn read(text: &str, template: &str) -> Result<Read, ReadError> {
    let nodes = template_nodes(template);
    let mut r = Reader { text, pos: 0 };
    let mut year: Option<i64> = None;
    let (mut month, mut day, mut day_of_year) = (None, None, None);
    let (mut hour, mut minute, mut second, mut micros) = (0i64, 0i64, 0i64, 0i64);
    let mut twelve_hour = false;
    let mut pm: Option<bool> = None;
    let mut before_christ = false;
    let (mut offset_hours, mut offset_minutes): (Option<i64>, i64) = (None, 0);
    let invalid = |text: &str, pattern: &str| ReadError {
        sqlstate: sqlstate::INVALID_DATETIME_FORMAT,
        message: format!(
            "invalid value \"{}\" for \"{pattern}\"",
            text.chars().take(pattern.len().max(1)).collect::<String>()
        ),
    };
    for (i, node) in nodes.iter().enumerate() {
        match node {
            Node::Blank => r.skip_blanks(),
            Node::Separator => {
                if r.rest()
                    .starts_with(|c: char| !c.is_alphanumeric() && !c.is_whitespace())
                {
                    let c = r.rest().chars().next().map_or(1, char::len_utf8);
                    r.pos += c;
                }
            }
            Node::Literal(l) => {
                let n: usize = r
                    .rest()
                    .chars()
                    .take(l.chars().count())
                    .map(char::len_utf8)
                    .sum();
                r.pos += n;
            }
            Node::Field(field, pattern) => {
                if r.rest().is_empty() {
                    break;
                }
                r.skip_blanks();
                // A field right before another reads only its own width.
                let limited = matches!(nodes.get(i + 1), Some(Node::Field(..)));
                let mut number = |width: usize| {
                    r.digits(width, limited)
                        .ok_or_else(|| invalid(r.rest(), pattern))
                };
                match field {
                    Field::Year(width) => {
                        let (v, n) = number(*width)?;
                        year = Some(if *width < 4 && n < 4 {
                            nearest_year(v)
                        } else {
                            v
                        });
                    }
                    Field::Month => month = Some(number(2)?.0),
                    Field::Day => day = Some(number(2)?.0),
                    Field::DayOfYear => day_of_year = Some(number(3)?.0),
                    Field::DayOfWeek => {
                        number(1)?;
                    }
                    Field::Hour24 => hour = number(2)?.0,
                    Field::Hour12 => {
                        hour = number(2)?.0;
                        twelve_hour = true;
                    }
                    Field::Minute => minute = number(2)?.0,
                    Field::Second => second = number(2)?.0,
                    Field::Fraction(width) => {
                        let (v, n) = number(*width)?;
                        let n = u32::try_from(n).unwrap_or(6).min(6);
                        micros = v * 10i64.pow(6 - n);
                    }
                    Field::MonthName { abbreviated } => {
                        let m = r
                            .name(&MONTHS, *abbreviated)
                            .ok_or_else(|| invalid(r.rest(), pattern))?;
                        month = Some(m as i64 + 1);
                    }
                    Field::DayName { abbreviated } => {
                        r.name(&DAYS, *abbreviated)
                            .ok_or_else(|| invalid(r.rest(), pattern))?;
                    }
                    Field::Meridiem { .. } => {
                        let is_pm = r
                            .marker(&[("a.m.", false), ("p.m.", true), ("am", false), ("pm", true)])
                            .ok_or_else(|| invalid(r.rest(), pattern))?;
                        pm = Some(is_pm);
                    }
                    Field::Era => {
                        before_christ = r
                            .marker(&[("b.c.", true), ("a.d.", false), ("bc", true), ("ad", false)])
                            .ok_or_else(|| invalid(r.rest(), pattern))?;
                    }
                    Field::OffsetHours => {
                        let negative = r.rest().starts_with('-');
                        if negative || r.rest().starts_with('+') {
                            r.pos += 1;
                        }
                        let (v, _) = r
                            .digits(2, limited)
                            .ok_or_else(|| invalid(r.rest(), pattern))?;
                        offset_hours = Some(if negative { -v } else { v });
                    }
                    Field::OffsetMinutes => offset_minutes = number(2)?.0,
                }
            }
        }
    }
    let out_of_range = || ReadError {
        sqlstate: sqlstate::DATETIME_FIELD_OVERFLOW,
        message: format!("date/time field value out of range: \"{text}\""),
    };
    if twelve_hour || pm.is_some() {
        if !(1..=12).contains(&hour) && twelve_hour {
            return Err(ReadError {
                sqlstate: sqlstate::DATETIME_FIELD_OVERFLOW,
                message: format!("hour \"{hour}\" is invalid for the 12-hour clock"),
            });
        }
        match pm {
            Some(true) if hour < 12 => hour += 12,
            Some(false) if hour == 12 => hour = 0,
            _ => {}
        }
    }
    // No year given: PostgreSQL's year zero (1 BC). A year BC counts back
    // from 1 BC, the astronomical year 0.
    let year = i32::try_from(year.unwrap_or(0)).map_err(|_| out_of_range())?;
    let year = match (before_christ, year) {
        (true, y) if y > 0 => 1 - y,
        _ => year,
    };
    let date = match (day_of_year, month, day) {
        (Some(doy), None, None) => {
            NaiveDate::from_yo_opt(year, u32::try_from(doy).map_err(|_| out_of_range())?)
        }
        _ => {
            let m = u32::try_from(month.unwrap_or(1)).map_err(|_| out_of_range())?;
            let d = u32::try_from(day.unwrap_or(1)).map_err(|_| out_of_range())?;
            NaiveDate::from_ymd_opt(year, m, d)
        }
    }
    .ok_or_else(out_of_range)?;
    let in_range =
        (0..24).contains(&hour) && (0..60).contains(&minute) && (0..60).contains(&second);
    if !in_range {
        return Err(out_of_range());
    }
    let local = date
        .and_hms_micro_opt(hour as u32, minute as u32, second as u32, micros as u32)
        .ok_or_else(out_of_range)?;
    let offset = offset_hours.map(|h| {
        let minutes = if h < 0 {
            -offset_minutes
        } else {
            offset_minutes
        };
        (h * 3600 + minutes * 60) as i32
    });
    Ok(Read { local, offset })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(text: &str, template: &str) -> Result<String, String> {
        read(text, template)
            .map(|r| {
                use chrono::Datelike;
                let d = r.local.date();
                format!("{:04}-{:02}-{:02}", d.year(), d.month(), d.day())
            })
            .map_err(|e| format!("{} {}", e.sqlstate, e.message))
    }

    fn timestamp(text: &str, template: &str) -> Result<String, String> {
        read(text, template)
            .map(|r| {
                let utc = r.local - chrono::Duration::seconds(i64::from(r.offset.unwrap_or(0)));
                utc.format("%Y-%m-%d %H:%M:%S%.f").to_string()
            })
            .map_err(|e| format!("{} {}", e.sqlstate, e.message))
    }

    /// The answers PostgreSQL 15 gives (to_date(...)::text, in UTC).
    #[test]
    fn dates_read_as_postgres_reads_them() {
        let ok =
            |t: &str, f: &str, want: &str| assert_eq!(date(t, f).as_deref(), Ok(want), "{t} / {f}");
        ok("2024-03-05", "YYYY-MM-DD", "2024-03-05");
        ok("05 Mar 2024", "DD Mon YYYY", "2024-03-05");
        ok("20240305", "YYYYMMDD", "2024-03-05");
        ok("March 5, 2024", "Month DD, YYYY", "2024-03-05");
        ok("5/3/24", "DD/MM/YY", "2024-03-05");
        ok("2024-3-5", "YYYY-MM-DD", "2024-03-05");
        ok("  2024 03 05", "YYYY MM DD", "2024-03-05");
        ok("2024.03.05", "YYYY-MM-DD", "2024-03-05");
        ok("05-MAR-2024", "DD-MON-YYYY", "2024-03-05");
        ok("2024", "YYYY", "2024-01-01");
        ok("2024-065", "YYYY-DDD", "2024-03-05");
        ok("Tue 2024-03-05", "Dy YYYY-MM-DD", "2024-03-05");
        ok("99-01-01", "YY-MM-DD", "1999-01-01");
        ok("2024-03-05 trailing", "YYYY-MM-DD", "2024-03-05");
        ok("12345-01-01", "YYYY-MM-DD", "12345-01-01");
        ok("2024-03", "YYYY-MM-DD", "2024-03-01");
        assert_eq!(
            date("2024-13-01", "YYYY-MM-DD"),
            Err("22008 date/time field value out of range: \"2024-13-01\"".into())
        );
        assert_eq!(
            date("2024-02-30", "YYYY-MM-DD"),
            Err("22008 date/time field value out of range: \"2024-02-30\"".into())
        );
        assert_eq!(
            date("abc", "YYYY-MM-DD"),
            Err("22007 invalid value \"abc\" for \"YYYY\"".into())
        );
    }

    #[test]
    fn timestamps_read_as_postgres_reads_them() {
        let ok = |t: &str, f: &str, want: &str| {
            assert_eq!(timestamp(t, f).as_deref(), Ok(want), "{t} / {f}")
        };
        ok(
            "2024-03-05 14:30:00",
            "YYYY-MM-DD HH24:MI:SS",
            "2024-03-05 14:30:00",
        );
        ok(
            "2024-03-05 02:30:00 PM",
            "YYYY-MM-DD HH:MI:SS AM",
            "2024-03-05 14:30:00",
        );
        ok(
            "2024-03-05 12:00:00 am",
            "YYYY-MM-DD HH12:MI:SS am",
            "2024-03-05 00:00:00",
        );
        ok(
            "2024-03-05 14:30:00.123",
            "YYYY-MM-DD HH24:MI:SS.MS",
            "2024-03-05 14:30:00.123",
        );
        ok(
            "2024-03-05 14:30:00.123456",
            "YYYY-MM-DD HH24:MI:SS.US",
            "2024-03-05 14:30:00.123456",
        );
        ok(
            "05/03/2024 14h30",
            "DD/MM/YYYY HH24\"h\"MI",
            "2024-03-05 14:30:00",
        );
        ok(
            "2024-03-05T14:30:00",
            "YYYY-MM-DD\"T\"HH24:MI:SS",
            "2024-03-05 14:30:00",
        );
        ok(
            "2024-03-05 14:30:00 +02",
            "YYYY-MM-DD HH24:MI:SS TZH",
            "2024-03-05 12:30:00",
        );
        ok(
            "2024-03-05 14:30:00 -05:30",
            "YYYY-MM-DD HH24:MI:SS TZH:TZM",
            "2024-03-05 20:00:00",
        );
        ok(
            "2024-03-05 14:30",
            "YYYY-MM-DD HH24:MI",
            "2024-03-05 14:30:00",
        );
        ok(
            "2024-03-05 14:30:00.5",
            "YYYY-MM-DD HH24:MI:SS.FF1",
            "2024-03-05 14:30:00.500",
        );
        assert_eq!(
            timestamp("2024-03-05 25:00:00", "YYYY-MM-DD HH24:MI:SS"),
            Err("22008 date/time field value out of range: \"2024-03-05 25:00:00\"".into())
        );
    }
}
