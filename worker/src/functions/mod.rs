//! Rust functions the engine calls as its own scalar functions, through
//! DuckDB's C API: declaring one (name, parameter and result types, an
//! optional bind callback and static data), and reading and writing the flat
//! vectors a call gets. Each function body runs inside [`guarded`], so a
//! panic becomes the statement's error instead of crossing into the engine.

/// An engine scalar function's callback: `fn name(info, input, output) { … }`
/// becomes the `extern "C"` function DuckDB calls with the call's function
/// info, input chunk and output vector, its body run inside [`guarded`] (a
/// panic becomes the statement's error). The body may use the engine's C API
/// (the callback is `unsafe`: the engine calls it with valid handles).
///
/// `fn name => helper(args…);` (one or more) makes callbacks that pass the
/// call, as a [`Call`], and `args` to a shared row loop `helper`.
macro_rules! native_scalar {
    ($($(#[$meta:meta])* $vis:vis fn $name:ident => $helper:ident($($arg:expr),* $(,)?);)+) => {
        $(
            $(#[$meta])*
            $vis unsafe extern "C" fn $name(
                info: ::duckdb::ffi::duckdb_function_info,
                input: ::duckdb::ffi::duckdb_data_chunk,
                output: ::duckdb::ffi::duckdb_vector,
            ) {
                let call = $crate::functions::Call(info, input, output);
                $crate::functions::guarded(info, || $helper(call $(, $arg)*));
            }
        )+
    };
    ($(#[$meta:meta])* $vis:vis fn $name:ident($info:ident, $input:ident, $output:ident) $body:block) => {
        $(#[$meta])*
        $vis unsafe extern "C" fn $name(
            $info: ::duckdb::ffi::duckdb_function_info,
            $input: ::duckdb::ffi::duckdb_data_chunk,
            $output: ::duckdb::ffi::duckdb_vector,
        ) {
            $crate::functions::guarded($info, || $body);
        }
    };
}

pub mod clock;
pub mod date_bin;
pub mod date_part;
pub mod date_parts;
pub mod integer_aggregates;
pub mod interval;
pub mod interval_sum;
pub mod interval_to_char;
pub mod json_text;
pub mod jsonb_text;
pub mod number_format;
pub mod numeric_division;
pub mod registry;
pub mod sequences;
pub mod string;
pub mod template;
pub mod text_casts;
pub mod to_char;
pub mod to_date;
pub mod zone;
pub mod zoned_arithmetic;
pub mod zoned_calendar;

use std::ffi::{c_char, c_void, CString};

use duckdb::ffi;

/// The engine types native functions take and give, by their SQL names.
pub mod types {
    use duckdb::ffi;

    pub const VARCHAR: ffi::DUCKDB_TYPE = ffi::DUCKDB_TYPE_DUCKDB_TYPE_VARCHAR;
    pub const BOOLEAN: ffi::DUCKDB_TYPE = ffi::DUCKDB_TYPE_DUCKDB_TYPE_BOOLEAN;
    pub const BLOB: ffi::DUCKDB_TYPE = ffi::DUCKDB_TYPE_DUCKDB_TYPE_BLOB;
    pub const SMALLINT: ffi::DUCKDB_TYPE = ffi::DUCKDB_TYPE_DUCKDB_TYPE_SMALLINT;
    pub const INTEGER: ffi::DUCKDB_TYPE = ffi::DUCKDB_TYPE_DUCKDB_TYPE_INTEGER;
    pub const BIGINT: ffi::DUCKDB_TYPE = ffi::DUCKDB_TYPE_DUCKDB_TYPE_BIGINT;
    pub const HUGEINT: ffi::DUCKDB_TYPE = ffi::DUCKDB_TYPE_DUCKDB_TYPE_HUGEINT;
    pub const DOUBLE: ffi::DUCKDB_TYPE = ffi::DUCKDB_TYPE_DUCKDB_TYPE_DOUBLE;
    pub const FLOAT: ffi::DUCKDB_TYPE = ffi::DUCKDB_TYPE_DUCKDB_TYPE_FLOAT;
    /// A parameter taking its argument as it comes (no cast).
    pub const ANY: ffi::DUCKDB_TYPE = ffi::DUCKDB_TYPE_DUCKDB_TYPE_ANY;
    pub const DECIMAL: ffi::DUCKDB_TYPE = ffi::DUCKDB_TYPE_DUCKDB_TYPE_DECIMAL;
    pub const DATE: ffi::DUCKDB_TYPE = ffi::DUCKDB_TYPE_DUCKDB_TYPE_DATE;
    pub const TIME: ffi::DUCKDB_TYPE = ffi::DUCKDB_TYPE_DUCKDB_TYPE_TIME;
    pub const TIME_TZ: ffi::DUCKDB_TYPE = ffi::DUCKDB_TYPE_DUCKDB_TYPE_TIME_TZ;
    pub const TIMESTAMP: ffi::DUCKDB_TYPE = ffi::DUCKDB_TYPE_DUCKDB_TYPE_TIMESTAMP;
    pub const TIMESTAMPTZ: ffi::DUCKDB_TYPE = ffi::DUCKDB_TYPE_DUCKDB_TYPE_TIMESTAMP_TZ;
    pub const INTERVAL: ffi::DUCKDB_TYPE = ffi::DUCKDB_TYPE_DUCKDB_TYPE_INTERVAL;
}

/// A `DECIMAL` parameter is a `numeric(NUMERIC_WIDTH, NUMERIC_SCALE)`, which
/// the engine widens narrower decimals to.
pub const NUMERIC_WIDTH: u8 = 38;
pub const NUMERIC_SCALE: u32 = 10;

/// One scalar function (or one overload of a set).
pub struct Native {
    pub name: &'static str,
    pub params: &'static [ffi::DUCKDB_TYPE],
    pub result: ffi::DUCKDB_TYPE,
    /// The scale of a `DECIMAL` result (`numeric(38, result_scale)`).
    pub result_scale: u8,
    pub function: ffi::duckdb_scalar_function_t,
    /// Called when a statement binds the call (to capture session state).
    pub bind: ffi::duckdb_scalar_function_bind_t,
    /// Static data the function reads back with
    /// `duckdb_scalar_function_get_extra_info`.
    pub extra: Option<&'static &'static str>,
}

/// The callback the engine calls with a chunk of rows (see [`native_scalar`]).
pub type Callback =
    unsafe extern "C" fn(ffi::duckdb_function_info, ffi::duckdb_data_chunk, ffi::duckdb_vector);

impl Native {
    /// A function of `params` giving `result`, computed by `function`, with no
    /// bind callback and no static data.
    pub const fn scalar(
        name: &'static str,
        params: &'static [ffi::DUCKDB_TYPE],
        result: ffi::DUCKDB_TYPE,
        function: Callback,
    ) -> Native {
        Native {
            name,
            params,
            result,
            result_scale: 0,
            function: Some(function),
            bind: None,
            extra: None,
        }
    }

    /// The same function with a bind callback (to capture session state).
    pub const fn with_bind(self, bind: unsafe extern "C" fn(ffi::duckdb_bind_info)) -> Native {
        Native {
            bind: Some(bind),
            ..self
        }
    }
}

/// # Safety
/// The returned function must be destroyed by the caller.
unsafe fn create(n: &Native, name: &CString) -> ffi::duckdb_scalar_function {
    let f = ffi::duckdb_create_scalar_function();
    ffi::duckdb_scalar_function_set_name(f, name.as_ptr());
    for t in n.params {
        let mut lt = if *t == ffi::DUCKDB_TYPE_DUCKDB_TYPE_DECIMAL {
            ffi::duckdb_create_decimal_type(NUMERIC_WIDTH, NUMERIC_SCALE as u8)
        } else {
            ffi::duckdb_create_logical_type(*t)
        };
        ffi::duckdb_scalar_function_add_parameter(f, lt);
        ffi::duckdb_destroy_logical_type(&mut lt);
    }
    let mut lt = if n.result == ffi::DUCKDB_TYPE_DUCKDB_TYPE_DECIMAL {
        ffi::duckdb_create_decimal_type(NUMERIC_WIDTH, n.result_scale)
    } else {
        ffi::duckdb_create_logical_type(n.result)
    };
    ffi::duckdb_scalar_function_set_return_type(f, lt);
    ffi::duckdb_destroy_logical_type(&mut lt);
    if let Some(extra) = n.extra {
        let data = (extra as *const &'static str).cast_mut().cast::<c_void>();
        ffi::duckdb_scalar_function_set_extra_info(f, data, None);
    }
    if n.bind.is_some() {
        ffi::duckdb_scalar_function_set_bind(f, n.bind);
    }
    ffi::duckdb_scalar_function_set_function(f, n.function);
    f
}

/// Registers `n` on the engine of `conn`.
///
/// # Safety
/// `conn` must be an open connection.
pub unsafe fn register(conn: ffi::duckdb_connection, n: &Native) -> Result<(), String> {
    register_one(conn, n, false)
}

/// Registers `n` as a volatile function: the engine calls it for every row
/// and never folds it into a constant (a clock).
///
/// # Safety
/// `conn` must be an open connection.
pub unsafe fn register_volatile(conn: ffi::duckdb_connection, n: &Native) -> Result<(), String> {
    register_one(conn, n, true)
}

unsafe fn register_one(
    conn: ffi::duckdb_connection,
    n: &Native,
    volatile: bool,
) -> Result<(), String> {
    let name = CString::new(n.name).map_err(|e| e.to_string())?;
    let mut f = create(n, &name);
    if volatile {
        ffi::duckdb_scalar_function_set_volatile(f);
    }
    let ok = ffi::duckdb_register_scalar_function(conn, f) == ffi::duckdb_state_DuckDBSuccess;
    ffi::duckdb_destroy_scalar_function(&mut f);
    ok.then_some(())
        .ok_or_else(|| format!("registering {}() failed", n.name))
}

/// Registers overloads of one name together (replacing the engine's own
/// function of that name, where it has one).
///
/// # Safety
/// `conn` must be an open connection.
pub unsafe fn register_set(
    conn: ffi::duckdb_connection,
    name: &str,
    overloads: &[Native],
) -> Result<(), String> {
    let cname = CString::new(name).map_err(|e| e.to_string())?;
    let mut set = ffi::duckdb_create_scalar_function_set(cname.as_ptr());
    let mut ok = true;
    for n in overloads {
        let mut f = create(n, &cname);
        ok &= ffi::duckdb_add_scalar_function_to_set(set, f) == ffi::duckdb_state_DuckDBSuccess;
        ffi::duckdb_destroy_scalar_function(&mut f);
    }
    ok &= ffi::duckdb_register_scalar_function_set(conn, set) == ffi::duckdb_state_DuckDBSuccess;
    ffi::duckdb_destroy_scalar_function_set(&mut set);
    ok.then_some(())
        .ok_or_else(|| format!("registering {name}() failed"))
}

/// One engine call of a native function: (function info, for bound data and
/// errors; input chunk; output vector), as the engine passed them.
#[derive(Clone, Copy)]
pub struct Call(
    pub ffi::duckdb_function_info,
    pub ffi::duckdb_data_chunk,
    pub ffi::duckdb_vector,
);

/// Runs a function's rows; a panic (which must not cross into the engine)
/// becomes the statement's error.
///
/// # Safety
/// `info` is the engine's function info for the running call.
pub unsafe fn guarded(info: ffi::duckdb_function_info, rows: impl FnOnce()) {
    if std::panic::catch_unwind(std::panic::AssertUnwindSafe(rows)).is_err() {
        fail(info, "internal error in a native function");
    }
}

/// Writes a row's result, or ends the call with its error as the statement's;
/// `false` when the call ended.
///
/// # Safety
/// `out` is the output vector's data of the chunk's size, `row` below it and
/// `info` the running call's function info.
pub unsafe fn write_or_fail<T>(
    info: ffi::duckdb_function_info,
    out: *mut T,
    row: usize,
    result: Result<T, String>,
) -> bool {
    match result {
        Ok(value) => {
            out.add(row).write(value);
            true
        }
        Err(message) => {
            fail(info, &message);
            false
        }
    }
}

/// Ends the call with `message` as the statement's error.
///
/// # Safety
/// `info` is the engine's function info for the running call.
pub unsafe fn fail(info: ffi::duckdb_function_info, message: &str) {
    let msg = CString::new(message).unwrap_or_default();
    ffi::duckdb_scalar_function_set_error(info, msg.as_ptr() as *const c_char);
}

/// Whether row `idx` of a vector with `validity` (null: all valid) holds a value.
///
/// # Safety
/// `validity` is a vector's validity mask covering `idx`, or null.
pub unsafe fn is_valid(validity: *mut u64, idx: u64) -> bool {
    validity.is_null() || ffi::duckdb_validity_row_is_valid(validity, idx)
}

/// Makes row `idx` of `output` NULL.
///
/// # Safety
/// `output` is the call's output vector, covering `idx`.
pub unsafe fn set_null(output: ffi::duckdb_vector, idx: u64) {
    ffi::duckdb_vector_ensure_validity_writable(output);
    ffi::duckdb_validity_set_row_invalid(ffi::duckdb_vector_get_validity(output), idx);
}

/// The text of the VARCHAR at `row`.
///
/// # Safety
/// `data` is a VARCHAR vector's data covering `row`, valid at `row`.
pub unsafe fn text_at(data: *const ffi::duckdb_string_t, row: usize) -> String {
    String::from_utf8_lossy(bytes_at(data, row)).into_owned()
}

/// The bytes of the VARCHAR or BLOB at `row`.
///
/// # Safety
/// `data` is a VARCHAR or BLOB vector's data covering `row`, valid at `row`;
/// the bytes live as long as the vector.
pub unsafe fn bytes_at<'a>(data: *const ffi::duckdb_string_t, row: usize) -> &'a [u8] {
    let s = data.add(row).cast_mut();
    let len = ffi::duckdb_string_t_length(*s) as usize;
    let ptr = ffi::duckdb_string_t_data(s).cast::<u8>();
    std::slice::from_raw_parts(ptr, len)
}

/// Writes `text` as row `idx` of a VARCHAR `output`.
///
/// # Safety
/// `output` is the call's VARCHAR output vector, covering `idx`.
pub unsafe fn write_text(output: ffi::duckdb_vector, idx: u64, text: &str) {
    ffi::duckdb_vector_assign_string_element_len(
        output,
        idx,
        text.as_ptr().cast::<c_char>(),
        text.len() as u64,
    );
}

pub use crate::engine::duck::{hugeint_of, i128_of};

/// The number of rows in a call's chunk.
///
/// # Safety
/// `input` is the chunk the engine called the function with.
pub unsafe fn row_count(input: ffi::duckdb_data_chunk) -> usize {
    ffi::duckdb_data_chunk_get_size(input) as usize
}

/// One argument of a call: its values (stored as `T`) and which are NULL.
pub struct Argument<T> {
    data: *const T,
    validity: *mut u64,
}

impl<T: Copy> Argument<T> {
    /// Argument `i` of the call's chunk `input`.
    ///
    /// # Safety
    /// `input` is the call's (flat) chunk and argument `i` is stored as `T`.
    pub unsafe fn of(input: ffi::duckdb_data_chunk, i: u64) -> Argument<T> {
        let vector = ffi::duckdb_data_chunk_get_vector(input, i);
        Argument {
            data: ffi::duckdb_vector_get_data(vector).cast::<T>(),
            validity: ffi::duckdb_vector_get_validity(vector),
        }
    }

    /// The value at `row`, `None` when it is NULL.
    ///
    /// # Safety
    /// `row` is below the chunk's row count.
    pub unsafe fn get(&self, row: usize) -> Option<T> {
        is_valid(self.validity, row as u64).then(|| *self.data.add(row))
    }
}

impl Argument<ffi::duckdb_string_t> {
    /// The text at `row`, `None` when it is NULL.
    ///
    /// # Safety
    /// `row` is below the chunk's row count.
    pub unsafe fn text(&self, row: usize) -> Option<String> {
        is_valid(self.validity, row as u64).then(|| text_at(self.data, row))
    }
}
