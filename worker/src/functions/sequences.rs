//! `nextval`, `currval`, `setval` and `lastval` on lake sequences, as the
//! engine's functions `floe_nextval(name)`, `floe_currval(name)`,
//! `floe_setval(name, value[, is_called])` and `floe_lastval()`. The session
//! rewrites PostgreSQL's calls naming a lake sequence into these, with the
//! name resolved and qualified (`schema.sequence`).
//!
//! Values come from the catalog's sequence blocks ([`Lakehouse::next_sequence_values`]),
//! shared by every session of the worker; `currval` and `lastval` are the
//! calling session's own, found through its engine connection id as the
//! session-zone functions find the zone.

use std::collections::HashMap;
use std::ffi::c_void;
use std::sync::Arc;

use duckdb::ffi;
use parking_lot::Mutex;

use crate::functions::types::{BIGINT, BOOLEAN, VARCHAR};
use crate::functions::{self, row_count, set_null, Argument, Call, Native};
use crate::lake::LakeReader;
use floe_catalog::objects::sequences::Values;

/// What the sequence functions of one session reach: the worker's lake and
/// runtime, and the session's last values.
pub struct SessionSequences {
    lake: Arc<LakeReader>,
    runtime: tokio::runtime::Handle,
    /// The last value `nextval` gave this session, by qualified sequence name.
    current: Mutex<HashMap<String, i64>>,
    last: Mutex<Option<i64>>,
}

/// Each session's sequence state, by its engine connection's id.
static SESSIONS: Mutex<Option<HashMap<u64, Arc<SessionSequences>>>> = Mutex::new(None);

/// Lets the session on engine connection `id` use lake sequences.
pub fn register_session(id: u64, lake: Arc<LakeReader>, runtime: tokio::runtime::Handle) {
    let state = Arc::new(SessionSequences {
        lake,
        runtime,
        current: Mutex::new(HashMap::new()),
        last: Mutex::new(None),
    });
    SESSIONS
        .lock()
        .get_or_insert_with(HashMap::new)
        .insert(id, state);
}

/// Forgets the session on connection `id` (it closed).
pub fn forget_session(id: u64) {
    if let Some(s) = SESSIONS.lock().as_mut() {
        s.remove(&id);
    }
}

/// The `currval` of each sequence the session on connection `id` drew from
/// and its `lastval`: what moves with the session to another worker.
pub fn session_values(id: u64) -> (Vec<(String, i64)>, Option<i64>) {
    match session(id) {
        Some(s) => {
            let current = s
                .current
                .lock()
                .iter()
                .map(|(k, v)| (k.clone(), *v))
                .collect();
            let last = *s.last.lock();
            (current, last)
        }
        None => (Vec::new(), None),
    }
}

/// Gives the session on connection `id` the `currval`s and `lastval` its
/// session on another worker had.
pub fn restore_session_values(id: u64, current: &[(String, i64)], last: Option<i64>) {
    if let Some(s) = session(id) {
        s.current.lock().extend(current.iter().cloned());
        *s.last.lock() = last;
    }
}

/// Forgets the `currval`s and `lastval` of the session on connection `id`
/// (`DISCARD SEQUENCES`, and a pooled session handed to a new client).
pub fn reset_session_values(id: u64) {
    if let Some(s) = session(id) {
        s.current.lock().clear();
        *s.last.lock() = None;
    }
}

fn session(id: u64) -> Option<Arc<SessionSequences>> {
    SESSIONS.lock().as_ref().and_then(|s| s.get(&id).cloned())
}

impl SessionSequences {
    /// Runs a catalog request to completion from the engine's thread (which
    /// may be one of the runtime's own: the request runs on a thread of its
    /// own so that blocking on it is allowed).
    fn wait<T: Send>(
        &self,
        request: impl std::future::Future<Output = Result<T, floe_catalog::CatalogError>> + Send,
    ) -> Result<T, String> {
        std::thread::scope(|scope| {
            scope
                .spawn(|| self.runtime.block_on(request))
                .join()
                .map_err(|_| "sequence request failed".to_string())?
                .map_err(|e| e.to_string())
        })
    }

    fn split(name: &str) -> Result<(&str, &str), String> {
        name.rsplit_once('.')
            .ok_or_else(|| format!("relation \"{name}\" does not exist"))
    }

    /// The next `wanted` values of `name` (fewer when a block runs out).
    fn next(&self, name: &str, wanted: i64) -> Result<Values, String> {
        let (ns, seq) = Self::split(name)?;
        let lake = self.lake.lakehouse();
        match lake.cached_sequence_values(ns, seq, wanted) {
            Some(v) => Ok(v),
            None => self.wait(lake.next_sequence_values(ns, seq, wanted)),
        }
    }

    fn currval(&self, name: &str) -> Result<i64, String> {
        let (_, seq) = Self::split(name)?;
        self.current.lock().get(name).copied().ok_or_else(|| {
            format!("currval of sequence \"{seq}\" is not yet defined in this session")
        })
    }

    fn setval(&self, name: &str, value: i64, is_called: bool) -> Result<i64, String> {
        let (ns, seq) = Self::split(name)?;
        let lake = self.lake.lakehouse();
        self.wait(lake.set_sequence(ns, seq, value, is_called))?;
        if is_called {
            self.current.lock().insert(name.to_string(), value);
            *self.last.lock() = Some(value);
        }
        Ok(value)
    }
}

/// Registers the sequence functions.
///
/// # Safety
/// `conn` must be an open connection.
pub unsafe fn register(conn: ffi::duckdb_connection) -> Result<(), String> {
    let volatile =
        |name: &'static str, params: &'static [ffi::DUCKDB_TYPE], function: functions::Callback| {
            Native::scalar(name, params, BIGINT, function).with_bind(bind_session)
        };
    functions::register_volatile(conn, &volatile("floe_nextval", &[VARCHAR], nextval))?;
    functions::register_volatile(conn, &volatile("floe_currval", &[VARCHAR], currval))?;
    functions::register_volatile(conn, &volatile("floe_lastval", &[], lastval))?;
    functions::register_volatile(conn, &volatile("floe_setval", &[VARCHAR, BIGINT], setval))?;
    functions::register_volatile(
        conn,
        &volatile("floe_setval", &[VARCHAR, BIGINT, BOOLEAN], setval),
    )
}

/// Binds a call to the calling session's sequence state.
unsafe extern "C" fn bind_session(info: ffi::duckdb_bind_info) {
    let mut context: ffi::duckdb_client_context = std::ptr::null_mut();
    ffi::duckdb_scalar_function_get_client_context(info, &mut context);
    let state = if context.is_null() {
        None
    } else {
        let id = ffi::duckdb_client_context_get_connection_id(context);
        ffi::duckdb_destroy_client_context(&mut context);
        session(id)
    };
    let data = Box::into_raw(Box::new(state)).cast::<c_void>();
    ffi::duckdb_scalar_function_set_bind_data(info, data, Some(drop_state));
    ffi::duckdb_scalar_function_set_bind_data_copy(info, Some(copy_state));
}

type Bound = Option<Arc<SessionSequences>>;

unsafe extern "C" fn drop_state(data: *mut c_void) {
    if !data.is_null() {
        drop(Box::from_raw(data.cast::<Bound>()));
    }
}

unsafe extern "C" fn copy_state(data: *mut c_void) -> *mut c_void {
    let state: Bound = if data.is_null() {
        None
    } else {
        (*data.cast::<Bound>()).clone()
    };
    Box::into_raw(Box::new(state)).cast::<c_void>()
}

/// The session state bound to the running call.
unsafe fn bound(info: ffi::duckdb_function_info) -> Result<Arc<SessionSequences>, String> {
    let ptr = ffi::duckdb_scalar_function_get_bind_data(info).cast::<Bound>();
    if ptr.is_null() {
        return Err("lake sequences are not available in this session".into());
    }
    (*ptr)
        .clone()
        .ok_or_else(|| "lake sequences are not available in this session".to_string())
}

/// Runs `row(state, call, row index)` for every row, writing BIGINT results;
/// the first error ends the statement.
unsafe fn each_row(
    call: Call,
    mut row: impl FnMut(&SessionSequences, usize, usize) -> Result<Option<i64>, String>,
) {
    let Call(info, input, output) = call;
    let state = match bound(info) {
        Ok(s) => s,
        Err(e) => return functions::fail(info, &e),
    };
    let out = ffi::duckdb_vector_get_data(output).cast::<i64>();
    let rows = row_count(input);
    for i in 0..rows {
        match row(&state, i, rows) {
            Ok(Some(v)) => out.add(i).write(v),
            Ok(None) => set_null(output, i as u64),
            Err(e) => return functions::fail(info, &e),
        }
    }
}

unsafe fn nextval_rows(call: Call) {
    let names = Argument::<ffi::duckdb_string_t>::of(call.1, 0);
    // Per sequence: the values taken for this call and not handed out yet
    // (one catalog request covers the rest of the chunk), and the last one
    // handed out, which becomes the session's currval once, after the chunk.
    let mut taken: HashMap<String, (Values, i64)> = HashMap::new();
    let mut last = None;
    each_row(call, |state, i, rows| {
        let Some(name) = names.text(i) else {
            return Ok(None);
        };
        let entry = match taken.get_mut(&name) {
            Some(entry) => entry,
            None => taken.entry(name.clone()).or_insert((Values::default(), 0)),
        };
        if entry.0.count == 0 {
            entry.0 = state.next(&name, (rows - i) as i64)?;
        }
        let value = entry.0.first;
        entry.0.first = entry.0.nth(1);
        entry.0.count -= 1;
        entry.1 = value;
        last = Some(value);
        Ok(Some(value))
    });
    if let (Ok(state), Some(last)) = (bound(call.0), last) {
        let mut current = state.current.lock();
        for (name, (_, value)) in taken {
            current.insert(name, value);
        }
        *state.last.lock() = Some(last);
    }
}

unsafe fn currval_rows(call: Call) {
    let names = Argument::<ffi::duckdb_string_t>::of(call.1, 0);
    each_row(call, |state, i, _| match names.text(i) {
        Some(name) => state.currval(&name).map(Some),
        None => Ok(None),
    })
}

unsafe fn lastval_rows(call: Call) {
    each_row(call, |state, _, _| {
        state
            .last
            .lock()
            .ok_or_else(|| "lastval is not yet defined in this session".to_string())
            .map(Some)
    })
}

unsafe fn setval_rows(call: Call) {
    let input = call.1;
    let names = Argument::<ffi::duckdb_string_t>::of(input, 0);
    let values = Argument::<i64>::of(input, 1);
    let with_flag = ffi::duckdb_data_chunk_get_column_count(input) > 2;
    let flags = with_flag.then(|| Argument::<bool>::of(input, 2));
    each_row(call, |state, i, _| {
        let (Some(name), Some(value)) = (names.text(i), values.get(i)) else {
            return Ok(None);
        };
        let is_called = match &flags {
            Some(f) => match f.get(i) {
                Some(b) => b,
                None => return Ok(None),
            },
            None => true,
        };
        state.setval(&name, value, is_called).map(Some)
    })
}

native_scalar! {
    fn nextval => nextval_rows();
    fn currval => currval_rows();
    fn lastval => lastval_rows();
    fn setval => setval_rows();
}
