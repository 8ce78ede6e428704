//! Casts between text and the date/time and binary types as PostgreSQL makes
//! them inside SQL, where the engine's own casts differ: a `timestamptz`
//! becomes text in the session's `TimeZone` (the engine writes UTC), an
//! `interval` in PostgreSQL's words (`1 year 2 mons`), a `bytea` in hex
//! (`\x0102`), a BC date with `BC` — the same text the wire gives (the router
//! turns `x::text` of a column or expression into the session macro
//! `floe_as_text`, which calls [`floe_pg_text`](register) for these types).
//! The other way, zone-less text read as a `timestamptz` names a wall-clock
//! time in the session's zone (`floe_zoned_instant_of_text`; text that
//! carries a zone or offset, and special values, are left to the engine's
//! cast). `text || timestamptz` (either order) writes it as the cast does.

use bytes::BytesMut;

use duckdb::ffi;

use crate::codec::text::{self, SessionTz};
use crate::functions::types::{BLOB, DATE, INTERVAL, TIMESTAMP, TIMESTAMPTZ, VARCHAR};
use crate::functions::zone::{bind_session_zone, bound_zone};
use crate::functions::Call;
use crate::functions::{
    self, is_valid, row_count, set_null, write_text, Argument, Callback, Native,
};

/// Registers `floe_pg_text` and `floe_zoned_instant_of_text`.
///
/// # Safety
/// `conn` must be an open connection.
pub unsafe fn register(conn: ffi::duckdb_connection) -> Result<(), String> {
    let text_of = |params, function, bind| Native {
        name: "floe_pg_text",
        params,
        result: VARCHAR,
        result_scale: 0,
        function: Some(function),
        bind,
        extra: None,
    };
    functions::register_set(
        conn,
        "floe_pg_text",
        &[
            text_of(&[DATE], date_text, None),
            text_of(&[TIMESTAMP], timestamp_text, None),
            text_of(&[TIMESTAMPTZ], timestamptz_text, Some(bind_session_zone)),
            text_of(&[INTERVAL], interval_text, None),
            text_of(&[BLOB], bytea_text, None),
        ],
    )?;
    // `'at ' || t` writes the timestamptz as its cast to text does.
    for (params, function) in [
        (&[VARCHAR, TIMESTAMPTZ], text_then_instant as Callback),
        (&[TIMESTAMPTZ, VARCHAR], instant_then_text as Callback),
    ] {
        functions::register(
            conn,
            &Native {
                name: "||",
                params,
                result: VARCHAR,
                result_scale: 0,
                function: Some(function),
                bind: Some(bind_session_zone),
                extra: None,
            },
        )?;
    }
    functions::register(
        conn,
        &Native::scalar("floe_bytea_escape", &[BLOB], VARCHAR, bytea_escape_rows),
    )?;
    functions::register(
        conn,
        &Native::scalar(
            "floe_zoned_instant_of_text",
            &[VARCHAR],
            TIMESTAMPTZ,
            instant_of_text,
        )
        .with_bind(bind_session_zone),
    )
}

/// Writes each row of the chunk's one argument with `write` (NULL stays
/// NULL).
///
/// # Safety
/// Called by the engine with a flat chunk whose one vector holds `T`s and a
/// flat VARCHAR output of the chunk's size.
unsafe fn text_rows<T: Copy>(
    input: ffi::duckdb_data_chunk,
    output: ffi::duckdb_vector,
    write: impl Fn(&mut BytesMut, T),
) {
    let values = Argument::<T>::of(input, 0);
    let mut buf = BytesMut::with_capacity(64);
    for row in 0..row_count(input) {
        let Some(v) = values.get(row) else {
            set_null(output, row as u64);
            continue;
        };
        buf.clear();
        write(&mut buf, v);
        write_text(output, row as u64, &String::from_utf8_lossy(&buf));
    }
}

native_scalar! {
    fn date_text(info, input, output) {
        text_rows::<i32>(input, output, text::date_text)
    }
}

native_scalar! {
    fn timestamp_text(info, input, output) {
        text_rows::<i64>(input, output, text::timestamp_text)
    }
}

native_scalar! {
    fn timestamptz_text(info, input, output) {
        let zone = bound_zone(info);
        text_rows::<i64>(input, output, |out, v| {
            text::timestamptz_text(out, v, &zone)
        })
    }
}

native_scalar! {
    fn interval_text(info, input, output) {
        text_rows::<ffi::duckdb_interval>(input, output, |out, v| {
            text::interval_text(out, v.months, v.days, v.micros)
        })
    }
}

native_scalar! {
    fn bytea_text(info, input, output) {
        let mut buf = BytesMut::with_capacity(64);
        each_blob(input, output, |row, bytes| {
            buf.clear();
            text::bytea_hex(&mut buf, bytes);
            write_text(output, row, &String::from_utf8_lossy(&buf));
        });
    }
}

/// Calls `each` with the row and bytes of every non-NULL BLOB of the call's
/// first argument; NULL rows are NULL in `output`.
///
/// # Safety
/// `input` is the call's chunk, its first column a BLOB; `output` covers it.
unsafe fn each_blob(
    input: ffi::duckdb_data_chunk,
    output: ffi::duckdb_vector,
    mut each: impl FnMut(u64, &[u8]),
) {
    let vector = ffi::duckdb_data_chunk_get_vector(input, 0);
    let data = ffi::duckdb_vector_get_data(vector).cast::<ffi::duckdb_string_t>();
    let validity = ffi::duckdb_vector_get_validity(vector);
    for row in 0..row_count(input) {
        if is_valid(validity, row as u64) {
            each(row as u64, functions::bytes_at(data, row));
        } else {
            set_null(output, row as u64);
        }
    }
}

/// `encode(bytes, 'escape')` as PostgreSQL writes it: NUL and bytes with
/// the high bit set as `\ooo`, a backslash doubled, the rest as they are.
pub fn bytea_escape(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len());
    for &b in bytes {
        match b {
            b'\\' => out.push_str("\\\\"),
            0 | 0x80..=0xff => out.push_str(&format!("\\{b:03o}")),
            b => out.push(char::from(b)),
        }
    }
    out
}

native_scalar! {
    fn bytea_escape_rows(info, input, output) {
        each_blob(input, output, |row, bytes| {
            write_text(output, row, &bytea_escape(bytes))
        });
    }
}

native_scalar! {
    fn text_then_instant => concat_rows(1);
    fn instant_then_text => concat_rows(0);
}

/// Concatenates a text and a timestamptz (the argument at `instant`, the
/// other being the text) in their order; NULL if either is.
///
/// # Safety
/// Called by the engine with a flat chunk of a VARCHAR and a TIMESTAMPTZ
/// vector and a flat VARCHAR output of the chunk's size.
unsafe fn concat_rows(Call(info, input, output): Call, instant: u64) {
    let zone = bound_zone(info);
    let texts = Argument::<ffi::duckdb_string_t>::of(input, 1 - instant);
    let instants = Argument::<i64>::of(input, instant);
    let mut buf = BytesMut::with_capacity(64);
    for row in 0..row_count(input) {
        let (Some(text), Some(t)) = (texts.text(row), instants.get(row)) else {
            set_null(output, row as u64);
            continue;
        };
        buf.clear();
        text::timestamptz_text(&mut buf, t, &zone);
        let written = String::from_utf8_lossy(&buf);
        let joined = if instant == 1 {
            format!("{text}{written}")
        } else {
            format!("{written}{text}")
        };
        write_text(output, row as u64, &joined);
    }
}

native_scalar! {
    fn instant_of_text(info, input, output) {
        let zone = bound_zone(info);
        let texts = Argument::<ffi::duckdb_string_t>::of(input, 0);
        let out = ffi::duckdb_vector_get_data(output).cast::<i64>();
        for row in 0..row_count(input) {
            match texts.text(row).and_then(|t| instant_in_zone(&t, &zone)) {
                Some(micros) => out.add(row).write(micros),
                None => set_null(output, row as u64),
            }
        }
    }
}

/// The instant (UTC microseconds) zone-less date-time text names on the
/// wall clock of `zone`; `None` for anything else (the engine's cast reads
/// it).
pub fn instant_in_zone(text: &str, zone: &SessionTz) -> Option<i64> {
    let naive = zone_less_date_time(text)?;
    Some(zone.utc_of_local(naive.and_utc().timestamp_micros()))
}

/// Date-time text without its era: the rest (trimmed), and whether the era
/// was written and is BC (`Some(true)`), AD (`Some(false)`) or absent.
pub fn split_era(text: &str) -> (&str, Option<bool>) {
    let t = text.trim();
    let suffix = t.len().checked_sub(3).and_then(|i| t.get(i..));
    match suffix {
        Some(s) if s.eq_ignore_ascii_case(" bc") => (t[..t.len() - 3].trim_end(), Some(true)),
        Some(s) if s.eq_ignore_ascii_case(" ad") => (t[..t.len() - 3].trim_end(), Some(false)),
        _ => (t, None),
    }
}

/// A zone-less date or date-time (`2024-01-01`, `2024-01-01 12:00[:00[.f]]`,
/// with `T` or a blank), optionally followed by its era (`BC`, `AD`, any
/// case), as PostgreSQL reads it: a year BC counts back from 1 BC, the
/// astronomical year 0.
pub fn zone_less_date_time(text: &str) -> Option<chrono::NaiveDateTime> {
    use chrono::{Datelike, NaiveDate, NaiveDateTime};
    let (t, era) = split_era(text);
    // Years are written unsigned (a sign would read as an offset).
    if t.starts_with(['-', '+']) {
        return None;
    }
    let naive = [
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M",
        "%Y-%m-%dT%H:%M",
    ]
    .iter()
    .find_map(|f| NaiveDateTime::parse_from_str(t, f).ok())
    .or_else(|| {
        NaiveDate::parse_from_str(t, "%Y-%m-%d")
            .ok()
            .and_then(|d| d.and_hms_opt(0, 0, 0))
    })?;
    if era != Some(true) {
        return Some(naive);
    }
    if naive.year() < 1 {
        return None;
    }
    let date = NaiveDate::from_ymd_opt(1 - naive.year(), naive.month(), naive.day())?;
    Some(date.and_time(naive.time()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaped_bytes_are_written_as_postgres_writes_them() {
        // PostgreSQL 15: encode('\x01ff005c41'::bytea, 'escape').
        assert_eq!(
            bytea_escape(&[0x01, 0xff, 0x00, b'\\', b'A']),
            "\u{1}\\377\\000\\\\A"
        );
    }

    #[test]
    fn zone_less_text_names_the_wall_clock_of_the_zone() {
        let paris = SessionTz::parse("Europe/Paris").expect("zone");
        // 12:00 in Paris in winter is 11:00 UTC.
        assert_eq!(
            instant_in_zone("2024-01-01 12:00", &paris),
            Some(1_704_106_800_000_000)
        );
        assert_eq!(
            instant_in_zone(" 2024-01-01 ", &paris),
            Some(1_704_063_600_000_000)
        );
        assert_eq!(
            instant_in_zone("2024-07-01T00:00:00.5", &SessionTz::Fixed(0)),
            Some(1_719_792_000_500_000)
        );
        for carried in [
            "2024-01-01 12:00+02",
            "2024-01-01 12:00 UTC",
            "now",
            "infinity",
            "x",
        ] {
            assert_eq!(instant_in_zone(carried, &paris), None, "{carried}");
        }
    }
}
