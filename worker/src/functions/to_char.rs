//! PostgreSQL's `to_char(date/time, template)`: the template patterns BI tools
//! and reports write (`YYYY-MM-DD`, `HH24:MI:SS.MS`, `Mon YYYY`, `FMDay`, `Q`,
//! `IYYY-IW`, `TZ`, …) with PostgreSQL's padding, fill mode (`FM`), ordinal
//! suffixes (`TH`), quoted text and backslash escapes. The engine has no
//! `to_char`; `zone_functions` registers it for `timestamptz` (in the
//! session's zone), `timestamp` and `date` with this as its body.

use chrono::{Datelike, NaiveDateTime, Timelike};

/// A zone's view of the instant being formatted: its abbreviation (`CET`)
/// and offset east of UTC in seconds. `None` for a `timestamp`.
pub struct ZoneView {
    pub abbreviation: String,
    pub offset: i32,
}

const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];
const DAYS: [&str; 7] = [
    "Sunday",
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
];
const ROMAN: [&str; 12] = [
    "I", "II", "III", "IV", "V", "VI", "VII", "VIII", "IX", "X", "XI", "XII",
];

/// Template patterns, longest first where one begins another.
const PATTERNS: &[&str] = &[
    "HH24", "HH12", "HH", "MI", "SSSSS", "SSSS", "SS", "MS", "US", "A.M.", "P.M.", "a.m.", "p.m.",
    "AM", "PM", "am", "pm", "Y,YYY", "YYYY", "YYY", "YY", "Y", "IYYY", "IYY", "IY", "IDDD", "ID",
    "IW", "I", "B.C.", "A.D.", "b.c.", "a.d.", "BC", "AD", "bc", "ad", "MONTH", "Month", "month",
    "MON", "Mon", "mon", "MM", "DAY", "Day", "day", "DY", "Dy", "dy", "DDD", "DD", "D", "WW", "W",
    "CC", "J", "Q", "RM", "rm", "TZH", "TZM", "TZ", "tz", "OF",
];

/// `t` (a wall-clock time) written by `template` as PostgreSQL's `to_char`.
pub fn to_char(t: &NaiveDateTime, zone: Option<&ZoneView>, template: &str) -> String {
    let written = render(template, |pattern, fill| {
        Ok::<_, std::convert::Infallible>(field(t, zone, pattern, fill))
    });
    match written {
        Ok(text) => text,
        Err(never) => match never {},
    }
}

/// `template` with each pattern replaced by what `field` writes for it (the
/// pattern and whether fill mode is on): the text and, for numbers, the
/// value an ordinal suffix (`TH`) follows. Quoted text and escapes are
/// copied; the first error `field` gives ends the rendering.
pub fn render<E>(
    template: &str,
    mut field: impl FnMut(&str, bool) -> Result<(String, Option<i64>), E>,
) -> Result<String, E> {
    let mut out = String::new();
    let chars: Vec<char> = template.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        // Literal text: "quoted" and \escaped.
        if chars[i] == '"' {
            i += 1;
            while i < chars.len() && chars[i] != '"' {
                if chars[i] == '\\' && i + 1 < chars.len() {
                    i += 1;
                }
                out.push(chars[i]);
                i += 1;
            }
            i += 1;
            continue;
        }
        // Outside quotes a backslash is itself, but for an escaped quote.
        if chars[i] == '\\' && chars.get(i + 1) == Some(&'"') {
            out.push('"');
            i += 2;
            continue;
        }
        // Enough of what follows for the longest pattern with `FM` and `TH`
        // (copying all of it at every character would be quadratic).
        let rest: String = chars[i..].iter().take(12).collect();
        let (fill, after_fm) = match rest.strip_prefix("FM") {
            Some(r) => (true, r),
            None => (false, rest.as_str()),
        };
        let Some(pattern) = PATTERNS.iter().find(|p| after_fm.starts_with(**p)) else {
            out.push(chars[i]);
            i += 1;
            continue;
        };
        let mut used = pattern.chars().count() + if fill { 2 } else { 0 };
        let tail = &after_fm[pattern.len()..];
        let ordinal = if tail.starts_with("TH") {
            used += 2;
            Some(true)
        } else if tail.starts_with("th") {
            used += 2;
            Some(false)
        } else {
            None
        };
        let (text, number) = field(pattern, fill)?;
        out.push_str(&text);
        if let (Some(upper), Some(n)) = (ordinal, number) {
            out.push_str(&ordinal_suffix(n, upper));
        }
        i += used;
    }
    Ok(out)
}

pub fn ordinal_suffix(n: i64, upper: bool) -> String {
    // The suffix follows the last digits, whatever the sign (`-01st`).
    let n = n.unsigned_abs();
    let s = match (n % 100, n % 10) {
        (11..=13, _) => "th",
        (_, 1) => "st",
        (_, 2) => "nd",
        (_, 3) => "rd",
        _ => "th",
    };
    if upper {
        s.to_uppercase()
    } else {
        s.to_string()
    }
}

/// A name in the case the pattern asks (`MONTH`, `Month`, `month`), padded to
/// nine characters unless in fill mode.
fn name(value: &str, pattern: &str, fill: bool, abbreviated: bool) -> String {
    let base: String = if abbreviated {
        value.chars().take(3).collect()
    } else {
        value.to_string()
    };
    let cased = if pattern.chars().all(|c| c.is_ascii_uppercase()) {
        base.to_uppercase()
    } else if pattern.chars().all(|c| c.is_ascii_lowercase()) {
        base.to_lowercase()
    } else {
        base
    };
    if fill || abbreviated {
        cased
    } else {
        format!("{cased:<9}")
    }
}

/// The text of one pattern, and its number (for an ordinal suffix).
fn field(
    t: &NaiveDateTime,
    zone: Option<&ZoneView>,
    pattern: &str,
    fill: bool,
) -> (String, Option<i64>) {
    let num = |n: i64, width: usize| {
        let text = if fill || n < 0 {
            n.to_string()
        } else {
            format!("{n:0width$}")
        };
        (text, Some(n))
    };
    let year = i64::from(t.year());
    // Years BC are written as PostgreSQL counts them (1 BC is the
    // astronomical year 0), with the era left to `BC`.
    let era_year = |y: i64| if y <= 0 { 1 - y } else { y };
    let shown = era_year(year);
    let iso_year = era_year(i64::from(t.iso_week().year()));
    let hour12 = i64::from(if t.hour().is_multiple_of(12) {
        12
    } else {
        t.hour() % 12
    });
    let pm = t.hour() >= 12;
    let iso = t.iso_week();
    let micros = i64::from(t.nanosecond() / 1_000);
    match pattern {
        "HH24" => num(i64::from(t.hour()), 2),
        "HH12" | "HH" => num(hour12, 2),
        "MI" => num(i64::from(t.minute()), 2),
        "SS" => num(i64::from(t.second()), 2),
        "SSSS" | "SSSSS" => num(i64::from(t.num_seconds_from_midnight()), 0),
        "MS" => num(micros / 1_000, 3),
        "US" => num(micros, 6),
        "AM" | "PM" => ((if pm { "PM" } else { "AM" }).into(), None),
        "am" | "pm" => ((if pm { "pm" } else { "am" }).into(), None),
        "A.M." | "P.M." => ((if pm { "P.M." } else { "A.M." }).into(), None),
        "a.m." | "p.m." => ((if pm { "p.m." } else { "a.m." }).into(), None),
        "Y,YYY" => (
            format!("{},{:03}", shown / 1000, shown.rem_euclid(1000)),
            Some(shown),
        ),
        "YYYY" => num(shown, 4),
        "YYY" => num(shown.rem_euclid(1000), 3),
        "YY" => num(shown.rem_euclid(100), 2),
        "Y" => num(shown.rem_euclid(10), 1),
        "IYYY" => num(iso_year, 4),
        "IYY" => num(iso_year.rem_euclid(1000), 3),
        "IY" => num(iso_year.rem_euclid(100), 2),
        "I" => num(iso_year.rem_euclid(10), 1),
        "BC" | "AD" => ((if year <= 0 { "BC" } else { "AD" }).into(), None),
        "bc" | "ad" => ((if year <= 0 { "bc" } else { "ad" }).into(), None),
        "B.C." | "A.D." => ((if year <= 0 { "B.C." } else { "A.D." }).into(), None),
        "b.c." | "a.d." => ((if year <= 0 { "b.c." } else { "a.d." }).into(), None),
        // Full names, or their first three letters (MON, DY).
        "MONTH" | "Month" | "month" | "MON" | "Mon" | "mon" => {
            let short = pattern.len() == 3;
            (
                name(MONTHS[t.month0() as usize], pattern, fill, short),
                None,
            )
        }
        "MM" => num(i64::from(t.month()), 2),
        "DAY" | "Day" | "day" | "DY" | "Dy" | "dy" => {
            let day = DAYS[t.weekday().num_days_from_sunday() as usize];
            (name(day, pattern, fill, pattern.len() == 2), None)
        }
        "DDD" => num(i64::from(t.ordinal()), 3),
        "IDDD" => num(
            i64::from((iso.week() - 1) * 7 + t.weekday().number_from_monday()),
            3,
        ),
        "DD" => num(i64::from(t.day()), 2),
        "D" => num(i64::from(t.weekday().number_from_sunday()), 1),
        "ID" => num(i64::from(t.weekday().number_from_monday()), 1),
        "W" => num(i64::from((t.day() - 1) / 7 + 1), 1),
        "WW" => num(i64::from((t.ordinal() - 1) / 7 + 1), 2),
        "IW" => num(i64::from(iso.week()), 2),
        // Century 21 is 2001–2100; century -6 is 600–501 BC.
        "CC" => {
            let century = if year > 0 {
                (year - 1) / 100 + 1
            } else {
                year / 100 - 1
            };
            let text = if fill || !(-99..=99).contains(&century) {
                century.to_string()
            } else {
                format!("{century:0w$}", w = if century < 0 { 3 } else { 2 })
            };
            (text, Some(century))
        }
        "J" => num(i64::from(t.date().num_days_from_ce()) + 1_721_425, 0),
        "Q" => num(i64::from(t.month0() / 3 + 1), 1),
        "RM" => (
            if fill {
                ROMAN[t.month0() as usize].to_string()
            } else {
                format!("{:<4}", ROMAN[t.month0() as usize])
            },
            None,
        ),
        "rm" => (
            if fill {
                ROMAN[t.month0() as usize].to_lowercase()
            } else {
                format!("{:<4}", ROMAN[t.month0() as usize].to_lowercase())
            },
            None,
        ),
        "TZ" => (
            zone.map(|z| z.abbreviation.to_uppercase())
                .unwrap_or_default(),
            None,
        ),
        "tz" => (
            zone.map(|z| z.abbreviation.to_lowercase())
                .unwrap_or_default(),
            None,
        ),
        "TZH" => (
            zone.map(|z| format!("{}{:02}", sign(z.offset), z.offset.abs() / 3600))
                .unwrap_or_default(),
            None,
        ),
        "TZM" => (
            zone.map(|z| format!("{:02}", z.offset.abs() % 3600 / 60))
                .unwrap_or_default(),
            None,
        ),
        "OF" => (
            zone.map(|z| offset_text(z.offset)).unwrap_or_default(),
            None,
        ),
        _ => (pattern.to_string(), None),
    }
}

fn sign(offset: i32) -> char {
    if offset < 0 {
        '-'
    } else {
        '+'
    }
}

/// An offset as PostgreSQL's `OF` writes it: `+01`, `-05:30`.
pub fn offset_text(offset: i32) -> String {
    let (h, m) = (offset.abs() / 3600, offset.abs() % 3600 / 60);
    if m == 0 {
        format!("{}{h:02}", sign(offset))
    } else {
        format!("{}{h:02}:{m:02}", sign(offset))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;

    fn at(y: i32, mo: u32, d: u32, h: u32, mi: u32, s: u32, micros: u32) -> NaiveDateTime {
        NaiveDate::from_ymd_opt(y, mo, d)
            .and_then(|d| d.and_hms_micro_opt(h, mi, s, micros))
            .expect("time")
    }

    #[test]
    fn templates_write_as_postgres_writes_them() {
        let t = at(2024, 3, 5, 14, 7, 9, 123_456);
        for (template, want) in [
            ("YYYY-MM-DD HH24:MI:SS", "2024-03-05 14:07:09"),
            ("HH12:MI AM", "02:07 PM"),
            ("Month DD, YYYY", "March     05, 2024"),
            ("FMMonth FMDD, YYYY", "March 5, 2024"),
            ("Mon YYYY", "Mar 2024"),
            ("Dy DAY day", "Tue TUESDAY   tuesday  "),
            ("YYYY\"Q\"Q", "2024Q1"),
            ("IYYY-IW", "2024-10"),
            ("DDD D ID", "065 3 2"),
            ("MS US", "123 123456"),
            ("DDth FMDDTH", "05th 5TH"),
            ("RM", "III "),
            ("Y,YYY CC", "2,024 21"),
            ("WW W J", "10 1 2460375"),
            ("\\YYYY \\\"", "\\2024 \""),
            ("TZ", ""),
        ] {
            assert_eq!(to_char(&t, None, template), want, "{template}");
        }
        let zone = ZoneView {
            abbreviation: "CET".into(),
            offset: 3600,
        };
        assert_eq!(
            to_char(&t, Some(&zone), "HH24 TZ OF TZH:TZM"),
            "14 CET +01 +01:00"
        );
        // A long template takes time in proportion to its length.
        let long = "YYYY-".repeat(200_000);
        assert_eq!(to_char(&t, None, &long).len(), long.len());
    }
}
