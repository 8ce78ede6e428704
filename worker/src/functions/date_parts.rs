//! The fields of dates, timestamps, times and intervals as PostgreSQL 15's
//! `EXTRACT` and `date_part` give them (`timestamp.c`, `date.c`): exact
//! values in units of a power of ten (seconds carry their microseconds,
//! milliseconds their fraction), the calendar of the wall-clock time (a
//! `timestamptz` read in the session's zone), PostgreSQL's rules for years
//! before Christ, ±Infinity for the fields that grow with an infinite
//! timestamp and NULL for the others, and PostgreSQL's errors for a field a
//! type does not have. `date_part_functions` calls these from the engine.

use chrono::{Datelike, NaiveDate, Timelike};
use floe_sql::date_field::DateField;

use crate::codec::text::SessionTz;

const MICROS_PER_SECOND: i64 = 1_000_000;
const MICROS_PER_DAY: i64 = 86_400 * MICROS_PER_SECOND;
/// Julian day number of 1970-01-01, the engine's day 0.
const UNIX_EPOCH_JULIAN_DAY: i64 = 2_440_588;

/// A value whose fields are read.
#[derive(Debug, Clone)]
pub enum Moment {
    /// Days since 1970-01-01 (the engine's ±i32::MAX are ±infinity).
    Date(i32),
    /// Microseconds since 1970-01-01 00:00 (±i64::MAX are ±infinity).
    Timestamp(i64),
    /// A `timestamptz` (microseconds since the epoch, UTC) and the zone its
    /// calendar fields are read in.
    Zoned(i64, SessionTz),
    /// Microseconds since midnight.
    Time(i64),
    /// A `time with time zone`: microseconds since midnight and the offset
    /// east of UTC in seconds.
    TimeTz(i64, i32),
    Interval {
        months: i32,
        days: i32,
        micros: i64,
    },
}

impl Moment {
    /// The type's name in PostgreSQL's errors.
    fn type_name(&self) -> &'static str {
        match self {
            Moment::Date(_) => "date",
            Moment::Timestamp(_) => "timestamp without time zone",
            Moment::Zoned(..) => "timestamp with time zone",
            Moment::Time(_) => "time without time zone",
            Moment::TimeTz(..) => "time with time zone",
            Moment::Interval { .. } => "interval",
        }
    }
}

/// A field's value: `units` of ten to the power `-scale`, or an infinity.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Part {
    Exact { units: i128, scale: u8 },
    Infinity { negative: bool },
}

impl Part {
    fn whole(v: i64) -> Option<Part> {
        Some(Part::Exact {
            units: i128::from(v),
            scale: 0,
        })
    }

    fn scaled(units: i64, scale: u8) -> Option<Part> {
        Some(Part::Exact {
            units: i128::from(units),
            scale,
        })
    }

    /// As `double precision` (what `date_part` returns).
    pub fn to_f64(self) -> f64 {
        match self {
            Part::Exact { units, scale } => units as f64 / 10f64.powi(i32::from(scale)),
            Part::Infinity { negative: true } => f64::NEG_INFINITY,
            Part::Infinity { negative: false } => f64::INFINITY,
        }
    }

    /// In units of ten to the power `-scale`, rounded half away from zero;
    /// `None` for an infinity (which a `numeric` of the engine cannot hold).
    pub fn units_at(self, scale: u8) -> Option<i128> {
        let Part::Exact { units, scale: own } = self else {
            return None;
        };
        if own <= scale {
            return units.checked_mul(10i128.checked_pow(u32::from(scale - own))?);
        }
        let div = 10i128.checked_pow(u32::from(own - scale))?;
        let (q, r) = (units / div, units % div);
        Some(if r.abs() * 2 >= div {
            q + units.signum()
        } else {
            q
        })
    }
}

/// Field `name` of `m`: `Ok(None)` where PostgreSQL gives NULL (a field that
/// does not grow with an infinite timestamp), the error PostgreSQL gives for
/// an unknown field or one the type does not have.
pub fn part(name: &str, m: &Moment) -> Result<Option<Part>, String> {
    let field = DateField::parse(name).ok_or_else(|| {
        format!(
            "unit \"{}\" not recognized for type {}",
            name.trim().to_lowercase(),
            m.type_name()
        )
    })?;
    let unsupported = || {
        format!(
            "unit \"{}\" not supported for type {}",
            name.trim().to_lowercase(),
            m.type_name()
        )
    };
    let value = match m {
        Moment::Date(days) => date_part(field, *days),
        Moment::Timestamp(micros) => timestamp_part(field, *micros, None),
        Moment::Zoned(utc, zone) => timestamp_part(field, *utc, Some(zone)),
        Moment::Time(micros) => time_part(field, *micros),
        Moment::TimeTz(micros, offset) => time_tz_part(field, *micros, *offset),
        Moment::Interval {
            months,
            days,
            micros,
        } => interval_part(field, *months, *days, *micros),
    };
    value.ok_or_else(unsupported)
}

/// Whether the field grows with time (so an infinite timestamp has an
/// infinite value of it rather than none).
fn grows_with_time(field: DateField) -> bool {
    use DateField::*;
    matches!(
        field,
        Year | Decade | Century | Millennium | Julian | Isoyear | Epoch
    )
}

fn infinite(field: DateField, negative: bool) -> Option<Option<Part>> {
    Some(grows_with_time(field).then_some(Part::Infinity { negative }))
}

/// A date's fields: those of its calendar day, its epoch and Julian day in
/// whole days and seconds. `None`: the type has no such field.
fn date_part(field: DateField, days: i32) -> Option<Option<Part>> {
    use DateField::*;
    if matches!(
        field,
        Microseconds
            | Milliseconds
            | Second
            | Minute
            | Hour
            | Timezone
            | TimezoneHour
            | TimezoneMinute
    ) {
        return None;
    }
    if days == i32::MAX || days == -i32::MAX {
        return infinite(field, days < 0);
    }
    let day = i64::from(days);
    Some(match field {
        Epoch => Part::whole(day * 86_400),
        Julian => Part::whole(day + UNIX_EPOCH_JULIAN_DAY),
        // A day beyond the calendar's range has no fields to give.
        _ => NaiveDate::from_epoch_days(days).and_then(|date| calendar_part(field, &date)),
    })
}

/// A timestamp's fields (a `timestamptz`'s in `zone`). `None`: the type has
/// no such field.
fn timestamp_part(field: DateField, micros: i64, zone: Option<&SessionTz>) -> Option<Option<Part>> {
    use DateField::*;
    let zoned_field = matches!(field, Timezone | TimezoneHour | TimezoneMinute);
    if zoned_field && zone.is_none() {
        return None;
    }
    if micros == i64::MAX || micros == -i64::MAX || micros == i64::MIN {
        return infinite(field, micros < 0);
    }
    let offset = zone.map_or(0, |z| z.offset_at(micros));
    let local = micros
        .checked_add(i64::from(offset) * MICROS_PER_SECOND)
        .and_then(|l| Some((l, chrono::DateTime::from_timestamp_micros(l)?.naive_utc())));
    // An instant beyond the calendar's range has no fields to give.
    let Some((local_micros, t)) = local else {
        return Some(None);
    };
    let second_micros = i64::from(t.second()) * MICROS_PER_SECOND
        + i64::from(t.nanosecond().min(999_999_999) / 1_000);
    Some(match field {
        Microseconds => Part::whole(second_micros),
        Milliseconds => Part::scaled(second_micros, 3),
        Second => Part::scaled(second_micros, 6),
        Minute => Part::whole(i64::from(t.minute())),
        Hour => Part::whole(i64::from(t.hour())),
        Epoch => Part::scaled(micros, 6),
        Julian => {
            let day = local_micros.div_euclid(MICROS_PER_DAY) + UNIX_EPOCH_JULIAN_DAY;
            let of_day = i128::from(local_micros.rem_euclid(MICROS_PER_DAY));
            let scale = 10i128.pow(20);
            let fraction =
                (of_day * scale + i128::from(MICROS_PER_DAY) / 2) / i128::from(MICROS_PER_DAY);
            Some(Part::Exact {
                units: i128::from(day) * scale + fraction,
                scale: 20,
            })
        }
        Timezone => Part::whole(i64::from(offset)),
        TimezoneHour => Part::whole(i64::from(offset / 3600)),
        TimezoneMinute => Part::whole(i64::from((offset / 60) % 60)),
        _ => calendar_part(field, &t.date()),
    })
}

/// The calendar fields of a day, with PostgreSQL's years before Christ
/// (there is no year 0: the year before 1 is -1).
fn calendar_part(field: DateField, date: &NaiveDate) -> Option<Part> {
    use DateField::*;
    // The astronomical year (1 BC is 0), from which PostgreSQL derives them.
    let y = i64::from(date.year());
    let iso = date.iso_week();
    match field {
        Day => Part::whole(i64::from(date.day())),
        Month => Part::whole(i64::from(date.month())),
        Quarter => Part::whole(i64::from((date.month() - 1) / 3 + 1)),
        Year => Part::whole(if y > 0 { y } else { y - 1 }),
        Decade => Part::whole(if y >= 0 {
            y / 10
        } else {
            -((8 - (y - 1)) / 10)
        }),
        Century => Part::whole(if y > 0 {
            (y + 99) / 100
        } else {
            -((99 - (y - 1)) / 100)
        }),
        Millennium => Part::whole(if y > 0 {
            (y + 999) / 1000
        } else {
            -((999 - (y - 1)) / 1000)
        }),
        Dow => Part::whole(i64::from(date.weekday().num_days_from_sunday())),
        Isodow => Part::whole(i64::from(date.weekday().number_from_monday())),
        Doy => Part::whole(i64::from(date.ordinal())),
        Week => Part::whole(i64::from(iso.week())),
        Isoyear => {
            let iy = i64::from(iso.year());
            Part::whole(if iy > 0 { iy } else { iy - 1 })
        }
        _ => None,
    }
}

/// A time of day's fields. `None`: the type has no such field.
fn time_part(field: DateField, micros: i64) -> Option<Option<Part>> {
    use DateField::*;
    let hour = micros / (3600 * MICROS_PER_SECOND);
    let minute = micros / (60 * MICROS_PER_SECOND) % 60;
    let second_micros = micros % (60 * MICROS_PER_SECOND);
    Some(match field {
        Microseconds => Part::whole(second_micros),
        Milliseconds => Part::scaled(second_micros, 3),
        Second => Part::scaled(second_micros, 6),
        Minute => Part::whole(minute),
        Hour => Part::whole(hour),
        Epoch => Part::scaled(micros, 6),
        _ => return None,
    })
}

/// A `time with time zone`'s fields: the time's, its offset's, and an epoch
/// of the time at UTC.
fn time_tz_part(field: DateField, micros: i64, offset: i32) -> Option<Option<Part>> {
    use DateField::*;
    let offset_secs = i64::from(offset);
    Some(match field {
        Timezone => Part::whole(offset_secs),
        TimezoneHour => Part::whole(offset_secs / 3600),
        TimezoneMinute => Part::whole(offset_secs / 60 % 60),
        Epoch => Part::scaled(micros - offset_secs * MICROS_PER_SECOND, 6),
        _ => return time_part(field, micros),
    })
}

/// An interval's fields, as PostgreSQL splits it: whole years and the
/// remaining months, days as given, the time into hours, minutes and
/// seconds, each part keeping its sign. `None`: the type has no such field.
fn interval_part(field: DateField, months: i32, days: i32, micros: i64) -> Option<Option<Part>> {
    use DateField::*;
    let (years, month) = (i64::from(months / 12), i64::from(months % 12));
    Some(match field {
        // The time's fields as a time of day's (truncated, so signed).
        Microseconds | Milliseconds | Second | Minute | Hour => return time_part(field, micros),
        Day => Part::whole(i64::from(days)),
        Month => Part::whole(month),
        Quarter => Part::whole(month / 3 + 1),
        Year => Part::whole(years),
        Decade => Part::whole(years / 10),
        Century => Part::whole(years / 100),
        Millennium => Part::whole(years / 1000),
        Epoch => {
            // A year is 365.25 days and a month 30: in quarter days, so the
            // sum stays whole.
            let quarter_days = 1461 * i128::from(months / 12)
                + 120 * i128::from(months % 12)
                + 4 * i128::from(days);
            let seconds = quarter_days * 86_400 / 4;
            Some(Part::Exact {
                units: seconds * i128::from(MICROS_PER_SECOND) + i128::from(micros),
                scale: 6,
            })
        }
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDateTime;

    fn exact(name: &str, m: &Moment) -> (i128, u8) {
        match part(name, m).expect("a field").expect("a value") {
            Part::Exact { units, scale } => (units, scale),
            p => panic!("{p:?}"),
        }
    }

    fn ts(text: &str) -> i64 {
        NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S%.f")
            .expect("timestamp")
            .and_utc()
            .timestamp_micros()
    }

    fn days(y: i32, m: u32, d: u32) -> i32 {
        NaiveDate::from_ymd_opt(y, m, d)
            .expect("date")
            .to_epoch_days()
    }

    #[test]
    fn timestamps_as_postgres_extracts_them() {
        let t = Moment::Timestamp(ts("2024-03-05 01:02:03.5"));
        assert_eq!(exact("second", &t), (3_500_000, 6));
        assert_eq!(exact("milliseconds", &t), (3_500_000, 3));
        assert_eq!(exact("microseconds", &t), (3_500_000, 0));
        assert_eq!(exact("epoch", &t), (1_709_600_523_500_000, 6));
        assert_eq!(exact("hour", &t), (1, 0));
        assert_eq!(exact("dow", &t), (2, 0));
        let noon = Moment::Timestamp(ts("2024-03-05 12:00:00"));
        assert_eq!(
            exact("julian", &noon),
            (2_460_375 * 10i128.pow(20) + 5 * 10i128.pow(19), 20)
        );
    }

    #[test]
    fn dates_have_calendar_fields_only() {
        let d = Moment::Date(days(2024, 3, 5));
        assert_eq!(exact("year", &d), (2024, 0));
        assert_eq!(exact("epoch", &d), (1_709_596_800, 0));
        assert_eq!(exact("julian", &d), (2_460_375, 0));
        assert_eq!(exact("week", &Moment::Date(days(2024, 3, 5))), (10, 0));
        let isoyear = Moment::Date(days(2024, 1, 1));
        assert_eq!(exact("isoyear", &isoyear), (2024, 0));
        assert_eq!(exact("decade", &isoyear), (202, 0));
        assert_eq!(exact("century", &isoyear), (21, 0));
        assert_eq!(exact("millennium", &isoyear), (3, 0));
        assert_eq!(
            part("second", &d).unwrap_err(),
            "unit \"second\" not supported for type date"
        );
        assert_eq!(
            part("foo", &d).unwrap_err(),
            "unit \"foo\" not recognized for type date"
        );
    }

    #[test]
    fn years_before_christ_skip_year_zero() {
        // Astronomical year 0 is 1 BC.
        let d = Moment::Date(days(0, 6, 1));
        assert_eq!(exact("year", &d), (-1, 0));
        assert_eq!(exact("century", &d), (-1, 0));
        assert_eq!(exact("millennium", &d), (-1, 0));
    }

    #[test]
    fn infinity_grows_or_is_null() {
        let inf = Moment::Timestamp(i64::MAX);
        assert_eq!(
            part("epoch", &inf).unwrap(),
            Some(Part::Infinity { negative: false })
        );
        assert_eq!(part("hour", &inf).unwrap(), None);
        let minus = Moment::Date(-i32::MAX);
        assert_eq!(
            part("year", &minus).unwrap(),
            Some(Part::Infinity { negative: true })
        );
    }

    #[test]
    fn intervals_split_as_postgres_splits_them() {
        let i = Moment::Interval {
            months: 14,
            days: 40,
            micros: 2 * 3_600_000_000 + 3_500_000,
        };
        assert_eq!(exact("year", &i), (1, 0));
        assert_eq!(exact("month", &i), (2, 0));
        assert_eq!(exact("day", &i), (40, 0));
        assert_eq!(exact("hour", &i), (2, 0));
        assert_eq!(exact("second", &i), (3_500_000, 6));
        let day = Moment::Interval {
            months: 0,
            days: 1,
            micros: 2 * 3_600_000_000 + 3_500_000,
        };
        assert_eq!(exact("epoch", &day), (93_603_500_000, 6));
        let year = Moment::Interval {
            months: 12,
            days: 0,
            micros: 0,
        };
        assert_eq!(exact("epoch", &year), (31_557_600_000_000, 6));
        assert!(part("dow", &i).is_err());
    }

    #[test]
    fn times_and_zones() {
        let tz = Moment::TimeTz(3_723_250_000, 19_800);
        assert_eq!(exact("timezone", &tz), (19_800, 0));
        assert_eq!(exact("timezone_minute", &tz), (30, 0));
        assert_eq!(exact("epoch", &tz), (-16_076_750_000, 6));
        assert_eq!(exact("hour", &tz), (1, 0));
        let t = Moment::Time(3_723_250_000);
        assert_eq!(exact("second", &t), (3_250_000, 6));
        assert_eq!(exact("epoch", &t), (3_723_250_000, 6));
        assert!(part("day", &t).is_err());
        let paris = SessionTz::parse("Europe/Paris").expect("zone");
        let z = Moment::Zoned(ts("2024-01-01 11:00:00"), paris);
        assert_eq!(exact("hour", &z), (12, 0));
        assert_eq!(exact("timezone", &z), (3600, 0));
        assert_eq!(exact("timezone_hour", &z), (1, 0));
        assert!(part("timezone", &Moment::Timestamp(0)).is_err());
    }

    #[test]
    fn rescaling_rounds_half_away_from_zero() {
        let p = Part::Exact {
            units: -3_500_000,
            scale: 6,
        };
        assert_eq!(p.units_at(0), Some(-4));
        assert_eq!(p.units_at(8), Some(-350_000_000));
        assert_eq!(p.to_f64(), -3.5);
        assert_eq!(Part::Infinity { negative: true }.units_at(0), None);
    }
}
