//! `AT TIME ZONE`, which the engine (built without time zone support) reads as
//! `timezone(zone, value)` and cannot run: Floe registers `timezone` itself,
//! with chrono-tz's time zone database, as PostgreSQL defines it —
//! `timestamptz AT TIME ZONE zone` is the wall-clock time in `zone` (a
//! `timestamp`), `timestamp AT TIME ZONE zone` the instant that wall-clock
//! time names there (a `timestamptz`). Zones are IANA names, `UTC`, or
//! numeric offsets in PostgreSQL's POSIX convention (`+05` is five hours
//! west of Greenwich); an unknown zone is an error, NULL gives NULL.
//!
//! `date_trunc(unit, timestamptz)` (and of a date, its midnight there), `date_part(field, timestamptz)` (what
//! `EXTRACT` calls) and `to_char(timestamptz, template)` (`pg_to_char`) work in
//! the session's `TimeZone`, as in PostgreSQL: each
//! session records its zone here by its engine connection's id
//! ([`set_session_zone`]), and a call reads it when it is bound.

use parking_lot::Mutex;
use std::collections::HashMap;
use std::ffi::c_void;

use chrono::{Datelike, NaiveDate, NaiveDateTime, Timelike};

use duckdb::ffi;

use crate::codec::text::SessionTz;
use crate::functions::types::{DATE, DOUBLE, TIMESTAMP, TIMESTAMPTZ, VARCHAR};
use crate::functions::Call;
use crate::functions::{
    self, fail, is_valid, row_count, set_null, text_at, write_or_fail, write_text, Argument, Native,
};

/// Which way a `timezone` overload converts.
#[derive(Clone, Copy)]
enum Direction {
    /// An instant to its wall-clock time in the zone.
    ToLocal,
    /// A wall-clock time in the zone to its instant.
    FromLocal,
}

/// Each session's time zone, by its engine connection's id.
static SESSION_ZONES: Mutex<Option<HashMap<u64, SessionTz>>> = Mutex::new(None);

/// Records `zone` as the time zone of the session on connection `id`.
pub fn set_session_zone(id: u64, zone: SessionTz) {
    let mut zones = SESSION_ZONES.lock();
    zones.get_or_insert_with(HashMap::new).insert(id, zone);
}

/// Forgets the session on connection `id` (it closed).
pub fn forget_session(id: u64) {
    let mut zones = SESSION_ZONES.lock();
    if let Some(z) = zones.as_mut() {
        z.remove(&id);
    }
}

fn session_zone(id: u64) -> SessionTz {
    let zones = SESSION_ZONES.lock();
    zones
        .as_ref()
        .and_then(|z| z.get(&id).cloned())
        .unwrap_or(SessionTz::Fixed(0))
}

/// Registers every native function on the engine `conn` belongs to.
///
/// # Safety
/// `conn` must be an open connection.
pub unsafe fn register(conn: ffi::duckdb_connection) -> Result<(), String> {
    let plain = |name, params, result, function| Native {
        name,
        params,
        result,
        result_scale: 0,
        function,
        bind: None,
        extra: None,
    };
    // Functions of the session's zone read it when a statement binds them.
    let zoned = |name, params, result, function| Native {
        bind: Some(bind_session_zone),
        ..plain(name, params, result, function)
    };
    functions::register_set(
        conn,
        "timezone",
        &[
            plain(
                "timezone",
                &[VARCHAR, TIMESTAMPTZ],
                TIMESTAMP,
                Some(to_local),
            ),
            plain(
                "timezone",
                &[VARCHAR, TIMESTAMP],
                TIMESTAMPTZ,
                Some(from_local),
            ),
        ],
    )?;
    for n in [
        // The casts between timestamptz and the zone-less types (the
        // router's floe_as_date / floe_as_timestamp / floe_as_timestamptz).
        zoned(
            "floe_local_time",
            &[TIMESTAMPTZ],
            TIMESTAMP,
            Some(session_local),
        ),
        zoned(
            "floe_zoned_instant",
            &[TIMESTAMP],
            TIMESTAMPTZ,
            Some(session_instant),
        ),
        zoned(
            "date_trunc",
            &[VARCHAR, TIMESTAMPTZ],
            TIMESTAMPTZ,
            Some(date_trunc),
        ),
        // A date is truncated as the timestamptz of its midnight in the
        // session's zone, as PostgreSQL casts it.
        zoned(
            "date_trunc",
            &[VARCHAR, ffi::DUCKDB_TYPE_DUCKDB_TYPE_DATE],
            TIMESTAMPTZ,
            Some(date_trunc_date),
        ),
        zoned(
            "date_part",
            &[VARCHAR, TIMESTAMPTZ],
            DOUBLE,
            Some(date_part),
        ),
        // to_char(date/time, template): a timestamptz in the session's zone.
        zoned(
            "to_char",
            &[TIMESTAMPTZ, VARCHAR],
            VARCHAR,
            Some(to_char_zoned),
        ),
        plain(
            "to_char",
            &[TIMESTAMP, VARCHAR],
            VARCHAR,
            Some(to_char_timestamp),
        ),
        plain("to_char", &[DATE, VARCHAR], VARCHAR, Some(to_char_date)),
    ] {
        functions::register(conn, &n)?;
    }
    // The engine rewrites date_part('day', x) as day(x) (and so on): each of
    // those on a timestamptz, too, the field (a static string) as the
    // function's data.
    for (name, field) in PART_FUNCTIONS {
        functions::register(
            conn,
            &Native {
                extra: Some(field),
                ..zoned(name, &[TIMESTAMPTZ], DOUBLE, Some(named_part))
            },
        )?;
    }
    Ok(())
}

/// The single-field functions the engine calls for `date_part(field, x)`:
/// (function, PostgreSQL's field).
const PART_FUNCTIONS: &[(&str, &str)] = &[
    ("year", "year"),
    ("month", "month"),
    ("day", "day"),
    ("decade", "decade"),
    ("century", "century"),
    ("millennium", "millennium"),
    ("quarter", "quarter"),
    ("week", "week"),
    ("yearweek", "yearweek"),
    ("dayofweek", "dow"),
    ("isodow", "isodow"),
    ("dayofyear", "doy"),
    ("microsecond", "microseconds"),
    ("millisecond", "milliseconds"),
    ("second", "second"),
    ("minute", "minute"),
    ("hour", "hour"),
];

native_scalar! {
    fn named_part => named_part_rows();
}

/// # Safety
/// Called by the engine with a flat chunk of one TIMESTAMPTZ vector and a
/// flat DOUBLE output of the chunk's size.
unsafe fn named_part_rows(Call(info, input, output): Call) {
    let field_ptr = ffi::duckdb_scalar_function_get_extra_info(info).cast::<&'static str>();
    if field_ptr.is_null() {
        return;
    }
    let field = *field_ptr;
    let zone = bound_zone(info);
    let values = Argument::<i64>::of(input, 0);
    let out = ffi::duckdb_vector_get_data(output).cast::<f64>();
    for row in 0..row_count(input) {
        let Some(value) = values.get(row) else {
            set_null(output, row as u64);
            continue;
        };
        if !write_or_fail(info, out, row, part_in_zone(field, value, &zone)) {
            return;
        }
    }
}

/// Binds a session-zone function: the calling session's zone, as bind data.
pub(crate) unsafe extern "C" fn bind_session_zone(info: ffi::duckdb_bind_info) {
    let mut context: ffi::duckdb_client_context = std::ptr::null_mut();
    ffi::duckdb_scalar_function_get_client_context(info, &mut context);
    let zone = if context.is_null() {
        SessionTz::Fixed(0)
    } else {
        let id = ffi::duckdb_client_context_get_connection_id(context);
        ffi::duckdb_destroy_client_context(&mut context);
        session_zone(id)
    };
    let data = Box::into_raw(Box::new(zone)).cast::<c_void>();
    ffi::duckdb_scalar_function_set_bind_data(info, data, Some(drop_zone));
    ffi::duckdb_scalar_function_set_bind_data_copy(info, Some(copy_zone));
}

/// The zone [`bind_session_zone`] captured for this call.
///
/// # Safety
/// `info` is the engine's function info for a call of a zoned function.
pub(crate) unsafe fn bound_zone(info: ffi::duckdb_function_info) -> SessionTz {
    let ptr = ffi::duckdb_scalar_function_get_bind_data(info).cast::<SessionTz>();
    if ptr.is_null() {
        SessionTz::Fixed(0)
    } else {
        (*ptr).clone()
    }
}

unsafe extern "C" fn drop_zone(data: *mut c_void) {
    if !data.is_null() {
        drop(Box::from_raw(data.cast::<SessionTz>()));
    }
}

unsafe extern "C" fn copy_zone(data: *mut c_void) -> *mut c_void {
    let zone = if data.is_null() {
        SessionTz::Fixed(0)
    } else {
        (*data.cast::<SessionTz>()).clone()
    };
    Box::into_raw(Box::new(zone)).cast::<c_void>()
}

native_scalar! {
    fn to_local => convert(Direction::ToLocal);
    fn from_local => convert(Direction::FromLocal);
}

/// The zone a name gives, as `AT TIME ZONE` reads it.
pub(crate) fn zone_named(name: &str) -> Option<SessionTz> {
    let t = name.trim();
    let numeric = t.starts_with(['+', '-']) || t.starts_with(|c: char| c.is_ascii_digit());
    match SessionTz::parse(t)? {
        // PostgreSQL reads a numeric zone the POSIX way: positive is west.
        SessionTz::Fixed(east) if numeric => Some(SessionTz::Fixed(-east)),
        zone => Some(zone),
    }
}

/// The engine's infinite timestamps, which stay infinite.
pub(crate) fn is_infinite(micros: i64) -> bool {
    micros == i64::MAX || micros <= -i64::MAX
}

/// # Safety
/// Called by the engine with a flat chunk of (VARCHAR, TIMESTAMP[TZ]) and a
/// flat output vector of the chunk's size.
unsafe fn convert(Call(info, input, output): Call, direction: Direction) {
    let zones = Argument::<ffi::duckdb_string_t>::of(input, 0);
    let values = Argument::<i64>::of(input, 1);
    let out = ffi::duckdb_vector_get_data(output).cast::<i64>();
    let mut last: Option<(String, SessionTz)> = None;
    for row in 0..row_count(input) {
        let (Some(name), Some(value)) = (zones.text(row), values.get(row)) else {
            set_null(output, row as u64);
            continue;
        };
        let zone = match &last {
            Some((n, z)) if *n == name => z,
            _ => match zone_named(&name) {
                Some(z) => &last.insert((name, z)).1,
                None => {
                    fail(info, &format!("time zone \"{name}\" not recognized"));
                    return;
                }
            },
        };
        *out.add(row) = shifted(value, zone, direction);
    }
}

/// `value` (microseconds) converted `direction` in `zone`; infinities stay.
fn shifted(value: i64, zone: &SessionTz, direction: Direction) -> i64 {
    if is_infinite(value) {
        return value;
    }
    match direction {
        Direction::ToLocal => value.saturating_add(offset_micros(zone, value)),
        Direction::FromLocal => zone.utc_of_local(value),
    }
}

native_scalar! {
    fn session_local => convert_in_session_zone(Direction::ToLocal);
    fn session_instant => convert_in_session_zone(Direction::FromLocal);
}

/// # Safety
/// Called by the engine with a flat chunk of one TIMESTAMP[TZ] vector and a
/// flat output of the chunk's size, for a function bound with the session's
/// zone.
unsafe fn convert_in_session_zone(Call(info, input, output): Call, direction: Direction) {
    let zone = bound_zone(info);
    let values = Argument::<i64>::of(input, 0);
    let out = ffi::duckdb_vector_get_data(output).cast::<i64>();
    for row in 0..row_count(input) {
        match values.get(row) {
            Some(v) => *out.add(row) = shifted(v, &zone, direction),
            None => set_null(output, row as u64),
        }
    }
}

/// Runs `f(unit, timestamptz micros, zone)` over a (VARCHAR, TIMESTAMPTZ)
/// chunk into an output of `T`; `f`'s error stops the statement.
unsafe fn zoned_rows<T>(
    Call(info, input, output): Call,
    f: impl Fn(&str, i64, &SessionTz) -> Result<T, String>,
) {
    let zone = bound_zone(info);
    let units = Argument::<ffi::duckdb_string_t>::of(input, 0);
    let values = Argument::<i64>::of(input, 1);
    let out = ffi::duckdb_vector_get_data(output).cast::<T>();
    for row in 0..row_count(input) {
        let (Some(unit), Some(value)) = (units.text(row), values.get(row)) else {
            set_null(output, row as u64);
            continue;
        };
        if !write_or_fail(info, out, row, f(&unit, value, &zone)) {
            return;
        }
    }
}

native_scalar! {
    fn date_trunc => zoned_rows(truncate_in_zone);
}

native_scalar! {
    fn date_trunc_date(info, input, output) {
        let zone = bound_zone(info);
        let units = Argument::<ffi::duckdb_string_t>::of(input, 0);
        let days = Argument::<i32>::of(input, 1);
        let out = ffi::duckdb_vector_get_data(output).cast::<i64>();
        for row in 0..row_count(input) {
            let (Some(unit), Some(day)) = (units.text(row), days.get(row)) else {
                set_null(output, row as u64);
                continue;
            };
            let midnight = match day {
                i32::MAX => i64::MAX,
                d if d == -i32::MAX => -i64::MAX,
                d => match NaiveDate::from_epoch_days(d).and_then(|d| d.and_hms_opt(0, 0, 0)) {
                    Some(local) => instant_of(local, &zone),
                    None => {
                        fail(info, "date out of range for timestamp");
                        return;
                    }
                },
            };
            if !write_or_fail(info, out, row, truncate_in_zone(&unit, midnight, &zone)) {
                return;
            }
        }
    }
}

native_scalar! {
    fn date_part => zoned_rows(part_in_zone);
}

/// What `to_char`'s first argument is.
#[derive(Clone, Copy)]
enum Formatted {
    /// A timestamptz, written in the session's zone.
    Zoned,
    Timestamp,
    Date,
}

native_scalar! {
    fn to_char_zoned => to_char_rows(Formatted::Zoned);
    fn to_char_timestamp => to_char_rows(Formatted::Timestamp);
    fn to_char_date => to_char_rows(Formatted::Date);
}

/// The abbreviation `TZ` writes for `zone` at `utc` (`CET`, `UTC`, `+05`).
fn zone_abbreviation(zone: &SessionTz, utc: i64) -> String {
    use chrono::Offset;
    use chrono_tz::OffsetName;
    match zone {
        SessionTz::Fixed(0) => "UTC".into(),
        SessionTz::Fixed(offset) => crate::functions::to_char::offset_text(*offset),
        SessionTz::Named(tz) => chrono::DateTime::from_timestamp_micros(utc)
            .map(|d| {
                let offset = chrono::TimeZone::offset_from_utc_datetime(tz, &d.naive_utc());
                offset
                    .abbreviation()
                    .map(str::to_string)
                    .unwrap_or_else(|| offset.fix().to_string())
            })
            .unwrap_or_default(),
    }
}

/// # Safety
/// Called by the engine with a flat chunk of (value, VARCHAR) and a flat
/// VARCHAR output of the chunk's size.
unsafe fn to_char_rows(Call(info, input, output): Call, kind: Formatted) {
    let zone = match kind {
        Formatted::Zoned => bound_zone(info),
        _ => SessionTz::Fixed(0),
    };
    let rows = ffi::duckdb_data_chunk_get_size(input) as usize;
    let values = ffi::duckdb_data_chunk_get_vector(input, 0);
    let templates = ffi::duckdb_data_chunk_get_vector(input, 1);
    let value_data = ffi::duckdb_vector_get_data(values);
    let template_data = ffi::duckdb_vector_get_data(templates).cast::<ffi::duckdb_string_t>();
    let (value_valid, template_valid) = (
        ffi::duckdb_vector_get_validity(values),
        ffi::duckdb_vector_get_validity(templates),
    );
    for row in 0..rows {
        let idx = row as u64;
        let valid = |v: *mut u64| is_valid(v, idx);
        // Infinite values have no fields to write: NULL, as in PostgreSQL.
        let (local, view) = if !valid(value_valid) || !valid(template_valid) {
            (None, None)
        } else {
            match kind {
                Formatted::Date => {
                    let days = *value_data.cast::<i32>().add(row);
                    let local = (days != i32::MAX && days > -i32::MAX)
                        .then(|| chrono::DateTime::from_timestamp(i64::from(days) * 86_400, 0))
                        .flatten()
                        .map(|d| d.naive_utc());
                    (local, None)
                }
                Formatted::Timestamp => {
                    let micros = *value_data.cast::<i64>().add(row);
                    let local = (!is_infinite(micros))
                        .then(|| chrono::DateTime::from_timestamp_micros(micros))
                        .flatten()
                        .map(|d| d.naive_utc());
                    (local, None)
                }
                Formatted::Zoned => {
                    let utc = *value_data.cast::<i64>().add(row);
                    let local = (!is_infinite(utc))
                        .then(|| local_time(utc, &zone))
                        .flatten();
                    let view = crate::functions::to_char::ZoneView {
                        abbreviation: zone_abbreviation(&zone, utc),
                        offset: zone.offset_at(utc),
                    };
                    (local, Some(view))
                }
            }
        };
        let Some(local) = local else {
            set_null(output, idx);
            continue;
        };
        let text =
            crate::functions::to_char::to_char(&local, view.as_ref(), &text_at(template_data, row));
        write_text(output, idx, &text);
    }
}

/// The wall-clock time of `utc` in `zone`.
pub(crate) fn local_time(utc: i64, zone: &SessionTz) -> Option<NaiveDateTime> {
    let local = utc.checked_add(offset_micros(zone, utc))?;
    chrono::DateTime::from_timestamp_micros(local).map(|d| d.naive_utc())
}

/// The instant wall-clock time `local` names in `zone`.
pub(crate) fn instant_of(local: NaiveDateTime, zone: &SessionTz) -> i64 {
    zone.utc_of_local(local.and_utc().timestamp_micros())
}

fn unit_error(unit: &str) -> String {
    format!("unit \"{unit}\" not recognized for type timestamp with time zone")
}

/// PostgreSQL's `date_trunc(unit, timestamptz)`: truncated in the zone.
pub(crate) fn truncate_in_zone(unit: &str, utc: i64, zone: &SessionTz) -> Result<i64, String> {
    if is_infinite(utc) {
        return Ok(utc);
    }
    let t = local_time(utc, zone).ok_or_else(|| "timestamp out of range".to_string())?;
    let date = |y: i32, m: u32, d: u32| NaiveDate::from_ymd_opt(y, m, d);
    let unit_lower = unit.to_ascii_lowercase();
    let truncated = match unit_lower.as_str() {
        "microseconds" | "microsecond" => return Ok(utc),
        "milliseconds" | "millisecond" => t.with_nanosecond(t.nanosecond() / 1_000_000 * 1_000_000),
        "second" | "seconds" => t.with_nanosecond(0),
        "minute" | "minutes" => t.with_nanosecond(0).and_then(|t| t.with_second(0)),
        "hour" | "hours" => {
            date(t.year(), t.month(), t.day()).and_then(|d| d.and_hms_opt(t.hour(), 0, 0))
        }
        "day" | "days" => date(t.year(), t.month(), t.day()).and_then(|d| d.and_hms_opt(0, 0, 0)),
        "week" | "weeks" => {
            let back = chrono::Duration::days(i64::from(t.weekday().num_days_from_monday()));
            t.date()
                .checked_sub_signed(back)
                .and_then(|monday| monday.and_hms_opt(0, 0, 0))
        }
        "month" | "months" => date(t.year(), t.month(), 1).and_then(|d| d.and_hms_opt(0, 0, 0)),
        "quarter" | "quarters" => {
            date(t.year(), (t.month() - 1) / 3 * 3 + 1, 1).and_then(|d| d.and_hms_opt(0, 0, 0))
        }
        "year" | "years" => date(t.year(), 1, 1).and_then(|d| d.and_hms_opt(0, 0, 0)),
        "decade" | "decades" => {
            date(t.year().div_euclid(10) * 10, 1, 1).and_then(|d| d.and_hms_opt(0, 0, 0))
        }
        "century" | "centuries" => {
            let y = t.year();
            let start = if y > 0 {
                (y - 1) / 100 * 100 + 1
            } else {
                -((-y) / 100 * 100) - 99
            };
            date(start, 1, 1).and_then(|d| d.and_hms_opt(0, 0, 0))
        }
        "millennium" | "millennia" => {
            let y = t.year();
            let start = if y > 0 {
                (y - 1) / 1000 * 1000 + 1
            } else {
                -((-y) / 1000 * 1000) - 999
            };
            date(start, 1, 1).and_then(|d| d.and_hms_opt(0, 0, 0))
        }
        _ => return Err(unit_error(unit)),
    }
    .ok_or_else(|| "timestamp out of range".to_string())?;
    Ok(instant_of(truncated, zone))
}

/// PostgreSQL's `date_part(field, timestamptz)` (what EXTRACT reads): fields
/// of the wall-clock time in the zone; `epoch` and the zone's offset.
fn part_in_zone(field: &str, utc: i64, zone: &SessionTz) -> Result<f64, String> {
    let lower = field.to_ascii_lowercase();
    if lower == "epoch" {
        return Ok(if utc == i64::MAX {
            f64::INFINITY
        } else if is_infinite(utc) {
            f64::NEG_INFINITY
        } else {
            utc as f64 / 1_000_000.0
        });
    }
    if is_infinite(utc) {
        return Ok(f64::NAN);
    }
    let t = local_time(utc, zone).ok_or_else(|| "timestamp out of range".to_string())?;
    let seconds = f64::from(t.second()) + f64::from(t.nanosecond() / 1_000) / 1_000_000.0;
    let offset = zone.offset_at(utc);
    Ok(match lower.as_str() {
        "year" | "years" => f64::from(t.year()),
        "month" | "months" => f64::from(t.month()),
        "day" | "days" => f64::from(t.day()),
        "hour" | "hours" => f64::from(t.hour()),
        "minute" | "minutes" => f64::from(t.minute()),
        "second" | "seconds" => seconds,
        "milliseconds" | "millisecond" => seconds * 1_000.0,
        "microseconds" | "microsecond" => (seconds * 1_000_000.0).round(),
        "dow" => f64::from(t.weekday().num_days_from_sunday()),
        "isodow" => f64::from(t.weekday().number_from_monday()),
        "doy" => f64::from(t.ordinal()),
        "week" => f64::from(t.iso_week().week()),
        "isoyear" => f64::from(t.iso_week().year()),
        "yearweek" => f64::from(t.iso_week().year() * 100 + t.iso_week().week() as i32),
        "quarter" => f64::from((t.month() - 1) / 3 + 1),
        "decade" => f64::from(t.year().div_euclid(10)),
        "century" => {
            let y = t.year();
            f64::from(if y > 0 {
                (y + 99) / 100
            } else {
                -((99 - y) / 100)
            })
        }
        "millennium" => {
            let y = t.year();
            f64::from(if y > 0 {
                (y + 999) / 1000
            } else {
                -((999 - y) / 1000)
            })
        }
        "timezone" => f64::from(offset),
        "timezone_hour" => f64::from(offset / 3600),
        "timezone_minute" => f64::from((offset % 3600) / 60),
        _ => return Err(unit_error(field)),
    })
}

fn offset_micros(zone: &SessionTz, utc_micros: i64) -> i64 {
    i64::from(zone.offset_at(utc_micros)) * 1_000_000
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn at_time_zone_runs_in_the_engine() {
        let db = crate::engine::duck::Database::open(None, &[]).expect("db");
        let setup = db.connect().expect("connection");
        crate::functions::registry::register_all(&setup).expect("registered");
        let conn = db.connect().expect("connection");
        for sql in [
            "SELECT CASE WHEN TIMESTAMPTZ '2024-01-01 12:00:00+00' AT TIME ZONE 'Europe/Paris' \
             = TIMESTAMP '2024-01-01 13:00:00' THEN 1 ELSE error('to local') END",
            "SELECT CASE WHEN TIMESTAMP '2024-07-01 12:00:00' AT TIME ZONE 'America/New_York' \
             = TIMESTAMPTZ '2024-07-01 16:00:00+00' THEN 1 ELSE error('from local') END",
            "SELECT CASE WHEN NULL::TIMESTAMPTZ AT TIME ZONE 'UTC' IS NULL THEN 1 ELSE error('null') END",
        ] {
            conn.execute_batch(sql)
                .unwrap_or_else(|e| panic!("{sql}: {}", e.message));
        }
        // The engine's own overloads stay; the session's zone is read at bind.
        set_session_zone(
            conn.connection_id(),
            SessionTz::parse("Europe/Paris").expect("zone"),
        );
        for sql in [
            "SELECT CASE WHEN date_trunc('day', TIMESTAMP '2024-05-05 10:00:00') \
             = TIMESTAMP '2024-05-05 00:00:00' THEN 1 ELSE error('timestamp') END",
            "SELECT CASE WHEN date_trunc('day', TIMESTAMPTZ '2024-05-04 23:30:00+00') \
             = TIMESTAMPTZ '2024-05-04 22:00:00+00' THEN 1 ELSE error('zoned day') END",
            "SELECT CASE WHEN extract(hour FROM TIMESTAMPTZ '2024-05-04 23:30:00+00') = 1 \
             THEN 1 ELSE error('zoned hour') END",
            "SELECT CASE WHEN extract(year FROM DATE '2024-05-04') = 2024 THEN 1 ELSE error('date') END",
        ] {
            conn.execute_batch(sql)
                .unwrap_or_else(|e| panic!("{sql}: {}", e.message));
        }
        forget_session(conn.connection_id());
        let message =
            crate::engine::duck::error_of(&conn, "SELECT now() AT TIME ZONE 'Mars/Olympus'");
        assert!(
            message.contains("time zone \"Mars/Olympus\" not recognized"),
            "{message}"
        );
    }

    #[test]
    fn truncation_and_fields_follow_the_session_zone() {
        let paris = SessionTz::parse("Europe/Paris").expect("zone");
        // 2024-03-31 00:30 UTC is 01:30 in Paris (before the spring change).
        let utc = NaiveDate::from_ymd_opt(2024, 3, 31)
            .and_then(|d| d.and_hms_opt(0, 30, 0))
            .expect("time")
            .and_utc()
            .timestamp_micros();
        let day = truncate_in_zone("day", utc, &paris).expect("day");
        // Midnight in Paris, an hour before midnight UTC.
        assert_eq!(day, utc - 30 * 60 * 1_000_000 - 3600 * 1_000_000);
        assert_eq!(part_in_zone("hour", utc, &paris), Ok(1.0));
        assert_eq!(part_in_zone("HOUR", utc, &SessionTz::Fixed(0)), Ok(0.0));
        assert_eq!(part_in_zone("dow", utc, &paris), Ok(0.0));
        assert_eq!(part_in_zone("timezone", utc, &paris), Ok(3600.0));
        assert!(truncate_in_zone("fortnight", utc, &paris).is_err());
        assert_eq!(truncate_in_zone("day", i64::MAX, &paris), Ok(i64::MAX));
    }

    #[test]
    fn zones_read_as_at_time_zone_reads_them() {
        assert!(matches!(zone_named("UTC"), Some(SessionTz::Fixed(0))));
        assert!(matches!(zone_named("+05"), Some(SessionTz::Fixed(-18000))));
        assert!(matches!(
            zone_named("Europe/Paris"),
            Some(SessionTz::Named(_))
        ));
        assert!(zone_named("Mars/Olympus").is_none());
        assert!(is_infinite(i64::MAX) && is_infinite(-i64::MAX) && !is_infinite(0));
    }
}
