//! Thin owning wrappers over DuckDB's C API.
//!
//! The worker talks to DuckDB through the C API rather than the row-oriented Rust API
//! because it needs what that API hides: streaming results fetched chunk by chunk,
//! raw column vectors to encode straight into wire rows, parameter and result types
//! of a prepared statement before it runs, and an interrupt that works from another
//! thread. Every raw handle is owned by exactly one wrapper and destroyed in `Drop`.

use parking_lot::Mutex;
use std::ffi::{c_char, CStr, CString};
use std::ptr;
use std::sync::Arc;

use duckdb::ffi;

/// An error reported by DuckDB, with its message as DuckDB rendered it (JSON when the
/// database runs with `errors_as_json`).
#[derive(Debug, Clone, thiserror::Error)]
#[error("{message}")]
pub struct DuckError {
    pub message: String,
}

impl DuckError {
    pub fn new(message: impl Into<String>) -> Self {
        DuckError {
            message: message.into(),
        }
    }
}

pub type DuckResult<T> = Result<T, DuckError>;

/// Copies a C string owned by DuckDB (not freed here).
fn borrowed_str(p: *const c_char) -> String {
    if p.is_null() {
        return String::new();
    }
    // SAFETY: DuckDB hands out NUL-terminated strings that live at least as long as
    // the object they were read from; we copy before returning.
    unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned()
}

/// Copies and frees a C string allocated by DuckDB for the caller.
fn owned_str(p: *mut c_char) -> String {
    if p.is_null() {
        return String::new();
    }
    let s = borrowed_str(p);
    // SAFETY: the pointer was allocated by DuckDB and ownership passed to us.
    unsafe { ffi::duckdb_free(p.cast()) };
    s
}

fn c_string(s: &str) -> DuckResult<CString> {
    CString::new(s).map_err(|_| DuckError::new("string contains a NUL byte"))
}

/// A DuckDB database instance shared by all sessions of a worker.
pub struct Database {
    raw: ffi::duckdb_database,
}

// SAFETY: a DuckDB database instance is internally synchronized; connections to it may
// be created from any thread.
unsafe impl Send for Database {}
unsafe impl Sync for Database {}

impl Database {
    /// Opens (or creates) the database at `path` (`None` for in-memory) with the given
    /// configuration options applied before start-up.
    pub fn open(path: Option<&str>, options: &[(&str, String)]) -> DuckResult<Database> {
        let mut config: ffi::duckdb_config = ptr::null_mut();
        // SAFETY: plain C API calls with valid out-pointers; the config is destroyed on
        // every path below.
        unsafe {
            if ffi::duckdb_create_config(&mut config) != ffi::duckdb_state_DuckDBSuccess {
                return Err(DuckError::new("could not create DuckDB configuration"));
            }
            for (name, value) in options {
                let n = c_string(name)?;
                let v = c_string(value)?;
                if ffi::duckdb_set_config(config, n.as_ptr(), v.as_ptr())
                    != ffi::duckdb_state_DuckDBSuccess
                {
                    ffi::duckdb_destroy_config(&mut config);
                    return Err(DuckError::new(format!(
                        "invalid DuckDB option {name} = {value}"
                    )));
                }
            }
            let path_c = match path {
                Some(p) => Some(c_string(p)?),
                None => None,
            };
            let mut db: ffi::duckdb_database = ptr::null_mut();
            let mut err: *mut c_char = ptr::null_mut();
            let state = ffi::duckdb_open_ext(
                path_c.as_ref().map_or(ptr::null(), |p| p.as_ptr()),
                &mut db,
                config,
                &mut err,
            );
            ffi::duckdb_destroy_config(&mut config);
            if state != ffi::duckdb_state_DuckDBSuccess {
                return Err(DuckError::new(owned_str(err)));
            }
            Ok(Database { raw: db })
        }
    }

    /// Opens a new connection (one per client session).
    pub fn connect(&self) -> DuckResult<Connection> {
        let mut conn: ffi::duckdb_connection = ptr::null_mut();
        // SAFETY: the database handle is valid for the lifetime of `self`.
        let state = unsafe { ffi::duckdb_connect(self.raw, &mut conn) };
        if state != ffi::duckdb_state_DuckDBSuccess {
            return Err(DuckError::new("could not connect to DuckDB"));
        }
        Ok(Connection {
            raw: conn,
            interrupt: InterruptHandle {
                conn: Arc::new(Mutex::new(RawConn(conn))),
            },
        })
    }
}

impl Drop for Database {
    fn drop(&mut self) {
        // SAFETY: we own the handle; all connections hold no reference that outlives it
        // because sessions end before the worker drops its database.
        unsafe { ffi::duckdb_close(&mut self.raw) };
    }
}

struct RawConn(ffi::duckdb_connection);
// SAFETY: only used to call `duckdb_interrupt`, which is thread-safe.
unsafe impl Send for RawConn {}

/// Interrupts whatever the connection is running, from any thread. Becomes a no-op
/// once the connection is closed.
#[derive(Clone)]
pub struct InterruptHandle {
    conn: Arc<Mutex<RawConn>>,
}

impl InterruptHandle {
    pub fn interrupt(&self) {
        let guard = self.conn.lock();
        if !guard.0.is_null() {
            // SAFETY: the pointer is non-null only while the connection is open (it is
            // nulled under this lock before disconnecting).
            unsafe { ffi::duckdb_interrupt(guard.0) };
        }
    }
}

/// The engine's error message for `sql`, which must fail (a test's shorthand).
#[cfg(test)]
pub(crate) fn error_of(conn: &Connection, sql: &str) -> String {
    conn.execute_batch(sql).expect_err(sql).message
}

/// One DuckDB connection: the execution context of one client session.
pub struct Connection {
    raw: ffi::duckdb_connection,
    interrupt: InterruptHandle,
}

// SAFETY: a connection is used by one thread at a time (the session's engine thread).
unsafe impl Send for Connection {}

impl Connection {
    /// The raw connection handle, for registering native functions on it.
    pub(crate) fn raw(&self) -> ffi::duckdb_connection {
        self.raw
    }

    /// The engine's id for this connection (how native functions find the
    /// session calling them).
    pub fn connection_id(&self) -> u64 {
        let mut context: ffi::duckdb_client_context = ptr::null_mut();
        // SAFETY: `raw` is this open connection; the context is destroyed below.
        unsafe {
            ffi::duckdb_connection_get_client_context(self.raw, &mut context);
            if context.is_null() {
                return 0;
            }
            let id = ffi::duckdb_client_context_get_connection_id(context);
            ffi::duckdb_destroy_client_context(&mut context);
            id
        }
    }

    pub fn interrupt_handle(&self) -> InterruptHandle {
        self.interrupt.clone()
    }

    /// Checks that `sql` parses, without binding or running it.
    pub fn check_syntax(&self, sql: &str) -> DuckResult<()> {
        let sql_c = c_string(sql)?;
        let mut extracted: ffi::duckdb_extracted_statements = ptr::null_mut();
        // SAFETY: valid connection and NUL-terminated query; `extracted` is destroyed
        // before returning.
        let err = unsafe {
            let count = ffi::duckdb_extract_statements(self.raw, sql_c.as_ptr(), &mut extracted);
            let err = if count == 0 {
                borrowed_str(ffi::duckdb_extract_statements_error(extracted))
            } else {
                String::new()
            };
            ffi::duckdb_destroy_extracted(&mut extracted);
            err
        };
        if err.is_empty() {
            return Ok(());
        }
        // Extraction errors lose their location; preparing the text goes through the
        // error path that keeps it (the parse fails again, before any binding).
        match self.prepare(sql) {
            Err(e) => Err(e),
            Ok(_) => Err(DuckError::new(err)),
        }
    }

    /// Prepares exactly one statement.
    pub fn prepare(&self, sql: &str) -> DuckResult<Prepared> {
        let sql_c = c_string(sql)?;
        let mut stmt: ffi::duckdb_prepared_statement = ptr::null_mut();
        // SAFETY: valid connection and query; the statement is owned by `Prepared`.
        let state = unsafe { ffi::duckdb_prepare(self.raw, sql_c.as_ptr(), &mut stmt) };
        let prepared = Prepared { raw: stmt };
        if state != ffi::duckdb_state_DuckDBSuccess {
            return Err(DuckError::new(prepared.error()));
        }
        Ok(prepared)
    }

    /// Runs a statement that returns nothing of interest (transaction control).
    pub fn execute_batch(&self, sql: &str) -> DuckResult<()> {
        let mut stmt = self.prepare(sql)?;
        stmt.execute(false).map(|_| ())
    }
}

impl Drop for Connection {
    fn drop(&mut self) {
        let mut guard = self.interrupt.conn.lock();
        guard.0 = ptr::null_mut();
        // SAFETY: we own the connection; interrupt handles can no longer reach it.
        unsafe { ffi::duckdb_disconnect(&mut self.raw) };
    }
}

/// A prepared statement. Parameters are 1-based in DuckDB; this API is 0-based.
pub struct Prepared {
    raw: ffi::duckdb_prepared_statement,
}

// SAFETY: owned by one session, used by one thread at a time.
unsafe impl Send for Prepared {}

impl Prepared {
    fn error(&self) -> String {
        if self.raw.is_null() {
            return "could not prepare statement".to_string();
        }
        // SAFETY: valid statement handle.
        borrowed_str(unsafe { ffi::duckdb_prepare_error(self.raw) })
    }

    pub fn param_count(&self) -> usize {
        // SAFETY: valid statement handle.
        unsafe { ffi::duckdb_nparams(self.raw) as usize }
    }

    /// The type DuckDB inferred for parameter `i`, if it could.
    pub fn param_type(&self, i: usize) -> Option<LogicalType> {
        // SAFETY: valid statement; out-of-range indexes return NULL.
        let t = unsafe { ffi::duckdb_param_logical_type(self.raw, (i + 1) as u64) };
        LogicalType::from_raw(t).filter(|t| t.is_resolved())
    }

    pub fn statement_type(&self) -> ffi::duckdb_statement_type {
        // SAFETY: valid statement handle.
        unsafe { ffi::duckdb_prepared_statement_type(self.raw) }
    }

    pub fn column_count(&self) -> usize {
        // SAFETY: valid statement handle.
        unsafe { ffi::duckdb_prepared_statement_column_count(self.raw) as usize }
    }

    pub fn column_name(&self, i: usize) -> String {
        // SAFETY: valid statement; the name is allocated for the caller.
        owned_str(
            unsafe { ffi::duckdb_prepared_statement_column_name(self.raw, i as u64) }
                as *mut c_char,
        )
    }

    pub fn column_type(&self, i: usize) -> Option<LogicalType> {
        // SAFETY: valid statement handle.
        let t = unsafe { ffi::duckdb_prepared_statement_column_logical_type(self.raw, i as u64) };
        LogicalType::from_raw(t).filter(|t| t.is_resolved())
    }

    pub fn clear_bindings(&mut self) {
        // SAFETY: valid statement handle.
        unsafe { ffi::duckdb_clear_bindings(self.raw) };
    }

    pub fn bind(&mut self, i: usize, value: &Value) -> DuckResult<()> {
        // SAFETY: valid statement and value; DuckDB copies the value.
        let state = unsafe { ffi::duckdb_bind_value(self.raw, (i + 1) as u64, value.raw) };
        if state != ffi::duckdb_state_DuckDBSuccess {
            return Err(DuckError::new(format!(
                "could not bind parameter ${}",
                i + 1
            )));
        }
        Ok(())
    }

    /// Executes the statement; with `streaming` the rows are produced as they are
    /// fetched instead of being materialized first.
    pub fn execute(&mut self, streaming: bool) -> DuckResult<QueryResult> {
        let mut result = Box::new(std::mem::MaybeUninit::<ffi::duckdb_result>::zeroed());
        // SAFETY: valid statement; `result` is a zeroed out-struct that DuckDB fills
        // in (and that must be destroyed even on error).
        unsafe {
            let state = if streaming {
                ffi::duckdb_execute_prepared_streaming(self.raw, result.as_mut_ptr())
            } else {
                ffi::duckdb_execute_prepared(self.raw, result.as_mut_ptr())
            };
            let mut result = QueryResult {
                raw: Box::new(result.assume_init_read()),
            };
            if state != ffi::duckdb_state_DuckDBSuccess {
                return Err(DuckError::new(result.error()));
            }
            Ok(result)
        }
    }
}

impl Drop for Prepared {
    fn drop(&mut self) {
        if !self.raw.is_null() {
            // SAFETY: we own the statement.
            unsafe { ffi::duckdb_destroy_prepare(&mut self.raw) };
        }
    }
}

/// The result of an executed statement, possibly still streaming.
pub struct QueryResult {
    raw: Box<ffi::duckdb_result>,
}

// SAFETY: owned by one session, used by one thread at a time.
unsafe impl Send for QueryResult {}

impl QueryResult {
    fn error(&mut self) -> String {
        // SAFETY: valid result struct.
        let msg = borrowed_str(unsafe { ffi::duckdb_result_error(&mut *self.raw) });
        if msg.is_empty() {
            "query failed".to_string()
        } else {
            msg
        }
    }

    pub fn column_count(&mut self) -> usize {
        // SAFETY: valid result struct.
        unsafe { ffi::duckdb_column_count(&mut *self.raw) as usize }
    }

    pub fn column_name(&mut self, i: usize) -> String {
        // SAFETY: valid result; the name is owned by the result.
        borrowed_str(unsafe { ffi::duckdb_column_name(&mut *self.raw, i as u64) })
    }

    pub fn column_type(&mut self, i: usize) -> Option<LogicalType> {
        // SAFETY: valid result struct.
        LogicalType::from_raw(unsafe { ffi::duckdb_column_logical_type(&mut *self.raw, i as u64) })
    }

    pub fn rows_changed(&mut self) -> u64 {
        // SAFETY: valid result struct.
        unsafe { ffi::duckdb_rows_changed(&mut *self.raw) }
    }

    /// The next chunk of rows; `Ok(None)` at the end.
    pub fn fetch(&mut self) -> DuckResult<Option<DataChunk>> {
        // SAFETY: valid result struct; the chunk is owned by `DataChunk`.
        let chunk = unsafe { ffi::duckdb_fetch_chunk(*self.raw) };
        if chunk.is_null() {
            // SAFETY: valid result struct.
            let err = unsafe { ffi::duckdb_result_error(&mut *self.raw) };
            if !err.is_null() {
                return Err(DuckError::new(borrowed_str(err)));
            }
            return Ok(None);
        }
        Ok(Some(DataChunk { raw: chunk }))
    }
}

impl Drop for QueryResult {
    fn drop(&mut self) {
        // SAFETY: we own the result struct.
        unsafe { ffi::duckdb_destroy_result(&mut *self.raw) };
    }
}

/// A chunk of up to `STANDARD_VECTOR_SIZE` rows in columnar form.
pub struct DataChunk {
    raw: ffi::duckdb_data_chunk,
}

impl DataChunk {
    pub fn len(&self) -> usize {
        // SAFETY: valid chunk.
        unsafe { ffi::duckdb_data_chunk_get_size(self.raw) as usize }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn column_count(&self) -> usize {
        // SAFETY: valid chunk.
        unsafe { ffi::duckdb_data_chunk_get_column_count(self.raw) as usize }
    }

    /// Column `i` as a flat vector, valid while the chunk lives.
    pub fn vector(&self, i: usize) -> Vector<'_> {
        // SAFETY: valid chunk; the vector is owned by the chunk.
        Vector::new(unsafe { ffi::duckdb_data_chunk_get_vector(self.raw, i as u64) })
    }
}

impl Drop for DataChunk {
    fn drop(&mut self) {
        // SAFETY: we own the chunk.
        unsafe { ffi::duckdb_destroy_data_chunk(&mut self.raw) };
    }
}

/// A borrowed view of a flat column vector: its data, validity mask and, for nested
/// types, its children.
#[derive(Clone, Copy)]
pub struct Vector<'a> {
    raw: ffi::duckdb_vector,
    data: *const u8,
    validity: *const u64,
    _chunk: std::marker::PhantomData<&'a DataChunk>,
}

impl<'a> Vector<'a> {
    fn new(raw: ffi::duckdb_vector) -> Vector<'a> {
        // SAFETY: valid vector handle owned by a live chunk.
        let (data, validity) = unsafe {
            (
                ffi::duckdb_vector_get_data(raw) as *const u8,
                ffi::duckdb_vector_get_validity(raw) as *const u64,
            )
        };
        Vector {
            raw,
            data,
            validity,
            _chunk: std::marker::PhantomData,
        }
    }

    #[inline]
    pub fn is_valid(&self, row: usize) -> bool {
        if self.validity.is_null() {
            return true;
        }
        // SAFETY: the mask has one bit per row of the vector.
        let word = unsafe { *self.validity.add(row / 64) };
        word & (1u64 << (row % 64)) != 0
    }

    /// Reads the fixed-width value of type `T` at `row`.
    ///
    /// # Safety
    /// `T` must be the physical type of the vector and `row` within its size.
    #[inline]
    pub unsafe fn get<T: Copy>(&self, row: usize) -> T {
        ptr::read_unaligned((self.data as *const T).add(row))
    }

    /// Reads the string or blob at `row`.
    ///
    /// # Safety
    /// The vector must hold `duckdb_string_t` values and `row` be within its size.
    #[inline]
    pub unsafe fn get_bytes(&self, row: usize) -> &'a [u8] {
        let base = self.data.add(row * 16);
        let len = ptr::read_unaligned(base as *const u32) as usize;
        if len <= 12 {
            std::slice::from_raw_parts(base.add(4), len)
        } else {
            let p = ptr::read_unaligned(base.add(8) as *const *const u8);
            std::slice::from_raw_parts(p, len)
        }
    }

    /// The child vector of a LIST or MAP vector.
    pub fn list_child(&self) -> Vector<'a> {
        // SAFETY: only called on LIST/MAP vectors.
        Vector::new(unsafe { ffi::duckdb_list_vector_get_child(self.raw) })
    }

    /// The child vector of an ARRAY vector.
    pub fn array_child(&self) -> Vector<'a> {
        // SAFETY: only called on ARRAY vectors.
        Vector::new(unsafe { ffi::duckdb_array_vector_get_child(self.raw) })
    }

    /// Field `i` of a STRUCT (or UNION) vector.
    pub fn struct_child(&self, i: usize) -> Vector<'a> {
        // SAFETY: only called on STRUCT vectors with at least `i + 1` fields.
        Vector::new(unsafe { ffi::duckdb_struct_vector_get_child(self.raw, i as u64) })
    }
}

/// A DuckDB logical type.
pub struct LogicalType {
    raw: ffi::duckdb_logical_type,
}

// SAFETY: logical types are immutable values once created.
unsafe impl Send for LogicalType {}
unsafe impl Sync for LogicalType {}

impl LogicalType {
    fn from_raw(raw: ffi::duckdb_logical_type) -> Option<LogicalType> {
        if raw.is_null() {
            None
        } else {
            Some(LogicalType { raw })
        }
    }

    pub fn id(&self) -> ffi::DUCKDB_TYPE {
        // SAFETY: valid type handle.
        unsafe { ffi::duckdb_get_type_id(self.raw) }
    }

    fn is_resolved(&self) -> bool {
        !matches!(
            self.id(),
            ffi::DUCKDB_TYPE_DUCKDB_TYPE_INVALID
                | ffi::DUCKDB_TYPE_DUCKDB_TYPE_ANY
                | ffi::DUCKDB_TYPE_DUCKDB_TYPE_SQLNULL
        )
    }

    pub fn decimal_width(&self) -> u8 {
        // SAFETY: valid type handle (returns 0 for non-decimals).
        unsafe { ffi::duckdb_decimal_width(self.raw) }
    }

    pub fn decimal_scale(&self) -> u8 {
        // SAFETY: valid type handle.
        unsafe { ffi::duckdb_decimal_scale(self.raw) }
    }

    pub fn decimal_internal(&self) -> ffi::DUCKDB_TYPE {
        // SAFETY: valid type handle.
        unsafe { ffi::duckdb_decimal_internal_type(self.raw) }
    }

    pub fn enum_internal(&self) -> ffi::DUCKDB_TYPE {
        // SAFETY: valid type handle.
        unsafe { ffi::duckdb_enum_internal_type(self.raw) }
    }

    pub fn enum_values(&self) -> Vec<String> {
        // SAFETY: valid enum type; each dictionary value is allocated for us.
        let n = unsafe { ffi::duckdb_enum_dictionary_size(self.raw) };
        (0..n)
            .map(|i| owned_str(unsafe { ffi::duckdb_enum_dictionary_value(self.raw, i as u64) }))
            .collect()
    }

    /// Element type of a LIST.
    pub fn list_child(&self) -> LogicalType {
        // SAFETY: valid LIST type; the child type is a new handle we own.
        LogicalType {
            raw: unsafe { ffi::duckdb_list_type_child_type(self.raw) },
        }
    }

    /// Element type of an ARRAY.
    pub fn array_child(&self) -> LogicalType {
        // SAFETY: valid ARRAY type.
        LogicalType {
            raw: unsafe { ffi::duckdb_array_type_child_type(self.raw) },
        }
    }

    pub fn array_size(&self) -> usize {
        // SAFETY: valid ARRAY type.
        unsafe { ffi::duckdb_array_type_array_size(self.raw) as usize }
    }

    pub fn struct_fields(&self) -> Vec<(String, LogicalType)> {
        // SAFETY: valid STRUCT type; names are allocated for us, types are owned.
        unsafe {
            self.named_children(
                ffi::duckdb_struct_type_child_count(self.raw),
                ffi::duckdb_struct_type_child_name,
                ffi::duckdb_struct_type_child_type,
            )
        }
    }

    pub fn union_members(&self) -> Vec<(String, LogicalType)> {
        // SAFETY: valid UNION type, as for STRUCT.
        unsafe {
            self.named_children(
                ffi::duckdb_union_type_member_count(self.raw),
                ffi::duckdb_union_type_member_name,
                ffi::duckdb_union_type_member_type,
            )
        }
    }

    /// The `count` named children of a STRUCT or UNION type, read with the
    /// engine's name and type accessors for that kind.
    ///
    /// # Safety
    /// `name` and `child` are the accessors for this type's kind, and `count`
    /// its number of children.
    unsafe fn named_children(
        &self,
        count: ffi::idx_t,
        name: unsafe extern "C" fn(ffi::duckdb_logical_type, ffi::idx_t) -> *mut std::ffi::c_char,
        child: unsafe extern "C" fn(
            ffi::duckdb_logical_type,
            ffi::idx_t,
        ) -> ffi::duckdb_logical_type,
    ) -> Vec<(String, LogicalType)> {
        (0..count)
            .map(|i| {
                let raw = child(self.raw, i);
                (owned_str(name(self.raw, i)), LogicalType { raw })
            })
            .collect()
    }

    pub fn map_key(&self) -> LogicalType {
        // SAFETY: valid MAP type.
        LogicalType {
            raw: unsafe { ffi::duckdb_map_type_key_type(self.raw) },
        }
    }

    pub fn map_value(&self) -> LogicalType {
        // SAFETY: valid MAP type.
        LogicalType {
            raw: unsafe { ffi::duckdb_map_type_value_type(self.raw) },
        }
    }

    /// The type alias (e.g. `JSON` for a VARCHAR created as JSON), if any.
    pub fn alias(&self) -> Option<String> {
        // SAFETY: valid type; the alias is allocated for us.
        let p = unsafe { ffi::duckdb_logical_type_get_alias(self.raw) };
        if p.is_null() {
            None
        } else {
            Some(owned_str(p))
        }
    }
}

impl Drop for LogicalType {
    fn drop(&mut self) {
        // SAFETY: we own the handle.
        unsafe { ffi::duckdb_destroy_logical_type(&mut self.raw) };
    }
}

/// A DuckDB value to bind as a parameter.
pub struct Value {
    raw: ffi::duckdb_value,
}

// SAFETY: values are immutable once created.
unsafe impl Send for Value {}

impl Value {
    fn wrap(raw: ffi::duckdb_value) -> Value {
        Value { raw }
    }
    pub fn null() -> Value {
        // SAFETY: constructor with no inputs.
        Value::wrap(unsafe { ffi::duckdb_create_null_value() })
    }
    pub fn bool(v: bool) -> Value {
        // SAFETY: constructor.
        Value::wrap(unsafe { ffi::duckdb_create_bool(v) })
    }
    pub fn i16(v: i16) -> Value {
        // SAFETY: constructor.
        Value::wrap(unsafe { ffi::duckdb_create_int16(v) })
    }
    pub fn i32(v: i32) -> Value {
        // SAFETY: constructor.
        Value::wrap(unsafe { ffi::duckdb_create_int32(v) })
    }
    pub fn i64(v: i64) -> Value {
        // SAFETY: constructor.
        Value::wrap(unsafe { ffi::duckdb_create_int64(v) })
    }
    pub fn f32(v: f32) -> Value {
        // SAFETY: constructor.
        Value::wrap(unsafe { ffi::duckdb_create_float(v) })
    }
    pub fn f64(v: f64) -> Value {
        // SAFETY: constructor.
        Value::wrap(unsafe { ffi::duckdb_create_double(v) })
    }
    pub fn varchar(v: &str) -> Value {
        // SAFETY: DuckDB copies `len` bytes from the pointer.
        Value::wrap(unsafe { ffi::duckdb_create_varchar_length(v.as_ptr().cast(), v.len() as u64) })
    }
    pub fn blob(v: &[u8]) -> Value {
        // SAFETY: DuckDB copies `len` bytes from the pointer.
        Value::wrap(unsafe { ffi::duckdb_create_blob(v.as_ptr(), v.len() as u64) })
    }
    /// A DECIMAL(width, scale) from its unscaled integer.
    pub fn decimal(unscaled: i128, width: u8, scale: u8) -> Value {
        let value = hugeint_of(unscaled);
        // SAFETY: constructor.
        Value::wrap(unsafe {
            ffi::duckdb_create_decimal(ffi::duckdb_decimal {
                width,
                scale,
                value,
            })
        })
    }
    /// Days since 1970-01-01.
    pub fn date(days: i32) -> Value {
        // SAFETY: constructor.
        Value::wrap(unsafe { ffi::duckdb_create_date(ffi::duckdb_date { days }) })
    }
    /// Microseconds since midnight.
    pub fn time(micros: i64) -> Value {
        // SAFETY: constructor.
        Value::wrap(unsafe { ffi::duckdb_create_time(ffi::duckdb_time { micros }) })
    }
    /// Microseconds since midnight and the zone's offset east of UTC in seconds.
    pub fn time_tz(micros: i64, offset_seconds: i32) -> Value {
        // SAFETY: constructors.
        Value::wrap(unsafe {
            ffi::duckdb_create_time_tz_value(ffi::duckdb_create_time_tz(micros, offset_seconds))
        })
    }
    /// Microseconds since the Unix epoch.
    pub fn timestamp(micros: i64) -> Value {
        // SAFETY: constructor.
        Value::wrap(unsafe { ffi::duckdb_create_timestamp(ffi::duckdb_timestamp { micros }) })
    }
    /// Microseconds since the Unix epoch, UTC.
    pub fn timestamp_tz(micros: i64) -> Value {
        // SAFETY: constructor.
        Value::wrap(unsafe { ffi::duckdb_create_timestamp_tz(ffi::duckdb_timestamp { micros }) })
    }
    pub fn interval(months: i32, days: i32, micros: i64) -> Value {
        // SAFETY: constructor.
        Value::wrap(unsafe {
            ffi::duckdb_create_interval(ffi::duckdb_interval {
                months,
                days,
                micros,
            })
        })
    }
    /// A UUID from its 128 bits as written (big-endian order).
    pub fn uuid(bits: u128) -> Value {
        let v = ffi::duckdb_uhugeint {
            lower: bits as u64,
            upper: (bits >> 64) as u64,
        };
        // SAFETY: constructor.
        Value::wrap(unsafe { ffi::duckdb_create_uuid(v) })
    }
}

impl Drop for Value {
    fn drop(&mut self) {
        // SAFETY: we own the value.
        unsafe { ffi::duckdb_destroy_value(&mut self.raw) };
    }
}

/// DuckDB's statement types, as the worker distinguishes them.
pub mod statement_type {
    use duckdb::ffi;
    pub const SELECT: ffi::duckdb_statement_type =
        ffi::duckdb_statement_type_DUCKDB_STATEMENT_TYPE_SELECT;
    pub const INSERT: ffi::duckdb_statement_type =
        ffi::duckdb_statement_type_DUCKDB_STATEMENT_TYPE_INSERT;
    pub const UPDATE: ffi::duckdb_statement_type =
        ffi::duckdb_statement_type_DUCKDB_STATEMENT_TYPE_UPDATE;
    pub const DELETE: ffi::duckdb_statement_type =
        ffi::duckdb_statement_type_DUCKDB_STATEMENT_TYPE_DELETE;
    pub const EXPLAIN: ffi::duckdb_statement_type =
        ffi::duckdb_statement_type_DUCKDB_STATEMENT_TYPE_EXPLAIN;
    pub const CREATE: ffi::duckdb_statement_type =
        ffi::duckdb_statement_type_DUCKDB_STATEMENT_TYPE_CREATE;
    pub const ALTER: ffi::duckdb_statement_type =
        ffi::duckdb_statement_type_DUCKDB_STATEMENT_TYPE_ALTER;
    pub const DROP: ffi::duckdb_statement_type =
        ffi::duckdb_statement_type_DUCKDB_STATEMENT_TYPE_DROP;
    pub const COPY: ffi::duckdb_statement_type =
        ffi::duckdb_statement_type_DUCKDB_STATEMENT_TYPE_COPY;
    pub const PRAGMA: ffi::duckdb_statement_type =
        ffi::duckdb_statement_type_DUCKDB_STATEMENT_TYPE_PRAGMA;
    pub const CALL: ffi::duckdb_statement_type =
        ffi::duckdb_statement_type_DUCKDB_STATEMENT_TYPE_CALL;
    pub const CREATE_FUNC: ffi::duckdb_statement_type =
        ffi::duckdb_statement_type_DUCKDB_STATEMENT_TYPE_CREATE_FUNC;
    pub const MERGE_INTO: ffi::duckdb_statement_type =
        ffi::duckdb_statement_type_DUCKDB_STATEMENT_TYPE_MERGE_INTO;
}

/// A 128-bit integer as the engine stores it (HUGEINT, and DECIMALs wider
/// than 18 digits).
pub fn hugeint_of(v: i128) -> ffi::duckdb_hugeint {
    ffi::duckdb_hugeint {
        lower: v as u64,
        upper: (v >> 64) as i64,
    }
}

/// The value of an engine 128-bit integer.
pub fn i128_of(h: ffi::duckdb_hugeint) -> i128 {
    (i128::from(h.upper) << 64) | i128::from(h.lower)
}
