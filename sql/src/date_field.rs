//! The fields `EXTRACT(field FROM x)` and `date_part('field', x)` read, by
//! every name PostgreSQL 15 accepts for them (its unit table: `y`, `yrs`,
//! `msec`, `timezone_h`… and names cut to ten characters, as PostgreSQL cuts
//! them). The router chooses, by the field, the function an EXTRACT becomes
//! (PostgreSQL gives seconds six decimals, milliseconds three, the Julian day
//! of a timestamp twenty, every other field none); the worker computes the
//! field.

/// One date/time field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DateField {
    Microseconds,
    Milliseconds,
    Second,
    Minute,
    Hour,
    Day,
    Week,
    Month,
    Quarter,
    Year,
    Decade,
    Century,
    Millennium,
    Dow,
    Doy,
    Isodow,
    Isoyear,
    Epoch,
    Julian,
    Timezone,
    TimezoneHour,
    TimezoneMinute,
}

/// How many characters of a unit PostgreSQL reads (its `TOKMAXLEN`).
const UNIT_CHARS: usize = 10;

impl DateField {
    /// The field named `name` (any case, surrounding blanks ignored), as
    /// PostgreSQL's unit tables read it; `None` when it names none.
    pub fn parse(name: &str) -> Option<DateField> {
        let lower: String = name.trim().to_ascii_lowercase();
        let cut: String = lower.chars().take(UNIT_CHARS).collect();
        use DateField::*;
        Some(match cut.as_str() {
            "microsecon" | "us" | "usec" | "usecond" | "useconds" | "usecs" => Microseconds,
            "millisecon" | "ms" | "msec" | "msecond" | "mseconds" | "msecs" => Milliseconds,
            "s" | "sec" | "second" | "seconds" | "secs" => Second,
            "m" | "min" | "mins" | "minute" | "minutes" => Minute,
            "h" | "hour" | "hours" | "hr" | "hrs" => Hour,
            "d" | "day" | "days" => Day,
            "w" | "week" | "weeks" => Week,
            "mon" | "mons" | "month" | "months" => Month,
            "qtr" | "quarter" => Quarter,
            "y" | "year" | "years" | "yr" | "yrs" => Year,
            "dec" | "decade" | "decades" | "decs" => Decade,
            "c" | "cent" | "centuries" | "century" => Century,
            "mil" | "millennia" | "millennium" | "mils" => Millennium,
            "dow" => Dow,
            "doy" => Doy,
            "isodow" => Isodow,
            "isoyear" => Isoyear,
            "epoch" => Epoch,
            "j" | "jd" | "julian" => Julian,
            "timezone" => Timezone,
            "timezone_h" => TimezoneHour,
            "timezone_m" => TimezoneMinute,
            _ => return None,
        })
    }

    /// The decimals PostgreSQL's EXTRACT gives this field of a timestamp, a
    /// time or an interval (a date's fields have none).
    pub fn extract_scale(self) -> u8 {
        match self {
            DateField::Second | DateField::Epoch => 6,
            DateField::Milliseconds => 3,
            DateField::Julian => 20,
            _ => 0,
        }
    }
}

/// The worker function an `EXTRACT` of the field written `name` becomes:
/// one per scale, since a function's result type is fixed. A name that is no
/// field goes to the scale-0 function, which reports it as PostgreSQL does.
pub fn extract_function(name: &str) -> &'static str {
    match DateField::parse(name).map(DateField::extract_scale) {
        Some(6) => "floe_extract_s6",
        Some(3) => "floe_extract_s3",
        Some(20) => "floe_extract_s20",
        _ => "floe_extract_s0",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_read_as_postgres_reads_them() {
        assert_eq!(DateField::parse("YEARS"), Some(DateField::Year));
        assert_eq!(
            DateField::parse("milliseconds"),
            Some(DateField::Milliseconds)
        );
        assert_eq!(
            DateField::parse("microseconds"),
            Some(DateField::Microseconds)
        );
        assert_eq!(
            DateField::parse("timezone_hour"),
            Some(DateField::TimezoneHour)
        );
        assert_eq!(DateField::parse(" doy "), Some(DateField::Doy));
        assert_eq!(DateField::parse("fortnight"), None);
        assert_eq!(DateField::parse(""), None);
    }

    #[test]
    fn extract_functions_follow_the_scale() {
        let by_scale: [(&[&str], &str); 4] = [
            (&["second", "EPOCH"], "floe_extract_s6"),
            (&["msec"], "floe_extract_s3"),
            (&["julian"], "floe_extract_s20"),
            (&["year", "nonsense"], "floe_extract_s0"),
        ];
        for (fields, function) in by_scale {
            for field in fields {
                assert_eq!(extract_function(field), function, "{field}");
            }
        }
    }
}
