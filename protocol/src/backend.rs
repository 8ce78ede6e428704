//! Backend messages the router and the workers write themselves (the rest of a
//! worker's output is encoded where results are): authentication requests and
//! AuthenticationOk, BackendKeyData, ParameterStatus, ReadyForQuery. Each is
//! appended to an output buffer, framed with its length.

use bytes::{BufMut, BytesMut};

use crate::pg_error::PgError;

/// An Authentication message: `code` (0 ok, 3 cleartext password, 5 MD5, 10
/// SASL, 11 SASL continue, 12 SASL final) and its data.
pub fn authentication(out: &mut BytesMut, code: i32, data: &[u8]) {
    out.put_u8(b'R');
    out.put_i32(8 + data.len() as i32);
    out.put_i32(code);
    out.put_slice(data);
}

/// AuthenticationOk.
pub fn authentication_ok(out: &mut BytesMut) {
    authentication(out, 0, &[]);
}

/// BackendKeyData: the key a CancelRequest names the session by.
pub fn backend_key_data(out: &mut BytesMut, pid: i32, secret: i32) {
    out.put_u8(b'K');
    out.put_i32(12);
    out.put_i32(pid);
    out.put_i32(secret);
}

/// ParameterStatus (`name`, `value`); a NUL inside either ends it there.
pub fn parameter_status(out: &mut BytesMut, name: &str, value: &str) {
    let name = name.split('\0').next().unwrap_or("");
    let value = value.split('\0').next().unwrap_or("");
    out.put_u8(b'S');
    out.put_i32(4 + name.len() as i32 + 1 + value.len() as i32 + 1);
    out.put_slice(name.as_bytes());
    out.put_u8(0);
    out.put_slice(value.as_bytes());
    out.put_u8(0);
}

/// ReadyForQuery with the transaction status: `I` idle, `T` in a transaction,
/// `E` in a failed one.
pub fn ready_for_query(out: &mut BytesMut, status: u8) {
    out.put_u8(b'Z');
    out.put_i32(5);
    out.put_u8(status);
}

/// ErrorResponse for an error (or FATAL), NoticeResponse for a warning or
/// notice: every field of `e`, each a code byte and a NUL-terminated value.
pub fn error_or_notice(out: &mut BytesMut, e: &PgError) {
    out.put_u8(if e.is_error() { b'E' } else { b'N' });
    let at = out.len();
    out.put_i32(0);
    for (code, value) in e.fields() {
        out.put_u8(code);
        out.put_slice(value.split('\0').next().unwrap_or("").as_bytes());
        out.put_u8(0);
    }
    out.put_u8(0);
    let len = (out.len() - at) as i32;
    out[at..at + 4].copy_from_slice(&len.to_be_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::frame;

    #[test]
    fn messages_frame_as_postgres_does() {
        let mut out = BytesMut::new();
        authentication_ok(&mut out);
        backend_key_data(&mut out, 7, -2);
        parameter_status(&mut out, "TimeZone", "UTC");
        ready_for_query(&mut out, b'I');
        assert_eq!(&out[..9], b"R\0\0\0\x08\0\0\0\0");
        let mut frames = Vec::new();
        let complete = frame::scan(&out, &mut frames).expect("frames");
        assert_eq!(complete, out.len());
        let tags: Vec<u8> = frames.iter().map(|f| f.tag).collect();
        assert_eq!(tags, b"RKSZ");
        assert_eq!(
            frame::body(&out, &frames[1]),
            [0, 0, 0, 7, 255, 255, 255, 254]
        );
        assert_eq!(frame::body(&out, &frames[2]), b"TimeZone\0UTC\0");
        assert_eq!(frame::body(&out, &frames[3]), b"I");
    }
}
