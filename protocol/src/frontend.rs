//! Shape checks for the bodies of frontend messages, made before any decoder
//! reads them: every count, length and string terminator must fit inside the
//! body, and nothing may trail it. A decoder then never reads past a message a
//! client cut short or padded (Postgres answers these with 08P01 "invalid
//! message format").

use crate::control::FRONTEND_TAGS;

/// Why a frontend message body is malformed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MalformedMessage {
    #[error("invalid frontend message type {0}")]
    UnknownType(u8),
    #[error("invalid message format")]
    Format,
}

/// Checks the body (after type and length) of a frontend message of type `tag`.
pub fn check_body(tag: u8, body: &[u8]) -> Result<(), MalformedMessage> {
    if !FRONTEND_TAGS.contains(&tag) {
        return Err(MalformedMessage::UnknownType(tag));
    }
    let mut r = Reader { body, pos: 0 };
    match tag {
        b'Q' | b'f' => r.cstr()?,
        b'P' => {
            r.cstr()?;
            r.cstr()?;
            let n = r.count()?;
            r.skip(n * 4)?;
        }
        b'B' => {
            r.cstr()?;
            r.cstr()?;
            let formats = r.count()?;
            r.skip(formats * 2)?;
            r.values()?;
            let results = r.count()?;
            r.skip(results * 2)?;
        }
        b'E' => {
            r.cstr()?;
            r.skip(4)?;
        }
        b'D' | b'C' => {
            r.skip(1)?;
            r.cstr()?;
        }
        b'F' => {
            r.skip(4)?;
            let formats = r.count()?;
            r.skip(formats * 2)?;
            r.values()?;
            r.skip(2)?;
        }
        // CopyData carries anything; Sync, Flush, Terminate and CopyDone nothing.
        b'd' => return Ok(()),
        _ => {}
    }
    r.end()
}

struct Reader<'a> {
    body: &'a [u8],
    pos: usize,
}

impl Reader<'_> {
    fn skip(&mut self, n: usize) -> Result<(), MalformedMessage> {
        match self.pos.checked_add(n) {
            Some(end) if end <= self.body.len() => {
                self.pos = end;
                Ok(())
            }
            _ => Err(MalformedMessage::Format),
        }
    }
    fn int(&mut self, n: usize) -> Result<i64, MalformedMessage> {
        let start = self.pos;
        self.skip(n)?;
        Ok(self.body[start..self.pos]
            .iter()
            .fold(0i64, |acc, b| (acc << 8) | i64::from(*b))
            - if self.body[start] & 0x80 != 0 {
                1i64 << (8 * n)
            } else {
                0
            })
    }
    /// A non-negative Int16 count.
    fn count(&mut self) -> Result<usize, MalformedMessage> {
        usize::try_from(self.int(2)?).map_err(|_| MalformedMessage::Format)
    }
    /// An Int16 count of values, each an Int32 length (-1 for NULL) and bytes.
    fn values(&mut self) -> Result<(), MalformedMessage> {
        for _ in 0..self.count()? {
            match self.int(4)? {
                -1 => {}
                n => self.skip(usize::try_from(n).map_err(|_| MalformedMessage::Format)?)?,
            }
        }
        Ok(())
    }
    fn cstr(&mut self) -> Result<(), MalformedMessage> {
        let nul = self.body[self.pos..]
            .iter()
            .position(|b| *b == 0)
            .ok_or(MalformedMessage::Format)?;
        self.pos += nul + 1;
        Ok(())
    }
    fn end(&self) -> Result<(), MalformedMessage> {
        if self.pos == self.body.len() {
            Ok(())
        } else {
            Err(MalformedMessage::Format)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bind(params: &[Option<&[u8]>]) -> Vec<u8> {
        let mut b = b"\0s\0".to_vec();
        b.extend_from_slice(&1i16.to_be_bytes());
        b.extend_from_slice(&0i16.to_be_bytes());
        b.extend_from_slice(&(params.len() as i16).to_be_bytes());
        for p in params {
            match p {
                None => b.extend_from_slice(&(-1i32).to_be_bytes()),
                Some(v) => {
                    b.extend_from_slice(&(v.len() as i32).to_be_bytes());
                    b.extend_from_slice(v);
                }
            }
        }
        b.extend_from_slice(&0i16.to_be_bytes());
        b
    }

    #[test]
    fn well_formed_messages_pass() {
        assert_eq!(check_body(b'Q', b"SELECT 1\0"), Ok(()));
        assert_eq!(check_body(b'P', b"\0SELECT $1\0\0\x01\0\0\0\x17"), Ok(()));
        assert_eq!(check_body(b'B', &bind(&[Some(b"42"), None])), Ok(()));
        assert_eq!(check_body(b'E', b"\0\0\0\0\0"), Ok(()));
        assert_eq!(check_body(b'D', b"S\0"), Ok(()));
        assert_eq!(check_body(b'S', b""), Ok(()));
        assert_eq!(check_body(b'd', b"anything"), Ok(()));
    }

    #[test]
    fn every_truncation_and_padding_is_refused() {
        let whole = bind(&[Some(b"42"), None, Some(b"")]);
        for cut in 0..whole.len() {
            assert!(check_body(b'B', &whole[..cut]).is_err(), "cut at {cut}");
        }
        let mut padded = whole.clone();
        padded.push(0);
        assert_eq!(check_body(b'B', &padded), Err(MalformedMessage::Format));
        assert!(check_body(b'Q', b"SELECT 1").is_err());
        assert!(check_body(b'S', b"x").is_err());
        assert!(check_body(b'E', b"\0\0\0").is_err());
    }

    #[test]
    fn negative_counts_and_lengths_are_refused() {
        let mut b = b"\0\0".to_vec();
        b.extend_from_slice(&(-2i16).to_be_bytes());
        assert!(check_body(b'B', &b).is_err());
        let mut b = b"\0\0\0\0\0\x01".to_vec();
        b.extend_from_slice(&(-5i32).to_be_bytes());
        assert!(check_body(b'B', &b).is_err());
        assert_eq!(
            check_body(b'~', b""),
            Err(MalformedMessage::UnknownType(b'~'))
        );
    }
}
