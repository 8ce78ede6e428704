//! Message framing for relaying: finds whole messages (type byte, length, body) in
//! a buffer without decoding them, so they can be forwarded as they are.

use bytes::{BufMut, Bytes, BytesMut};

/// Largest message accepted from either side (as Postgres: 1 GB).
pub const MAX_MESSAGE: usize = 0x3fff_ffff;

/// A complete message's type byte and its position in the buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameInfo {
    pub tag: u8,
    /// Offset of the type byte.
    pub start: usize,
    /// Total length including the type byte.
    pub len: usize,
}

/// Error for a length field that cannot be right.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid message length {0}")]
pub struct BadLength(pub i64);

/// Scans `buf` for complete messages; returns them and the number of bytes they
/// span (a trailing partial message is left for later).
pub fn scan(buf: &[u8], out: &mut Vec<FrameInfo>) -> Result<usize, BadLength> {
    scan_limited(buf, out, MAX_MESSAGE)
}

/// As `scan`, refusing any message whose header claims more than `max` bytes,
/// so a claim is refused before its bytes are buffered.
pub fn scan_limited(buf: &[u8], out: &mut Vec<FrameInfo>, max: usize) -> Result<usize, BadLength> {
    let mut pos = 0;
    while buf.len() - pos >= 5 {
        let len = i32::from_be_bytes([buf[pos + 1], buf[pos + 2], buf[pos + 3], buf[pos + 4]]);
        if len < 4 || len as usize > max.min(MAX_MESSAGE) {
            return Err(BadLength(len.into()));
        }
        let total = 1 + len as usize;
        if buf.len() - pos < total {
            break;
        }
        out.push(FrameInfo {
            tag: buf[pos],
            start: pos,
            len: total,
        });
        pos += total;
    }
    Ok(pos)
}

/// The body (after type and length) of a frame in `buf`.
pub fn body<'a>(buf: &'a [u8], f: &FrameInfo) -> &'a [u8] {
    &buf[f.start + 5..f.start + f.len]
}

/// A simple-query message (`Q`) carrying `sql`.
pub fn query_message(sql: &str) -> BytesMut {
    let mut m = BytesMut::with_capacity(sql.len() + 6);
    m.extend_from_slice(b"Q");
    m.extend_from_slice(&(sql.len() as i32 + 5).to_be_bytes());
    m.extend_from_slice(sql.as_bytes());
    m.extend_from_slice(b"\0");
    m
}

/// A Parse message; `declared_types` is the count and OIDs as the client sent
/// them (already checked to fit the body), or empty for none.
pub fn parse_message(name: &str, sql: &str, declared_types: &[u8]) -> BytesMut {
    let types_len = declared_types.len().max(2);
    let mut m = BytesMut::with_capacity(sql.len() + name.len() + 7 + types_len);
    m.put_u8(b'P');
    m.put_i32((4 + name.len() + 1 + sql.len() + 1 + types_len) as i32);
    m.put_slice(name.as_bytes());
    m.put_u8(0);
    m.put_slice(sql.as_bytes());
    m.put_u8(0);
    if declared_types.is_empty() {
        m.put_i16(0);
    } else {
        m.put_slice(declared_types);
    }
    m
}

/// Splits the first `n` bytes off `buf` to forward.
pub fn take(buf: &mut BytesMut, n: usize) -> Bytes {
    buf.split_to(n).freeze()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scans_whole_messages_and_leaves_partials() {
        let mut b = vec![b'Z', 0, 0, 0, 5, b'I'];
        b.extend_from_slice(&[b'D', 0, 0, 0, 6, 0, 0]);
        b.extend_from_slice(&[b'C', 0, 0]);
        let mut frames = Vec::new();
        let n = scan(&b, &mut frames).expect("scan");
        assert_eq!(n, 13);
        assert_eq!(frames.len(), 2);
        assert_eq!(frames[0].tag, b'Z');
        assert_eq!(body(&b, &frames[0]), b"I");
        assert_eq!(
            frames[1],
            FrameInfo {
                tag: b'D',
                start: 6,
                len: 7
            }
        );
    }

    #[test]
    fn bad_lengths_are_errors() {
        let mut frames = Vec::new();
        assert_eq!(scan(&[b'Q', 0, 0, 0, 2], &mut frames), Err(BadLength(2)));
        assert_eq!(
            scan(&[b'Q', 0xff, 0xff, 0xff, 0xff], &mut frames),
            Err(BadLength(-1))
        );
    }
}
