//! Statements DuckDB can only bind once it has seen the parameter values.
//!
//! Some functions (the JSON constructors among them) refuse to bind while an
//! argument is still a placeholder, so DuckDB prepares the statement without a
//! plan and reports one column named `unknown`. A Postgres client describes a
//! statement before it binds values, and expects the real columns and parameter
//! types. Here the shape is learnt from the same statement with every placeholder
//! replaced by a NULL of its written type; the prepared statement itself is kept
//! and DuckDB binds it for real when values arrive.

use super::field_for;
use crate::codec::types::{oid, ValueKind};
use crate::engine::duck::{Connection, Prepared};
use crate::wire::Field;

/// Whether DuckDB deferred binding `prepared` until parameter values arrive.
pub(super) fn is_late_bound(prepared: &Prepared) -> bool {
    prepared.param_count() > 0
        && prepared.column_count() == 1
        && prepared.column_type(0).is_none()
        && prepared.column_name(0) == "unknown"
}

/// The result columns of a prepared statement, with Postgres types.
pub(super) fn prepared_fields(prepared: &Prepared) -> Vec<Field> {
    (0..prepared.column_count())
        .map(|i| field_for(prepared.column_name(i), prepared.column_type(i).as_ref()))
        .collect()
}

/// The shape of a late-bound statement `text`: its result columns (None when
/// even the NULL form cannot be planned) and the type of each of its `nparams`
/// parameters (the client's declared type, else the type it is cast to in the
/// text, else `text` as Postgres infers for an untyped parameter).
pub(super) fn late_bound_shape(
    conn: &Connection,
    text: &str,
    client_types: &[u32],
    nparams: usize,
) -> (Option<Vec<Field>>, Vec<u32>) {
    let fields = conn
        .prepare(&crate::session::placeholders::null_placeholders(text))
        .ok()
        .map(|p| prepared_fields(&p));
    let casts = crate::session::placeholders::placeholder_casts(text, nparams);
    let param_types = (0..nparams)
        .map(|i| match client_types.get(i).copied().unwrap_or(0) {
            0 => casts[i]
                .as_deref()
                .and_then(|name| type_of_name(conn, name))
                .unwrap_or(oid::TEXT),
            declared => declared,
        })
        .collect();
    (fields, param_types)
}

/// The Postgres type DuckDB gives the type written as `name`.
fn type_of_name(conn: &Connection, name: &str) -> Option<u32> {
    let prepared = conn.prepare(&format!("SELECT CAST(NULL AS {name})")).ok()?;
    let t = prepared.column_type(0)?;
    Some(ValueKind::from_logical(&t).pg_type())
}
