//! Encoding of backend messages into an output buffer.

pub mod socket_writer;

use bytes::{BufMut, BytesMut};
use pgwire::messages::data::{FieldDescription, NoData, ParameterDescription, RowDescription};
use pgwire::messages::extendedquery::{
    BindComplete, CloseComplete, ParseComplete, PortalSuspended,
};
use pgwire::messages::response::{
    CommandComplete, EmptyQueryResponse, ReadyForQuery, TransactionStatus,
};
use pgwire::messages::startup::ParameterStatus;
use pgwire::messages::Message;

/// A column of a result, as announced in RowDescription.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Field {
    pub name: String,
    pub type_oid: u32,
    pub typmod: i32,
}

fn put(out: &mut BytesMut, msg: impl Message) {
    // Encoding only fails for messages over the protocol's size limit, which the
    // messages built here never reach.
    if let Err(e) = msg.encode(out) {
        tracing::error!(error = %e, "failed to encode backend message");
    }
}

pub fn row_description(out: &mut BytesMut, fields: &[Field], binary: &dyn Fn(usize) -> bool) {
    let fields = fields
        .iter()
        .enumerate()
        .map(|(i, f)| {
            FieldDescription::new(
                f.name.clone(),
                0,
                0,
                f.type_oid,
                crate::codec::types::type_len(f.type_oid),
                f.typmod,
                i16::from(binary(i)),
            )
        })
        .collect();
    put(out, RowDescription::new(fields));
}

pub fn parameter_description(out: &mut BytesMut, types: &[u32]) {
    put(out, ParameterDescription::new(types.to_vec()));
}

pub fn no_data(out: &mut BytesMut) {
    put(out, NoData::new());
}

pub fn parse_complete(out: &mut BytesMut) {
    put(out, ParseComplete::new());
}

pub fn bind_complete(out: &mut BytesMut) {
    put(out, BindComplete::new());
}

pub fn close_complete(out: &mut BytesMut) {
    put(out, CloseComplete::new());
}

pub fn portal_suspended(out: &mut BytesMut) {
    put(out, PortalSuspended::new());
}

pub fn command_complete(out: &mut BytesMut, tag: &str) {
    put(out, CommandComplete::new(tag.to_string()));
}

pub fn empty_query(out: &mut BytesMut) {
    put(out, EmptyQueryResponse::new());
}

pub fn ready_for_query(out: &mut BytesMut, status: TransactionStatus) {
    put(out, ReadyForQuery::new(status));
}

pub fn parameter_status(out: &mut BytesMut, name: &str, value: &str) {
    put(
        out,
        ParameterStatus::new(name.to_string(), value.to_string()),
    );
}

pub use floe_protocol::backend::{authentication_ok, backend_key_data};

pub use floe_protocol::backend::error_or_notice;

/// A DataRow of text values (for rows the session produces itself, e.g. SHOW).
pub fn text_row(out: &mut BytesMut, values: &[Option<&str>]) {
    let start = out.len();
    out.put_u8(b'D');
    out.put_i32(0);
    out.put_i16(values.len() as i16);
    for v in values {
        match v {
            Some(s) => {
                out.put_i32(s.len() as i32);
                out.put_slice(s.as_bytes());
            }
            None => out.put_i32(-1),
        }
    }
    let len = (out.len() - start - 1) as i32;
    out[start + 1..start + 5].copy_from_slice(&len.to_be_bytes());
}

/// CopyInResponse ('G') or CopyOutResponse ('H'): the overall format and each
/// column's (0 text, 1 binary).
fn copy_response(out: &mut BytesMut, tag: u8, format: i8, columns: usize) {
    out.put_u8(tag);
    out.put_i32(4 + 1 + 2 + 2 * columns as i32);
    out.put_i8(format);
    out.put_i16(columns as i16);
    for _ in 0..columns {
        out.put_i16(i16::from(format));
    }
}

pub fn copy_in_response(out: &mut BytesMut, format: i8, columns: usize) {
    copy_response(out, b'G', format, columns);
}

pub fn copy_out_response(out: &mut BytesMut, format: i8, columns: usize) {
    copy_response(out, b'H', format, columns);
}

pub fn copy_done(out: &mut BytesMut) {
    out.put_u8(b'c');
    out.put_i32(4);
}
