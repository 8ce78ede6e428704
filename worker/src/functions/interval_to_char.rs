//! PostgreSQL's `to_char(interval, template)`: the interval is split as
//! PostgreSQL splits it (years and months from its months, days as they
//! are, hours that may pass 24, minutes, seconds and a fraction, each
//! keeping the interval's sign) and each pattern writes one of those parts
//! with PostgreSQL's widths (a negative part is one character wider).
//! Patterns that name a calendar date — month and day names, day of the
//! week, era, time zone — are errors, as in PostgreSQL; the ISO week and
//! Julian-day patterns compute as PostgreSQL does from the parts.
//! [`register`] adds the `to_char(interval, text)` overload to the engine.

use duckdb::ffi;

use crate::functions::to_char::render;
use crate::functions::{self, fail, row_count, set_null, write_text, Argument, Native};

use crate::pg_error::messages::NOT_FOR_INTERVALS;

/// The parts of an interval, as PostgreSQL's `interval2tm` makes them.
struct Parts {
    year: i64,
    month: i64,
    day: i64,
    hour: i64,
    minute: i64,
    second: i64,
    micros: i64,
    /// Days counted from the months as 30 each, plus the days.
    year_day: i64,
}

impl Parts {
    fn of(months: i32, days: i32, micros: i64) -> Parts {
        let (months, day) = (i64::from(months), i64::from(days));
        let (year, month) = (months / 12, months % 12);
        Parts {
            year,
            month,
            day,
            hour: micros / 3_600_000_000,
            minute: micros % 3_600_000_000 / 60_000_000,
            second: micros % 60_000_000 / 1_000_000,
            micros: micros % 1_000_000,
            year_day: (year * 12 + month) * 30 + day,
        }
    }
}

/// The interval (`months`, `days`, `micros`) written by `template` as
/// PostgreSQL's `to_char`; `Err` with PostgreSQL's message for a pattern an
/// interval has no value for.
pub fn interval_to_char(
    months: i32,
    days: i32,
    micros: i64,
    template: &str,
) -> Result<String, &'static str> {
    let p = Parts::of(months, days, micros);
    render(template, |pattern, fill| field(&p, pattern, fill))
}

/// Registers `to_char(interval, text)` on the engine of `conn`.
///
/// # Safety
/// `conn` must be an open connection.
pub unsafe fn register(conn: ffi::duckdb_connection) -> Result<(), String> {
    functions::register(
        conn,
        &Native {
            name: "to_char",
            params: &[
                ffi::DUCKDB_TYPE_DUCKDB_TYPE_INTERVAL,
                ffi::DUCKDB_TYPE_DUCKDB_TYPE_VARCHAR,
            ],
            result: ffi::DUCKDB_TYPE_DUCKDB_TYPE_VARCHAR,
            result_scale: 0,
            function: Some(to_char_rows),
            bind: None,
            extra: None,
        },
    )
}

native_scalar! {
    fn to_char_rows(info, input, output) {
        let values = Argument::<ffi::duckdb_interval>::of(input, 0);
        let templates = Argument::<ffi::duckdb_string_t>::of(input, 1);
        for row in 0..row_count(input) {
            let (Some(v), Some(template)) = (values.get(row), templates.text(row)) else {
                set_null(output, row as u64);
                continue;
            };
            match interval_to_char(v.months, v.days, v.micros, &template) {
                Ok(text) => write_text(output, row as u64, &text),
                Err(message) => {
                    fail(info, message);
                    return;
                }
            }
        }
    }
}

/// `n` zero-padded to `width` (the sign counted in it), or as it is in fill
/// mode.
fn padded(n: i64, width: usize, fill: bool) -> (String, Option<i64>) {
    let text = if fill {
        n.to_string()
    } else {
        format!("{n:0width$}")
    };
    (text, Some(n))
}

/// `n` padded to `width` digits, one more place for a sign.
fn signed(n: i64, width: usize, fill: bool) -> (String, Option<i64>) {
    padded(n, if n >= 0 { width } else { width + 1 }, fill)
}

fn field(p: &Parts, pattern: &str, fill: bool) -> Result<(String, Option<i64>), &'static str> {
    let year_width = |w: usize| if p.year >= 0 { w } else { w + 1 };
    let iso_year = || iso_year(p.year, p.month, p.day);
    let am = p.hour % 24 < 12;
    let noon =
        |am_text: &str, pm_text: &str| Ok((if am { am_text } else { pm_text }.to_string(), None));
    Ok(match pattern {
        "HH24" => signed(p.hour, 2, fill),
        "HH12" | "HH" => {
            let h = if p.hour % 12 == 0 { 12 } else { p.hour % 12 };
            padded(h, if p.hour >= 0 { 2 } else { 3 }, fill)
        }
        "MI" => signed(p.minute, 2, fill),
        "SS" => signed(p.second, 2, fill),
        "SSSS" | "SSSSS" => {
            let n = p.hour * 3600 + p.minute * 60 + p.second;
            (n.to_string(), Some(n))
        }
        "MS" => padded(p.micros / 1000, 3, false),
        "US" => padded(p.micros, 6, false),
        "AM" | "PM" => return noon("AM", "PM"),
        "am" | "pm" => return noon("am", "pm"),
        "A.M." | "P.M." => return noon("A.M.", "P.M."),
        "a.m." | "p.m." => return noon("a.m.", "p.m."),
        "Y,YYY" => {
            let thousands = p.year / 1000;
            (
                format!("{thousands},{:03}", p.year - thousands * 1000),
                Some(p.year),
            )
        }
        "YYYY" => padded(p.year, year_width(4), fill),
        "YYY" => padded(p.year % 1000, year_width(3), fill),
        "YY" => padded(p.year % 100, year_width(2), fill),
        "Y" => padded(p.year % 10, 1, fill),
        "IYYY" => padded(iso_year(), year_width(4), fill),
        "IYY" => padded(iso_year() % 1000, year_width(3), fill),
        "IY" => padded(iso_year() % 100, year_width(2), fill),
        "I" => padded(iso_year() % 10, 1, fill),
        "MM" => signed(p.month, 2, fill),
        "DDD" => padded(p.year_day, 3, fill),
        "IDDD" => padded(iso_year_day(p.year, p.month, p.day), 3, fill),
        "DD" => padded(p.day, 2, fill),
        "WW" => padded((p.year_day - 1) / 7 + 1, 2, fill),
        "W" => {
            let n = (p.day - 1) / 7 + 1;
            (n.to_string(), Some(n))
        }
        "IW" => padded(iso_week(p.year, p.month, p.day), 2, fill),
        "Q" if p.month == 0 => (String::new(), None),
        "Q" => {
            let n = (p.month - 1) / 3 + 1;
            (n.to_string(), Some(n))
        }
        "CC" => {
            let c = p.year / 100;
            if (-99..=99).contains(&c) {
                signed(c, 2, fill)
            } else {
                (c.to_string(), Some(c))
            }
        }
        "J" => {
            let j = julian_day(p.year, p.month, p.day);
            (j.to_string(), Some(j))
        }
        "RM" | "rm" => {
            // Months as Roman numerals; none for a whole number of years.
            const ROMAN: [&str; 12] = [
                "I", "II", "III", "IV", "V", "VI", "VII", "VIII", "IX", "X", "XI", "XII",
            ];
            // A whole number of years is December going forward, January
            // going back; a negative month counts back from December.
            let index = match (p.month, p.year) {
                (0, 0) => return Ok((String::new(), None)),
                (0, y) if y > 0 => 11,
                (0, _) => 0,
                (m, _) if m > 0 => m - 1,
                (m, _) => 12 + m,
            };
            let numeral = ROMAN[usize::try_from(index).unwrap_or(0) % 12];
            let numeral = if pattern == "rm" {
                numeral.to_lowercase()
            } else {
                numeral.to_string()
            };
            if fill {
                (numeral, None)
            } else {
                (format!("{numeral:<4}"), None)
            }
        }
        _ => return Err(NOT_FOR_INTERVALS),
    })
}

/// PostgreSQL's `date2j`: the Julian day of a (possibly out-of-range)
/// year, month and day, with C's truncating division.
fn julian_day(year: i64, month: i64, day: i64) -> i64 {
    let (y, m) = if month > 2 {
        (year + 4800, month + 1)
    } else {
        (year + 4799, month + 13)
    };
    let century = y / 100;
    y * 365 - 32167 + y / 4 - century + century / 4 + 7834 * m / 256 + day
}

/// PostgreSQL's `j2day`: the day of the week (Sunday 0) of a Julian day.
fn week_day(julian: i64) -> i64 {
    (julian + 1).rem_euclid(7)
}

/// The Julian day the ISO year `year` starts on (the Monday of the week of
/// January 4th).
fn iso_year_start(year: i64) -> i64 {
    let day4 = julian_day(year, 1, 4);
    day4 - week_day(day4 - 1)
}

/// PostgreSQL's `date2isoweek`.
fn iso_week(year: i64, month: i64, day: i64) -> i64 {
    let dayn = julian_day(year, month, day);
    let mut start = iso_year_start(year);
    if dayn < start {
        start = iso_year_start(year - 1);
    }
    let mut week = (dayn - start) / 7 + 1;
    if week >= 52 {
        let next = iso_year_start(year + 1);
        if dayn >= next {
            week = (dayn - next) / 7 + 1;
        }
    }
    week
}

/// PostgreSQL's `date2isoyear`.
fn iso_year(year: i64, month: i64, day: i64) -> i64 {
    let dayn = julian_day(year, month, day);
    let mut y = year;
    let mut start = iso_year_start(y);
    if dayn < start {
        y -= 1;
        start = iso_year_start(y);
    }
    if (dayn - start) / 7 + 1 >= 52 && dayn >= iso_year_start(y + 1) {
        y += 1;
    }
    y
}

/// PostgreSQL's `date2isoyearday`.
fn iso_year_day(year: i64, month: i64, day: i64) -> i64 {
    julian_day(year, month, day) - iso_year_start(iso_year(year, month, day)) + 1
}

#[cfg(test)]
mod tests {
    use super::*;

    const MICROS_PER_HOUR: i64 = 3_600_000_000;

    /// Each template's text for `1 year 14 months 40 days 27:04:05.123456`,
    /// `-3 days -02:03:01`, `-14 months -3 days` and `-1 second`, as
    /// PostgreSQL 15 writes them.
    #[test]
    fn intervals_are_written_as_postgres_writes_them() {
        let intervals = [
            (26, 40, 27 * MICROS_PER_HOUR + 245_123_456),
            (0, -3, -(2 * MICROS_PER_HOUR + 181_000_000)),
            (-14, -3, 0),
            (0, 0, -1_000_000),
        ];
        let cases: &[(&str, [&str; 4])] = &[
            (
                "IYYY IYY IY I",
                [
                    "0002 002 02 2",
                    "-001 -01 -1 -1",
                    "-0002 -002 -02 -2",
                    "-001 -01 -1 -1",
                ],
            ),
            ("IDDD", ["072", "328", "273", "331"]),
            ("MI:SS", ["04:05", "-03:-01", "00:00", "00:-01"]),
            ("MM", ["02", "00", "-02", "00"]),
            ("HH24", ["27", "-02", "00", "00"]),
            (
                "FMDD FMDDD FMMM",
                ["40 820 2", "-3 -3 0", "-3 -423 -2", "0 0 0"],
            ),
            ("SSSSS", ["97445", "-7381", "0", "-1"]),
            ("SSth", ["05th", "-01st", "00th", "-01st"]),
            ("HH24TH", ["27TH", "-02ND", "00TH", "00TH"]),
            ("WW", ["118", "01", "-59", "01"]),
        ];
        for (template, expected) in cases {
            for ((months, days, micros), want) in intervals.iter().zip(expected) {
                assert_eq!(
                    interval_to_char(*months, *days, *micros, template).as_deref(),
                    Ok(*want),
                    "{template} of ({months}, {days}, {micros})"
                );
            }
        }
    }

    #[test]
    fn clock_and_calendar_patterns_follow_postgres() {
        let long = (26, 40, 27 * MICROS_PER_HOUR + 245_123_456);
        let written = |t: &str| interval_to_char(long.0, long.1, long.2, t);
        assert_eq!(written("HH:MI:SS AM").as_deref(), Ok("03:04:05 AM"));
        assert_eq!(written("YYYY-MM-DD").as_deref(), Ok("0002-02-40"));
        assert_eq!(written("Y,YYY YYY YY Y").as_deref(), Ok("0,002 002 02 2"));
        assert_eq!(written("DDD DD W WW Q").as_deref(), Ok("820 40 6 118 1"));
        assert_eq!(written("SSSS MS US").as_deref(), Ok("97445 123 123456"));
        assert_eq!(written("CC J").as_deref(), Ok("00 1721861"));
        assert_eq!(written("IW").as_deref(), Ok("11"));
        assert_eq!(written("RM").as_deref(), Ok("II  "));
        // PostgreSQL 15: months -25..=25 as RM.
        for (months, numeral) in [(-25, "XII "), (-24, "I   "), (-14, "XI  "), (-1, "XII ")]
            .into_iter()
            .chain([
                (0, ""),
                (1, "I   "),
                (12, "XII "),
                (23, "XI  "),
                (25, "I   "),
            ])
        {
            assert_eq!(interval_to_char(months, 0, 0, "RM").as_deref(), Ok(numeral));
        }
        assert_eq!(
            interval_to_char(0, 0, 0, "HH12 AM Q RM|").as_deref(),
            Ok("12 AM  |")
        );
        assert_eq!(
            interval_to_char(0, -3, -7_201_000_000, "HH24:MI:SS").as_deref(),
            Ok("-02:00:-01")
        );
        for calendar in ["Month", "MON", "Day", "DY", "D", "ID", "TZ", "BC", "OF"] {
            assert_eq!(written(calendar), Err(NOT_FOR_INTERVALS), "{calendar}");
        }
        assert_eq!(written("\"Day\" HH24").as_deref(), Ok("Day 27"));
    }
}
