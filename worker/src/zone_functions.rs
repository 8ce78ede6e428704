//! `AT TIME ZONE`, which the engine (built without time zone support) reads as
//! `timezone(zone, value)` and cannot run: Floe registers `timezone` itself,
//! with chrono-tz's time zone database, as PostgreSQL defines it —
//! `timestamptz AT TIME ZONE zone` is the wall-clock time in `zone` (a
//! `timestamp`), `timestamp AT TIME ZONE zone` the instant that wall-clock
//! time names there (a `timestamptz`). Zones are IANA names, `UTC`, or
//! numeric offsets in PostgreSQL's POSIX convention (`+05` is five hours
//! west of Greenwich); an unknown zone is an error, NULL gives NULL.

use std::ffi::{c_char, CString};

use duckdb::ffi;

use crate::pg_text::SessionTz;

/// Which way a `timezone` overload converts.
#[derive(Clone, Copy)]
enum Direction {
    /// An instant to its wall-clock time in the zone.
    ToLocal,
    /// A wall-clock time in the zone to its instant.
    FromLocal,
}

/// Registers `timezone(VARCHAR, TIMESTAMPTZ)` and `timezone(VARCHAR, TIMESTAMP)`
/// on the engine `conn` belongs to.
///
/// # Safety
/// `conn` must be an open connection.
pub unsafe fn register(conn: ffi::duckdb_connection) -> Result<(), String> {
    let name = CString::new("timezone").map_err(|e| e.to_string())?;
    let set = ffi::duckdb_create_scalar_function_set(name.as_ptr());
    let overloads: [(
        ffi::DUCKDB_TYPE,
        ffi::DUCKDB_TYPE,
        ffi::duckdb_scalar_function_t,
    ); 2] = [
        (
            ffi::DUCKDB_TYPE_DUCKDB_TYPE_TIMESTAMP_TZ,
            ffi::DUCKDB_TYPE_DUCKDB_TYPE_TIMESTAMP,
            Some(to_local),
        ),
        (
            ffi::DUCKDB_TYPE_DUCKDB_TYPE_TIMESTAMP,
            ffi::DUCKDB_TYPE_DUCKDB_TYPE_TIMESTAMP_TZ,
            Some(from_local),
        ),
    ];
    let mut ok = true;
    for (argument, result, function) in overloads {
        let mut f = ffi::duckdb_create_scalar_function();
        ffi::duckdb_scalar_function_set_name(f, name.as_ptr());
        for t in [ffi::DUCKDB_TYPE_DUCKDB_TYPE_VARCHAR, argument] {
            let mut lt = ffi::duckdb_create_logical_type(t);
            ffi::duckdb_scalar_function_add_parameter(f, lt);
            ffi::duckdb_destroy_logical_type(&mut lt);
        }
        let mut lt = ffi::duckdb_create_logical_type(result);
        ffi::duckdb_scalar_function_set_return_type(f, lt);
        ffi::duckdb_destroy_logical_type(&mut lt);
        ffi::duckdb_scalar_function_set_function(f, function);
        ok &= ffi::duckdb_add_scalar_function_to_set(set, f) == ffi::duckdb_state_DuckDBSuccess;
        ffi::duckdb_destroy_scalar_function(&mut f);
    }
    ok &= ffi::duckdb_register_scalar_function_set(conn, set) == ffi::duckdb_state_DuckDBSuccess;
    let mut set = set;
    ffi::duckdb_destroy_scalar_function_set(&mut set);
    if ok {
        Ok(())
    } else {
        Err("registering timezone() failed".into())
    }
}

unsafe extern "C" fn to_local(
    info: ffi::duckdb_function_info,
    input: ffi::duckdb_data_chunk,
    output: ffi::duckdb_vector,
) {
    convert(info, input, output, Direction::ToLocal);
}

unsafe extern "C" fn from_local(
    info: ffi::duckdb_function_info,
    input: ffi::duckdb_data_chunk,
    output: ffi::duckdb_vector,
) {
    convert(info, input, output, Direction::FromLocal);
}

/// The zone a name gives, as `AT TIME ZONE` reads it.
fn zone_named(name: &str) -> Option<SessionTz> {
    let t = name.trim();
    let numeric = t.starts_with(['+', '-']) || t.starts_with(|c: char| c.is_ascii_digit());
    match SessionTz::parse(t)? {
        // PostgreSQL reads a numeric zone the POSIX way: positive is west.
        SessionTz::Fixed(east) if numeric => Some(SessionTz::Fixed(-east)),
        zone => Some(zone),
    }
}

/// The engine's infinite timestamps, which stay infinite.
fn is_infinite(micros: i64) -> bool {
    micros == i64::MAX || micros <= -i64::MAX
}

/// # Safety
/// Called by the engine with a flat chunk of (VARCHAR, TIMESTAMP[TZ]) and a
/// flat output vector of the chunk's size.
unsafe fn convert(
    info: ffi::duckdb_function_info,
    input: ffi::duckdb_data_chunk,
    output: ffi::duckdb_vector,
    direction: Direction,
) {
    let rows = ffi::duckdb_data_chunk_get_size(input) as usize;
    let zones = ffi::duckdb_data_chunk_get_vector(input, 0);
    let values = ffi::duckdb_data_chunk_get_vector(input, 1);
    let zone_data = ffi::duckdb_vector_get_data(zones).cast::<ffi::duckdb_string_t>();
    let value_data = ffi::duckdb_vector_get_data(values).cast::<i64>();
    let zone_valid = ffi::duckdb_vector_get_validity(zones);
    let value_valid = ffi::duckdb_vector_get_validity(values);
    let out = ffi::duckdb_vector_get_data(output).cast::<i64>();
    let mut last: Option<(String, SessionTz)> = None;
    for row in 0..rows {
        let idx = row as u64;
        let valid = |v: *mut u64| v.is_null() || ffi::duckdb_validity_row_is_valid(v, idx);
        if !valid(zone_valid) || !valid(value_valid) {
            ffi::duckdb_vector_ensure_validity_writable(output);
            ffi::duckdb_validity_set_row_invalid(ffi::duckdb_vector_get_validity(output), idx);
            continue;
        }
        let mut s = *zone_data.add(row);
        let len = ffi::duckdb_string_t_length(s) as usize;
        let ptr = ffi::duckdb_string_t_data(&mut s).cast::<u8>();
        let name = String::from_utf8_lossy(std::slice::from_raw_parts(ptr, len)).into_owned();
        let zone = match &last {
            Some((n, z)) if *n == name => z,
            _ => match zone_named(&name) {
                Some(z) => &last.insert((name, z)).1,
                None => {
                    let msg = CString::new(format!("time zone \"{name}\" not recognized"))
                        .unwrap_or_default();
                    ffi::duckdb_scalar_function_set_error(info, msg.as_ptr() as *const c_char);
                    return;
                }
            },
        };
        let value = *value_data.add(row);
        *out.add(row) = if is_infinite(value) {
            value
        } else {
            match direction {
                Direction::ToLocal => value.saturating_add(offset_micros(zone, value)),
                Direction::FromLocal => {
                    // The offset at the instant the wall-clock time names (a
                    // time in a spring-forward gap takes the offset before it).
                    let first = value.saturating_sub(offset_micros(zone, value));
                    value.saturating_sub(offset_micros(zone, first))
                }
            }
        };
    }
}

fn offset_micros(zone: &SessionTz, utc_micros: i64) -> i64 {
    i64::from(zone.offset_at(utc_micros)) * 1_000_000
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn at_time_zone_runs_in_the_engine() {
        let db = crate::duck::Database::open(None, &[]).expect("db");
        let setup = db.connect().expect("connection");
        setup.register_native_functions().expect("registered");
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
        let err = conn
            .execute_batch("SELECT now() AT TIME ZONE 'Mars/Olympus'")
            .expect_err("unknown zone");
        assert!(
            err.message
                .contains("time zone \"Mars/Olympus\" not recognized"),
            "{}",
            err.message
        );
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
