//! `sum(interval)`, which the engine lacks: PostgreSQL adds intervals part by
//! part (months, days and time each on their own, never carried into one
//! another) and reports `interval out of range` when a part overflows. It is
//! the engine aggregate `floe_interval_sum` (the engine refuses overloads of
//! its own `sum`), which the `floe_sum` macro calls for intervals, so it also
//! runs in windows.

use std::ffi::{c_char, CString};

use duckdb::ffi;

use crate::functions::{is_valid, set_null};

use crate::pg_error::messages::INTERVAL_OUT_OF_RANGE as OUT_OF_RANGE;

/// The running sum of one group: PostgreSQL's interval parts.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct IntervalSum {
    months: i32,
    days: i32,
    micros: i64,
    /// Whether a value was added (a sum of no values is NULL).
    seen: bool,
}

impl IntervalSum {
    /// Adds `v` part by part; `Err` when a part leaves its range.
    pub fn add(&mut self, v: ffi::duckdb_interval) -> Result<(), &'static str> {
        self.merge(IntervalSum {
            months: v.months,
            days: v.days,
            micros: v.micros,
            seen: true,
        })
    }

    /// Adds another group's sum.
    pub fn merge(&mut self, other: IntervalSum) -> Result<(), &'static str> {
        if !other.seen {
            return Ok(());
        }
        self.months = self.months.checked_add(other.months).ok_or(OUT_OF_RANGE)?;
        self.days = self.days.checked_add(other.days).ok_or(OUT_OF_RANGE)?;
        self.micros = self.micros.checked_add(other.micros).ok_or(OUT_OF_RANGE)?;
        self.seen = true;
        Ok(())
    }
}

/// Registers `floe_interval_sum(INTERVAL) → INTERVAL`.
///
/// # Safety
/// `conn` must be an open connection.
pub unsafe fn register(conn: ffi::duckdb_connection) -> Result<(), String> {
    let name = CString::new("floe_interval_sum").map_err(|e| e.to_string())?;
    let mut f = ffi::duckdb_create_aggregate_function();
    ffi::duckdb_aggregate_function_set_name(f, name.as_ptr());
    let mut interval = ffi::duckdb_create_logical_type(ffi::DUCKDB_TYPE_DUCKDB_TYPE_INTERVAL);
    ffi::duckdb_aggregate_function_add_parameter(f, interval);
    ffi::duckdb_aggregate_function_set_return_type(f, interval);
    ffi::duckdb_destroy_logical_type(&mut interval);
    ffi::duckdb_aggregate_function_set_functions(
        f,
        Some(state_size),
        Some(state_init),
        Some(update),
        Some(combine),
        Some(finalize),
    );
    let ok = ffi::duckdb_register_aggregate_function(conn, f) == ffi::duckdb_state_DuckDBSuccess;
    ffi::duckdb_destroy_aggregate_function(&mut f);
    ok.then_some(())
        .ok_or_else(|| "registering floe_interval_sum() failed".to_string())
}

/// Runs `body`; its error (or a panic) becomes the statement's error.
///
/// # Safety
/// `info` is the engine's function info for the running aggregate call.
unsafe fn guarded(
    info: ffi::duckdb_function_info,
    body: impl FnOnce() -> Result<(), &'static str>,
) {
    let message = match std::panic::catch_unwind(std::panic::AssertUnwindSafe(body)) {
        Ok(Ok(())) => return,
        Ok(Err(message)) => message,
        Err(_) => "internal error in a native function",
    };
    let message = CString::new(message).unwrap_or_default();
    ffi::duckdb_aggregate_function_set_error(info, message.as_ptr() as *const c_char);
}

/// The state of group `i` of `states`.
///
/// # Safety
/// `states` holds at least `i + 1` states the engine sized with `state_size`.
unsafe fn state_at<'a>(states: *mut ffi::duckdb_aggregate_state, i: usize) -> &'a mut IntervalSum {
    &mut *(*states.add(i)).cast::<IntervalSum>()
}

unsafe extern "C" fn state_size(_info: ffi::duckdb_function_info) -> ffi::idx_t {
    std::mem::size_of::<IntervalSum>() as ffi::idx_t
}

unsafe extern "C" fn state_init(
    _info: ffi::duckdb_function_info,
    state: ffi::duckdb_aggregate_state,
) {
    state.cast::<IntervalSum>().write(IntervalSum::default());
}

/// Adds row `r` of the input to the state of row `r`.
unsafe extern "C" fn update(
    info: ffi::duckdb_function_info,
    input: ffi::duckdb_data_chunk,
    states: *mut ffi::duckdb_aggregate_state,
) {
    guarded(info, || {
        let rows = ffi::duckdb_data_chunk_get_size(input) as usize;
        let vector = ffi::duckdb_data_chunk_get_vector(input, 0);
        let data = ffi::duckdb_vector_get_data(vector).cast::<ffi::duckdb_interval>();
        let validity = ffi::duckdb_vector_get_validity(vector);
        for r in 0..rows {
            if is_valid(validity, r as u64) {
                state_at(states, r).add(*data.add(r))?;
            }
        }
        Ok(())
    });
}

unsafe extern "C" fn combine(
    info: ffi::duckdb_function_info,
    source: *mut ffi::duckdb_aggregate_state,
    target: *mut ffi::duckdb_aggregate_state,
    count: ffi::idx_t,
) {
    guarded(info, || {
        for i in 0..count as usize {
            let from = *state_at(source, i);
            state_at(target, i).merge(from)?;
        }
        Ok(())
    });
}

unsafe extern "C" fn finalize(
    info: ffi::duckdb_function_info,
    source: *mut ffi::duckdb_aggregate_state,
    result: ffi::duckdb_vector,
    count: ffi::idx_t,
    offset: ffi::idx_t,
) {
    guarded(info, || {
        let out = ffi::duckdb_vector_get_data(result).cast::<ffi::duckdb_interval>();
        for i in 0..count as usize {
            let row = offset as usize + i;
            let sum = *state_at(source, i);
            if sum.seen {
                out.add(row).write(ffi::duckdb_interval {
                    months: sum.months,
                    days: sum.days,
                    micros: sum.micros,
                });
            } else {
                set_null(result, row as u64);
            }
        }
        Ok(())
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn iv(months: i32, days: i32, micros: i64) -> ffi::duckdb_interval {
        ffi::duckdb_interval {
            months,
            days,
            micros,
        }
    }

    /// PostgreSQL 15: sum of '1 mon 40 days' and '-1 day 25:00' is
    /// '1 mon 39 days 25:00:00' (parts never carried); overflow is an error.
    #[test]
    fn parts_add_on_their_own_and_overflow_is_an_error() {
        let mut s = IntervalSum::default();
        assert!(!s.seen);
        s.add(iv(1, 40, 0)).expect("adds");
        s.add(iv(0, -1, 25 * 3_600_000_000)).expect("adds");
        assert_eq!((s.months, s.days, s.micros), (1, 39, 90_000_000_000));
        let mut other = IntervalSum::default();
        other.add(iv(i32::MAX, 0, 0)).expect("adds");
        assert_eq!(s.merge(other), Err(OUT_OF_RANGE));
        let mut empty = IntervalSum::default();
        empty.merge(IntervalSum::default()).expect("merges");
        assert!(!empty.seen);
    }
}
