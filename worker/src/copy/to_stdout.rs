//! The encoder of `COPY … TO STDOUT`: rows of a DuckDB result become CopyData
//! messages in Postgres text, CSV or binary format, one row per message as
//! Postgres sends them. Values are rendered by the same column encoders as query
//! results, then escaped (text) or quoted (CSV) as the format requires.

use bytes::{BufMut, BytesMut};

use crate::codec::rows::{write_fields, write_value, ColumnEncoder, OutputSettings};
use crate::copy::command::{CopyFormat, CopyOptions, Header};
use crate::engine::duck::{DataChunk, Vector};

const BINARY_HEADER: &[u8] = b"PGCOPY\n\xff\r\n\0\0\0\0\0\0\0\0\0";

pub struct CopyOutEncoder {
    options: CopyOptions,
    encoders: Vec<ColumnEncoder>,
    force_quote: Vec<bool>,
    value: BytesMut,
    /// The binary header goes in the first row's message, as Postgres sends it
    /// (clients parse it together with the first row).
    binary_header_pending: bool,
}

impl CopyOutEncoder {
    /// `columns` are the result's column names (for the header and FORCE_QUOTE);
    /// `encoders` render each column (binary for the binary format).
    pub fn new(options: CopyOptions, columns: &[String], encoders: Vec<ColumnEncoder>) -> Self {
        let force_quote = columns
            .iter()
            .map(|c| options.force_quote.contains(c))
            .collect();
        CopyOutEncoder {
            options,
            encoders,
            force_quote,
            value: BytesMut::new(),
            binary_header_pending: false,
        }
    }

    /// What precedes the rows: the binary header, or the header line.
    pub fn start(&mut self, columns: &[String], out: &mut BytesMut) {
        match self.options.format {
            CopyFormat::Binary => self.binary_header_pending = true,
            _ if self.options.header != Header::Absent => {
                let options = self.options.clone();
                copy_data(out, |out| {
                    for (i, name) in columns.iter().enumerate() {
                        if i > 0 {
                            out.put_u8(options.delimiter);
                        }
                        match options.format {
                            CopyFormat::Csv => put_csv(out, name.as_bytes(), false, &options),
                            _ => put_text(out, name.as_bytes(), options.delimiter),
                        }
                    }
                    out.put_u8(b'\n');
                });
            }
            _ => {}
        }
    }

    /// What follows the rows (the binary trailer).
    pub fn end(&mut self, out: &mut BytesMut) {
        if self.options.format == CopyFormat::Binary {
            let header = std::mem::take(&mut self.binary_header_pending);
            copy_data(out, |out| {
                if header {
                    out.put_slice(BINARY_HEADER);
                }
                out.put_i16(-1)
            });
        }
    }

    /// Appends one CopyData message per row in `rows` of `chunk`.
    pub fn rows(
        &mut self,
        chunk: &DataChunk,
        rows: std::ops::Range<usize>,
        settings: &OutputSettings,
        out: &mut BytesMut,
    ) {
        let vectors: Vec<Vector<'_>> = (0..self.encoders.len()).map(|i| chunk.vector(i)).collect();
        for row in rows {
            let start = out.len();
            out.put_u8(b'd');
            out.put_i32(0);
            match self.options.format {
                CopyFormat::Binary => {
                    if std::mem::take(&mut self.binary_header_pending) {
                        out.put_slice(BINARY_HEADER);
                    }
                    write_fields(&self.encoders, &vectors, row, settings, out);
                }
                format => {
                    for (i, (enc, vec)) in self.encoders.iter().zip(&vectors).enumerate() {
                        if i > 0 {
                            out.put_u8(self.options.delimiter);
                        }
                        if !vec.is_valid(row) {
                            out.put_slice(self.options.null.as_bytes());
                            continue;
                        }
                        self.value.clear();
                        write_value(enc, vec, row, settings, &mut self.value);
                        if format == CopyFormat::Csv {
                            put_csv(out, &self.value, self.force_quote[i], &self.options);
                        } else {
                            put_text(out, &self.value, self.options.delimiter);
                        }
                    }
                    out.put_u8(b'\n');
                }
            }
            let len = (out.len() - start - 1) as i32;
            out[start + 1..start + 5].copy_from_slice(&len.to_be_bytes());
        }
    }
}

/// Appends one CopyData message whose body `body` writes.
fn copy_data(out: &mut BytesMut, body: impl FnOnce(&mut BytesMut)) {
    let start = out.len();
    out.put_u8(b'd');
    out.put_i32(0);
    body(out);
    let len = (out.len() - start - 1) as i32;
    out[start + 1..start + 5].copy_from_slice(&len.to_be_bytes());
}

/// A value in the text format: backslash, the delimiter and control characters
/// escaped.
fn put_text(out: &mut BytesMut, v: &[u8], delimiter: u8) {
    for &b in v {
        let esc = match b {
            b'\\' => b'\\',
            b'\n' => b'n',
            b'\r' => b'r',
            b'\t' if delimiter == b'\t' => b't',
            8 => b'b',
            12 => b'f',
            11 => b'v',
            _ if b == delimiter => b,
            _ => {
                out.put_u8(b);
                continue;
            }
        };
        out.put_u8(b'\\');
        out.put_u8(esc);
    }
}

/// A value in CSV: quoted when it must be (delimiter, quote, line break, equal to
/// the null string, `\.`) or when FORCE_QUOTE asks.
fn put_csv(out: &mut BytesMut, v: &[u8], force: bool, o: &CopyOptions) {
    let needs = force
        || v == o.null.as_bytes()
        || v == b"\\."
        || v.iter()
            .any(|&b| b == o.delimiter || b == o.quote || b == b'\n' || b == b'\r');
    if !needs {
        out.put_slice(v);
        return;
    }
    out.put_u8(o.quote);
    for &b in v {
        if b == o.quote || b == o.escape {
            out.put_u8(o.escape);
        }
        out.put_u8(b);
    }
    out.put_u8(o.quote);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::copy::command::options_of as options;

    #[test]
    fn text_escaping() {
        let mut out = BytesMut::new();
        put_text(&mut out, b"a\tb\\c\nd", b'\t');
        assert_eq!(&out[..], b"a\\tb\\\\c\\nd");
    }

    #[test]
    fn csv_quoting() {
        let o = options("COPY t TO STDOUT (FORMAT csv)");
        let mut out = BytesMut::new();
        put_csv(&mut out, b"plain", false, &o);
        out.put_u8(b'|');
        put_csv(&mut out, b"", false, &o);
        out.put_u8(b'|');
        put_csv(&mut out, b"a,\"b\"", false, &o);
        assert_eq!(&out[..], b"plain|\"\"|\"a,\"\"b\"\"\"");
    }

    #[test]
    fn header_line() {
        let o = options("COPY t TO STDOUT (FORMAT csv, HEADER)");
        let cols = vec!["a".to_string(), "b,c".to_string()];
        let mut enc = CopyOutEncoder::new(o, &cols, Vec::new());
        let mut out = BytesMut::new();
        enc.start(&cols, &mut out);
        assert_eq!(&out[5..], b"a,\"b,c\"\n");
    }
}
